import Foundation

/// The JSON etcd's v3 gateway sends and takes: keys and values in base64,
/// 64-bit numbers as strings, fields that are zero, false or empty left out.
enum EtcdWire {
    struct Header: Decodable {
        var revision: String?
    }

    struct KeyValue: Decodable {
        var key: String?
        var value: String?
        var createRevision: String?
        var modRevision: String?
        var lease: String?

        enum CodingKeys: String, CodingKey {
            case key, value, lease
            case createRevision = "create_revision"
            case modRevision = "mod_revision"
        }
    }

    struct RangeResponse: Decodable {
        var header: Header?
        var kvs: [KeyValue]?
        var more: Bool?
        var count: String?
    }

    struct PutResponse: Decodable {
        var header: Header?
    }

    struct TxnResponse: Decodable {
        var header: Header?
        var succeeded: Bool?
    }

    struct LeaseGrantResponse: Decodable {
        var id: String?
        var ttl: String?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case error
            case id = "ID"
            case ttl = "TTL"
        }
    }

    struct KeepAliveResult: Decodable {
        var id: String?
        var ttl: String?

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case ttl = "TTL"
        }
    }

    struct KeepAliveResponse: Decodable {
        var result: KeepAliveResult?
        var error: Failure?
    }

    struct LeaderKey: Decodable {
        var name: String?
        var key: String?
        var rev: String?
        var lease: String?
    }

    struct CampaignResponse: Decodable {
        var header: Header?
        var leader: LeaderKey?
    }

    struct LeaderResponse: Decodable {
        var header: Header?
        var kv: KeyValue?
    }

    struct Event: Decodable {
        var type: String?
        var kv: KeyValue?
    }

    struct WatchResult: Decodable {
        var header: Header?
        var created: Bool?
        var canceled: Bool?
        var compactRevision: String?
        var cancelReason: String?
        var events: [Event]?

        enum CodingKeys: String, CodingKey {
            case header, created, canceled, events
            case compactRevision = "compact_revision"
            case cancelReason = "cancel_reason"
        }
    }

    struct WatchResponse: Decodable {
        var result: WatchResult?
        var error: Failure?
    }

    struct AuthenticateResponse: Decodable {
        var token: String?
    }

    /// An error etcd puts in a body (`{"error": ..., "message": ..., "code": N}`).
    struct Failure: Decodable {
        var message: String?
        var code: Int?
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, operation: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw EtcdError(.malformed, "\(operation): the answer is not etcd's JSON (\(error))")
        }
    }

    static func int64(_ text: String?, _ field: String, operation: String) throws -> Int64 {
        guard let text else { return 0 }
        guard let value = Int64(text) else {
            throw EtcdError(.malformed, "\(operation): \(field) \"\(text.prefix(40))\" is not a 64-bit integer")
        }
        return value
    }

    static func bytes(_ text: String?, _ field: String, operation: String) throws -> [UInt8] {
        guard let text else { return [] }
        guard let data = Data(base64Encoded: text) else {
            throw EtcdError(.malformed, "\(operation): \(field) is not base64")
        }
        return Array(data)
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func keyValue(_ wire: KeyValue, operation: String) throws -> EtcdKeyValue {
        EtcdKeyValue(
            key: try bytes(wire.key, "key", operation: operation),
            value: try bytes(wire.value, "value", operation: operation),
            createRevision: try int64(wire.createRevision, "create_revision", operation: operation),
            modRevision: try int64(wire.modRevision, "mod_revision", operation: operation),
            lease: try int64(wire.lease, "lease", operation: operation))
    }

    static func range(_ wire: RangeResponse, operation: String) throws -> EtcdRange {
        EtcdRange(
            keyValues: try (wire.kvs ?? []).map { try keyValue($0, operation: operation) },
            revision: try int64(wire.header?.revision, "revision", operation: operation), more: wire.more ?? false,
            count: try int64(wire.count, "count", operation: operation))
    }
}
