import Crypto
import DSMR
import DSMRNode
import KeyValueMachine
import Testing

@Suite struct KeyValueWriteTests {
    /// A write encoded by hand, so lengths out of bounds can be written.
    static func handEncoded(key: [UInt8], value: [UInt8], version: UInt8 = 1) -> [UInt8] {
        var writer = CanonicalWriter()
        writer.write(version)
        writer.writeRaw([UInt8](repeating: 7, count: 32))
        writer.write(UInt64(3))
        writer.write(Int64(5_000))
        writer.writeLengthPrefixed(key)
        writer.writeLengthPrefixed(value)
        return writer.bytes
    }

    @Test func aWriteRoundTripsInItsDocumentedLayout() throws {
        let write = KeyValueWrite(
            writer: [UInt8](repeating: 7, count: 32), sequence: 3, expiry: 5_000, key: Array("key".utf8),
            value: Array("value".utf8))
        let bytes = write.encoded()
        #expect(bytes == Self.handEncoded(key: Array("key".utf8), value: Array("value".utf8)))
        #expect(try KeyValueWrite(decoding: bytes) == write)
        #expect(write.id.bytes == Array(SHA256.hash(data: bytes)))
        #expect(write.sponsor == write.writer)
        #expect(write.units == Dimensions(compute: 1, storageRead: 1, storageAllocate: 1, storageWrite: 1))
    }

    @Test func decodingRefusesTruncatedTrailingAndOtherVersions() {
        let bytes = Self.handEncoded(key: Array("key".utf8), value: Array("value".utf8))
        for length in 0..<bytes.count {
            #expect(throws: CodecError.self) { try KeyValueWrite(decoding: Array(bytes.prefix(length))) }
        }
        let trailing = #expect(throws: CodecError.self) { try KeyValueWrite(decoding: bytes + [0]) }
        #expect(trailing?.code == .trailingBytes)
        let version = #expect(throws: CodecError.self) {
            try KeyValueWrite(decoding: Self.handEncoded(key: [1], value: [], version: 2))
        }
        #expect(version?.code == .unsupportedVersion)
    }

    @Test func decodingRefusesKeysAndValuesOutOfBounds() {
        // The longest key and value decode; one byte more, or an empty key, does not.
        let longest = Self.handEncoded(key: [UInt8](repeating: 1, count: 64), value: [UInt8](repeating: 2, count: 256))
        #expect((try? KeyValueWrite(decoding: longest)) != nil)
        let cases: [(key: Int, value: Int, field: String)] = [(65, 0, "key"), (0, 0, "key"), (1, 257, "value")]
        for (key, value, field) in cases {
            let bytes = Self.handEncoded(
                key: [UInt8](repeating: 1, count: key), value: [UInt8](repeating: 2, count: value))
            let error = #expect(throws: CodecError.self) { try KeyValueWrite(decoding: bytes) }
            #expect(error?.code == .limitExceeded)
            #expect(error?.field.hasSuffix(field) == true, "\(String(describing: error))")
        }
    }

    @Test func admissionTakesAStrictUnexpiredWriteRoutedByItsWriter() async throws {
        try await KeyValueFixtures.withMachine { _, machine in
            let bytes = KeyValueFixtures.write(4, sequence: 9, "k", "v", expiry: 2_000)
            let pending = try machine.admit(bytes, now: 2_000, limits: .default)
            #expect(pending.bytes == bytes)
            #expect(pending.sponsor == KeyValueFixtures.writer(4))
            #expect(pending.expiry == 2_000)
            #expect(pending.units == Dimensions(compute: 1, storageRead: 1, storageAllocate: 1, storageWrite: 1))

            #expect(throws: AdmissionError.expired(expiry: 2_000, now: 2_001)) {
                try machine.admit(bytes, now: 2_001, limits: .default)
            }
            for malformed in [bytes + [0], Array(bytes.dropLast()), [1, 2, 3]] {
                let error = #expect(throws: AdmissionError.self) {
                    try machine.admit(malformed, now: 0, limits: .default)
                }
                guard case .malformed = error else {
                    Issue.record("\(malformed.count) bytes: \(String(describing: error)) is not malformed")
                    continue
                }
            }
        }
    }
}
