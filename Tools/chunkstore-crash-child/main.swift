// The child process of ChunkStoreTests' crash tests.
//
//   chunkstore-crash-child run <store> <run-seed> <first-slot> [no-sync | no-meta-sync]
//       Opens (creating if needed) a synced store (with `no-sync` or
//       `no-meta-sync`, one whose commits are not flushed, or whose meta
//       page is not: only for tests that must catch exactly that) and
//       signs chunks of four
//       producers slot after slot, with conflicting, repeated and over-limit
//       chunks among them and an accepted block every few slots, until it is
//       killed. After each acknowledged share it writes one line
//       `ack <chunk id> <producer> <slot>` to stdout with a single write(2),
//       so a line is either whole or absent when the process dies.
//   chunkstore-crash-child probe <store>
//   chunkstore-crash-child probe-read <store>
//       Tries to open the store as a writer (or read-only), prints `opened`
//       or `refused <error>` and exits 0 or 2.
//
// The identity and keys below must match CrashTests.swift.
import SystemC
import ChunkStore
import DSMR

enum CrashFixture {
    static let networkID: UInt32 = 77
    static let chainID = try! ChainID(bytes: [UInt8](repeating: 7, count: 32))
    static let domain = SigningDomain(networkID: networkID, chainID: chainID)
    static func signer(_ n: UInt8) -> Ed25519Signer { try! Ed25519Signer(seed: [UInt8](repeating: n, count: 32)) }
    static let node = signer(9)
    static let producers = (1...4).map { signer(UInt8($0)) }
    static let validators = try! ValidatorSet(
        epoch: 0, validators: (producers + [node]).map { Validator(publicKey: $0.publicKey, weight: 1) })
    /// 20 s lifetime, 4-slot windows of 4000 bandwidth units.
    static let rules = Rules(
        slotDuration: 1_000, chunkLifetime: 20_000, maxFutureSlots: 2, maxChunkBytes: 2_048, maxChunksPerSlot: 1,
        rateLimitWindow: 4,
        maxUnitsPerWindow: Dimensions(
            bandwidth: 4_000, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
            storageWrite: 1 << 40),
        validityWindow: 20_000)
}

/// Writes `text` and a newline to stdout in one write(2).
func emit(_ text: String) {
    let line = Array((text + "\n").utf8)
    var offset = 0
    while offset < line.count {
        let written = line[offset...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if written < 0 && errno == EINTR { continue }
        guard written > 0 else { exit(4) }
        offset += written
    }
}

func configuration(_ path: String, flushing: String = "synced") -> StoreConfiguration {
    var configuration = StoreConfiguration(
        path: path, networkID: CrashFixture.networkID, chainID: CrashFixture.chainID,
        nodeID: CrashFixture.node.nodeID, rules: CrashFixture.rules)
    configuration.signer = CrashFixture.node
    switch flushing {
    case "no-sync": configuration.durability = .noSync
    case "no-meta-sync": configuration.durability = .noMetaSync
    default: configuration.durability = .synced
    }
    configuration.mapSize = 4 << 20
    return configuration
}

func chunk(_ producer: Ed25519Signer, slot: UInt64, size: Int, random: inout SeededGenerator) -> Chunk {
    let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &random) }
    return try! Chunk.sign(
        producer: producer, beneficiary: producer.nodeID, slot: slot, transactions: [payload],
        domain: CrashFixture.domain)
}

func certificate(_ chunk: Chunk) -> ChunkCertificate {
    let reference = ChunkReference(chunk: chunk, rules: CrashFixture.rules)
    let shares = CrashFixture.producers.map {
        try! SignatureShare.sign(reference, rules: CrashFixture.rules, signer: $0, domain: CrashFixture.domain)
    }
    return try! ChunkCertificate.aggregate(
        reference: reference, shares: shares, validators: CrashFixture.validators, rules: CrashFixture.rules)
}

func run(path: String, seed: UInt64, firstSlot: UInt64, flushing: String) async throws {
    let store = try ChunkStore(configuration(path, flushing: flushing))
    emit("open")
    var random = SeededGenerator(seed: seed)
    var tip = try store.acceptedTip()
    var acknowledged: [Chunk] = []
    for slot in firstSlot..<firstSlot + 100_000 {
        let now = CrashFixture.rules.slotStart(slot)
        var requests: [Chunk] = []
        for producer in CrashFixture.producers {
            requests.append(
                chunk(producer, slot: slot, size: Int.random(in: 100...1_800, using: &random), random: &random))
            if Int.random(in: 0..<4, using: &random) == 0 {
                requests.append(chunk(producer, slot: slot, size: 200, random: &random))
            }
        }
        if let again = acknowledged.last, Int.random(in: 0..<5, using: &random) == 0 { requests.append(again) }
        let signed = try await withThrowingTaskGroup(of: Chunk?.self) { group in
            for request in requests {
                group.addTask {
                    do {
                        _ = try await store.persistAndSign(
                            request, validators: CrashFixture.validators, now: .milliseconds(now))
                        emit("ack \(request.id.hex) \(request.producer.hex) \(request.slot)")
                        return request
                    } catch ChunkStoreError.Code.conflictingChunk {
                        return nil
                    } catch ChunkStoreError.Code.rateLimited {
                        return nil
                    }
                }
            }
            var signed: [Chunk] = []
            for try await result in group { if let result { signed.append(result) } }
            return signed
        }
        acknowledged.append(contentsOf: signed)
        if slot % 3 == 0, !acknowledged.isEmpty {
            let certified = acknowledged.suffix(2).map(certificate)
            let block = Block(
                parent: tip?.id ?? .zero, height: (tip?.height ?? 0) + 1, timestamp: now - 4_000,
                certificates: certified)
            tip = try await store.recordAccepted(block).tip
            emit("block \(block.height) \(slot)")
        }
        if acknowledged.count > 64 { acknowledged.removeFirst(32) }
    }
    store.close()
}

func probe(path: String, readOnly: Bool) -> Int32 {
    do {
        let store = try ChunkStore(adopting: path, readOnly: readOnly)
        emit("opened watermark \(try store.watermark())")
        store.close()
        return 0
    } catch {
        emit("refused \(error)")
        return 2
    }
}

let arguments = CommandLine.arguments
switch arguments.count > 1 ? arguments[1] : "" {
case "run" where arguments.count == 5 || (arguments.count == 6 && ["no-sync", "no-meta-sync"].contains(arguments[5])):
    guard let seed = UInt64(arguments[3]), let firstSlot = UInt64(arguments[4]) else { exit(1) }
    do {
        let flushing = arguments.count == 6 ? arguments[5] : "synced"
        try await run(path: arguments[2], seed: seed, firstSlot: firstSlot, flushing: flushing)
    } catch {
        emit("error \(error)")
        exit(3)
    }
case "probe" where arguments.count == 3:
    exit(probe(path: arguments[2], readOnly: false))
case "probe-read" where arguments.count == 3:
    exit(probe(path: arguments[2], readOnly: true))
default:
    emit(
        "usage: chunkstore-crash-child run <store> <seed> <first-slot> [no-sync | no-meta-sync] | probe <store> | probe-read <store>"
    )
    exit(1)
}
