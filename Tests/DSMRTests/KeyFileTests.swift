@testable import DSMR
import DSMRTestSupport
import Foundation
import Synchronization
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
            "dsmr-ed25519-private-key-v1\n" + String(repeating: "0A", count: 32) + "\n",
            "dsmr-ed25519-private-key-v1\r\n" + String(repeating: "05", count: 32) + "\n",
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

    @Test func refusesASymbolicLinkAndLeavesItsTargetAlone() throws {
        let target = temporaryPath(), link = temporaryPath()
        defer { for path in [target, link] { try? FileManager.default.removeItem(atPath: path) } }
        try Fixtures.signer(1).writeKeyFile(to: target)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        do {
            _ = try Ed25519Signer(keyFile: link)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .notRegularFile)
            #expect(error.message.contains("symbolic link"))
        }
        // Writing through the link is refused too, and the target keeps its key.
        #expect(throws: KeyError.self) { try Fixtures.signer(2).writeKeyFile(to: link) }
        #expect(try Ed25519Signer(keyFile: target).publicKey == Fixtures.signer(1).publicKey)
    }

    /// A FIFO at the key path is refused at once instead of blocking until a writer appears.
    @Test func aFIFOIsRefusedWithoutHanging() throws {
        let fifo = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: fifo) }
        #expect(mkfifo(fifo, 0o600) == 0)
        let outcome = Mutex<KeyError.Code?>(nil)
        let done = Atomic<Bool>(false)
        Thread.detachNewThread {
            do {
                _ = try Ed25519Signer(keyFile: fifo)
            } catch {
                outcome.withLock { $0 = (error as? KeyError)?.code }
            }
            done.store(true, ordering: .releasing)
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while !done.load(ordering: .acquiring) && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let finished = done.load(ordering: .acquiring)
        if !finished {
            // Unblock the stuck open so the thread ends.
            let fd = open(fifo, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        #expect(finished, "loading a FIFO blocked")
        #expect(outcome.withLock { $0 } == .notRegularFile)
    }

    @Test func refusesAKeyFileOwnedByAnotherUser() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Fixtures.signer(1).writeKeyFile(to: path)
        let nobody: uid_t = 65534
        try #require(geteuid() != nobody)
        guard chown(path, nobody, gid_t(nobody)) == 0 else {
            // Only a privileged process can give a file away; nothing to test otherwise.
            return
        }
        do {
            _ = try Ed25519Signer(keyFile: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .insecurePermissions)
            #expect(error.message.contains("owned by uid 65534"))
        }
    }

    /// A write that fails part-way leaves nothing at the path or beside it, and the next try succeeds.
    @Test func aFailedWriteLeavesNoPartialFile() throws {
        let scratch = try TemporaryDirectory("dsmr-keydir")
        defer { scratch.remove() }
        let directory = scratch.path
        let path = directory + "/node.key"
        for limit in [0, 10, 40] {
            #expect(throws: KeyError.self) { try Fixtures.signer(1).writeKeyFile(to: path, failingAfter: limit) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        }
        try Fixtures.signer(1).writeKeyFile(to: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["node.key"])
        // Refused over an existing key, which is left as it was, with no temporary file beside it.
        do {
            try Fixtures.signer(2).writeKeyFile(to: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("already exists"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["node.key"])
        #expect(try Ed25519Signer(keyFile: path).publicKey == Fixtures.signer(1).publicKey)
    }

    @Test func refusesADirectory() throws {
        let path = temporaryPath()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: KeyError.self) { _ = try Ed25519Signer(keyFile: path) }
    }
}
