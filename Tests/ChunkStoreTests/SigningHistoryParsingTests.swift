import ChunkStore
import StoreMaintenance
import DSMR
import Foundation
import Testing

/// A signing history comes from outside the store; it parses strictly or is
/// refused, so no reader can see other rows than the ones imported.
@Suite struct SigningHistoryParsingTests {
    static let producer = String(repeating: "ab", count: 20)
    static let chunk = String(repeating: "cd", count: 32)
    static let chain = String(repeating: "0a", count: 32)
    static let node = String(repeating: "02", count: 20)

    /// A valid history; each argument replaces one part of it.
    static func text(
        top: String = "", metadata: String = "", networkID: String = "1", chainID: String = chain,
        producer: String = producer, entry: String = "", slot: String = "\"42\"", chunkID: String = chunk,
        row: String = "", rows: String = ""
    ) -> String {
        """
        {"metadata": {"interchange_format": "dsmr.signing-history", "interchange_format_version": "1",
                      "network_id": \(networkID), "chain_id": "\(chainID)", "node_id": "\(node)",
                      "low_watermark": 1000\(metadata)},
         "data": [{"producer": "\(producer)"\(entry),
                   "signed_chunks": [{"slot": \(slot), "chunk_id": "\(chunkID)"\(row)}\(rows)]}]\(top)}
        """
    }

    static func refuses(_ text: String, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try SigningHistory(json: Array(text.utf8)) } throws: { error in
            ChunkStoreError.Code.badInterchange ~= error && (mentioning.isEmpty || "\(error)".contains(mentioning))
        }
    }

    @Test func theTemplateIsAValidHistory() throws {
        let history = try SigningHistory(json: Array(Self.text().utf8))
        #expect(history.metadata.networkID == 1 && history.metadata.lowWatermark == 1_000)
        #expect(history.data.count == 1 && history.data[0].signedChunks.count == 1)
        #expect(try SigningHistory(json: history.json()) == history)
    }

    @Test func duplicateKeysAreRefusedAtEveryLevel() {
        Self.refuses(Self.text(top: #", "data": []"#), mentioning: "\"data\"")
        Self.refuses(Self.text(metadata: #", "network_id": 2"#), mentioning: "\"network_id\"")
        Self.refuses(Self.text(metadata: #", "low_watermark": 0"#), mentioning: "\"low_watermark\"")
        Self.refuses(
            Self.text(entry: #", "producer": "\#(String(repeating: "ef", count: 20))""#), mentioning: "\"producer\"")
        Self.refuses(Self.text(row: #", "slot": "7""#), mentioning: "\"slot\"")
        Self.refuses(
            Self.text(row: #", "chunk_id": "\#(String(repeating: "ee", count: 32))""#), mentioning: "\"chunk_id\"")
    }

    @Test func unknownKeysAreRefusedAtEveryLevel() {
        Self.refuses(Self.text(top: #", "extra": 1"#), mentioning: "\"extra\"")
        Self.refuses(
            Self.text(metadata: #", "genesis_validators_root": "00""#), mentioning: "\"genesis_validators_root\"")
        Self.refuses(Self.text(entry: #", "comment": null"#), mentioning: "\"comment\"")
        Self.refuses(Self.text(row: #", "signing_root": "00""#), mentioning: "\"signing_root\"")
    }

    @Test func onlyCanonicalDecimalSlotsAreAccepted() {
        for slot in [
            #""+1""#, #""042""#, #""-1""#, #""1e3""#, #"" 1""#, #""1 ""#, #""""#, #""18446744073709551616""#,
            #""0x10""#, "42", #""４２""#,
        ] {
            Self.refuses(Self.text(slot: slot), mentioning: "slot")
        }
        #expect(throws: Never.self) { try SigningHistory(json: Array(Self.text(slot: #""0""#).utf8)) }
        #expect(throws: Never.self) {
            try SigningHistory(json: Array(Self.text(slot: #""18446744073709551615""#).utf8))
        }
    }

    @Test func onlyIntegerNetworkIDsInRangeAreAccepted() {
        for networkID in ["1.0", "1e0", "1E0", #""1""#, "-1", "-0", "4294967296", "true", "null"] {
            Self.refuses(Self.text(networkID: networkID), mentioning: "network_id")
        }
        Self.refuses(Self.text(networkID: "01"), mentioning: "")  // not JSON at all
        #expect(throws: Never.self) { try SigningHistory(json: Array(Self.text(networkID: "4294967295").utf8)) }
    }

    @Test func idsMustBeLowercaseHexOfTheirLength() {
        Self.refuses(Self.text(producer: Self.producer.uppercased()), mentioning: "producer")
        Self.refuses(Self.text(chunkID: Self.chunk.uppercased()), mentioning: "chunk_id")
        Self.refuses(Self.text(chainID: Self.chain.uppercased()), mentioning: "chain_id")
        Self.refuses(Self.text(producer: String(Self.producer.dropLast(2))), mentioning: "producer")
        Self.refuses(Self.text(chainID: "00"), mentioning: "chain_id")
    }

    @Test func aSlotListedTwiceOrAProducerListedTwiceIsRefused() {
        Self.refuses(
            Self.text(rows: #", {"slot": "42", "chunk_id": "\#(String(repeating: "ee", count: 32))"}"#),
            mentioning: "slot 42")
        let second = #"{"producer": "\#(Self.producer)", "signed_chunks": []}"#
        Self.refuses(Self.text().replacingOccurrences(of: "]}]}", with: "]}, \(second)]}"), mentioning: Self.producer)
    }

    @Test func malformedOrDeepJSONIsRefusedWithoutACrash() {
        Self.refuses(Self.text(top: ", "), mentioning: "")
        Self.refuses(Self.text() + " x", mentioning: "")
        Self.refuses(Self.text(top: #", "extra": "\#u{01}""#), mentioning: "")
        Self.refuses(Self.text(top: #", "extra": "\ud800""#), mentioning: "")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        Self.refuses(Self.text(top: #", "extra": \#(deep)"#), mentioning: "")
    }

    @Test func aHistoryAboveTheSizeLimitIsRefusedBeforeParsing() throws {
        var text = Array(Self.text().utf8)
        text += [UInt8](repeating: 0x20, count: SigningHistory.maxBytes + 1 - text.count)
        #expect { try SigningHistory(json: text) } throws: { error in
            ChunkStoreError.Code.badInterchange ~= error && "\(error)".contains("\(SigningHistory.maxBytes)")
        }

        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let path = bed.path("huge.json")
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.text().utf8)))
        #expect(try SigningHistory(contentsOf: path).metadata.networkID == 1)
        #expect(truncate(path, off_t(SigningHistory.maxBytes + 1)) == 0)
        #expect { try SigningHistory(contentsOf: path) } throws: { error in
            ChunkStoreError.Code.badInterchange ~= error && "\(error)".contains("\(SigningHistory.maxBytes)")
        }
    }

    @Test func theToolImportsOnlyAStrictHistoryAndExportsWithoutReplacing() async throws {
        let bed = MaintenanceTestbed()
        defer { bed.removeAll() }
        let store = try bed.open("a")
        try await MaintenanceTestbed.fill(store)
        store.close()
        let history = bed.path("history.json")
        let exported = try StoreToolTests.run(["export-signing-history", "-s", bed.path("a"), "-o", history])
        #expect(exported.status == 0, "\(exported.error)")
        let again = try StoreToolTests.run(["export-signing-history", "-s", bed.path("a"), "-o", history])
        #expect(again.status == 1 && again.error.contains("--force"), "\(again.error)")

        let text = try String(contentsOfFile: history, encoding: .utf8)
        let doubled = text.replacingOccurrences(of: "\"metadata\" : {", with: "\"metadata\" : {\"network_id\" : 7, ")
        try Data(doubled.utf8).write(to: URL(fileURLWithPath: bed.path("doubled.json")))
        let refused = try StoreToolTests.run(["import-signing-history", "-s", bed.path("a"), bed.path("doubled.json")])
        #expect(refused.status == 1)
        #expect(refused.error.contains("duplicate key \"network_id\""), "\(refused.error)")
        let imported = try StoreToolTests.run(["import-signing-history", "-s", bed.path("a"), history])
        #expect(imported.status == 0, "\(imported.error)")
    }
}
