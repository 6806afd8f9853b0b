import DSMR
import Foundation
import PropertyBased
import Testing

@Suite struct DimensionsTests {
    static let anyDimensions = zip(Gen.uint64(), Gen.uint64(), Gen.uint64(), Gen.uint64(), Gen.uint64()).map {
        v in Dimensions(bandwidth: v.0, compute: v.1, storageRead: v.2, storageAllocate: v.3, storageWrite: v.4)
    }
    static let smallDimensions = zip(
        Gen.uint64(in: 0...1 << 40), Gen.uint64(in: 0...1 << 40), Gen.uint64(in: 0...1 << 40),
        Gen.uint64(in: 0...1 << 40), Gen.uint64(in: 0...1 << 40)
    ).map { v in Dimensions(bandwidth: v.0, compute: v.1, storageRead: v.2, storageAllocate: v.3, storageWrite: v.4) }

    @Test func addingMatchesWideArithmeticAndThrowsOnOverflow() async {
        await propertyCheck(input: Self.anyDimensions, Self.anyDimensions) { a, b in
            let overflows = zip(a.values, b.values).contains { $0.addingReportingOverflow($1).overflow }
            do {
                let sum = try a.adding(b)
                #expect(!overflows)
                #expect(sum.values == zip(a.values, b.values).map { $0 + $1 })
            } catch let error as DimensionsError {
                #expect(overflows)
                #expect(error.code == .overflow)
            }
        }
    }

    @Test func addingIsCommutativeAndZeroIsNeutral() async {
        await propertyCheck(input: Self.smallDimensions, Self.smallDimensions) { a, b throws in
            #expect(try a.adding(b) == b.adding(a))
            #expect(try a.adding(.zero) == a)
        }
    }

    @Test func canAddAgreesWithAddingAndFits() async {
        await propertyCheck(input: Self.anyDimensions, Self.anyDimensions, Self.anyDimensions) { a, b, limit in
            let expected = (try? a.adding(b)).map { $0.fits(within: limit) } ?? false
            #expect(a.canAdd(b, limit: limit) == expected)
        }
    }

    @Test func canAddAtTheLimitAndOneOver() {
        let limit = Dimensions(bandwidth: 10, compute: 10, storageRead: 10, storageAllocate: 10, storageWrite: 10)
        let five = Dimensions(bandwidth: 5, compute: 5, storageRead: 5, storageAllocate: 5, storageWrite: 5)
        #expect(five.canAdd(five, limit: limit))
        var six = five
        six.storageWrite = 6
        #expect(!five.canAdd(six, limit: limit))
        let max = Dimensions(bandwidth: .max)
        #expect(!max.canAdd(Dimensions(bandwidth: 1), limit: Dimensions([.max, .max, .max, .max, .max])))
    }

    @Test func weightedSum() throws {
        let units = Dimensions(bandwidth: 1, compute: 2, storageRead: 3, storageAllocate: 4, storageWrite: 5)
        let weights = Dimensions(bandwidth: 10, compute: 100, storageRead: 1000, storageAllocate: 0, storageWrite: 1)
        #expect(try units.weightedSum(weights) == 10 + 200 + 3000 + 0 + 5)
        #expect(throws: DimensionsError.self) { try Dimensions(compute: .max).weightedSum(Dimensions(compute: 2)) }
        #expect(throws: DimensionsError.self) {
            try Dimensions(bandwidth: .max, compute: 1).weightedSum(Dimensions(bandwidth: 1, compute: 1))
        }
    }

    @Test func fixedBytesRoundTripBigEndian() async throws {
        let value = Dimensions(bandwidth: 1, compute: 0x0102, storageRead: 0, storageAllocate: .max, storageWrite: 5)
        let bytes = value.fixedBytes
        #expect(bytes.count == 40)
        #expect(Array(bytes[0..<16]) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2])
        #expect(try Dimensions(fixedBytes: bytes) == value)
        #expect(throws: DimensionsError.self) { try Dimensions(fixedBytes: bytes.dropLast()) }
        #expect(throws: DimensionsError.self) { try Dimensions(fixedBytes: bytes + [0]) }
        await propertyCheck(input: Self.anyDimensions) { value throws in
            #expect(try Dimensions(fixedBytes: value.fixedBytes) == value)
        }
    }

    @Test func jsonRoundTrips() async {
        let value = Dimensions(bandwidth: 1, compute: 2, storageRead: 3, storageAllocate: 4, storageWrite: .max)
        #expect(
            value.json
                == #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":18446744073709551615}"#
        )
        await propertyCheck(input: Self.anyDimensions) { value throws in
            #expect(try Dimensions(json: value.json) == value)
        }
    }

    @Test func jsonAcceptsWhitespaceAndAnyKeyOrder() throws {
        let text = """
            { "storageWrite" : 5, "storageAllocate":4,
              "storageRead":3 ,"compute":2,"bandwidth":0 }\n
            """
        #expect(
            try Dimensions(json: text)
                == Dimensions(bandwidth: 0, compute: 2, storageRead: 3, storageAllocate: 4, storageWrite: 5))
    }

    @Test(arguments: [
        "",
        "{}",
        "[]",
        #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4}"#,
        #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5,"extra":6}"#,
        #"{"bandwidth":1,"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":-1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":1.0,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":1e3,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":01,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":"1","compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":18446744073709551616,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5,}"#,
        #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}x"#,
        #"{"b\u0061ndwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":null,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5}"#,
        #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5"#,
    ])
    func strictJSONRejects(_ text: String) {
        #expect(throws: DimensionsError.self) { try Dimensions(json: text) }
    }

    @Test func codableUsesTheJSONObjectForm() throws {
        let value = Dimensions(bandwidth: 1, compute: 2, storageRead: 3, storageAllocate: 4, storageWrite: 5)
        let data = try JSONEncoder().encode(value)
        #expect(try Dimensions(json: String(decoding: data, as: UTF8.self)) == value)
        #expect(try JSONDecoder().decode(Dimensions.self, from: data) == value)
        let unknown = Data(
            #"{"bandwidth":1,"compute":2,"storageRead":3,"storageAllocate":4,"storageWrite":5,"x":1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Dimensions.self, from: unknown) }
        let missing = Data(#"{"bandwidth":1}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Dimensions.self, from: missing) }
    }

    @Test func descriptionNamesEveryDimension() {
        let text = Dimensions(bandwidth: 1, compute: 2, storageRead: 3, storageAllocate: 4, storageWrite: 5).description
        #expect(text == "bandwidth=1 compute=2 storageRead=3 storageAllocate=4 storageWrite=5")
    }
}
