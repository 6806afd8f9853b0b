import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import Testing

@Suite("etcd settings in the node configuration")
struct EtcdConfigurationTests {
    @Test func orderingSettingsAreCheckedAgainstTheirBoundsAndNamed() throws {
        let json = #"{"leaseSeconds": 3, "rotateBlocks": 10, "rotateAfter": 2500, "takeoverAfter": 6000}"#
        let options = try JSONDecoder().decode(EtcdOrderingConfiguration.self, from: Data(json.utf8)).options()
        #expect(options.leaseSeconds == 3 && options.rotateBlocks == 10)
        #expect(options.rotateAfter == .milliseconds(2_500) && options.takeoverAfter == .seconds(6))
        for (setting, value) in [
            ("leaseSeconds", "1"), ("rotateBlocks", "0"), ("takeoverAfter", "100"), ("maxBlockBytes", "2000000"),
        ] {
            let bad = try JSONDecoder().decode(
                EtcdOrderingConfiguration.self, from: Data(#"{"\#(setting)": \#(value)}"#.utf8))
            #expect {
                try bad.options()
            } throws: { error in
                "\(error)".contains("etcdOrdering.\(setting)")
            }
        }
        #expect {
            try JSONDecoder().decode(EtcdOrderingConfiguration.self, from: Data(#"{"takeover": 5000}"#.utf8))
        } throws: { error in
            "\(error)".contains("takeover")
        }
    }

    @Test func securitySettingsGoInPairsAndThePasswordIsTheFilesFirstLine() throws {
        let scratch = try scratchDirectory("etcd-settings")
        defer { scratch.remove() }
        let file = scratch.path + "/password"
        try Data("s3cret\nignored\n".utf8).write(to: URL(fileURLWithPath: file))
        let good = EtcdSecurityConfiguration(
            trustRoots: "/ca.pem", certificate: "/c.pem", key: "/c.key", user: "validator0", passwordFile: file)
        let security = try good.security()
        #expect(security.credentials?.user == "validator0" && security.credentials?.password == "s3cret")
        #expect(security.usesTLS)
        var lonely = good
        lonely.passwordFile = nil
        #expect(throws: ConfigurationError.self) { try lonely.security() }
        var halfTLS = good
        halfTLS.key = nil
        #expect(throws: ConfigurationError.self) { try halfTLS.security() }
        let empty = scratch.path + "/empty"
        try Data("\n".utf8).write(to: URL(fileURLWithPath: empty))
        var blank = good
        blank.passwordFile = empty
        #expect {
            try blank.security()
        } throws: { error in
            "\(error)".contains("holds no password")
        }
        blank.passwordFile = scratch.path + "/missing"
        #expect(throws: ConfigurationError.self) { try blank.security() }
    }
}
