import SystemC

/// Overwrites `bytes` with zeros in place, in a way the compiler does not
/// remove as a dead store (`explicit_bzero`, or `memset_s` on Darwin).
///
/// Only this array's own buffer is cleared: copies Swift made earlier (an
/// array that grew, a value passed by copy, a `String`) are out of reach.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        #if canImport(Darwin)
        _ = memset_s(base, buffer.count, 0, buffer.count)
        #else
        explicit_bzero(base, buffer.count)
        #endif
    }
}
