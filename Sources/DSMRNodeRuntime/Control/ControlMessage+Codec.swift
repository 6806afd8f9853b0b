import ChunkStore
import DSMR

extension ControlRequest: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "controlRequest"
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { ControlFrame.maxPayloadBytes }

    /// `tag (u8) || body`: nothing; a count and length-prefixed
    /// transactions; a timestamp (i64); a length-prefixed block; a height (u64); a
    /// length-prefixed state-machine query.
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .status:
            writer.write(Tag.status.rawValue)
        case .submit(let transactions):
            writer.write(Tag.submit.rawValue)
            writer.writeCount(transactions.count)
            for transaction in transactions { writer.writeLengthPrefixed(transaction) }
        case .buildBlock(let timestamp):
            writer.write(Tag.buildBlock.rawValue)
            writer.write(timestamp)
        case .acceptBlock(let block):
            writer.write(Tag.acceptBlock.rawValue)
            writer.writeLengthPrefixed(block.encoded())
        case .block(let height):
            writer.write(Tag.block.rawValue)
            writer.write(height)
        case .blockTransactions(let height):
            writer.write(Tag.blockTransactions.rawValue)
            writer.write(height)
        case .query(let request):
            writer.write(Tag.query.rawValue)
            writer.writeLengthPrefixed(request)
        case .stateRoot(let height):
            writer.write(Tag.stateRoot.rawValue)
            writer.write(height)
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readUInt8("tag")
        guard let tag = Tag(rawValue: raw) else {
            throw reader.error(.nonCanonical, "tag", "unknown control request tag \(raw)")
        }
        switch tag {
        case .status:
            self = .status
        case .submit:
            let count = try reader.readCount("transactions", limit: Self.maxSubmitted, minimumElementSize: 4)
            var transactions: [[UInt8]] = []
            transactions.reserveCapacity(count)
            for index in 0..<count {
                transactions.append(
                    try reader.element(index) { (reader) throws(CodecError) in
                        try reader.readLengthPrefixed("transaction", limit: reader.limits.maxTransactionBytes)
                    })
            }
            self = .submit(transactions)
        case .buildBlock:
            self = .buildBlock(timestamp: try reader.readInt64("timestamp"))
        case .acceptBlock:
            self = .acceptBlock(try readBlock(&reader))
        case .block:
            self = .block(height: try reader.readUInt64("height"))
        case .blockTransactions:
            self = .blockTransactions(height: try reader.readUInt64("height"))
        case .query:
            self = .query(try reader.readLengthPrefixed("query", limit: ControlFrame.maxPayloadBytes))
        case .stateRoot:
            self = .stateRoot(height: try reader.readUInt64("height"))
        }
    }
}

extension ControlResponse: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "controlResponse"
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { ControlFrame.maxPayloadBytes }

    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .status(let status):
            writer.write(Tag.status.rawValue)
            status.encode(to: &writer)
        case .submitted(let added, let notAssigned, let refused):
            writer.write(Tag.submitted.rawValue)
            writer.write(added)
            writer.write(notAssigned)
            writer.write(refused)
        case .block(let block):
            writer.write(Tag.block.rawValue)
            writer.writeLengthPrefixed(block.encoded())
        case .accepted(let height, let executedHeight):
            writer.write(Tag.accepted.rawValue)
            writer.write(height)
            writer.write(executedHeight)
        case .transactions(let digests):
            writer.write(Tag.transactions.rawValue)
            writer.writeCount(digests.count)
            for digest in digests { writer.writeRaw(digest) }
        case .answer(let answer):
            writer.write(Tag.answer.rawValue)
            writer.writeLengthPrefixed(answer)
        case .stateRoot(let root):
            writer.write(Tag.stateRoot.rawValue)
            writer.write(root)
        case .error(let error):
            writer.write(Tag.error.rawValue)
            writer.write(error.code.rawValue)
            writer.writeLengthPrefixed(Array(error.message.utf8))
        }
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let raw = try reader.readUInt8("tag")
        guard let tag = Tag(rawValue: raw) else {
            throw reader.error(.nonCanonical, "tag", "unknown control response tag \(raw)")
        }
        switch tag {
        case .status:
            self = .status(try NodeStatus(from: &reader))
        case .submitted:
            self = .submitted(
                added: try reader.readUInt32("added"), notAssigned: try reader.readUInt32("notAssigned"),
                refused: try reader.readUInt32("refused"))
        case .block:
            self = .block(try readBlock(&reader))
        case .accepted:
            self = .accepted(height: try reader.readUInt64("height"), executedHeight: try reader.readUInt64("executed"))
        case .transactions:
            let count = try reader.readCount(
                "digests", limit: ControlFrame.maxPayloadBytes / 32, minimumElementSize: 32)
            var digests: [[UInt8]] = []
            digests.reserveCapacity(count)
            for _ in 0..<count { digests.append(try reader.readRaw(32, "digest")) }
            self = .transactions(digests)
        case .answer:
            self = .answer(try reader.readLengthPrefixed("answer", limit: ControlFrame.maxPayloadBytes))
        case .stateRoot:
            self = .stateRoot(try reader.read(StateRoot.self, "root"))
        case .error:
            let raw = try reader.readUInt8("code")
            guard let code = ControlError.Code(rawValue: raw) else {
                throw reader.error(.nonCanonical, "code", "unknown control error code \(raw)")
            }
            let bytes = try reader.readLengthPrefixed("message", limit: ControlError.maxMessageBytes)
            guard let message = String(validating: bytes, as: UTF8.self) else {
                throw reader.error(.nonCanonical, "message", "not UTF-8")
            }
            self = .error(ControlError(code, message))
        }
    }
}

extension NodeStatus {
    func encode(to writer: inout CanonicalWriter) {
        writer.write(nodeID)
        writer.write(processID)
        writer.write(acceptedHeight)
        writer.write(acceptedID)
        writer.write(acceptedTimestamp)
        writer.write(executedHeight)
        writer.write(executedRoot)
        for counter in [
            mempool, chunksBuilt, chunksCertified, blocksAccepted, transactionsExecuted, storeBytes, stateBytes,
        ] {
            writer.write(counter)
        }
        writer.write(health.condition.rawValue)
        writer.writeLengthPrefixed(Array(ControlError.cut(health.cause, toBytes: ControlError.maxMessageBytes).utf8))
        writer.write(certifiedHeight)
        writer.write(servedSnapshotHeight)
        writer.write(signingFloor)
    }

    init(from reader: inout CanonicalReader) throws(CodecError) {
        nodeID = try reader.read(NodeID.self, "nodeID")
        processID = try reader.readUInt32("processID")
        acceptedHeight = try reader.readUInt64("acceptedHeight")
        acceptedID = try reader.read(BlockID.self, "acceptedID")
        acceptedTimestamp = try reader.readInt64("acceptedTimestamp")
        executedHeight = try reader.readUInt64("executedHeight")
        executedRoot = try reader.read(StateRoot.self, "executedRoot")
        mempool = try reader.readUInt64("mempool")
        chunksBuilt = try reader.readUInt64("chunksBuilt")
        chunksCertified = try reader.readUInt64("chunksCertified")
        blocksAccepted = try reader.readUInt64("blocksAccepted")
        transactionsExecuted = try reader.readUInt64("transactionsExecuted")
        storeBytes = try reader.readUInt64("storeBytes")
        stateBytes = try reader.readUInt64("stateBytes")
        let raw = try reader.readUInt8("health")
        guard let condition = NodeHealth.Condition(rawValue: raw) else {
            throw reader.error(.nonCanonical, "health", "unknown health condition \(raw)")
        }
        let cause = try reader.readLengthPrefixed("cause", limit: ControlError.maxMessageBytes)
        guard let text = String(validating: cause, as: UTF8.self) else {
            throw reader.error(.nonCanonical, "cause", "the health cause is not UTF-8")
        }
        health = NodeHealth(condition: condition, cause: text)
        certifiedHeight = try reader.readUInt64("certifiedHeight")
        servedSnapshotHeight = try reader.readUInt64("servedSnapshotHeight")
        signingFloor = try reader.readUInt64("signingFloor")
    }
}

/// A length-prefixed block inside a control message, decoded strictly.
private func readBlock(_ reader: inout CanonicalReader) throws(CodecError) -> Block {
    let bytes = try reader.readLengthPrefixed("block", limit: reader.limits.maxBlockBytes)
    let limits = reader.limits
    return try reader.nested("block") { (_) throws(CodecError) in try Block(decoding: bytes, limits: limits) }
}
