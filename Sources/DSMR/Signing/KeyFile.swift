/// The private key file format:
///
/// ```
/// dsmr-ed25519-private-key-v1
/// <64 lowercase hex characters: the 32-byte seed>
/// ```
///
/// ``Ed25519Signer/writeKeyFile(to:)`` and ``Ed25519Signer/init(keyFile:)``
/// say how the file is written and what loading refuses.
///
/// Seed copies: the bytes read or written and the decoded seed are wiped
/// after use. What Swift does not let us wipe: the copy swift-crypto keeps
/// inside the key for its lifetime, the temporary `Data` its
/// `rawRepresentation` makes, the array ``Ed25519Signer/seed`` returns (the
/// caller's to wipe) and any `String` holding the text
/// (``Ed25519Signer/keyFileText``, ``Ed25519Signer/init(keyFileText:)``).
extension Ed25519Signer {
    /// The first line of a key file.
    public static let keyFileHeader = "dsmr-ed25519-private-key-v1"

    static let maxKeyFileBytes = 4_096

    /// The key file's text. Prefer ``writeKeyFile(to:)``: a `String` cannot be wiped.
    public var keyFileText: String {
        var bytes = keyFileBytes()
        defer { wipe(&bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a key file's text: the header line, then the hex seed, then an optional final newline.
    ///
    /// - Throws: ``KeyError/Code/malformedFile`` for anything else.
    public init(keyFileText text: String) throws(KeyError) {
        var bytes = Array(text.utf8)
        defer { wipe(&bytes) }
        try self.init(keyFileBytes: bytes)
    }

    /// The key file's bytes; the caller wipes them.
    func keyFileBytes() -> [UInt8] {
        var seed = self.seed
        defer { wipe(&seed) }
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.keyFileHeader.utf8.count + 2 + 2 * Self.seedByteCount)
        bytes.append(contentsOf: Self.keyFileHeader.utf8)
        bytes.append(UInt8(ascii: "\n"))
        for byte in seed {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0f)])
        }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Parses a key file's bytes (see ``init(keyFileText:)``); wipes the seed it decodes.
    init(keyFileBytes bytes: [UInt8]) throws(KeyError) {
        let header = Array(Self.keyFileHeader.utf8)
        let hexCount = 2 * Self.seedByteCount
        let seedStart = header.count + 1
        let length = seedStart + hexCount
        guard bytes.count == length || (bytes.count == length + 1 && bytes[length] == UInt8(ascii: "\n")),
            bytes.starts(with: header), bytes[header.count] == UInt8(ascii: "\n")
        else {
            throw KeyError(
                code: .malformedFile,
                message: "not a DSMR key file: expected the line \"\(Self.keyFileHeader)\" then a 64-character "
                    + "lowercase hex seed and at most one final newline")
        }
        var seed = [UInt8](repeating: 0, count: Self.seedByteCount)
        defer { wipe(&seed) }
        for index in 0..<Self.seedByteCount {
            guard let high = Self.lowercaseHexValue(bytes[seedStart + 2 * index]),
                let low = Self.lowercaseHexValue(bytes[seedStart + 2 * index + 1])
            else {
                throw KeyError(
                    code: .malformedFile, message: "key file's second line is not a 64-character lowercase hex seed")
            }
            seed[index] = high << 4 | low
        }
        try self.init(seed: seed)
    }

    private static func lowercaseHexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
