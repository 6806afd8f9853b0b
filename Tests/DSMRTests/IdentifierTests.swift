import DSMR
import Testing

@Suite struct IdentifierTests {
    @Test func hexRoundTripsAndIsLowercase() throws {
        let id = try ChunkID(bytes: (0..<32).map { UInt8($0 * 7 % 256) })
        #expect(id.hex == id.hex.lowercased())
        #expect(id.hex.count == 64)
        #expect(try ChunkID(hex: id.hex.uppercased()) == id)
        #expect(id.description == id.hex)
        #expect(try ChunkID(bytes: id.bytes) == id)
    }

    @Test func wrongLengthsAndBadHexAreTypedErrors() {
        #expect(throws: IdentifierError.self) { try NodeID(bytes: [UInt8](repeating: 0, count: 19)) }
        #expect(throws: IdentifierError.self) { try NodeID(bytes: [UInt8](repeating: 0, count: 21)) }
        #expect(throws: IdentifierError.self) { try BlockID(bytes: [UInt8](repeating: 0, count: 20)) }
        #expect(throws: IdentifierError.self) { try ChainID(hex: String(repeating: "z", count: 64)) }
        #expect(throws: IdentifierError.self) { try ChainID(hex: String(repeating: "a", count: 63)) }
    }

    @Test func orderIsBytewise() throws {
        var a = [UInt8](repeating: 0, count: 20)
        var b = a
        a[19] = 2
        b[0] = 1
        #expect(try NodeID(bytes: a) < NodeID(bytes: b))
        a = [UInt8](repeating: 0xff, count: 32)
        b = a
        b[31] = 0xfe
        #expect(try ChunkID(bytes: b) < ChunkID(bytes: a))
        for index in 0..<20 {
            var low = [UInt8](repeating: 0x80, count: 20)
            var high = low
            low[index] = 0x7f
            high[index] = 0x81
            #expect(try NodeID(bytes: low) < NodeID(bytes: high))
            #expect(try !(NodeID(bytes: high) < NodeID(bytes: low)))
        }
    }

    @Test func nodeIDIsTheFirst20BytesOfSHA256OfThePublicKey() {
        // SHA-256 of 32 zero bytes is 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925.
        let id = NodeID(publicKey: [UInt8](repeating: 0, count: 32))
        #expect(id.hex == "66687aadf862bd776c8fc18b8e9f8e2008971485")
        #expect(id.bytes.count == 20)
        #expect(id.withUnsafeBytes { Array($0) } == id.bytes)
    }

    @Test func equalIDsHashEqually() throws {
        let bytes = (0..<32).map { UInt8($0) }
        let set: Set<BlockID> = [try BlockID(bytes: bytes), try BlockID(bytes: bytes), .zero]
        #expect(set.count == 2)
    }
}
