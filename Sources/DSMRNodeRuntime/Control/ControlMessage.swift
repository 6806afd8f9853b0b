import ChunkStore
import DSMR

/// What a local client (the devnet's ordering driver and load generator,
/// or an operator's tool) asks a running node over its control socket.
///
/// The block API is the one a consensus engine drives: build a block on the
/// last accepted one, and verify then accept a block.
public enum ControlRequest: Hashable, Sendable {
    /// The node's heights, counters and sizes.
    case status
    /// Transactions for the mempool, as opaque bytes: the node's state
    /// machine decodes, pre-checks and routes each one.
    case submit([[UInt8]])
    /// Builds a block on the last accepted block at `timestamp` (not accepted).
    case buildBlock(timestamp: Int64)
    /// Verifies `block` against the last accepted block, accepts it and executes it.
    case acceptBlock(Block)
    /// The accepted block at a height.
    case block(height: UInt64)
    /// The SHA-256 digests of the transactions that applied at an executed
    /// height, in order (for a height executed before the node's process
    /// started: every transaction the block carried to execution).
    case blockTransactions(height: UInt64)
    /// A read of the executed state, in the state machine's own format
    /// (DemoVM: `DemoQuery`), answered by ``ControlResponse/answer(_:)``.
    case query([UInt8])
    /// The state root recorded for an executed height.
    case stateRoot(height: UInt64)

    enum Tag: UInt8 { case status = 1, submit, buildBlock, acceptBlock, block, blockTransactions, query, stateRoot }

    /// The most transactions in one ``submit(_:)``.
    package static let maxSubmitted = 10_000
}

/// A node's answer to a ``ControlRequest``.
public enum ControlResponse: Hashable, Sendable {
    /// The answer to ``ControlRequest/status``.
    case status(NodeStatus)
    /// How many submitted transactions went into the mempool, how many are
    /// assigned to another validator (not taken), and how many were refused
    /// (refused by the state machine's pre-check, held already, or the mempool full).
    case submitted(added: UInt32, notAssigned: UInt32, refused: UInt32)
    /// A block built or asked for.
    case block(Block)
    /// The block is accepted; the node has executed up to `executedHeight`.
    case accepted(height: UInt64, executedHeight: UInt64)
    /// The digests asked for.
    case transactions([[UInt8]])
    /// The state machine's answer to a ``ControlRequest/query(_:)``.
    case answer([UInt8])
    /// The state root of an executed height.
    case stateRoot(StateRoot)
    /// A refusal.
    case error(ControlError)

    enum Tag: UInt8 { case status = 1, submitted, block, accepted, transactions, error, answer, stateRoot }
}

/// A node's refusal of a control request.
public struct ControlError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why.
    package enum Code: UInt8, Sendable {
        /// The request could not be decoded.
        case malformed = 1
        /// No certificate can go into a block now.
        case nothingToBuild
        /// The block does not extend the node's last accepted block; the
        /// message gives the node's height.
        case notNext
        /// The block failed verification.
        case invalidBlock
        /// No block (or no executed block) at that height.
        case notFound
        /// The node failed; the message says how.
        case failed
        /// The node is stopping.
        case stopping
        /// The state machine could not decode or answer a query.
        case badQuery
    }

    /// Why.
    package let code: Code
    /// Details.
    package let message: String

    /// The longest message carried, in UTF-8 bytes; longer ones are cut.
    package static let maxMessageBytes = 4_096

    /// A refusal; a message longer than ``maxMessageBytes`` keeps the whole characters that fit.
    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = Self.cut(message)
    }

    /// The longest prefix of whole characters of `message` that fits `limit` UTF-8 bytes.
    static func cut(_ message: String, toBytes limit: Int = maxMessageBytes) -> String {
        guard message.utf8.count > limit else { return message }
        var bytes = 0
        var end = message.startIndex
        for index in message.indices {
            let next = message.index(after: index)
            bytes += message[index..<next].utf8.count
            if bytes > limit { break }
            end = next
        }
        return String(message[..<end])
    }

    public var description: String { "\(code): \(message)" }
}

/// A running node's state, as ``ControlRequest/status`` reports it.
public struct NodeStatus: Hashable, Sendable {
    /// The node.
    package var nodeID: NodeID
    /// The process id.
    package var processID: UInt32
    /// The last accepted block's height, id and timestamp.
    package var acceptedHeight: UInt64
    /// The last accepted block's id.
    package var acceptedID: BlockID
    /// The last accepted block's timestamp (chain time).
    package var acceptedTimestamp: Int64
    /// The highest executed height.
    package var executedHeight: UInt64
    /// Its state root.
    package var executedRoot: StateRoot
    /// Transactions waiting in the mempool.
    package var mempool: UInt64
    /// Chunks this node built and stored.
    package var chunksBuilt: UInt64
    /// Chunks of this node that a quorum certified.
    package var chunksCertified: UInt64
    /// Blocks accepted since the process started.
    package var blocksAccepted: UInt64
    /// Transactions applied since the process started (invalid ones skipped).
    package var transactionsExecuted: UInt64
    /// Bytes of the chunk store's data file.
    package var storeBytes: UInt64
    /// Bytes the state machine's state takes on disk.
    package var stateBytes: UInt64
    /// Whether the node can do its work, and if not, why.
    package var health: NodeHealth = .healthy
    /// The highest height whose state root this node holds a quorum's certificate of (0: none).
    package var certifiedHeight: UInt64 = 0
    /// The height of the certified snapshot it serves to peers (0: none).
    package var servedSnapshotHeight: UInt64 = 0
    /// The first slot it may sign a chunk of: above the current slot after
    /// a state sync, while slots it may have signed before it lost its
    /// store are still open.
    package var signingFloor: UInt64 = 0

    /// A status from its parts.
    package init(
        nodeID: NodeID, processID: UInt32, acceptedHeight: UInt64, acceptedID: BlockID, acceptedTimestamp: Int64,
        executedHeight: UInt64, executedRoot: StateRoot, mempool: UInt64, chunksBuilt: UInt64,
        chunksCertified: UInt64, blocksAccepted: UInt64, transactionsExecuted: UInt64, storeBytes: UInt64,
        stateBytes: UInt64, health: NodeHealth = .healthy
    ) {
        self.nodeID = nodeID
        self.processID = processID
        self.acceptedHeight = acceptedHeight
        self.acceptedID = acceptedID
        self.acceptedTimestamp = acceptedTimestamp
        self.executedHeight = executedHeight
        self.executedRoot = executedRoot
        self.mempool = mempool
        self.chunksBuilt = chunksBuilt
        self.chunksCertified = chunksCertified
        self.blocksAccepted = blocksAccepted
        self.transactionsExecuted = transactionsExecuted
        self.storeBytes = storeBytes
        self.stateBytes = stateBytes
        self.health = health
    }
}
