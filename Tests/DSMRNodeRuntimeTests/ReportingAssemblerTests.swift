import Testing

@testable import DSMRNodeRuntime

/// What the runtime remembers of the transactions that applied is bounded
/// by heights and by digests, the oldest heights forgotten first.
@Suite("Applied digests remembered")
struct ReportingAssemblerTests {
    func digests(_ count: Int, _ seed: UInt8) -> [[UInt8]] {
        (0..<count).map { [UInt8](repeating: seed, count: 31) + [UInt8(truncatingIfNeeded: $0)] }
    }

    @Test func heightsPastTheBoundAreForgottenOldestFirst() {
        var remembered = ReportingAssembler.Remembered()
        let heights = ReportingAssembler.rememberedHeights + 10
        for height in 1...heights { remembered.keep(digests(1, 1), at: height) }
        #expect(remembered.order.count == Int(ReportingAssembler.rememberedHeights))
        #expect(remembered.byHeight[10] == nil && remembered.byHeight[11] != nil)
        #expect(remembered.byHeight[heights]?.count == 1)
        #expect(remembered.digests == Int(ReportingAssembler.rememberedHeights))
    }

    @Test func digestsPastTheBoundForgetTheOldestHeightsButNeverTheNewest() {
        var remembered = ReportingAssembler.Remembered()
        let perHeight = ReportingAssembler.rememberedDigests / 4
        for height in UInt64(1)...8 { remembered.keep(digests(perHeight, UInt8(height)), at: height) }
        #expect(remembered.digests <= ReportingAssembler.rememberedDigests)
        #expect(remembered.order == [5, 6, 7, 8])
        // One height above the bound on its own is kept (it is the newest).
        remembered.keep(digests(ReportingAssembler.rememberedDigests + 1, 9), at: 9)
        #expect(remembered.order == [9])
        #expect(remembered.digests == ReportingAssembler.rememberedDigests + 1)
        // The same height again replaces its digests rather than adding to them.
        remembered.keep(digests(3, 9), at: 9)
        #expect(remembered.order == [9] && remembered.digests == 3)
    }
}
