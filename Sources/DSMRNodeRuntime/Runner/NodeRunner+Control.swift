import ChunkStore
import Crypto
import DSMR
import DSMRNode
import Foundation
import SystemC

extension NodeRunner {
    /// Answers one control request.
    func handle(_ request: ControlRequest) async -> ControlResponse {
        guard !isStopping else { return .error(ControlError(.stopping, "the node is stopping")) }
        do {
            switch request {
            case .status:
                return .status(try status())
            case .submit(let transactions):
                return submit(transactions)
            case .buildBlock where ordering != nil, .acceptBlock where ordering != nil:
                return .error(ControlError(.failed, "the node orders its blocks through etcd; it is not driven"))
            case .buildBlock(let timestamp):
                return try buildBlock(timestamp: timestamp)
            case .acceptBlock(let block):
                await awaitExecutionBacklog()
                return try await serial.run {
                    // Stopping may have begun while this waited its turn; the store then closes after it.
                    guard !isStopping else { throw ControlError(.stopping, "the node is stopping") }
                    return try await accept(block)
                }
            case .block(let height):
                guard let block = try node.acceptedBlock(at: height) else {
                    return .error(ControlError(.notFound, "no block held at height \(height)"))
                }
                return .block(block)
            case .blockTransactions(let height):
                guard let block = try node.acceptedBlock(at: height), let executed = try node.executedTip(),
                    executed >= height
                else {
                    return .error(ControlError(.notFound, "no executed block held at height \(height)"))
                }
                if let applied = assembler.appliedDigests(at: height) { return .transactions(applied) }
                // Executed before this process started: what the block carried to execution.
                let transactions = try await node.executor.transactions(of: block)
                return .transactions(transactions.map { Array(SHA256.hash(data: $0)) })
            case .query(let request):
                do {
                    return .answer(try stateMachine.query(request))
                } catch let error as StateMachineError {
                    return .error(ControlError(.badQuery, "\(error)"))
                }
            case .stateRoot(let height):
                guard let root = try node.stateRoot(at: height) else {
                    return .error(ControlError(.notFound, "no state root recorded at height \(height)"))
                }
                return .stateRoot(root)
            }
        } catch let error as ControlError {
            return .error(error)
        } catch {
            return .error(ControlError(.failed, "\(error)"))
        }
    }

    func status() throws -> NodeStatus {
        let last = node.lastAccepted
        let executed = try node.executedTip() ?? 0
        let root = try node.stateRoot(at: executed) ?? .zero
        let counters = self.counters.withLock { $0 }
        let storeBytes = fileSize("\(configuration.store)/data.mdb")
        let stateBytes = stateMachine.diskBytes()
        metrics.acceptedHeight.record(Int64(clamping: last.height))
        metrics.executedHeight.record(Int64(clamping: executed))
        metrics.storeBytes.record(Int64(clamping: storeBytes))
        metrics.stateBytes.record(Int64(clamping: stateBytes))
        var status = NodeStatus(
            nodeID: node.nodeID, processID: UInt32(getpid()), acceptedHeight: last.height, acceptedID: last.id,
            acceptedTimestamp: last.timestamp, executedHeight: executed, executedRoot: root,
            mempool: UInt64(node.mempool.count), chunksBuilt: counters.chunksBuilt,
            chunksCertified: counters.chunksCertified, blocksAccepted: counters.blocksAccepted,
            transactionsExecuted: counters.transactionsExecuted, storeBytes: storeBytes, stateBytes: stateBytes,
            health: monitor.health)
        status.certifiedHeight = stateKeeper.latestCertificate?.height ?? 0
        status.servedSnapshotHeight = stateKeeper.servedHeight ?? 0
        status.signingFloor = (try? node.store.signingFloor()) ?? 0
        return status
    }

    /// Has the state machine decode and pre-check each transaction, and
    /// keeps those the partition assigns to this validator by their sponsor.
    func submit(_ transactions: [[UInt8]]) -> ControlResponse {
        var added: UInt32 = 0
        var notAssigned: UInt32 = 0
        var refused: UInt32 = 0
        let now = SystemClock().now().milliseconds
        let limits = DecodingLimits(rules: node.rules)
        for bytes in transactions {
            guard let pending = try? stateMachine.admit(bytes, now: now, limits: limits) else {
                refused += 1
                continue
            }
            guard TransactionPartition.validator(for: pending.sponsor, in: set) == node.nodeID else {
                notAssigned += 1
                continue
            }
            if node.mempool.add(pending) { added += 1 } else { refused += 1 }
        }
        metrics.transactionsSubmitted.increment(by: Int(added))
        return .submitted(added: added, notAssigned: notAssigned, refused: refused)
    }

    /// Builds a block on the last accepted block at `timestamp`: with the
    /// certificates held, or none when none can go in and the last accepted
    /// block is at least a slot old (such a block only moves chain time).
    func buildBlock(timestamp: Int64) throws -> ControlResponse {
        do {
            var block = try node.buildBlock(parent: node.lastAccepted, timestamp: timestamp)
            if let alter = customization.alterBuiltBlock { block = alter(block) }
            metrics.blocksBuilt.increment()
            return .block(block)
        } catch let error as NodeError where error.code == .noAvailableCertificates {
            throw ControlError(.nothingToBuild, error.message)
        }
    }

    /// Verifies and accepts `block` if it extends the last accepted block;
    /// a block already accepted is answered as accepted again.
    ///
    /// With `misplacedIsTrouble` (blocks from the driver, which sends each
    /// validator the next block of the one chain), a block at the next
    /// height on another parent means this node's chain is not the others',
    /// and is reported as a health problem; an ordering log may hold such
    /// attempts from anyone, which are only skipped.
    ///
    /// The block is recorded here and executes on the execution lane after
    /// this returns (`NodeRunner+Execution`): the next block can be ordered
    /// while it executes.
    func accept(_ block: Block, misplacedIsTrouble: Bool = true) async throws -> ControlResponse {
        let started = ContinuousClock.now
        let last = node.lastAccepted
        let waits = block.height == last.height + 1 ? certifiedAt.carried(by: block, at: started) : []
        do {
            if try await node.verifyAndAccept(block, executing: false) == .alreadyAccepted {
                return .accepted(height: block.height, executedHeight: try node.executedTip() ?? 0)
            }
        } catch let error as NodeError where error.code == .notChildOfLastAccepted {
            if misplacedIsTrouble, block.height == last.height + 1 {
                // The next height, but not on this node's last block: its chain is not the others'.
                monitor.report(
                    .acceptance, .degraded,
                    "cannot place block \(block.id) at height \(block.height): its parent \(block.parent) is not "
                        + "this node's last accepted block \(last.id)")
            }
            throw ControlError(.notNext, error.message)
        } catch let error as BlockVerificationError {
            metrics.blocksRefused.increment()
            throw ControlError(.invalidBlock, "\(error)")
        } catch {
            trouble(.acceptance, error, "cannot accept the block at height \(block.height)")
            throw error
        }
        monitor.clear(.acceptance)
        executeInBackground(height: block.height, acceptStarted: started)
        for wait in waits { metrics.blockWait.record(wait) }
        metrics.blocksAccepted.increment()
        counters.withLock { $0.blocksAccepted += 1 }
        let executed = try node.executedTip() ?? 0
        metrics.acceptedHeight.record(Int64(clamping: block.height))
        metrics.executedHeight.record(Int64(clamping: executed))
        return .accepted(height: block.height, executedHeight: executed)
    }
}

/// The size of the file at `path`, 0 when it cannot be read.
func fileSize(_ path: String) -> UInt64 {
    var info = stat()
    guard stat(path, &info) == 0 else { return 0 }
    return UInt64(info.st_size)
}
