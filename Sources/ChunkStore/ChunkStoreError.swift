import DSMR

/// The one error type of the chunk store: a code callers can match on and a
/// message that says what was wrong and with what.
public struct ChunkStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong: a struct wrapping a private enum, so that new codes
    /// can be added later and `catch ChunkStoreError.Code.expired` is an
    /// expression pattern (with an enum it would be read as an enum-case
    /// pattern on `any Error` and not compile).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notAValidator, badSignature, tooLarge, expired, tooFarInFuture, conflictingChunk, rateLimited
            case invalidChunk, blockOutOfOrder, corruptRecord, wrongStore, locked, readOnly, closed
            case badInterchange, io, invalidConfiguration, noSigningKey, alreadyExists, damaged, outputInsideStore
            case notAccepted, implausible
            case storeFull, writerFailed, busy, internalError
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The code's name, as printed in messages.
        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }

        /// The chunk's producer is not in the validator set.
        public static let notAValidator = Code(.notAValidator)
        /// The producer's signature over the chunk does not verify.
        public static let badSignature = Code(.badSignature)
        /// The chunk is larger than `Rules.maxChunkBytes`.
        public static let tooLarge = Code(.tooLarge)
        /// The chunk's expiry is at or below the watermark.
        public static let expired = Code(.expired)
        /// The chunk's slot is more than `Rules.maxFutureSlots` ahead.
        public static let tooFarInFuture = Code(.tooFarInFuture)
        /// Another chunk of the same producer and slot was signed already;
        /// both are kept as evidence.
        public static let conflictingChunk = Code(.conflictingChunk)
        /// Signing would take the producer past its per-window limit.
        public static let rateLimited = Code(.rateLimited)
        /// The chunk's transactions could not be measured.
        public static let invalidChunk = Code(.invalidChunk)
        /// No accepted block's certificate names the chunk.
        public static let notAccepted = Code(.notAccepted)
        /// A value given from outside lies implausibly far ahead of the
        /// store's chain time (a signing history's watermark or floor, or the
        /// time a collection was asked to reach; see ``ChainTimeBounds``);
        /// the message names the field, its value and the bound. Accepting it
        /// anyway takes `force`.
        public static let implausible = Code(.implausible)
        /// A block does not extend the accepted tip.
        public static let blockOutOfOrder = Code(.blockOutOfOrder)
        /// A stored value does not decode.
        public static let corruptRecord = Code(.corruptRecord)
        /// The store's files are damaged below the level of records (an
        /// empty or cut-short data file, a damaged meta page or tree page):
        /// LMDB cannot open or read them.
        public static let damaged = Code(.damaged)
        /// The store was made for another network, chain or node, or by
        /// another schema version.
        public static let wrongStore = Code(.wrongStore)
        /// Another process holds the store's writer lock, or this process
        /// has the store open already, or (for `compactInPlace`) another
        /// process has the store open at all.
        public static let locked = Code(.locked)
        /// The store is open read-only.
        public static let readOnly = Code(.readOnly)
        /// The store has been closed.
        public static let closed = Code(.closed)
        /// A signing-history or dump file is malformed or for another chain.
        public static let badInterchange = Code(.badInterchange)
        /// A file or directory operation failed (the message names the path
        /// and the system's reason).
        public static let io = Code(.io)
        /// The configuration contradicts itself (a signer of another node, a
        /// negative retention).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Signing was asked of a store opened without a signing key
        /// (`StoreConfiguration.signer`).
        public static let noSigningKey = Code(.noSigningKey)
        /// The destination exists already: a store's directory holds one
        /// (load and copies write only into a new or empty directory), or an
        /// output file is there (replaced only when asked to, `--force`).
        public static let alreadyExists = Code(.alreadyExists)
        /// The store reached its size ceiling (`StoreConfiguration.maxMapSize`):
        /// nothing of the write was stored. Collect garbage or reopen with a
        /// higher ceiling.
        public static let storeFull = Code(.storeFull)
        /// An earlier write, commit or sync failed in a way that leaves the
        /// store's state on disk unknown (an I/O error, a full disk): writes
        /// are refused until the store is closed and reopened. The message
        /// names the first failure. Reads go on.
        public static let writerFailed = Code(.writerFailed)
        /// The write needed the map grown, and a read of this process held
        /// the map longer than `StoreConfiguration.maxGrowthWait` (or every
        /// reader slot was taken): nothing of it was stored, and it is safe
        /// to retry once the read ends.
        public static let busy = Code(.busy)
        /// The storage engine failed in a way the store does not expect of
        /// itself (a transaction too large, a stale handle); the message
        /// carries the engine's words.
        public static let internalError = Code(.internalError)
        /// An output would land inside a store's directory (its own
        /// `data.mdb`, its lock file, or anything beside them).
        public static let outputInsideStore = Code(.outputInsideStore)
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
