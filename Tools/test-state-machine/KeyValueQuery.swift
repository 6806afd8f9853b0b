import DSMR
import DSMRNode

/// The reads ``KeyValueMachine`` answers through
/// ``KeyValueMachine/query(_:)``, and their encodings.
///
/// A request is `tag (u8) || body`, integers big-endian:
/// - ``values(_:)``: `1 || count (u32) || keys, each u32 length || key`,
///   answered `count (u32) || for each key: present (u8: 0 or 1) || value
///   (u32 length || value; empty when absent)`.
/// - ``nextSequences(_:)``: `2 || count (u32) || 32-byte writers`,
///   answered `count (u32) || next sequence (u64)...`.
///
/// Answers are in the order asked.
public enum KeyValueQuery: Hashable, Sendable {
    /// The value of each key (1...64 bytes) in the executed state.
    case values([[UInt8]])
    /// The next sequence of each writer (32 bytes) in the executed state.
    case nextSequences([[UInt8]])

    /// The most keys or writers one query asks about.
    public static let maxItems = 10_000

    /// The request's bytes.
    public func encoded() -> [UInt8] {
        var writer = CanonicalWriter()
        switch self {
        case .values(let keys):
            writer.write(UInt8(1))
            writer.writeCount(keys.count)
            for key in keys { writer.writeLengthPrefixed(key) }
        case .nextSequences(let writers):
            writer.write(UInt8(2))
            writer.writeCount(writers.count)
            for account in writers { writer.writeRaw(account) }
        }
        return writer.bytes
    }

    /// Decodes a request strictly.
    ///
    /// - Throws: ``StateMachineError/badQuery(_:)`` naming what is wrong:
    ///   an unknown tag, a count over ``maxItems``, a key out of bounds,
    ///   truncated or trailing bytes.
    public init(decoding bytes: [UInt8]) throws(StateMachineError) {
        var reader = CanonicalReader(bytes, root: "key-value query")
        do {
            let tag = try reader.readUInt8("query tag")
            switch tag {
            case 1:
                let count = try reader.readCount("keys", limit: Self.maxItems, minimumElementSize: 5)
                var keys: [[UInt8]] = []
                keys.reserveCapacity(count)
                for _ in 0..<count {
                    let key = try reader.readLengthPrefixed("key", limit: KeyValueWrite.keyLengths.upperBound)
                    guard !key.isEmpty else { throw StateMachineError.badQuery("a key is 1...64 bytes, not empty") }
                    keys.append(key)
                }
                try reader.finish()
                self = .values(keys)
            case 2:
                let count = try reader.readCount(
                    "writers", limit: Self.maxItems, minimumElementSize: KeyValueWrite.writerByteCount)
                var writers: [[UInt8]] = []
                writers.reserveCapacity(count)
                for _ in 0..<count { writers.append(try reader.readRaw(KeyValueWrite.writerByteCount, "writer")) }
                try reader.finish()
                self = .nextSequences(writers)
            default:
                throw StateMachineError.badQuery("unknown key-value query tag \(tag)")
            }
        } catch let error as StateMachineError {
            throw error
        } catch {
            throw .badQuery("\(error)")
        }
    }

    /// Decodes the answer to ``values(_:)`` asked about `count` keys: each
    /// key's value, nil when it is not set.
    ///
    /// - Throws: ``StateMachineError/badQuery(_:)`` when it is not `count` answers.
    public static func decodeValues(_ bytes: [UInt8], count expected: Int) throws(StateMachineError) -> [[UInt8]?] {
        var reader = CanonicalReader(bytes, root: "key-value values")
        do {
            let count = try reader.readCount("values", limit: maxItems, minimumElementSize: 5)
            guard count == expected else {
                throw StateMachineError.badQuery("asked for \(expected) values, answered \(count)")
            }
            var values: [[UInt8]?] = []
            for _ in 0..<count {
                let present = try reader.readUInt8("present")
                let value = try reader.readLengthPrefixed("value", limit: KeyValueWrite.valueLengths.upperBound)
                switch present {
                case 1: values.append(value)
                case 0 where value.isEmpty: values.append(nil)
                default: throw StateMachineError.badQuery("a value's present flag \(present) does not fit its value")
                }
            }
            try reader.finish()
            return values
        } catch let error as StateMachineError {
            throw error
        } catch {
            throw .badQuery("\(error)")
        }
    }

    /// Decodes the answer to ``nextSequences(_:)`` asked about `count` writers.
    ///
    /// - Throws: ``StateMachineError/badQuery(_:)`` when it is not `count` sequences.
    public static func decodeNextSequences(
        _ bytes: [UInt8], count expected: Int
    ) throws(StateMachineError)
        -> [UInt64]
    {
        var reader = CanonicalReader(bytes, root: "key-value next sequences")
        do {
            let count = try reader.readCount("sequences", limit: maxItems, minimumElementSize: 8)
            guard count == expected else {
                throw StateMachineError.badQuery("asked for \(expected) next sequences, answered \(count)")
            }
            var sequences: [UInt64] = []
            for _ in 0..<count { sequences.append(try reader.readUInt64("next sequence")) }
            try reader.finish()
            return sequences
        } catch let error as StateMachineError {
            throw error
        } catch {
            throw .badQuery("\(error)")
        }
    }
}

extension KeyValueMachine {
    /// Answers a ``KeyValueQuery`` from the executed state.
    ///
    /// - Throws: ``StateMachineError/badQuery(_:)`` for a request that does not decode.
    public func query(_ request: [UInt8]) throws -> [UInt8] {
        let query = try KeyValueQuery(decoding: request)
        let state = file.withLock { $0.state }
        var writer = CanonicalWriter()
        switch query {
        case .values(let keys):
            writer.writeCount(keys.count)
            for key in keys {
                let value = state.entries[key]
                writer.write(UInt8(value == nil ? 0 : 1))
                writer.writeLengthPrefixed(value ?? [])
            }
        case .nextSequences(let writers):
            writer.writeCount(writers.count)
            for account in writers { writer.write(state.nextSequence(of: account)) }
        }
        return writer.bytes
    }
}
