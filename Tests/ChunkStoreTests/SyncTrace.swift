import Foundation

/// Reads an `strace -f -y` trace of a process writing an LMDB environment
/// and finds every acknowledgement (a `write(1, "ack ...")`) that was sent
/// before the commit it reports was durable.
///
/// LMDB makes a commit durable in two steps: the transaction's pages are
/// written and synced (`fdatasync`), then the meta page that points at them
/// is written through a descriptor opened with `O_DSYNC` (or written and
/// synced). The checker follows `data.mdb` writes and syncs in the order
/// the system calls completed and demands that
///
/// - every meta page write comes after a sync of every data page written
///   before it, and
/// - at every acknowledgement, the last meta page written is durable
///   (written through `O_DSYNC`, or synced since).
///
/// Meta pages are the first two pages of `data.mdb`: writes that end within
/// `2 * pageSize` bytes. A sync counts only once it has returned, and only
/// for writes that had begun before it was called.
struct SyncTrace {
    let pageSize: Int
    /// Problems found, each naming the trace line.
    private(set) var violations: [String] = []
    /// Acknowledgements seen.
    private(set) var acknowledgements = 0
    /// Syncs of `data.mdb` seen.
    private(set) var syncs = 0
    /// Meta page writes seen.
    private(set) var metaWrites = 0

    private var dsyncDescriptors: Set<Int> = []
    private var pending: [String: (call: String, sequence: Int)] = [:]
    private var sequence = 0
    private var lastUnsyncedData = 0
    private var syncedThrough = 0
    private var lastMeta = 0
    private var lastMetaDurable = true
    private var lastUnsyncedMeta = 0

    init(pageSize: Int = 4096) { self.pageSize = pageSize }

    /// Analyses the whole trace text.
    init(text: String, pageSize: Int = 4096) {
        self.init(pageSize: pageSize)
        for (number, line) in text.split(separator: "\n").enumerated() { read(String(line), number: number + 1) }
    }

    private mutating func read(_ line: String, number: Int) {
        guard let space = line.firstIndex(of: " ") else { return }
        let pid = String(line[..<space])
        let rest = String(line[line.index(after: space)...].drop { $0 == " " })
        if rest.hasPrefix("<... ") {
            // `<... fdatasync resumed>)      = 0`: strace pads before the `=`.
            guard let entry = pending.removeValue(forKey: pid),
                let resumed = rest.range(of: "resumed>"),
                let equals = rest[resumed.upperBound...].range(of: "= ")
            else { return }
            let result = String(rest[equals.upperBound...])
            completed(entry.call, result: result, began: entry.sequence, line: number)
            return
        }
        sequence += 1
        if let unfinished = rest.range(of: " <unfinished ...>") {
            let call = String(rest[..<unfinished.lowerBound])
            began(call, line: number)
            pending[pid] = (call, sequence)
        } else if let end = rest.range(of: ") = ", options: .backwards) {
            let call = String(rest[..<end.lowerBound])
            began(call, line: number)
            completed(call, result: String(rest[end.upperBound...]), began: sequence, line: number)
        }
    }

    /// The call's name and, when its first argument is a descriptor shown
    /// with `-y`, the descriptor and its path.
    private static func parse(_ call: String) -> (name: String, fd: Int?, path: String?) {
        guard let open = call.firstIndex(of: "(") else { return (call, nil, nil) }
        let name = String(call[..<open])
        let arguments = call[call.index(after: open)...]
        guard let angle = arguments.firstIndex(of: "<"), let fd = Int(arguments[..<angle]),
            let close = arguments[angle...].firstIndex(of: ">")
        else { return (name, nil, nil) }
        return (name, fd, String(arguments[arguments.index(after: angle)..<close]))
    }

    /// The trailing `, length, offset` of a `pwrite64` call.
    private static func lengthAndOffset(_ call: String) -> (Int, Int)? {
        let parts = call.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count >= 2, let length = Int(parts[parts.count - 2]), let offset = Int(parts[parts.count - 1])
        else { return nil }
        return (length, offset)
    }

    private mutating func began(_ call: String, line: Int) {
        let (name, fd, path) = Self.parse(call)
        if name == "write", fd == 1, call.contains("\"ack ") {
            acknowledgements += 1
            if lastMeta == 0 {
                violations.append("line \(line): a share was acknowledged before any commit was written")
            } else if !lastMetaDurable {
                violations.append(
                    "line \(line): a share was acknowledged while the last commit's meta page was not synced")
            }
            return
        }
        guard let fd, let path, path.hasSuffix("/data.mdb") else { return }
        let dsync = dsyncDescriptors.contains(fd)
        switch name {
        case "pwrite64", "pwrite", "write", "writev", "pwritev", "pwritev2":
            let isMeta = name.hasPrefix("pwrite") && Self.lengthAndOffset(call).map { $0 + $1 <= 2 * pageSize } == true
            if isMeta {
                metaWrites += 1
                if lastUnsyncedData > syncedThrough {
                    violations.append(
                        "line \(line): a meta page was written before the data pages it points at were synced")
                }
                lastMeta = sequence
                lastMetaDurable = dsync
                if !dsync { lastUnsyncedMeta = sequence }
            } else if !dsync {
                lastUnsyncedData = sequence
            }
        default:
            break
        }
    }

    private mutating func completed(_ call: String, result: String, began: Int, line: Int) {
        let (name, fd, path) = Self.parse(call)
        if name == "openat", call.contains("/data.mdb\""), call.contains("O_DSYNC") || call.contains("O_SYNC"),
            let angle = result.firstIndex(of: "<"), let descriptor = Int(result[..<angle])
        {
            dsyncDescriptors.insert(descriptor)
            return
        }
        if name == "close", let fd {
            dsyncDescriptors.remove(fd)
            return
        }
        guard ["fsync", "fdatasync", "msync", "sync_file_range"].contains(name), result.hasPrefix("0"),
            path?.hasSuffix("/data.mdb") == true || name == "msync"
        else { return }
        syncs += 1
        // Covers every write that began before this sync was called.
        syncedThrough = max(syncedThrough, began - 1)
        if lastMeta != 0 && lastMeta < began { lastMetaDurable = true }
    }
}
