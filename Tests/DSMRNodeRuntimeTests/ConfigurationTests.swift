import DSMRNodeRuntime
import Foundation
import Testing

@Suite("Node configuration")
struct ConfigurationTests {
    @Test func rulesWhoseWindowCannotCarryAChunkPastTheSkewAreRefusedNamingBoth() throws {
        var rules = RulesConfiguration()
        rules.chunkLifetime = 2_000
        rules.validityWindow = 4_000
        rules.maxBlockSkew = 5_000
        #expect {
            try rules.rules()
        } throws: { error in
            let message = "\(error)"
            return message.contains("validityWindow") && message.contains("maxBlockSkew")
        }
        rules.maxBlockSkew = 1_000
        #expect(try rules.rules().maxBlockSkew == 1_000)
    }

    @Test func anUnknownRuleIsRefusedByName() {
        let json = Data(#"{"slotDuration": 250, "slotDurationMs": 100}"#.utf8)
        #expect {
            try JSONDecoder().decode(RulesConfiguration.self, from: json)
        } throws: { error in
            "\(error)".contains("slotDurationMs")
        }
    }

    @Test func flagsAloneMustNameEverySettingAndTheMissingOneIsNamed() throws {
        var overrides = NodeConfiguration.Overrides()
        overrides.keyFile = "node.key"
        #expect {
            try overrides.apply(to: nil)
        } throws: { error in
            "\(error)".contains("--store")
        }
        overrides.store = "store"
        overrides.state = "state"
        overrides.controlSocket = "control.sock"
        overrides.listen = "127.0.0.1:9650"
        overrides.networkID = 7
        overrides.chainID = String(repeating: "ab", count: 32)
        overrides.genesisTime = 0
        overrides.genesis = "/tmp/genesis.json"
        overrides.validators = ["\(String(repeating: "cd", count: 32)):3@127.0.0.1:9650"]
        let configuration = try overrides.apply(to: nil)
        #expect(configuration.validators.first?.weight == 3)
        #expect(configuration.store.hasPrefix("/") && configuration.store.hasSuffix("/store"))
        #expect(configuration.genesis == "/tmp/genesis.json")
    }

    @Test func aMalformedValidatorFlagIsRefused() {
        for text in ["abcd@127.0.0.1:1", "abcd:x@127.0.0.1:1", "abcd:1@nohost", "abcd:1"] {
            var overrides = NodeConfiguration.Overrides()
            overrides.validators = [text]
            #expect(throws: ConfigurationError.self) { try overrides.apply(to: nil) }
        }
    }
}
