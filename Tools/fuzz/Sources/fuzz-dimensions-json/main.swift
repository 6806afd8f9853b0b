import DSMR
import Foundation
import FuzzSupport

// The strict parser accepts a subset of what `Codable` through JSONDecoder
// accepts (JSONDecoder also takes duplicate keys, `1.0`, `1e2`), and where both
// accept an input they must read the same value.
fuzz { input in
    let strict = try? Dimensions(json: String(decoding: input, as: UTF8.self))
    let codable = try? JSONDecoder().decode(Dimensions.self, from: Data(input))
    if let strict {
        precondition((try? Dimensions(json: strict.json)) == strict, "JSON form does not round-trip")
        precondition(codable != nil, "the strict parser accepts JSON that Codable refuses")
    }
    if let strict, let codable {
        precondition(strict == codable, "the strict parser and Codable read different values")
    }
}
