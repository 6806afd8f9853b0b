import ArgumentParser
import ChunkStore

extension DSMRStore {
    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild every derived row from the primary records, in place or into a copy.",
            discussion: "Exits 2 when damage remains that recovery cannot repair (it is listed).")

        @OptionGroup var options: StoreOptions

        @Option(name: .shortAndLong, help: "Recover into this new or empty directory (outside every store's) and leave the source as it is.")
        var output: String?

        func run() async throws {
            let report: RecoveryReport
            if let output {
                let store = try options.open(readOnly: true)
                defer { store.close() }
                report = try await store.recover(into: output)
            } else {
                let store = try options.open(readOnly: false)
                defer { store.close() }
                report = try await store.recover()
            }
            if options.json {
                try printJSON(report)
            } else {
                print("kept \(report.chunksKept) chunks (\(report.headersRebuilt) with rebuilt headers), dropped \(report.chunksDropped); wrote \(report.indexRowsWritten) index rows, \(report.ledgerRowsRewritten) ledger rows, \(report.signedRowsAdded) signed rows, rewrote \(report.signedRowsRewritten); dropped \(report.certificatesDropped) certificates and \(report.malformedKeysDropped) malformed keys")
                for problem in report.unrepaired { print("not repaired: \(problem)") }
            }
            // Damage recovery cannot undo is still damage.
            if !report.unrepaired.isEmpty { throw ExitCode(2) }
        }
    }
}

