// The one place the package chooses its C library. Every target that calls
// POSIX or libc directly imports `SystemC` and gets the platform's C module
// re-exported from here, so no other file repeats the choice. The package is
// built and tested on Linux (glibc) only; the other branches keep the choice
// in one line each should another C library be needed.
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Musl)
@_exported import Musl
#elseif canImport(Darwin)
@_exported import Darwin
#endif
