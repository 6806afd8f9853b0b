import DSMR
import FuzzSupport

fuzz { input in
    guard let chunk = try? Chunk(decoding: input) else { return }
    expectCanonical(input, chunk.encoded(), "chunk")
    precondition(chunk.id == ChunkID(hashing: input), "chunk id is not the hash of its bytes")
    // The unsigned bytes are everything before the signature's length prefix,
    // and the one-pass signing digest is their SHA-256.
    let unsigned = chunk.unsignedBytes
    precondition(unsigned == Array(input.prefix(input.count - 4 - chunk.signature.count)), "unsigned bytes")
    precondition(
        chunk.signingDigest == ChunkID(hashing: unsigned).bytes, "signing digest is not SHA-256 of the unsigned bytes")
    _ = try? chunk.units { _ in Dimensions(compute: 1) }
}
