import DSMR
import FuzzSupport

fuzz { input in
    guard let block = try? Block(decoding: input) else { return }
    expectCanonical(input, block.encoded(), "block")
    precondition(block.id == BlockID(hashing: input), "block id is not the hash of its bytes")
}
