import DSMR

/// How far ahead of a store's chain time an imported signing history may
/// reach without `force`.
///
/// Importing a watermark collects everything it expires, and importing a
/// floor forbids signing below it, so an absurd value (`Int64.max`) would
/// empty the store on the next collection. The bounds are measured from the
/// *reference*: the later of the importing store's own watermark and the
/// importing node's clock (chain time is milliseconds on the wall clock).
///
/// - A watermark is an accepted block's timestamp (or a time collected up
///   to), and a block is at most `Rules.maxBlockSkew` ahead of the clock of
///   the node that accepted it. One epoch (`Rules.epochDuration`) more is
///   allowed for the clocks of the exporting and importing machines to
///   disagree: ``watermark`` = reference + maxBlockSkew + epochDuration,
///   saturating at `Int64.max`.
/// - A floor is at most the first slot whose chunks outlive the watermark
///   (collection, a change of rules) or one past the highest slot signed
///   (recovery), and a share is signed for at most `Rules.maxFutureSlots`
///   slots past the signer's clock: ``lowSlot`` = slot(``watermark``) +
///   maxFutureSlots + 1.
public struct SigningHistoryBounds: Sendable, Hashable {
    /// The highest `low_watermark` imported without force (chain time, ms).
    public var watermark: Int64
    /// The highest `low_slot` imported without force.
    public var lowSlot: UInt64

    /// The bounds for a store whose reference time (the later of its
    /// watermark and the node's clock) is `reference`, under `rules`.
    public init(reference: ChainTime, rules: Rules) {
        let (withSkew, overflow) = reference.milliseconds.addingReportingOverflow(max(rules.maxBlockSkew, 0))
        let (ceiling, overflowAgain) = withSkew.addingReportingOverflow(max(rules.epochDuration, 0))
        watermark = overflow || overflowAgain ? .max : ceiling
        let (slot, slotOverflow) = rules.slot(at: watermark).addingReportingOverflow(rules.maxFutureSlots)
        lowSlot = slotOverflow || slot == .max ? .max : slot + 1
    }

    /// Throws when `metadata` reaches past the bounds, naming the field, its
    /// value and the bound.
    func check(_ metadata: SigningHistory.Metadata) throws {
        if metadata.lowWatermark > watermark {
            throw ChunkStoreError(
                .implausible,
                "the signing history's low_watermark \(metadata.lowWatermark) lies beyond \(watermark), the latest this store accepts (its watermark or clock plus maxBlockSkew and an epoch); importing it would collect everything expiring before it. Import with force (--force) only if the network's chain time really is there"
            )
        }
        if metadata.lowSlot > lowSlot {
            throw ChunkStoreError(
                .implausible,
                "the signing history's low_slot \(metadata.lowSlot) lies beyond slot \(lowSlot), the latest this store accepts (\(watermark) ms plus maxFutureSlots); importing it would forbid signing below it. Import with force (--force) only if the network's chain time really is there"
            )
        }
    }
}
