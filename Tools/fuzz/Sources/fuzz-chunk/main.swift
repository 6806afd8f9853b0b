import DSMR
import FuzzSupport

fuzz { input in
    guard let chunk = try? Chunk(decoding: input) else { return }
    expectCanonical(input, chunk.encoded(), "chunk")
    precondition(chunk.id == ChunkID(hashing: input), "chunk id is not the hash of its bytes")
    _ = try? chunk.units { _ in Dimensions(compute: 1) }
}
