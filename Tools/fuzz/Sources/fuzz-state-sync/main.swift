import DSMR
import DSMRNode
import FuzzSupport

// What a peer sends during state sync, and a snapshot file on disk: the
// input read as a node message, a state certificate and a snapshot file.
// Whatever decodes re-encodes to exactly its bytes; a certificate never
// verifies against a fixture set no input could sign for; a piece's proof
// is checked against any root without a crash, and never leads to a root
// its payload was not built into.
let signers = (1...4).map { try! Ed25519Signer(seed: [UInt8](repeating: UInt8($0), count: 32)) }
let set = try! ValidatorSet(epoch: 0, validators: signers.map { Validator(publicKey: $0.publicKey, weight: 1) })
let domain = SigningDomain(networkID: 1, chainID: .zero)

fuzz { input in
    if let message = try? NodeMessage(decoding: input) {
        expectCanonical(input, message.encoded(), "node message")
        switch message {
        case .snapshotPiece(let piece):
            let leaf = SnapshotTree.leaf(piece.payload)
            let root = SnapshotTree.root(leaves: [leaf])
            let verified = SnapshotTree.verify(
                payload: piece.payload, index: piece.index, count: 1, proof: piece.proof, root: root)
            precondition(verified == (piece.index == 0 && piece.proof.isEmpty), "a one-piece tree's proof is empty")
        case .stateOffer(let certificate, _):
            if (try? certificate.verify(validators: set, quorum: .default, domain: domain)) != nil {
                preconditionFailure("a certificate no fixture key signed verified")
            }
        default:
            break
        }
    }
    if let certificate = try? StateCertificate(decoding: input) {
        expectCanonical(input, certificate.encoded(), "state certificate")
    }
    if let file = try? SnapshotFile(decoding: input) {
        precondition(file.encoded() == input, "a snapshot file re-encodes to other bytes")
        precondition(file.pieces.count == Int(file.manifest.pieceCount), "a snapshot file with pieces missing")
    }
}
