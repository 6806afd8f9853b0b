extension EtcdClient {
    /// Grants a lease of `seconds` (etcd's minimum is 2) and returns its id.
    ///
    /// The corresponding gateway call is `/v3/lease/grant`.
    public func grantLease(seconds: Int64) async throws -> Int64 {
        let data = try await call("/v3/lease/grant", ["TTL": String(seconds)])
        let response = try EtcdWire.decode(EtcdWire.LeaseGrantResponse.self, data, operation: "lease grant")
        if let error = response.error { throw EtcdError(.status, "lease grant: \(error)") }
        let id = try EtcdWire.int64(response.id, "ID", operation: "lease grant")
        guard id != 0 else { throw EtcdError(.malformed, "lease grant: the answer has no lease id") }
        return id
    }

    /// Renews `lease` once and returns its new time to live in seconds; 0
    /// when the lease has expired (or never existed).
    ///
    /// The corresponding gateway call is `/v3/lease/keepalive` with one request.
    public func keepAlive(lease: Int64) async throws -> Int64 {
        let data = try await call("/v3/lease/keepalive", ["ID": String(lease)])
        let response = try EtcdWire.decode(EtcdWire.KeepAliveResponse.self, data, operation: "lease keepalive")
        if let error = response.error {
            throw EtcdError(.status, "lease keepalive: \(error.message ?? "error \(error.code ?? 0)")")
        }
        return try EtcdWire.int64(response.result?.ttl, "TTL", operation: "lease keepalive")
    }

    /// Revokes `lease`, deleting every key attached to it.
    ///
    /// The corresponding gateway call is `/v3/lease/revoke`.
    public func revoke(lease: Int64) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": String(lease)])
    }
}
