// The fuzz package's one choice of C library, re-exported to the targets
// (the main package's `SystemC` is internal to it).
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
#endif

@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) private var target: (([UInt8]) -> Void)?

/// Hands control to libFuzzer's driver, calling `body` with every input.
///
/// `body` must trap (for example with `preconditionFailure`) on a bug; errors
/// thrown by a decoder on bad input are expected and ignored by the caller.
public func fuzz(_ body: @escaping ([UInt8]) -> Void) -> Never {
    target = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(
        runDriver(&argc, &argv) { data, size in
            let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            target!(input)
            return 0
        })
}

/// Traps unless a value decoded from `input` re-encodes to exactly `input`.
public func expectCanonical(_ input: [UInt8], _ reencoded: [UInt8], _ what: String) {
    if input != reencoded {
        preconditionFailure("\(what): decoded value re-encodes differently; the decoder accepted a non-canonical form")
    }
}

/// Calls `body` with a copy of `bytes` in a heap block of exactly their
/// size, so AddressSanitizer reports a decoder that reads one byte past it.
public func withExactCopy<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { block.deallocate() }
    _ = block.initializeMemory(as: UInt8.self, from: bytes)
    return body(UnsafeRawBufferPointer(block))
}
