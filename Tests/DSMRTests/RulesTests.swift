import DSMR
import Testing

@Suite struct RulesTests {
    @Test func defaultsAreValid() throws {
        try Rules.default.validate()
        #expect(Rules.default.maxChunksPerSlot == 1)
        #expect(Rules.default.quorum == (try Quorum(numerator: 67, denominator: 100)))
    }

    @Test func timeHelpers() {
        let rules = Rules(slotDuration: 500, chunkLifetime: 10_000, rateLimitWindow: 4, epochDuration: 60_000)
        #expect(rules.slot(at: 0) == 0)
        #expect(rules.slot(at: 499) == 0)
        #expect(rules.slot(at: 500) == 1)
        #expect(rules.slot(at: -5) == 0)
        #expect(rules.slotStart(3) == 1_500)
        #expect(rules.expiry(ofSlot: 3) == 11_500)
        #expect(rules.slotStart(.max) == .max)
        #expect(rules.expiry(ofSlot: .max) == .max)
        #expect(rules.epoch(at: 59_999) == 0)
        #expect(rules.epoch(at: 60_000) == 1)
        // A slot's epoch is that of its start: slot 119 starts at 59 500, slot 120 at 60 000.
        #expect(rules.epoch(ofSlot: 119) == 0)
        #expect(rules.epoch(ofSlot: 120) == 1)
        #expect(rules.epoch(ofSlot: .max) == UInt64(Int64.max) / 60_000)
        #expect(rules.window(ofSlot: 7) == 1)
        #expect(rules.window(ofSlot: 8) == 2)
    }

    @Test(arguments: [
        ("slotDuration", Rules(slotDuration: 0)),
        ("chunkLifetime", Rules(chunkLifetime: 10)),
        ("maxChunkBytes", Rules(maxChunkBytes: 3)),
        ("maxChunksPerSlot", Rules(maxChunksPerSlot: 0)),
        ("rateLimitWindow", Rules(rateLimitWindow: 0)),
        ("maxUnitsPerWindow", Rules(maxUnitsPerWindow: Dimensions(bandwidth: 10))),
        ("epochDuration", Rules(epochDuration: 1)),
        ("maxBlockSkew", Rules(maxBlockSkew: -1)),
        ("validityWindow", Rules(validityWindow: 1_000)),
    ])
    func validationNamesTheRule(_ rule: String, _ rules: Rules) {
        #expect(throws: RulesError.self) { try rules.validate() }
        do {
            try rules.validate()
        } catch {
            #expect(error.rule == rule)
        }
    }
}
