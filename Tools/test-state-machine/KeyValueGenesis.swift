import DSMRNode

/// The entries a key-value state starts with, as JSON:
/// `{"entries": [{"key": "greeting", "value": "hello"}]}`, keys and values
/// taken as their UTF-8 bytes.
public struct KeyValueGenesis: Codable, Sendable, Hashable {
    /// One key and its starting value.
    public struct Entry: Codable, Sendable, Hashable {
        /// The key (1...64 bytes of UTF-8).
        public var key: String
        /// Its value (at most 256 bytes of UTF-8).
        public var value: String

        /// An entry.
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The starting entries, in any order, each key once.
    public var entries: [Entry]

    /// A genesis holding `entries`.
    public init(entries: [Entry]) { self.entries = entries }

    /// The entries as bytes.
    ///
    /// - Throws: ``StateMachineError/badGenesis(_:)`` for a key or value of
    ///   a length out of bounds, or a key given twice.
    func byteEntries() throws(StateMachineError) -> [(key: [UInt8], value: [UInt8])] {
        var seen: Set<[UInt8]> = []
        var result: [(key: [UInt8], value: [UInt8])] = []
        for entry in entries {
            let key = Array(entry.key.utf8)
            let value = Array(entry.value.utf8)
            guard KeyValueWrite.keyLengths.contains(key.count) else {
                throw .badGenesis("key \"\(entry.key.prefix(80))\" is \(key.count) bytes, not 1...64")
            }
            guard KeyValueWrite.valueLengths.contains(value.count) else {
                throw .badGenesis("the value of key \"\(entry.key)\" is \(value.count) bytes, more than 256")
            }
            guard seen.insert(key).inserted else { throw .badGenesis("key \"\(entry.key)\" is given twice") }
            result.append((key, value))
        }
        return result
    }
}
