import DSMR
import FuzzSupport

// Parses fuzz bytes as key-file text, and loads them from a real 0600 file:
// both must agree, and an accepted file must be exactly the canonical text.
let path = "/tmp/dsmr-fuzz-key-file-\(getpid())"

fuzz { input in
    let parsed = try? Ed25519Signer(keyFileText: String(decoding: input, as: UTF8.self))
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    precondition(fd >= 0, "cannot create \(path)")
    var written = 0
    while written < input.count {
        let result = input.withUnsafeBytes { write(fd, $0.baseAddress! + written, input.count - written) }
        precondition(result > 0, "cannot write \(path)")
        written += result
    }
    close(fd)
    let loaded = try? Ed25519Signer(keyFile: path)
    unlink(path)
    precondition(parsed?.publicKey == loaded?.publicKey, "text parser and file loader disagree")
    if let parsed {
        let canonical = Array(parsed.keyFileText.utf8)
        precondition(input == canonical || input + [0x0a] == canonical, "accepted a non-canonical key file")
    }
}
