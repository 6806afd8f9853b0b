#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The module's one home for what differs between platforms. The other
/// files reach the POSIX calls through Foundation, which re-exports the C
/// library on both Linux and Darwin; calls whose names clash with methods
/// (`read`, `write`) go through here.
enum Platform {
    /// `write(2)`: returns the bytes written, or -1 with `errno` set.
    static func write(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.write(descriptor, bytes, count)
        #else
        Darwin.write(descriptor, bytes, count)
        #endif
    }

    /// `read(2)`: returns the bytes read (0 at the end), or -1 with `errno`
    /// set.
    static func read(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
        #else
        Darwin.read(descriptor, buffer, count)
        #endif
    }

    /// The system's description of the current `errno`.
    static var lastError: String { String(cString: strerror(errno)) }
}
