import SystemC

/// What the benchmarks ran on, printed above the table.
struct Machine {
    var cpu: String
    var cores: Int
    var kernel: String
    var memory: String
    var load: String

    static func current() -> Machine {
        var cpu = "unknown CPU"
        if let info = readTextFile("/proc/cpuinfo") {
            for line in info.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    cpu = line[line.index(after: colon)...].trimmingSpaces
                }
                break
            }
        }
        var names = utsname()
        uname(&names)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        }
        let kernel = "\(field(names.sysname)) \(field(names.release)) \(field(names.machine))"
        var memory = "unknown"
        if let meminfo = readTextFile("/proc/meminfo"),
            let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") })
        {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2, let kib = Int(fields[1]) {
                memory = "\(kib / 1024 / 1024 + (kib / 1024 % 1024 >= 512 ? 1 : 0)) GiB"
            }
        }
        let load =
            readTextFile("/proc/loadavg").map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "unknown"
        return Machine(cpu: cpu, cores: processorCount, kernel: kernel, memory: memory, load: load)
    }

    var lines: [String] {
        [
            "machine: \(cpu), \(cores) cores, \(memory) RAM",
            "kernel:  \(kernel)",
            "load:    \(load) (1, 5, 15 min) at start",
        ]
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
