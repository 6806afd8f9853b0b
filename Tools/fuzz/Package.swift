// swift-tools-version: 6.1
// libFuzzer targets for every decoder of outside input, key files, certificate verification, and the node's block
// verification and chunk server. Build and run them with ./run.sh; they need libFuzzer's runtime at link time, so they
// live outside the main package.
import PackageDescription

let decoders = [
    "chunk", "chunk-reference", "signature-share", "chunk-certificate", "block", "dimensions-bytes",
    "dimensions-json", "signing-history", "key-file", "certificate-verify", "dump-load", "store-rows",
    "frame", "handshake", "control", "block-attempt", "state-sync",
]

// Targets that drive the node with decoded, mutated messages: block verification and the chunk server's handlers.
let nodeTargets = ["verify-block", "chunk-server"]

let package = Package(
    name: "dsmr-fuzz",
    dependencies: [.package(name: "dsmr", path: "../..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "DSMR", package: "dsmr")]),
        // A validator's node on a real store for the node targets: fixture keys, a transport that keeps its handler.
        .target(
            name: "NodeFuzzSupport",
            dependencies: [
                .product(name: "DSMR", package: "dsmr"), .product(name: "ChunkStore", package: "dsmr"),
                .product(name: "DSMRNode", package: "dsmr"), "FuzzSupport",
            ]),
    ]
        + nodeTargets.map { name in
            .executableTarget(
                name: "fuzz-\(name)",
                dependencies: [
                    .product(name: "DSMR", package: "dsmr"), .product(name: "DSMRNode", package: "dsmr"),
                    "FuzzSupport", "NodeFuzzSupport",
                ],
                path: "Sources/fuzz-\(name)")
        }
        + decoders.map { name in
            .executableTarget(
                name: "fuzz-\(name)",
                dependencies: [
                    .product(name: "DSMR", package: "dsmr"), .product(name: "ChunkStore", package: "dsmr"),
                    .product(name: "StoreMaintenance", package: "dsmr"),
                    .product(name: "DSMRNetwork", package: "dsmr"),
                    .product(name: "DSMRNode", package: "dsmr"), .product(name: "DSMRNodeRuntime", package: "dsmr"),
                    "FuzzSupport",
                ],
                path: "Sources/fuzz-\(name)")
        },
    swiftLanguageModes: [.v6]
)
