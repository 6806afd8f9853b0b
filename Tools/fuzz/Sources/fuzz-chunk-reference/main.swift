import DSMR
import FuzzSupport

fuzz { input in
    guard let reference = try? ChunkReference(decoding: input) else { return }
    expectCanonical(input, reference.encoded(), "chunk reference")
}
