import Foundation

extension EtcdClient {
    /// The token to send: nil without credentials; the last one, or a new
    /// one from ``authenticate()``.
    func currentToken() async throws -> String? {
        guard credentials != nil else { return nil }
        if let known = token.withLock({ $0 }) { return known }
        let fresh = try await authenticate()
        token.withLock { $0 = fresh }
        return fresh
    }

    /// Drops `refused` so the next call authenticates again (unless
    /// another call already replaced it).
    func forget(_ refused: String) {
        token.withLock { if $0 == refused { $0 = nil } }
    }

    /// Proves ``credentials`` and returns the token etcd issued.
    ///
    /// - Throws: ``EtcdError/Code/status`` when etcd refuses the user or
    ///   its password; ``EtcdError/Code/badArgument`` without credentials.
    ///
    /// The corresponding gateway call is `/v3/auth/authenticate`.
    public func authenticate() async throws -> String {
        guard let credentials else { throw EtcdError(.badArgument, "authenticate: the client has no etcd user") }
        let data = try await call(
            "/v3/auth/authenticate", ["name": credentials.user, "password": credentials.password],
            authenticated: false)
        let response = try EtcdWire.decode(EtcdWire.AuthenticateResponse.self, data, operation: "authenticate")
        guard let issued = response.token, !issued.isEmpty, issued.utf8.count <= 512 else {
            throw EtcdError(.malformed, "authenticate: the answer has no token")
        }
        return issued
    }

    /// What a role may do with a key range.
    public enum Permission: String, Sendable {
        /// Range reads and watches.
        case read = "READ"
        /// Puts and deletes (etcd does not tell the two apart).
        case write = "WRITE"
        /// Both.
        case readWrite = "READWRITE"
    }

    /// Adds user `name` with `password` (setting up access control needs the root user).
    ///
    /// The corresponding gateway call is `/v3/auth/user/add`.
    public func addUser(_ name: String, password: String) async throws {
        _ = try await call("/v3/auth/user/add", ["name": name, "password": password])
    }

    /// Adds role `name`.
    ///
    /// The corresponding gateway call is `/v3/auth/role/add`.
    public func addRole(_ name: String) async throws {
        _ = try await call("/v3/auth/role/add", ["name": name])
    }

    /// Lets role `role` do `permission` on the keys starting with `prefix`.
    ///
    /// The corresponding gateway call is `/v3/auth/role/grant`.
    public func grant(_ permission: Permission, onPrefix prefix: [UInt8], to role: String) async throws {
        let perm: [String: Any] = [
            "permType": permission.rawValue, "key": EtcdWire.base64(prefix),
            "range_end": EtcdWire.base64(Self.prefixEnd(prefix)),
        ]
        _ = try await call("/v3/auth/role/grant", ["name": role, "perm": perm])
    }

    /// Gives user `user` role `role`.
    ///
    /// The corresponding gateway call is `/v3/auth/user/grant`.
    public func grantRole(_ role: String, to user: String) async throws {
        _ = try await call("/v3/auth/user/grant", ["user": user, "role": role])
    }

    /// Turns access control on (the root user, with the root role, must exist).
    ///
    /// The corresponding gateway call is `/v3/auth/enable`.
    public func enableAuthentication() async throws {
        _ = try await call("/v3/auth/enable", [:])
    }
}
