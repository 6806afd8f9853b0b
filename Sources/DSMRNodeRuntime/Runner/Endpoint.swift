/// A `host:port` address.
package struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// The host name or address.
    package var host: String
    /// The port.
    package var port: Int

    /// An address from its parts.
    package init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; `setting` names the configuration entry in the error.
    ///
    /// - Throws: ``ConfigurationError`` for a missing host or a port outside 0...65535.
    package init(parsing text: String, setting: String) throws {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex,
            let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port)
        else {
            throw ConfigurationError("\(setting) \"\(text.prefix(100))\" is not host:port with a port in 0...65535")
        }
        host = String(text[..<colon])
        self.port = port
    }

    package var description: String { "\(host):\(port)" }
}
