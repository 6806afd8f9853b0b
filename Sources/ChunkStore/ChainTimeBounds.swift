import DSMR

/// How far ahead of a store's chain time a watermark or signing floor given
/// from outside may reach without `force`: an imported signing history's,
/// or the time `dsmr-store gc --watermark` collects up to.
///
/// Raising the watermark collects everything it expires, and raising the
/// floor forbids signing below it, so an absurd value (`Int64.max`) would
/// empty the store. The bounds are measured from the *reference*: the later
/// of the store's own watermark and the node's clock (chain time is
/// milliseconds on the wall clock).
///
/// - A watermark is an accepted block's timestamp (or a time collected up
///   to), and a block is at most `Rules.maxBlockSkew` ahead of the clock of
///   the node that accepted it. One epoch (`Rules.epochDuration`) more is
///   allowed for clocks of different machines to disagree: ``watermark`` =
///   reference + maxBlockSkew + epochDuration, saturating at `Int64.max`.
/// - A floor is at most the first slot whose chunks outlive the watermark
///   (collection, a change of rules) or one past the highest slot signed
///   (recovery), and a share is signed for at most `Rules.maxFutureSlots`
///   slots past the signer's clock: ``lowSlot`` = slot(``watermark``) +
///   maxFutureSlots + 1.
public struct ChainTimeBounds: Sendable, Hashable {
    /// The highest watermark accepted without force (chain time, ms).
    public var watermark: Int64
    /// The highest signing floor (slot) accepted without force.
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

    /// Throws ``ChunkStoreError/Code/implausible`` when `value`, a watermark
    /// described by `field` ("the watermark"), lies beyond ``watermark``: the
    /// message names the field, the value, the bound, `consequence` (what
    /// accepting it would do) and `remedy` (how to insist).
    package func checkWatermark(_ value: Int64, field: String, consequence: String, remedy: String) throws {
        guard value > watermark else { return }
        throw ChunkStoreError(
            .implausible,
            "\(field) \(value) lies beyond \(watermark), the latest this store accepts (its watermark or clock plus maxBlockSkew and an epoch); \(consequence). \(remedy) only if the network's chain time really is there"
        )
    }

    /// Throws ``ChunkStoreError/Code/implausible`` when `value`, a signing
    /// floor named `field`, lies beyond ``lowSlot``.
    package func checkLowSlot(_ value: UInt64, field: String, consequence: String, remedy: String) throws {
        guard value > lowSlot else { return }
        throw ChunkStoreError(
            .implausible,
            "\(field) \(value) lies beyond slot \(lowSlot), the latest this store accepts (\(watermark) ms plus maxFutureSlots); \(consequence). \(remedy) only if the network's chain time really is there"
        )
    }
}
