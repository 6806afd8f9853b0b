import DSMR

/// A typed refusal: what a node answers instead of a share or a chunk.
public struct ErrorReply: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why the request was refused; one byte on the wire.
    public enum Code: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        /// The chunk asked for is not held (unknown, or held with another expiry).
        case notAvailable = 1
        /// The request is well formed but wrong: a bad producer signature, a
        /// certificate that does not verify or names another chunk.
        case invalid = 2
        /// Another chunk of the same producer and slot was signed already.
        case conflicting = 3
        /// Signing would take the producer past its rate limit.
        case rateLimited = 4
        /// The chunk expires before chain time.
        case expired = 5
        /// The chunk expires after chain time plus the validity window, or
        /// its slot is too far ahead of the local clock.
        case tooFarInFuture = 6
        /// The producer is not a validator of the chunk's epoch.
        case notAValidator = 7
        /// The request does not decode.
        case malformed = 8
        /// The node has too many requests in hand; try again later.
        case overloaded = 9

        public var description: String {
            switch self {
            case .notAvailable: "not available"
            case .invalid: "invalid"
            case .conflicting: "conflicting"
            case .rateLimited: "rate limited"
            case .expired: "expired"
            case .tooFarInFuture: "too far in the future"
            case .notAValidator: "not a validator"
            case .malformed: "malformed"
            case .overloaded: "overloaded"
            }
        }
    }

    /// The longest message carried, in UTF-8 bytes; longer ones are cut.
    public static let maxMessageBytes = 512

    /// Why the request was refused.
    public let code: Code
    /// Details for the operator, at most ``maxMessageBytes`` bytes of UTF-8.
    public let message: String

    /// A reply with `code`; `message` is cut to ``maxMessageBytes`` bytes.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = Self.cut(message)
    }

    public var description: String { "\(code): \(message)" }

    /// The longest prefix of whole characters that fits ``maxMessageBytes``.
    private static func cut(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        var bytes = 0
        var end = message.startIndex
        for index in message.indices {
            let next = message.index(after: index)
            bytes += message[index..<next].utf8.count
            if bytes > maxMessageBytes { break }
            end = next
        }
        return String(message[..<end])
    }
}
