// lmdb-reader-child: opens the LMDB environment in the directory given as the
// first argument, begins a read transaction, prints "ready" and sleeps until
// it is killed. The LMDB tests kill it with SIGKILL to leave a stale reader
// slot behind. With `idle` as the second argument it opens the environment
// and sleeps without reading, so it holds no reader slot (only LMDB's shared
// lock on lock.mdb).
import SystemC
import LMDB

/// Writes `text` and a newline straight to the file descriptor, unbuffered,
/// so the parent sees it at once.
func writeLine(_ text: String, to descriptor: Int32) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 || arguments.count == 3 && arguments[2] == "idle" else {
    writeLine("usage: lmdb-reader-child <environment directory> [idle]", to: STDERR_FILENO)
    exit(2)
}

do {
    let environment = try Environment(EnvironmentOptions(path: arguments[1]))
    if arguments.count == 3 {
        writeLine("ready", to: STDOUT_FILENO)
        while true { sleep(3600) }
    }
    try environment.read { _ in
        writeLine("ready", to: STDOUT_FILENO)
        while true { sleep(3600) }
    }
} catch {
    writeLine("lmdb-reader-child: \(error)", to: STDERR_FILENO)
    exit(1)
}
