import ArgumentParser
import ChunkStore
import DSMR

extension DSMRStore {
    struct CollectGarbage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Collect what expired at or below the watermark (or a later one).",
            discussion: """
                A --watermark beyond the later of the store's watermark and the clock plus maxBlockSkew \
                and one epoch is refused unless --force is given: collecting up to it would remove every \
                row expiring before it.
                """)

        @OptionGroup var options: StoreOptions

        @Option(help: "Move the watermark forward to this chain time (ms) first.")
        var watermark: Int64?

        @Flag(help: "Report what would be collected and change nothing.")
        var dryRun = false

        @Flag(help: "Collect up to a --watermark beyond the plausible bound.")
        var force = false

        func run() async throws {
            let store = try options.open(readOnly: false)
            defer { store.close() }
            let limit = ChainTime.milliseconds(try watermark ?? store.watermark())
            let report =
                try await dryRun
                ? store.previewGarbage(upTo: limit, force: force) : store.collectGarbage(upTo: limit, force: force)
            if options.json { return try printJSON(report) }
            print(
                "watermark \(chainTimeText(report.watermark))\(dryRun ? " (dry run, nothing changed)" : ""): \(dryRun ? "would remove" : "removed") \(report.expiredPending) pending and \(report.expiredAccepted) accepted chunks, \(report.certificates) certificates, \(report.signedRows) signed, \(report.ledgerRows) ledger and \(report.evidenceRows) evidence rows, \(report.blocks) blocks (\(report.rowsVisited) rows visited; \(report.damagedRecords) damaged records)"
            )
        }
    }
}
