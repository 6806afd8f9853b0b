import DSMR
import FuzzSupport

fuzz { input in
    guard let dimensions = try? Dimensions(json: String(decoding: input, as: UTF8.self)) else { return }
    precondition((try? Dimensions(json: dimensions.json)) == dimensions, "JSON form does not round-trip")
}
