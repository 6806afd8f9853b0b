import ArgumentParser
import ChunkStore
import StoreMaintenance
import Foundation

extension DSMRStore {
    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild every derived row in place, or salvage what a damaged store holds into a new one.",
            discussion: """
                Without -o, rebuilds the chunk indexes, ledgers and missing signed rows in place (the node \
                must be stopped). With -o DIR, reads the store table by table and row by row, around the \
                parts LMDB refuses, and writes every row that decodes and passes its checks into a new \
                store at DIR, leaving the source untouched; prints per table what was kept, dropped and \
                lost. When one of data.mdb's two meta pages is damaged, reads a private copy in which it is \
                rewritten from the other (the store as of that page's transaction) and says so. Exits 2 when \
                rows were dropped or lost, or a meta page was damaged.
                """)

        @OptionGroup var options: StoreOptions

        @Option(
            name: .shortAndLong,
            help: "Salvage into this new or empty directory (outside every store's) and leave the source as it is.")
        var output: String?

        func run() async throws {
            if let output { return try await salvage(into: output) }
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let report = try await store.recover()
            if options.json {
                try printJSON(report)
            } else {
                print(
                    "kept \(report.chunksKept) chunks (\(report.headersRebuilt) with rebuilt headers), dropped \(report.chunksDropped); wrote \(report.indexRowsWritten) index rows, \(report.ledgerRowsRewritten) ledger rows, \(report.signedRowsAdded) signed rows, rewrote \(report.signedRowsRewritten); dropped \(report.certificatesDropped) certificates and \(report.malformedKeysDropped) malformed keys"
                )
                for problem in report.unrepaired { print("not repaired: \(problem)") }
            }
            // Damage recovery cannot undo is still damage.
            if !report.unrepaired.isEmpty { throw ExitCode(2) }
        }

        private func salvage(into output: String) async throws {
            guard let executable = Bundle.main.executablePath else {
                throw ValidationError("cannot find this program's own path to run its table readers")
            }
            let progress = TerminalProgress(json: options.json)
            let report = try await ChunkStore.salvage(
                from: options.store, into: output,
                isolation: .childProcess(
                    executable: executable, arguments: ["read-table"], watchdogSeconds: IsolatedRun.watchdogSeconds),
                progress: progress.handler)
            progress.finish()
            if options.json {
                try printJSON(report)
            } else {
                if let fallback = report.metaPageFallback {
                    print(
                        "meta page \(fallback.damagedPage) is damaged (\(fallback.problem)); read from meta page \(fallback.usedPage), transaction \(fallback.transactionID), on a private copy of data.mdb: what a later commit wrote under the damaged page is lost"
                    )
                }
                for (name, table) in report.tables.sorted(by: { $0.key < $1.key }) {
                    if table.rebuilt {
                        print("\(name): rebuilt from the chunks")
                        continue
                    }
                    print("\(name): read \(table.rowsRead), kept \(table.rowsKept), dropped \(table.rowsDropped)")
                    if let count = table.rowsLost {
                        print("  lost \(count) of the \(table.rowsStored ?? 0) rows stored")
                    }
                    for lost in table.lost { print("  lost \(lost)") }
                }
                print("watermark \(report.watermark), signing floor \(report.signingFloor)")
                if let slot = report.unprotectedFromSlot {
                    print(
                        "signed rows were lost to the end of the table: slots from \(slot) on are not protected; import the signing history from a backup before signing, or wait until chain time passes their expiry"
                    )
                }
                for problem in report.check.problems { print("after salvage: \(problem)") }
                print(
                    report.isComplete
                        ? "OK: every row salvaged into \(output)" : "salvaged into \(output); rows were lost or dropped"
                )
            }
            if !report.isComplete || !report.check.isClean { throw ExitCode(2) }
        }
    }
}

extension DSMRStore {
    /// The child `recover -o` reads each table in, so that LMDB failing on a
    /// damaged page ends the child, not the salvage. Not for people.
    struct ReadTable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "read-table", abstract: "Used by recover -o: stream one table's rows.",
            shouldDisplay: false)

        @Argument(parsing: .captureForPassthrough) var arguments: [String] = []

        func run() throws {
            let status = ChunkStore.streamTableRows(arguments: arguments)
            if status != 0 { throw ExitCode(status) }
        }
    }
}
