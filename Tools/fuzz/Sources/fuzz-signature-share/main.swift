import DSMR
import FuzzSupport

fuzz { input in
    guard let share = try? SignatureShare(decoding: input) else { return }
    expectCanonical(input, share.encoded(), "signature share")
}
