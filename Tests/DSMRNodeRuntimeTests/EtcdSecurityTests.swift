import DSMRDevnet
import DSMRNodeRuntime
import DSMROrdering
import DSMRTestSupport
import Foundation
import Testing

/// A secured etcd cluster as the devnet makes it (TLS with client
/// certificates, a user and role per validator), against real members.
@Suite("etcd security", .serialized)
struct EtcdSecurityTests {
    static let prefix = "dsmr/7/abcd"

    /// Runs `body` with a fresh secured one-member cluster with users for two validators.
    func withSecuredMember(
        _ memberArguments: [String] = [], _ body: (EtcdCluster) async throws -> Void
    ) async throws {
        try await withEtcdMember(
            "etcd-secured", access: .init(prefix: Self.prefix, validators: 2), memberArguments: memberArguments
        ) { _, cluster in try await body(cluster) }
    }

    /// A client acting as validator `index`, as its node configuration says.
    func validatorClient(_ cluster: EtcdCluster, _ index: Int) throws -> EtcdClient {
        var options = EtcdClient.Options()
        options.tries = 2
        return try EtcdClient(
            endpoints: cluster.endpoints, options: options, security: try cluster.validatorSecurity(index)!.security())
    }

    /// Whether `body` fails with etcd's permission refusal.
    func refused(_ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            return false
        } catch let error as EtcdError {
            return error.code == .status && error.message.contains("permission denied")
        } catch {
            return false
        }
    }

    @Test func aValidatorsUserWritesAttemptsAndTheElectionAndNothingElse() async throws {
        try await withSecuredMember { cluster in
            let client = try validatorClient(cluster, 0)
            defer { Task { await client.shutdown() } }
            let attempt = Array("\(Self.prefix)/blocks/00000000000000000001/a".utf8)
            #expect(try await client.createIfAbsent(attempt, [1]).created)
            #expect(try await client.range(from: Array("\(Self.prefix)/".utf8)).keyValues.map(\.value) == [[1]])
            let lease = try await client.grantLease(seconds: 5)
            let leader = try await client.campaign(
                name: Array("\(Self.prefix)/proposer".utf8), lease: lease, value: [7], wait: .seconds(5))
            #expect(leader.key.starts(with: Array("\(Self.prefix)/proposer/".utf8)))
            // Outside the attempts and the election: refused, as is another chain's log.
            #expect(await refused { _ = try await client.put(Array("\(Self.prefix)/other".utf8), [1]) })
            #expect(await refused { _ = try await client.put(Array("dsmr/8/abcd/blocks/x".utf8), [1]) })
            #expect(await refused { _ = try await client.range(from: Array("dsmr/8/".utf8)) })
            #expect(await refused { try await client.addUser("intruder", password: "x") })
            // The root user may do what a validator may not.
            let root = try cluster.client()
            defer { Task { await root.shutdown() } }
            _ = try await root.put(Array("\(Self.prefix)/other".utf8), [2])
        }
    }

    @Test func aClientWithoutCertificateUserOrRightPasswordIsRefused() async throws {
        try await withSecuredMember { cluster in
            var options = EtcdClient.Options()
            options.tries = 1
            let files = cluster.validatorSecurity(0)!
            let key = Array("\(Self.prefix)/blocks/x".utf8)
            // No client certificate: the TLS handshake fails.
            let anonymous = try EtcdClient(
                endpoints: cluster.endpoints, options: options, security: EtcdSecurity(trustRootsPath: files.trustRoots)
            )
            defer { Task { await anonymous.shutdown() } }
            await #expect(throws: EtcdError.self) { _ = try await anonymous.put(key, [1]) }
            // A certificate but no user: etcd's access control refuses.
            let nobody = try EtcdClient(
                endpoints: cluster.endpoints, options: options,
                security: EtcdSecurity(
                    trustRootsPath: files.trustRoots, certificatePath: files.certificate, keyPath: files.key))
            defer { Task { await nobody.shutdown() } }
            let unnamed = await #expect(throws: EtcdError.self) { _ = try await nobody.put(key, [1]) }
            #expect(
                unnamed?.code == .status
                    && ["permission denied", "user name is empty"].contains { unnamed?.message.contains($0) == true },
                "\(String(describing: unnamed))")
            // The wrong password.
            let impostor = try EtcdClient(
                endpoints: cluster.endpoints, options: options,
                security: EtcdSecurity(
                    trustRootsPath: files.trustRoots, certificatePath: files.certificate, keyPath: files.key,
                    credentials: .init(user: files.user!, password: "guess")))
            defer { Task { await impostor.shutdown() } }
            let wrong = await #expect(throws: EtcdError.self) { _ = try await impostor.put(key, [1]) }
            #expect(wrong?.message.contains("authentication failed") == true, "\(String(describing: wrong))")
            // A server certificate from another authority is not trusted.
            let other = try scratchDirectory("etcd-other-ca")
            defer { other.remove() }
            let stranger = try EtcdCluster(
                directory: other.path + "/etcd", members: 1, access: .init(prefix: Self.prefix, validators: 1))
            try await stranger.start()
            let misled = try EtcdClient(
                endpoints: stranger.endpoints, options: options,
                security: try cluster.validatorSecurity(0)!.security())
            await #expect(throws: EtcdError.self) { _ = try await misled.put(key, [1]) }
            await misled.shutdown()
            await stranger.stop()
        }
    }

    /// Tokens live a second here: the client's expires between two writes,
    /// and it authenticates again instead of failing.
    @Test func anExpiredTokenIsReplaced() async throws {
        try await withSecuredMember(["--auth-token-ttl", "1"]) { cluster in
            let client = try validatorClient(cluster, 1)
            defer { Task { await client.shutdown() } }
            let key = Array("\(Self.prefix)/blocks/00000000000000000001/b".utf8)
            _ = try await client.put(key, [1])
            let first = client.token.withLock { $0 }
            try await Task.sleep(for: .seconds(3))
            _ = try await client.put(key, [2])
            #expect(try await client.range(from: key).keyValues.first?.value == [2])
            #expect(client.token.withLock { $0 } != first)
        }
    }
}
