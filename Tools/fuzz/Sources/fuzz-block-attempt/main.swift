import DSMR
import DSMRNodeRuntime
import FuzzSupport

// A value of the etcd ordering log, as any holder of etcd credentials may
// write it: an attempt that decodes re-encodes to exactly its bytes, its
// block is never above the bound, and verifying it against a validator set
// never crashes (and never succeeds: no input carries a fixture key's
// signature over its block except by breaking Ed25519).
let validator = try! Ed25519Signer(seed: [UInt8](repeating: 5, count: 32))
let validators = [validator.nodeID: validator.publicKey]
let domain = SigningDomain(networkID: 1, chainID: .zero)
let maxBlockBytes = 1 << 16

fuzz { input in
    guard let attempt = try? BlockAttempt(decoding: input, maxBlockBytes: maxBlockBytes) else { return }
    expectCanonical(input, attempt.encoded, "block attempt")
    precondition(attempt.blockBytes.count <= maxBlockBytes, "a block above the bound was decoded")
    let limits = DecodingLimits(maxBlockBytes: maxBlockBytes)
    if let block = try? attempt.verifiedBlock(validators: validators, domain: domain, limits: limits) {
        preconditionFailure("an attempt no fixture signed verified: block \(block.id)")
    }
}
