import DSMR
import Synchronization

/// Where a node learns each epoch's validator set.
public protocol ValidatorSetProvider: Sendable {
    /// The validators of `epoch`.
    ///
    /// - Throws: when the set of `epoch` is not known or cannot be formed.
    func validators(epoch: UInt64) throws -> ValidatorSet
}

/// Validator sets that change only at epoch boundaries: a validator that
/// joins or leaves at some time takes effect at the next epoch, so every
/// node derives the same set for an epoch from the same changes.
public final class ValidatorSchedule: ValidatorSetProvider {
    private struct Change {
        let epoch: UInt64
        let joining: [Validator]
        let leaving: Set<NodeID>
    }

    private struct State {
        var changes: [Change] = []
        /// Sets formed so far, by epoch; at most ``ValidatorSchedule/cachedSets``.
        var sets: [UInt64: ValidatorSet] = [:]
        /// The epochs of ``sets``, oldest formed first.
        var formed: [UInt64] = []
    }

    /// The rules whose epoch length the schedule follows.
    public let rules: Rules
    /// The validators of epoch 0.
    public let initial: [Validator]
    /// The most validator sets kept once formed. The epoch asked for can
    /// come from a peer (a chunk's slot, a certificate's epoch), so the
    /// cache is bounded: past it, the set formed first is dropped (and
    /// formed again from the changes if asked for).
    public let cachedSets: Int
    private let state = Mutex(State())

    /// A schedule whose validators from epoch 0 are `initial`, keeping up to
    /// `cachedSets` formed sets (at least 1).
    public init(initial: [Validator], rules: Rules, cachedSets: Int = 64) {
        self.rules = rules
        self.initial = initial
        self.cachedSets = max(cachedSets, 1)
    }

    /// How many formed sets are kept now (at most ``cachedSets``).
    public var cachedCount: Int { state.withLock { $0.sets.count } }

    /// Records that at chain time `time` the validators `joining` join and
    /// the nodes `leaving` leave; both take effect at the epoch after the
    /// one containing `time`. Returns that epoch.
    @discardableResult
    public func change(at time: ChainTime, joining: [Validator] = [], leaving: [NodeID] = []) -> UInt64 {
        // An epoch number is at most Int64.max / epochDuration: adding one cannot overflow.
        let effective = rules.epoch(at: time.milliseconds) + 1
        state.withLock { state in
            state.changes.append(Change(epoch: effective, joining: joining, leaving: Set(leaving)))
            state.sets = state.sets.filter { $0.key < effective }
            state.formed.removeAll { $0 >= effective }
        }
        return effective
    }

    /// The initial validators with every change in effect by `epoch` applied, in the order recorded.
    public func validators(epoch: UInt64) throws -> ValidatorSet {
        try state.withLock { state in
            if let known = state.sets[epoch] { return known }
            var validators = initial
            for change in state.changes where change.epoch <= epoch {
                validators.removeAll { change.leaving.contains($0.nodeID) }
                for validator in change.joining where !validators.contains(where: { $0.nodeID == validator.nodeID }) {
                    validators.append(validator)
                }
            }
            let set = try ValidatorSet(epoch: epoch, validators: validators)
            if state.formed.count >= cachedSets {
                state.sets[state.formed.removeFirst()] = nil
            }
            state.sets[epoch] = set
            state.formed.append(epoch)
            return set
        }
    }
}
