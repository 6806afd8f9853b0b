import DSMR
import DSMRNode
import FuzzSupport
import NodeFuzzSupport

// Block verification on proposer-chosen bytes. Input: one flag byte, then a
// block's canonical bytes. Flag bit 0 re-signs every certificate with the
// fixture validators' keys (over whatever reference and epoch it names), so
// mutated fields reach the checks after the signatures; bit 1 verifies on
// the fixture's child block (height 1, one certificate) instead of genesis;
// bit 2 rejects the block afterwards. `verify` must never trap, and a block
// it accepts must meet every rule checked here independently of it.
let fixture = NodeFixture()
let rules = NodeFixture.rules
let limits = DecodingLimits(rules: rules)
let set = try! ValidatorSet(
    epoch: 0, validators: NodeFixture.signers.map { Validator(publicKey: $0.publicKey, weight: 10) })

func seed(_ flags: UInt8, _ block: Block) -> [UInt8] { [flags] + block.encoded() }

NodeFixture.writeSeedsIfAsked([
    seed(0, Block(parent: fixture.genesis.id, height: 1, timestamp: 11_000, certificates: [])),
    seed(
        0,
        Block(
            parent: fixture.genesis.id, height: 1, timestamp: 11_000,
            certificates: [NodeFixture.certificate(NodeFixture.chunk(by: 2, slot: 10))])),
    seed(
        2,
        Block(
            parent: fixture.child.id, height: 2, timestamp: 12_000,
            certificates: [
                NodeFixture.certificate(NodeFixture.chunk(by: 1, slot: 11)),
                NodeFixture.certificate(NodeFixture.chunk(by: 3, slot: 12)),
            ])),
    seed(
        1,
        Block(
            parent: fixture.genesis.id, height: 1, timestamp: 12_000,
            certificates: [NodeFixture.certificate(NodeFixture.chunk(by: 0, slot: 13))])),
    seed(6, Block(parent: fixture.child.id, height: 2, timestamp: 12_000, certificates: fixture.child.certificates)),
])

/// Traps unless `block`, accepted by `verify` on `parent`, meets the rules.
func expectValid(_ block: Block, on parent: Block) {
    precondition(block.parent == parent.id && block.height == parent.height + 1, "accepted a block off its parent")
    precondition(
        block.timestamp > parent.timestamp && block.timestamp - parent.timestamp <= rules.maxBlockSkew,
        "accepted a timestamp out of bounds")
    if block.certificates.isEmpty {
        precondition(block.timestamp - parent.timestamp >= rules.slotDuration, "accepted an empty block too soon")
        return
    }
    precondition(block.certificates.count <= limits.maxCertificatesPerBlock, "accepted too many certificates")
    let ids = block.certificates.map(\.reference.chunkID)
    precondition(Set(ids).count == ids.count, "accepted a repeated certificate")
    if parent == fixture.child {
        precondition(Set(ids).isDisjoint(with: parent.certificates.map(\.reference.chunkID)), "accepted a repeat")
    }
    let epoch = rules.epoch(at: block.timestamp)
    for certificate in block.certificates {
        let reference = certificate.reference
        precondition(reference.expiry >= block.timestamp, "accepted an expired certificate")
        precondition(reference.expiry == rules.expiry(ofSlot: reference.slot), "accepted an expiry not of its slot")
        precondition(reference.expiry - parent.timestamp <= rules.validityWindow, "accepted an expiry past the window")
        precondition(
            reference.slot <= rules.slot(at: block.timestamp) + rules.maxFutureSlots, "accepted a slot too far ahead")
        precondition(certificate.epoch == epoch || certificate.epoch + 1 == epoch, "accepted a wrong epoch")
        let epochSet = try! ValidatorSet(epoch: certificate.epoch, validators: set.validators)
        precondition(epochSet.contains(reference.producer), "accepted a producer outside the set")
        do {
            try certificate.verify(against: epochSet, rules: rules, domain: NodeFixture.domain)
        } catch {
            preconditionFailure("accepted a certificate that does not verify: \(error)")
        }
    }
}

fuzz { input in
    guard let flags = input.first, var block = try? Block(decoding: Array(input.dropFirst()), limits: limits) else {
        return
    }
    if flags & 1 != 0 {
        block = Block(
            parent: block.parent, height: block.height, timestamp: block.timestamp,
            certificates: block.certificates.map(NodeFixture.resigned))
    }
    let parent = flags & 2 != 0 ? fixture.child : fixture.genesis
    guard (try? fixture.node.verify(block: block, parent: parent)) != nil else { return }
    expectValid(block, on: parent)
    if flags & 4 != 0 { fixture.node.reject(block) }
}
