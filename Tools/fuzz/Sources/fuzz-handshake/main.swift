import DSMR
import DSMRNetwork
import FuzzSupport

// A listener's view of a handshake: the first frame must be a hello that
// passes the checks, the second a proof that must never verify (the fuzzer
// cannot sign for a validator's key).
let signers = (1...4).map { try! Ed25519Signer(seed: [UInt8](repeating: UInt8($0), count: 32)) }
let validators = try! ValidatorSet(
    epoch: 0, validators: signers.map { Validator(publicKey: $0.publicKey, weight: 10) })
let domain = SigningDomain(networkID: 77, chainID: try! ChainID(bytes: (0..<32).map { UInt8($0 ^ 0x5A) }))
let local = signers[1]
let own = Hello(domain: domain, nodeID: local.nodeID, nonce: [UInt8](repeating: 9, count: Hello.nonceBytes))

fuzz { input in
    let (frames, _) = decodeFrames(input, maxFrameBytes: 256)
    guard case .hello(let hello)? = frames.first else { return }
    expectCanonical(
        Array(input.prefix(Frame.headerBytes + 1 + Hello.encodedBytes)), Frame.hello(hello).encoded(), "hello")
    guard
        let validator = try? PeerHandshake.checkHello(
            hello, domain: domain, local: local.nodeID, validators: validators, expected: nil)
    else { return }
    precondition(hello.domain == domain && validators.contains(hello.nodeID) && hello.nodeID != local.nodeID)
    guard frames.count > 1, case .proof(let signature) = frames[1] else { return }
    let verified =
        (try? PeerHandshake.checkProof(
            signature, from: validator, domain: domain, own: own, other: hello, binding: .plaintext)) != nil
    precondition(!verified, "a proof not made with the validator's key verified")
}
