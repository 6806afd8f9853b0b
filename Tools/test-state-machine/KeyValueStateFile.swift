import Crypto
import DSMR
import DSMRNode

/// The contents of `state.kv`: the state, the height and root it is at, and
/// the genesis root.
///
/// Format 1, integers big-endian:
///
/// ```
/// magic "dsmr-kv\0" (8) || format (u8 = 1) || executed (u8: 0 none yet, 1)
/// || height (u64; 0 when none) || root (32) || genesis root (32)
/// || entry count (u32) || entries: key (u32 length, 1...64) || value (u32 length, 0...256)
/// || writer count (u32) || writers: writer (32) || next sequence (u64, at least 1)
/// || SHA-256 of every byte before it (32)
/// ```
///
/// Keys and writers are strictly increasing; `root` is the state's
/// recomputed root, and the genesis root when nothing has executed. Any
/// other file is damaged.
struct KeyValueStateFile: Hashable, Sendable {
    /// The executed height and its root; nil before the first block.
    var executed: ExecutedState?
    /// The root of the genesis state.
    var genesisRoot: StateRoot
    /// The state.
    var state: KeyValueState

    /// The state's root now: the executed one, or the genesis root.
    var currentRoot: StateRoot { executed?.root ?? genesisRoot }

    static let magic = Array("dsmr-kv\0".utf8)
    static let format: UInt8 = 1
    static let checksumBytes = 32

    /// The file's bytes.
    func encoded() -> [UInt8] {
        var writer = CanonicalWriter()
        writer.writeRaw(Self.magic)
        writer.write(Self.format)
        writer.write(UInt8(executed == nil ? 0 : 1))
        writer.write(executed?.height ?? 0)
        writer.write(currentRoot)
        writer.write(genesisRoot)
        writer.writeCount(state.entries.count)
        for (key, value) in state.entries.pairs {
            writer.writeLengthPrefixed(key)
            writer.writeLengthPrefixed(value)
        }
        writer.writeCount(state.nextSequences.count)
        for (account, next) in state.nextSequences.pairs {
            writer.writeRaw(account)
            writer.write(next)
        }
        return writer.bytes + Array(SHA256.hash(data: writer.bytes))
    }

    /// Reads a state file strictly; `path` names it in errors.
    ///
    /// - Throws: ``KeyValueMachineError`` of code `damagedState` for
    ///   anything but a whole, intact file of format 1.
    init(decoding bytes: [UInt8], path: String) throws(KeyValueMachineError) {
        func damaged(_ detail: String) -> KeyValueMachineError {
            KeyValueMachineError(
                .damagedState, "\(path): \(detail); restore the directory from a backup or a snapshot")
        }
        guard bytes.count >= Self.magic.count + Self.checksumBytes else {
            throw damaged("\(bytes.count) bytes is too short for a state file")
        }
        let body = Array(bytes.dropLast(Self.checksumBytes))
        guard Array(SHA256.hash(data: body)) == Array(bytes.suffix(Self.checksumBytes)) else {
            throw damaged("the checksum does not match the contents")
        }
        guard body.starts(with: Self.magic) else { throw damaged("not a key-value state file (bad magic)") }
        var reader = CanonicalReader(Array(body.dropFirst(Self.magic.count)), root: "state file")
        do {
            let format = try reader.readUInt8("format")
            guard format == Self.format else { throw damaged("format \(format) is not \(Self.format)") }
            let flag = try reader.readUInt8("executed")
            let height = try reader.readUInt64("height")
            let root = try reader.read(StateRoot.self, "root")
            genesisRoot = try reader.read(StateRoot.self, "genesis root")
            switch flag {
            case 0:
                guard height == 0, root == genesisRoot else {
                    throw damaged("nothing executed, yet a height or root other than genesis")
                }
                executed = nil
            case 1: executed = ExecutedState(height: height, root: root)
            default: throw damaged("executed flag \(flag) is neither 0 nor 1")
            }
            state = KeyValueState()
            let entries = try reader.readCount(
                "entries", limit: Int(UInt32.max), minimumElementSize: KeyValueState.minimumEntryBytes)
            for index in 0..<entries {
                let entry = try reader.element(index) { reader throws(CodecError) in
                    try KeyValueState.readEntry(&reader)
                }
                guard state.entries.append(entry.key, entry.value) else {
                    throw damaged("entry \(index) is out of order")
                }
            }
            let writers = try reader.readCount(
                "writers", limit: Int(UInt32.max), minimumElementSize: KeyValueState.writerBytes)
            for index in 0..<writers {
                let writer = try reader.element(index) { reader throws(CodecError) in
                    try KeyValueState.readWriter(&reader)
                }
                guard state.nextSequences.append(writer.writer, writer.next) else {
                    throw damaged("writer \(index) is out of order")
                }
            }
            try reader.finish()
        } catch let error as KeyValueMachineError {
            throw error
        } catch {
            throw damaged("\(error)")
        }
        let recomputed = state.root()
        guard recomputed == currentRoot else {
            throw damaged("the state's root \(recomputed) is not the recorded \(currentRoot)")
        }
    }

    /// A file for a state that has executed nothing yet.
    init(genesis state: KeyValueState) {
        self.executed = nil
        self.genesisRoot = state.root()
        self.state = state
    }
}
