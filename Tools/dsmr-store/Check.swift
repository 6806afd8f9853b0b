import ArgumentParser
import ChunkStore
import StoreMaintenance

extension DSMRStore {
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read every row and report every inconsistency; exits 2 when damage is found.")

        @OptionGroup var options: StoreOptions

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let progress = TerminalProgress(json: options.json)
            let report = try store.check(progress: progress.handler)
            progress.finish()
            if options.json {
                try printJSON(report)
            } else {
                for problem in report.problems { print(problem) }
                if report.problemCount > report.problems.count {
                    print("... and \(report.problemCount - report.problems.count) more")
                }
                let rows = report.rowsChecked.values.reduce(0, +)
                print(
                    report.isClean ? "OK: \(rows) rows checked" : "\(report.problemCount) errors found in \(rows) rows")
                let unchecked = report.rowsWithoutChecksum.sorted { $0.key < $1.key }
                if !unchecked.isEmpty {
                    let counts = unchecked.map { "\($0.value) \($0.key)" }.joined(separator: " and ")
                    print(
                        "\(counts) rows lack a checksum (written by an older version; damage to them goes unseen): `dsmr-store compact` rewrites them with one."
                    )
                }
                if !report.isClean && report.problems.contains(where: \.isRepairable) {
                    print("`dsmr-store recover` repairs what is marked so; run it with the node stopped.")
                }
                if report.problems.contains(where: { !$0.isRepairable }) {
                    print(
                        "`dsmr-store recover -o DIR` salvages what can be read into a new store and reports what it lost."
                    )
                }
            }
            if !report.isClean { throw ExitCode(2) }
        }
    }
}
