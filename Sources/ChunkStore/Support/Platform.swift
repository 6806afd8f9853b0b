import DSMR
import SystemC

/// POSIX calls whose names clash with methods (`read`, `write`), named
/// through `SystemC`, the package's one choice of C library. The other
/// files reach the POSIX calls through Foundation or `SystemC` directly.
package enum Platform {
    /// `write(2)`: returns the bytes written, or -1 with `errno` set.
    package static func write(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        SystemC.write(descriptor, bytes, count)
    }

    /// `read(2)`: returns the bytes read (0 at the end), or -1 with `errno`
    /// set.
    package static func read(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        SystemC.read(descriptor, buffer, count)
    }

    /// The wall clock as chain time (milliseconds since 1970, UTC), read
    /// with `clock_gettime(CLOCK_REALTIME)`.
    package static func wallClock() -> ChainTime {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return .milliseconds(Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000)
    }

    /// The system's description of the current `errno`.
    package static var lastError: String { String(cString: strerror(errno)) }
}
