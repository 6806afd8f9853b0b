import DSMR
import Foundation
import Testing

@Suite struct KeyFileTests {
    func temporaryPath() -> String {
        NSTemporaryDirectory() + "dsmr-key-\(UInt64.random(in: 0...UInt64.max)).key"
    }

    @Test func writesMode0600AndLoadsTheSameKey() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let signer = Ed25519Signer.generate()
        try signer.writeKeyFile(to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let loaded = try Ed25519Signer(keyFile: path)
        #expect(loaded.publicKey == signer.publicKey)
        #expect(loaded.nodeID == signer.nodeID)
        #expect(throws: KeyError.self) { try signer.writeKeyFile(to: path) }
    }

    @Test func refusesAKeyFileOthersCanRead() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Fixtures.signer(1).writeKeyFile(to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        do {
            _ = try Ed25519Signer(keyFile: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .insecurePermissions)
            #expect(error.message.contains("chmod 600"))
        }
    }

    @Test func textFormIsStrict() throws {
        let signer = Fixtures.signer(5)
        #expect(signer.keyFileText == "dsmr-ed25519-private-key-v1\n" + String(repeating: "05", count: 32) + "\n")
        #expect(try Ed25519Signer(keyFileText: signer.keyFileText).publicKey == signer.publicKey)
        for bad in [
            "", "dsmr-ed25519-private-key-v1\n", String(repeating: "05", count: 32),
            "dsmr-ed25519-private-key-v2\n" + String(repeating: "05", count: 32) + "\n",
            "dsmr-ed25519-private-key-v1\n" + String(repeating: "05", count: 31) + "\n",
            "dsmr-ed25519-private-key-v1\n" + String(repeating: "zz", count: 32) + "\n",
            "dsmr-ed25519-private-key-v1\n" + String(repeating: "05", count: 32) + "\n\n",
        ] {
            #expect(throws: KeyError.self) { try Ed25519Signer(keyFileText: bad) }
        }
    }

    @Test func seedsAreDeterministic() throws {
        #expect(Fixtures.signer(1).publicKey == Fixtures.signer(1).publicKey)
        #expect(Fixtures.signer(1).nodeID != Fixtures.signer(2).nodeID)
        #expect(Fixtures.signer(1).seed == [UInt8](repeating: 1, count: 32))
        #expect(throws: KeyError.self) { try Ed25519Signer(seed: [1, 2, 3]) }
    }
}
