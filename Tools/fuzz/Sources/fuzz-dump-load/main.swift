import ChunkStore
import DSMR
import FuzzSupport
@_spi(Fuzzing) import StoreMaintenance

// Arbitrary bytes as a dump file for `ChunkStore.load`: never a crash; a
// refused file leaves no store behind; a loaded one holds exactly the rows
// of the file (read back straight from LMDB, in dump form).
// An input whose first byte is odd is taken as a dump without its checksum
// (the rest of the input) and gets a correct one appended, so the fuzzer
// reaches the end of the file, not only the checksum check.
let base = "/tmp/dsmr-fuzz-dump-load-\(getpid())"
precondition(mkdir(base, 0o700) == 0, "cannot create \(base)")
let file = base + "/input.dump"
let store = base + "/store"
atexit {
    for name in ["data.mdb", "lock.mdb", "writer.lock"] { unlink(store + "/" + name) }
    rmdir(store)
    unlink(file)
    rmdir(base)
}

func removeStore() {
    for name in ["data.mdb", "lock.mdb", "writer.lock"] { unlink(store + "/" + name) }
    rmdir(store)
}

func write(_ bytes: [UInt8]) {
    let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(file)")
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
        precondition(result > 0, "cannot write \(file)")
        written += result
    }
    close(fd)
}

fuzz { input in
    var bytes = input
    if let first = input.first, first & 1 == 1 {
        let body = Array(input.dropFirst())
        bytes = body + ChunkID(hashing: body).bytes
    }
    write(bytes)
    removeStore()
    guard (try? ChunkStore.load(dump: file, into: store)) != nil else {
        precondition(access(store, F_OK) != 0, "a refused dump left a store behind")
        return
    }
    let rows = try! DumpFuzzing.dumpRows(ofStoreAt: store)
    precondition(bytes.count >= 16 + 33, "a dump shorter than its header and checksum loaded")
    precondition(rows[...] == bytes[16..<(bytes.count - 33)], "the loaded store's rows differ from the file's")
    removeStore()
}
