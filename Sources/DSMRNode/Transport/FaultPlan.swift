import DSMR

/// The faults an ``InProcessNetwork`` injects, as chances per message.
///
/// Each decision is drawn from a generator seeded by the network's seed, the
/// link (sender, receiver) and the message's number on that link, so a run
/// with the same seed and the same traffic on each link injects the same
/// faults, whatever the threads' interleaving.
package struct FaultPlan: Sendable, Hashable {
    /// Chance, in thousandths, that a message (a request, an answer or a
    /// gossip) is lost.
    package var dropPerMille: UInt64
    /// Chance, in thousandths, that a message is delivered twice.
    package var duplicatePerMille: UInt64
    /// Chance, in thousandths, that a message is held back for up to
    /// ``maxDelay``; messages held for different times overtake each other,
    /// which reorders them.
    package var delayPerMille: UInt64
    /// The longest delay.
    package var maxDelay: Duration

    /// A plan with the given chances.
    package init(
        dropPerMille: UInt64 = 0, duplicatePerMille: UInt64 = 0, delayPerMille: UInt64 = 0,
        maxDelay: Duration = .milliseconds(20)
    ) {
        self.dropPerMille = min(dropPerMille, 1_000)
        self.duplicatePerMille = min(duplicatePerMille, 1_000)
        self.delayPerMille = min(delayPerMille, 1_000)
        self.maxDelay = maxDelay
    }

    /// No faults: every message arrives once, at once.
    package static let none = FaultPlan()
}

/// What happens to one message.
struct FaultDecision: Sendable, Equatable {
    var drop = false
    var duplicate = false
    var delay: Duration = .zero
}

extension FaultPlan {
    /// The decision for the message numbered `sequence` on a link whose
    /// generator seed is `linkSeed`.
    func decide(linkSeed: UInt64, sequence: UInt64) -> FaultDecision {
        var generator = SeededGenerator(seed: linkSeed ^ (sequence &* 0xD6E8_FEB8_6659_FD93))
        var decision = FaultDecision()
        decision.drop = generator.next() % 1_000 < dropPerMille
        decision.duplicate = generator.next() % 1_000 < duplicatePerMille
        if generator.next() % 1_000 < delayPerMille {
            let maxMicros =
                UInt64(max(0, maxDelay.components.seconds)) * 1_000_000
                + UInt64(max(0, maxDelay.components.attoseconds / 1_000_000_000_000))
            decision.delay = .microseconds(maxMicros == 0 ? 0 : Int64(generator.next() % (maxMicros + 1)))
        }
        return decision
    }
}
