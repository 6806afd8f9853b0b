import ArgumentParser
import ChunkStore

extension DSMRStore {
    struct CollectGarbage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Collect what expired at or below the watermark (or a later one).")

        @OptionGroup var options: StoreOptions

        @Option(help: "Move the watermark forward to this chain time (ms) first.")
        var watermark: Int64?

        func run() async throws {
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let report = try await store.collectGarbage(upTo: .milliseconds(watermark ?? store.watermark()))
            if options.json { return try printJSON(report) }
            print("watermark \(report.watermark): removed \(report.expiredPending) pending and \(report.expiredAccepted) accepted chunks, \(report.certificates) certificates, \(report.signedRows) signed, \(report.ledgerRows) ledger and \(report.evidenceRows) evidence rows (\(report.rowsVisited) rows visited)")
        }
    }
}
