import SystemC
import DSMR

/// Progress and notes go to standard error, so `--json` output stays clean.
func log(_ message: String) {
    let line = message + "\n"
    var bytes = Array(line.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
    bytes.removeAll()
}

/// Seconds elapsed while `body` runs.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return start.duration(to: .now).seconds
}

/// Seconds elapsed while `body` runs.
func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return start.duration(to: .now).seconds
}

/// CPU seconds this process has used so far, on every thread.
func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// Wall and process CPU seconds while `body` runs.
func measured(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    let cpu = processCPUSeconds()
    let wall = try seconds(body)
    return (wall, processCPUSeconds() - cpu)
}

/// Wall and process CPU seconds while `body` runs.
func measured(_ body: () async throws -> Void) async rethrows -> (wall: Double, cpu: Double) {
    let cpu = processCPUSeconds()
    let wall = try await seconds(body)
    return (wall, processCPUSeconds() - cpu)
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}

/// The median of `values` (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of nothing")
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// The processor count the benchmarks spread work over.
var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

/// The process's anonymous resident memory (`RssAnon` in
/// `/proc/self/status`) in bytes, or nil where there is no such file.
func residentAnonymousBytes() -> Int? {
    guard let status = readTextFile("/proc/self/status") else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
        return kib * 1024
    }
    return nil
}

/// Hands freed heap memory back to the system where the C library can
/// (glibc's `malloc_trim`), so `RssAnon` shows what is live.
func releaseFreeHeap() {
    #if os(Linux)
    _ = glibcMallocTrim(0)
    #endif
}

#if os(Linux)
/// glibc's `malloc_trim` (not in the Glibc module map).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
import DSMR

/// The whole content of a small text file, or nil.
func readTextFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        data.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: data, as: UTF8.self)
}

/// An error of the benchmark itself.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A scratch directory under the system's temporary directory, removed with
/// everything in it by `remove()`.
final class Workspace {
    let root: String
    private var counter = 0

    init(parent: String?) throws {
        let base = parent ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((base + "/dsmr-bench.XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw BenchError("cannot create a temporary directory under \(base): \(String(cString: strerror(errno)))")
        }
        root = String(cString: made)
    }

    /// A new, empty directory named after `label`.
    func directory(_ label: String) throws -> String {
        counter += 1
        let path = "\(root)/\(counter)-\(label)"
        guard mkdir(path, 0o700) == 0 else {
            throw BenchError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// Removes `path` (a directory of plain files, as the stores are).
    func discard(_ path: String) {
        removeTree(path)
    }

    /// Removes the whole workspace.
    func remove() {
        removeTree(root)
    }

    private func removeTree(_ path: String) {
        if let directory = opendir(path) {
            var children: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { children.append(path + "/" + name) }
            }
            closedir(directory)
            for child in children { removeTree(child) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// The bytes a directory's files take on disk (allocated blocks), for notes.
func directorySize(_ path: String) -> Int {
    var total = 0
    guard let directory = opendir(path) else { return 0 }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        var info = stat()
        if stat(path + "/" + name, &info) == 0 { total += Int(info.st_blocks) * 512 }
    }
    return total
}

/// The eight big-endian bytes of `value`, as the store's keys hold integers,
/// written by the DSMR codec's writer.
func bigEndian(_ value: UInt64) -> [UInt8] {
    var writer = CanonicalWriter(capacity: 8)
    writer.write(value)
    return writer.bytes
}
