import Foundation

/// A buffered reader that refuses to read past the end and says where it
/// stopped.
final class BinaryFileReader {
    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private(set) var offset = 0
    private var atEnd = false

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ChunkStoreError(.io, "cannot open \(path): \(Platform.lastError)")
        }
    }

    deinit { close(descriptor) }

    /// The file's size in bytes.
    func size() throws -> Int {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw ChunkStoreError(.io, "cannot stat \(path): \(Platform.lastError)")
        }
        return Int(info.st_size)
    }

    /// Reads exactly `count` bytes, or throws naming `what` was cut short.
    func read(_ count: Int, _ what: String) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            if position == buffer.count {
                try refill()
                if buffer.isEmpty {
                    throw ChunkStoreError(
                        .badInterchange, "\(path) ends at byte \(offset) inside \(what) (\(count) bytes expected)")
                }
            }
            let take = min(count - result.count, buffer.count - position)
            result.append(contentsOf: buffer[position..<position + take])
            position += take
            offset += take
        }
        return result
    }

    func readUInt32(_ what: String) throws -> UInt32 {
        try read(4, what).reduce(0) { $0 << 8 | UInt32($1) }
    }

    private func refill() throws {
        buffer = [UInt8](repeating: 0, count: 1 << 20)
        position = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { Platform.read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ChunkStoreError(.io, "cannot read \(path): \(Platform.lastError)")
            }
            buffer.removeSubrange(count...)
            return
        }
    }
}
