@testable import DSMR
import PropertyBased
import Testing

@Suite struct CodecTests {
    @Test func integersAreBigEndian() throws {
        var writer = CanonicalWriter()
        writer.write(UInt8(0xaa))
        writer.write(UInt32(0x0102_0304))
        writer.write(UInt64(0x0102_0304_0506_0708))
        writer.write(Int64(-2))
        writer.writeLengthPrefixed([9, 8, 7])
        #expect(
            writer.bytes == [0xaa, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8]
                + [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe] + [0, 0, 0, 3, 9, 8, 7])
    }

    @Test func fieldsRoundTrip() async {
        let input = zip(Gen.uint64(), Gen.int64(), Gen.uint32(), Gen.uint8().array(of: 0...64))
        await propertyCheck(input: input) { value throws in
            var writer = CanonicalWriter()
            writer.write(value.0)
            writer.write(value.1)
            writer.write(value.2)
            writer.writeLengthPrefixed(value.3)
            var reader = CanonicalReader(writer.bytes, root: "test")
            #expect(try reader.readUInt64("a") == value.0)
            #expect(try reader.readInt64("b") == value.1)
            #expect(try reader.readUInt32("c") == value.2)
            #expect(try reader.readLengthPrefixed("d", limit: 64) == value.3)
            try reader.finish()
        }
    }

    @Test func everyPrefixOfAnEncodingFailsWithATypedError() async {
        await propertyCheck(input: Gen.uint8().array(of: 0...16).array(of: 0...4)) { lists throws in
            var writer = CanonicalWriter()
            writer.writeCount(lists.count)
            for list in lists { writer.writeLengthPrefixed(list) }
            for cut in 0..<writer.bytes.count {
                var reader = CanonicalReader(Array(writer.bytes[0..<cut]), root: "lists")
                #expect(throws: CodecError.self) {
                    let count = try reader.readCount("items", limit: 4, minimumElementSize: 4)
                    for _ in 0..<count { _ = try reader.readLengthPrefixed("item", limit: 16) }
                    try reader.finish()
                }
            }
        }
    }

    @Test func declaredLengthIsCheckedAgainstRemainingBeforeAllocating() {
        var reader = CanonicalReader([0xff, 0xff, 0xff, 0xff, 1, 2], root: "value")
        do {
            _ = try reader.readLengthPrefixed("payload", limit: .max)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .lengthExceedsRemaining)
            #expect(error.description == "value.payload: declared length 4294967295 exceeds remaining 2 bytes")
        }
    }

    @Test func declaredLengthIsCheckedAgainstTheLimit() {
        var reader = CanonicalReader([0, 0, 0, 5, 1, 2, 3, 4, 5], root: "value")
        #expect(
            throws: CodecError(
                code: .limitExceeded, field: "value.payload", message: "declared length 5 exceeds limit 4")
        ) {
            _ = try reader.readLengthPrefixed("payload", limit: 4)
        }
    }

    @Test func countsAccountForTheMinimumElementSize() {
        var reader = CanonicalReader([0, 0, 0, 3] + [UInt8](repeating: 0, count: 11), root: "value")
        #expect(throws: CodecError.self) { _ = try reader.readCount("items", limit: 10, minimumElementSize: 4) }
    }

    @Test func nestedPathsNameTheElement() {
        var reader = CanonicalReader([0, 0, 0, 9], root: "chunk")
        do {
            try reader.nested("transactions") { (reader) throws(CodecError) in
                try reader.element(3) { (reader) throws(CodecError) in
                    _ = try reader.readLengthPrefixed(nil, limit: 100)
                }
            }
            Issue.record("expected an error")
        } catch {
            #expect(error.field == "chunk.transactions[3]")
        }
    }

    @Test func trailingBytesAreRejected() {
        var reader = CanonicalReader([1, 2], root: "value")
        _ = try? reader.readUInt8("first")
        #expect(throws: CodecError(code: .trailingBytes, field: "value", message: "1 trailing bytes after the value")) {
            try reader.finish()
        }
    }
}
