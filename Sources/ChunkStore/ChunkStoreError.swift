import DSMR
import LMDB

/// The one error type of the chunk store: a code callers can match on and a
/// message that says what was wrong and with what.
public struct ChunkStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Hashable {
        /// The chunk's producer is not in the validator set.
        case notAValidator
        /// The producer's signature over the chunk does not verify.
        case badSignature
        /// The chunk is larger than `Rules.maxChunkBytes`.
        case tooLarge
        /// The chunk's expiry is at or below the watermark.
        case expired
        /// The chunk's slot is more than `Rules.maxFutureSlots` ahead.
        case tooFarInFuture
        /// Another chunk of the same producer and slot was signed already;
        /// both are kept as evidence.
        case conflictingChunk
        /// Signing would take the producer past its per-window limit.
        case rateLimited
        /// The chunk's transactions could not be measured.
        case invalidChunk
        /// A block does not extend the accepted tip.
        case blockOutOfOrder
        /// A stored value does not decode.
        case corruptRecord
        /// The store was made for another network, chain or node, or by
        /// another schema version.
        case wrongStore
        /// Another process holds the store's writer lock.
        case locked
        /// The store is open read-only.
        case readOnly
        /// The store has been closed.
        case closed
        /// A signing-history or dump file is malformed or for another chain.
        case badInterchange
        /// The store's directory could not be prepared.
        case io
    }

    /// What went wrong.
    public let code: Code
    /// The details.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension ChunkStoreError.Code {
    /// Matches an error against a code: `catch ChunkStoreError.Code.expired`.
    public static func ~= (code: Self, error: any Error) -> Bool {
        (error as? ChunkStoreError)?.code == code
    }
}
