import ChunkStore
import DSMR
import DSMRNode
import DSMRTestSupport
import DemoVM
import Foundation
import Testing

@Suite(.serialized) struct ReplayTests {
    /// A cluster that ran a few rounds, with node 3 restarted between recording a block and executing it, then stopped.
    func ranCluster() async throws -> Cluster {
        let cluster = Cluster()
        try await cluster.startAll()
        for _ in 0..<2 { try await cluster.round(transfers: 16) }
        cluster.stop(3)
        let block = try #require(try await cluster.round(transfers: 16))
        do {
            let store = try ChunkStore(cluster.configuration(3))
            try await store.recordAccepted(block)
            store.close()
        }
        try await cluster.start(3)
        try await cluster.nodes[3]!.executePending()
        try await cluster.round(transfers: 16)
        cluster.stopAll()
        return cluster
    }

    func genesisFile(_ cluster: Cluster, balance: UInt64 = 1_000_000) throws -> String {
        let genesis = DemoGenesis(
            accounts: cluster.users.map { .init(account: Hex.encode($0.publicKey), balance: balance) })
        let path = "\(cluster.directory)/genesis-\(balance).json"
        try JSONEncoder().encode(genesis).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func replayOfARestartedNodesStoreMatchesEveryHeight() async throws {
        let cluster = try await ranCluster()
        let store = try ChunkStore(adopting: cluster.storePath(3), readOnly: true)
        defer { store.close() }
        let scratch = "\(cluster.directory)/replay"
        let vm = try DemoVM(path: scratch, domain: Fixture.domain, genesis: cluster.genesis)
        defer { vm.close() }
        let report = try await StoreReplay(store: store, assembler: vm).run()
        #expect(report.outcome == .matched)
        #expect(report.matched == Array(0...(try store.executedTip()!)))
    }

    @Test func replayToolExitsZeroOnMatchTwoOnMismatchOneOnAMissingChunk() async throws {
        let cluster = try await ranCluster()
        let path = cluster.storePath(0)
        let good = try genesisFile(cluster)
        let ok = try await runStoreTool(["replay", "--store", path, "--genesis", good, "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("\"result\" : \"matched\""))
        let limited = try await runStoreTool(["replay", "--store", path, "--genesis", good, "--from", "2", "--to", "3"])
        #expect(limited.status == 0 && limited.stdout.contains("2 heights match (heights 2...3)"), "\(limited.stdout)")

        let other = try genesisFile(cluster, balance: 5)
        let mismatch = try await runStoreTool(["replay", "--store", path, "--genesis", other])
        #expect(mismatch.status == 2)
        #expect(mismatch.stdout.contains("MISMATCH at height 0"))

        // Collect garbage far ahead: accepted chunks past their retention are gone.
        do {
            let store = try ChunkStore(cluster.configuration(0))
            try await store.collectGarbage(upTo: .milliseconds(10_000_000))
            store.close()
        }
        let missing = try await runStoreTool(["replay", "--store", path, "--genesis", good])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("acceptedRetention"), "\(missing.stderr)")
    }
}

/// Runs the `dsmr-store` binary built next to the test bundle.
func runStoreTool(_ arguments: [String]) async throws -> ToolRun {
    try await runTool(try builtExecutable("dsmr-store"), arguments)
}
