extension EtcdClient {
    /// Waits until this client leads election `name` with a key on `lease`
    /// holding `value`, and returns the leader key (waiters are served in
    /// the order they campaigned). Gives up after `wait` with
    /// ``EtcdError/Code/unreachable``; the caller campaigns again.
    ///
    /// The corresponding gateway call is `/v3/election/campaign`.
    public func campaign(name: [UInt8], lease: Int64, value: [UInt8], wait: Duration) async throws -> EtcdLeaderKey {
        let body: [String: Any] = [
            "name": EtcdWire.base64(name), "lease": String(lease), "value": EtcdWire.base64(value),
        ]
        let data = try await call("/v3/election/campaign", body, timeout: wait)
        let response = try EtcdWire.decode(EtcdWire.CampaignResponse.self, data, operation: "campaign")
        guard let leader = response.leader else {
            throw EtcdError(.malformed, "campaign: the answer names no leader key")
        }
        return EtcdLeaderKey(
            name: try EtcdWire.bytes(leader.name, "name", operation: "campaign"),
            key: try EtcdWire.bytes(leader.key, "key", operation: "campaign"),
            revision: try EtcdWire.int64(leader.rev, "rev", operation: "campaign"),
            lease: try EtcdWire.int64(leader.lease, "lease", operation: "campaign"))
    }

    /// The current leader of election `name`: its key and value; nil when there is none.
    ///
    /// The corresponding gateway call is `/v3/election/leader`.
    public func leader(name: [UInt8]) async throws -> EtcdKeyValue? {
        do {
            let data = try await call("/v3/election/leader", ["name": EtcdWire.base64(name)])
            let response = try EtcdWire.decode(EtcdWire.LeaderResponse.self, data, operation: "leader")
            return try response.kv.map { try EtcdWire.keyValue($0, operation: "leader") }
        } catch let error as EtcdError where error.code == .status && error.message.contains("no leader") {
            return nil
        }
    }

    /// Gives up the leadership `leader` holds (the next waiter leads).
    ///
    /// The corresponding gateway call is `/v3/election/resign`.
    public func resign(_ leader: EtcdLeaderKey) async throws {
        let body: [String: Any] = [
            "leader": [
                "name": EtcdWire.base64(leader.name), "key": EtcdWire.base64(leader.key),
                "rev": String(leader.revision), "lease": String(leader.lease),
            ]
        ]
        _ = try await call("/v3/election/resign", body)
    }
}
