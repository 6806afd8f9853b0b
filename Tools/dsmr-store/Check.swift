import ArgumentParser
import ChunkStore

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
                print(report.isClean ? "OK: \(rows) rows checked" : "\(report.problemCount) errors found in \(rows) rows")
                if !report.isClean && report.problems.contains(where: \.isRepairable) {
                    print("`dsmr-store recover` rebuilds the derived rows; run it with the node stopped.")
                }
            }
            if !report.isClean { throw ExitCode(2) }
        }
    }

    struct CollectGarbage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Collect what expired at or below the watermark (or a later one).")

        @OptionGroup var options: StoreOptions

        @Option(help: "Move the watermark forward to this chain time (ms) first.")
        var watermark: Int64?

        func run() async throws {
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let report = try await store.collectGarbage(upTo: watermark ?? store.watermark())
            if options.json { return try printJSON(report) }
            print("watermark \(report.watermark): removed \(report.expiredPending) pending and \(report.expiredAccepted) accepted chunks, \(report.certificates) certificates, \(report.signedRows) signed, \(report.ledgerRows) ledger and \(report.evidenceRows) evidence rows (\(report.rowsVisited) rows visited)")
        }
    }

    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a compacted copy of the store to a new directory; the source is not touched.")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "The new, empty directory.")
        var output: String

        func run() throws {
            let store = try options.open(readOnly: true)
            defer { store.close() }
            let before = try store.environment.info().usedBytes
            try store.compact(to: output)
            let copy = try ChunkStore(adopting: output, readOnly: true)
            defer { copy.close() }
            let after = try copy.environment.info().usedBytes
            if options.json { return try printJSON(["sourceBytes": before, "copyBytes": after]) }
            print("compacted \(formatBytes(before)) into \(formatBytes(after)) at \(output)")
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild every derived row from the primary records, in place or into a copy.")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "Recover into this new directory and leave the source as it is.")
        var output: String?

        func run() async throws {
            let report: RecoveryReport
            if let output {
                let store = try options.open(readOnly: true)
                defer { store.close() }
                report = try await recoverCopy(store, output)
            } else {
                let store = try options.open(readOnly: false)
                defer { store.close() }
                report = try await store.recover()
            }
            if options.json { return try printJSON(report) }
            print("kept \(report.chunksKept) chunks, dropped \(report.chunksDropped); wrote \(report.indexRowsWritten) index rows, \(report.ledgerRowsRewritten) ledger rows, \(report.signedRowsAdded) signed rows; dropped \(report.certificatesDropped) certificates")
        }

        private func recoverCopy(_ store: ChunkStore, _ output: String) async throws -> RecoveryReport {
            try store.compact(to: output)
            let copy = try ChunkStore(adopting: output, readOnly: false)
            defer { copy.close() }
            return try await copy.recover()
        }
    }
}
