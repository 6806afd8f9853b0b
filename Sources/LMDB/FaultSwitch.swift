import Synchronization

/// A test-only switch that makes the Nth write operation of one kind fail
/// with a chosen code, as a failing disk would.
///
/// Off unless a test arms it (through `@testable import LMDB`); while off,
/// each put, commit and sync costs one relaxed atomic load. Only one fault
/// is armed at a time and it fires once.
final class FaultSwitch: Sendable {
    /// Where a fault can be injected.
    enum Operation: Sendable, Hashable, CustomStringConvertible {
        /// `mdb_put` or `mdb_del`: the call is not made and returns the code.
        case put
        /// `mdb_txn_commit`: the transaction is aborted instead, so nothing
        /// of it reaches the file (as when writing its pages fails).
        case commit
        /// The sync that ends a commit: the commit is made, then reported as
        /// failed (as when `fdatasync` of the meta page fails: the new state
        /// is visible, its durability unknown).
        case sync

        var description: String {
            switch self {
            case .put: return "put"
            case .commit: return "commit"
            case .sync: return "sync"
            }
        }
    }

    private struct Plan {
        var operation: Operation
        var remaining: Int
        var code: LMDBError.Code
    }

    private let armed = Atomic<Bool>(false)
    private let plan = Mutex<Plan?>(nil)
    private let fired = Atomic<Int>(0)

    /// Makes the `nth` (1-based) `operation` from now fail with `code`.
    func arm(_ operation: Operation, failingCall nth: Int, with code: LMDBError.Code) {
        precondition(nth >= 1, "calls are counted from 1")
        plan.withLock { $0 = Plan(operation: operation, remaining: nth, code: code) }
        armed.store(true, ordering: .releasing)
    }

    /// Removes an armed fault that has not fired.
    func disarm() {
        plan.withLock { $0 = nil }
        armed.store(false, ordering: .releasing)
    }

    /// How many armed faults have fired since the environment opened.
    var firedCount: Int { fired.load(ordering: .acquiring) }

    /// Whether a fault is armed: the only cost on the normal path.
    @inline(__always)
    var isArmed: Bool { armed.load(ordering: .relaxed) }

    /// Counts one `operation`; returns the code to fail it with when it is
    /// the armed one.
    func fire(_ operation: Operation) -> LMDBError.Code? {
        plan.withLock { plan -> LMDBError.Code? in
            guard var current = plan, current.operation == operation else { return nil }
            current.remaining -= 1
            guard current.remaining == 0 else {
                plan = current
                return nil
            }
            plan = nil
            armed.store(false, ordering: .releasing)
            fired.add(1, ordering: .releasing)
            return current.code
        }
    }
}
