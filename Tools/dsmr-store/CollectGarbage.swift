import ArgumentParser
import ChunkStore
import DSMR

extension DSMRStore {
    struct CollectGarbage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Collect what expired at or below the watermark (or a later one).")

        @OptionGroup var options: StoreOptions

        @Option(help: "Move the watermark forward to this chain time (ms) first.")
        var watermark: Int64?

        @Flag(help: "Report what would be collected and change nothing.")
        var dryRun = false

        func run() async throws {
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let limit = ChainTime.milliseconds(try watermark ?? store.watermark())
            let report = try await dryRun ? store.previewGarbage(upTo: limit) : store.collectGarbage(upTo: limit)
            if options.json { return try printJSON(report) }
            print(
                "watermark \(report.watermark)\(dryRun ? " (dry run, nothing changed)" : ""): \(dryRun ? "would remove" : "removed") \(report.expiredPending) pending and \(report.expiredAccepted) accepted chunks, \(report.certificates) certificates, \(report.signedRows) signed, \(report.ledgerRows) ledger and \(report.evidenceRows) evidence rows, \(report.blocks) blocks (\(report.rowsVisited) rows visited; \(report.damagedRecords) damaged records)"
            )
        }
    }
}
