// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "dsmr",
    products: [
        .library(name: "DSMR", targets: ["DSMR"]),
        .library(name: "ChunkStore", targets: ["ChunkStore"]),
        .library(name: "StoreMaintenance", targets: ["StoreMaintenance"]),
        .library(name: "DSMRNode", targets: ["DSMRNode"]),
        .library(name: "DemoVM", targets: ["DemoVM"]),
        .library(name: "DSMRNetwork", targets: ["DSMRNetwork"]),
        .library(name: "DSMRNodeRuntime", targets: ["DSMRNodeRuntime"]),
        .library(name: "DSMRNodeCommands", targets: ["DSMRNodeCommands"]),
        .executable(name: "dsmr-node", targets: ["dsmr-node"]),
        .executable(name: "dsmr-store", targets: ["dsmr-store"]),
        .executable(name: "dsmr-bench", targets: ["dsmr-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // `swift package generate-documentation` (.ci/docs); no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // The system's LMDB (Debian: liblmdb-dev), found through pkg-config.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // The one place the C library is chosen (re-exported: Glibc on Linux).
        .target(name: "SystemC"),
        // A safe Swift wrapper over LMDB that knows nothing of DSMR.
        .target(name: "LMDB", dependencies: ["CLMDB", "SystemC"]),
        // Readers of LMDB's on-disk format for forensics: page walk, meta-page fallback, lock probe.
        .target(name: "LMDBForensics", dependencies: ["LMDB", "SystemC"]),
        // DSMR's values: ids, Dimensions, codec, chunks, certificates, blocks.
        .target(
            name: "DSMR",
            dependencies: ["SystemC", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The durable chunk server store.
        .target(
            name: "ChunkStore",
            dependencies: ["LMDB", "DSMR", "SystemC", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // What operators run on a store: check, recover, salvage, compaction, dumps, signing histories.
        .target(
            name: "StoreMaintenance",
            dependencies: [
                "ChunkStore", "LMDB", "LMDBForensics", "DSMR", "SystemC",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // DSMR's protocol logic over the store, independent of any transport.
        .target(
            name: "DSMRNode",
            dependencies: ["ChunkStore", "DSMR", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // A sample state machine: signed token transfers with a state root, on its own LMDB environment.
        .target(
            name: "DemoVM",
            dependencies: ["DSMR", "DSMRNode", "LMDB", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The node's transport over TCP and TLS 1.3: framed, authenticated, encrypted links between validators.
        .target(
            name: "DSMRNetwork",
            dependencies: [
                "DSMR", "DSMRNode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A small client of etcd's v3 JSON gateway: kv, txn, leases, election, watch.
        .target(
            name: "DSMROrdering",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // One validator as a process: configuration, control socket, metrics, ordering.
        .target(
            name: "DSMRNodeRuntime",
            dependencies: [
                "DSMR", "DSMRNode", "DSMRNetwork", "DSMROrdering", "ChunkStore", "SystemC",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // A local devnet: validator processes, their ordering driver and a load generator.
        .target(
            name: "DSMRDevnet",
            dependencies: [
                "DSMRNodeRuntime", "DSMROrdering", "DSMR", "DSMRNode", "SystemC",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),

        // A node binary's command line (keygen, run, devnet, replay) over any state machine.
        .target(
            name: "DSMRNodeCommands",
            dependencies: [
                "DSMRNodeRuntime", "DSMRDevnet", "DSMRNode", "DSMR", "ChunkStore", "SystemC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // Runs a DemoVM validator, or a local devnet of them.
        .executableTarget(
            name: "dsmr-node",
            dependencies: ["DSMRNodeCommands", "DemoVM"],
            path: "Tools/dsmr-node"
        ),

        // Operators' tool: inspect, check and maintain a store.
        .executableTarget(
            name: "dsmr-store",
            dependencies: [
                "ChunkStore", "StoreMaintenance", "DSMR", "DSMRNode", "DemoVM", "SystemC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/dsmr-store"
        ),
        // Test helper: holds a read transaction until killed (stale reader tests).
        .executableTarget(
            name: "lmdb-reader-child",
            dependencies: ["LMDB", "SystemC"],
            path: "Tools/lmdb-reader-child"
        ),
        // The process ChunkStoreTests' crash tests run and kill.
        .executableTarget(
            name: "chunkstore-crash-child",
            dependencies: ["ChunkStore", "DSMR", "SystemC"],
            path: "Tools/chunkstore-crash-child"
        ),

        // A key-value state machine with storage of its own (a whole state file per block), for tests
        // only: not a product, and it depends on neither LMDB nor DemoVM.
        .target(
            name: "KeyValueMachine",
            dependencies: ["DSMR", "DSMRNode", "SystemC", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tools/test-state-machine"
        ),
        // For tests only: a DemoVM validator that misbehaves as DSMR_BYZANTINE says.
        .executableTarget(
            name: "dsmr-byzantine",
            dependencies: [
                "DSMRNodeCommands", "DSMRNodeRuntime", "DSMRNetwork", "DSMRNode", "DSMR", "DemoVM", "SystemC",
                "DSMROrdering",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tools/dsmr-byzantine"
        ),
        // For tests only: the node command line with the key-value state machine.
        .executableTarget(
            name: "dsmr-test-node",
            dependencies: ["DSMRNodeCommands", "KeyValueMachine"],
            path: "Tools/dsmr-test-node"
        ),

        // The benchmark table: the store against raw LMDB in the same run.
        .executableTarget(
            name: "dsmr-bench",
            dependencies: [
                "ChunkStore", "StoreMaintenance", "DSMR", "DSMRNode", "DSMRNodeRuntime", "DSMRDevnet", "DSMROrdering",
                "DemoVM", "LMDB",
                "CLMDB", "SystemC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tools/dsmr-bench"
        ),

        // What the test targets share: temporary directories, waiting,
        // finding the built executables, fixture keys.
        .target(name: "DSMRTestSupport", dependencies: ["DSMR"], path: "Tests/DSMRTestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "LMDBForensics", "CLMDB", "DSMRTestSupport"]),
        .testTarget(
            name: "DSMRTests",
            dependencies: [
                "DSMR", "DSMRTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Vectors"]
        ),
        .testTarget(
            name: "ChunkStoreTests",
            dependencies: [
                "ChunkStore", "StoreMaintenance", "LMDB", "LMDBForensics", "DSMR", "SystemC", "DSMRTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "DSMRNodeTests",
            dependencies: ["DSMRNode", "ChunkStore", "StoreMaintenance", "DSMR", "DemoVM", "DSMRTestSupport"]),
        .testTarget(
            name: "DSMRNetworkTests",
            dependencies: [
                "DSMRNetwork", "DSMRNode", "DSMR", "ChunkStore", "DemoVM", "DSMRTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "DemoVMTests", dependencies: ["DemoVM", "DSMRNode", "DSMR", "DSMRTestSupport"]),
        .testTarget(
            name: "KeyValueMachineTests",
            dependencies: [
                "KeyValueMachine", "DSMRNode", "DSMR", "DSMRTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "DSMRNodeRuntimeTests",
            dependencies: [
                "DSMRNodeRuntime", "DSMRDevnet", "DSMRNetwork", "DSMROrdering", "DSMRNode", "DSMR", "ChunkStore",
                "StoreMaintenance", "DemoVM", "KeyValueMachine", "DSMRTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
