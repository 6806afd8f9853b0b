import DSMR
import FuzzSupport

fuzz { input in
    guard let dimensions = try? Dimensions(fixedBytes: input) else { return }
    expectCanonical(input, dimensions.fixedBytes, "dimensions")
}
