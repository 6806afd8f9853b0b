import DSMR
import DSMRNode
import FuzzSupport
import NodeFuzzSupport

// The chunk server's handlers on peer-chosen bytes, through the handler the
// node registers with its transport. Input: one selector byte, then a
// message. Selector % 4: 0 sends the bytes as a request, 1 as gossip; 2
// decodes them as a message and re-signs what it carries (a chunk with its
// producer's fixture key, a certificate with every fixture validator's) so
// mutated fields reach the checks after the signatures, then sends it
// (a certificate as gossip, anything else as a request); 3 does the same and
// sends it twice. No input may trap; every answer must decode; a share must
// be this node's, over the reference derived from the chunk asked about,
// within the expiry window; a repeated request gets the same share; a block
// the node builds from what gossip left in its store must verify. The node
// starts afresh every 20 000 inputs, so its store stays small.
let rules = NodeFixture.rules
let limits = DecodingLimits(rules: rules)
let peer = NodeFixture.signers[1].nodeID
nonisolated(unsafe) var fixture = NodeFixture()
nonisolated(unsafe) var inputs = 0

func seed(_ selector: UInt8, _ message: NodeMessage) -> [UInt8] { [selector] + message.encoded() }

let validChunk = NodeFixture.chunk(by: 1, slot: 11)
NodeFixture.writeSeedsIfAsked([
    seed(0, .requestChunkSignatureShare(validChunk)),
    seed(2, .requestChunkSignatureShare(NodeFixture.chunk(by: 2, slot: 12, payload: [9, 9]))),
    seed(3, .requestChunkSignatureShare(NodeFixture.chunk(by: 3, slot: 30))),
    seed(0, .requestChunk(validChunk.id, expiry: rules.expiry(ofSlot: 11))),
    seed(1, .certificateGossip(NodeFixture.certificate(NodeFixture.chunk(by: 2, slot: 14)))),
    seed(2, .certificateGossip(NodeFixture.certificate(NodeFixture.chunk(by: 3, slot: 20)))),
    seed(
        0,
        .chunkSignature(
            try! SignatureShare.sign(
                ChunkReference(chunk: validChunk, rules: rules), rules: rules, signer: NodeFixture.signers[2],
                domain: NodeFixture.domain))),
    seed(0, .error(ErrorReply(.overloaded, "busy"))),
])

/// Sends `bytes` as a request and checks the answer; returns it.
func ask(_ bytes: [UInt8]) -> [UInt8] {
    let handler = fixture.handler
    let answerBytes = blocking { await handler.handleRequest(bytes, from: peer) }
    guard let answer = try? NodeMessage(decoding: answerBytes, limits: limits) else {
        preconditionFailure("the server's answer does not decode")
    }
    let request = try? NodeMessage(decoding: bytes, limits: limits)
    switch (request, answer) {
    case (_, .error):
        break
    case (.requestChunkSignatureShare(let chunk)?, .chunkSignature(let share)):
        let node = NodeFixture.signers[0]
        precondition(share.signer == node.nodeID, "a share signed in another's name")
        precondition(share.reference == ChunkReference(chunk: chunk, rules: rules), "a share over another reference")
        precondition(share.verify(publicKey: node.publicKey, rules: rules, domain: NodeFixture.domain), "a bad share")
        // Chain time is the genesis block's, 10 000: expiries in (10 000, 30 000] are signed.
        precondition(share.reference.expiry > 10_000 && share.reference.expiry <= 30_000, "signed out of the window")
        guard let producer = NodeFixture.signers.first(where: { $0.nodeID == chunk.producer }) else {
            preconditionFailure("signed a chunk of a producer outside the set")
        }
        precondition(
            chunk.verifySignature(publicKey: producer.publicKey, domain: NodeFixture.domain),
            "signed a chunk its producer did not sign")
    case (.requestChunk(let id, _)?, .chunk(let chunkBytes)):
        guard let chunk = try? Chunk(decoding: chunkBytes, limits: limits) else {
            preconditionFailure("served bytes that are no chunk")
        }
        precondition(chunk.id == id, "served another chunk")
    default:
        preconditionFailure("answered \(answer) to \(request.map { "\($0)" } ?? "undecodable bytes")")
    }
    return answerBytes
}

/// Sends `bytes` as gossip, then checks that a block built from the store verifies.
func gossip(_ bytes: [UInt8]) {
    let handler = fixture.handler
    blocking { await handler.handleGossip(bytes, from: peer) }
    let node = fixture.node
    for timestamp: Int64 in [11_000, 15_000] {
        guard let block = try? node.buildBlock(parent: fixture.genesis, timestamp: timestamp) else { continue }
        do {
            try node.verify(block: block, parent: fixture.genesis)
        } catch {
            preconditionFailure("the node built a block it does not verify: \(error)")
        }
        node.reject(block)
    }
}

/// `message` with what it carries signed again by the fixture keys.
func resigned(_ message: NodeMessage) -> NodeMessage {
    switch message {
    case .requestChunkSignatureShare(let chunk): .requestChunkSignatureShare(NodeFixture.resigned(chunk))
    case .certificateGossip(let certificate): .certificateGossip(NodeFixture.resigned(certificate))
    default: message
    }
}

fuzz { input in
    inputs += 1
    if inputs % 20_000 == 0 {
        fixture.discard()
        fixture = NodeFixture()
    }
    guard let selector = input.first else { return }
    let body = Array(input.dropFirst())
    switch selector % 4 {
    case 0:
        _ = ask(body)
    case 1:
        gossip(body)
    default:
        guard let decoded = try? NodeMessage(decoding: body, limits: limits) else { return }
        let message = resigned(decoded)
        let bytes = message.encoded()
        guard case .certificateGossip = message else {
            let first = ask(bytes)
            if selector % 4 == 3 {
                let second = ask(bytes)
                if case .chunkSignature? = try? NodeMessage(decoding: first, limits: limits) {
                    precondition(first == second, "a repeated request got another answer")
                }
            }
            return
        }
        gossip(bytes)
        if selector % 4 == 3 { gossip(bytes) }
    }
}
