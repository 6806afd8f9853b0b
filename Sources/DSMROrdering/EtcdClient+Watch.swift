import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

extension EtcdClient {
    /// The largest line of a watch stream read (one batch of events).
    static let maxWatchLine = 48 << 20

    /// Watches every key starting with `prefix` from `revision` for at most
    /// `duration`, handing each batch of events to `handle` in revision
    /// order with the revision the batch's header names. Returns when the
    /// stream ends (at `duration`, or the member closed it).
    ///
    /// - Throws: ``EtcdError/Code/watchCanceled`` when etcd cancels the
    ///   watch (``EtcdError/compactRevision`` is set when `revision` was
    ///   compacted away: read the range again, then watch from after it);
    ///   ``EtcdError/Code/unreachable`` or ``EtcdError/Code/status`` when no
    ///   member takes the watch; what `handle` throws.
    ///
    /// The corresponding gateway call is `/v3/watch`.
    public func watch(
        prefix: [UInt8], from revision: Int64, for duration: Duration,
        _ handle: ([EtcdEvent], _ revision: Int64) async throws -> Void
    ) async throws {
        let body: [String: Any] = [
            "create_request": [
                "key": EtcdWire.base64(prefix), "range_end": EtcdWire.base64(Self.prefixEnd(prefix)),
                "start_revision": String(revision),
            ]
        ]
        let payload = try JSONSerialization.data(withJSONObject: body)
        let index = preferred.withLock { $0 }
        let endpoint = endpoints[index]
        let response: HTTPClientResponse
        let token = try await currentToken()
        do {
            response = try await http.execute(
                request(endpoint + "/v3/watch", payload, token: token),
                timeout: .nanoseconds(Int64(nanoseconds(duration))))
        } catch {
            preferred.withLock { $0 = (index + 1) % endpoints.count }
            throw EtcdError(.unreachable, "watch: \(endpoint): \(error)")
        }
        guard response.status.code == 200 else {
            if response.status.code == 401, let token { forget(token) }
            preferred.withLock { $0 = (index + 1) % endpoints.count }
            throw EtcdError(.status, "watch: \(endpoint) answered \(response.status.code)")
        }
        var pending = Data()
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[(newline + 1)...])
                    try await deliver(Data(line), token: token, handle)
                }
                guard pending.count <= Self.maxWatchLine else {
                    throw EtcdError(.malformed, "watch: a line passes \(Self.maxWatchLine) bytes")
                }
            }
        } catch let error as EtcdError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return
        } catch {
            if Task.isCancelled { throw CancellationError() }
            // The deadline ends the stream too; anything else ends this watch, and the caller watches again.
            return
        }
        if !pending.isEmpty { try await deliver(pending, token: token, handle) }
    }

    private func deliver(
        _ line: Data, token: String?, _ handle: ([EtcdEvent], Int64) async throws -> Void
    ) async throws {
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\r") }) else { return }
        let response = try EtcdWire.decode(EtcdWire.WatchResponse.self, line, operation: "watch")
        if let error = response.error {
            throw EtcdError(.status, "watch: \(error.message ?? "error \(error.code ?? 0)")")
        }
        guard let result = response.result else { throw EtcdError(.malformed, "watch: a line without a result") }
        if result.canceled == true {
            if let token, result.cancelReason?.contains("Unauthenticated") == true { forget(token) }
            let compacted = try EtcdWire.int64(result.compactRevision, "compact_revision", operation: "watch")
            var error = EtcdError(
                .watchCanceled,
                "watch canceled: \(compacted > 0 ? "compacted through revision \(compacted)" : result.cancelReason ?? "no reason given")"
            )
            error.compactRevision = compacted > 0 ? compacted : nil
            throw error
        }
        let events = try (result.events ?? []).map { event -> EtcdEvent in
            guard let kv = event.kv else { throw EtcdError(.malformed, "watch: an event without a key") }
            let kind: EtcdEvent.Kind
            switch event.type {
            case nil, "PUT": kind = .put
            case "DELETE": kind = .delete
            case let other?: throw EtcdError(.malformed, "watch: event type \"\(other.prefix(20))\"")
            }
            return EtcdEvent(kind: kind, keyValue: try EtcdWire.keyValue(kv, operation: "watch"))
        }
        let revision = try EtcdWire.int64(result.header?.revision, "revision", operation: "watch")
        if !events.isEmpty || result.created != true { try await handle(events, revision) }
    }
}
