import DSMR
import DSMRNode
import NIOCore

extension TCPTransport {
    /// Sends `request` to `peer` on this node's connection to it and waits
    /// at most `timeout` for the answer.
    ///
    /// The request gets a fresh random id; only an answer with that id on
    /// that same connection completes it (see <doc:NetworkTransport>).
    public func request(
        _ request: [UInt8], to peer: NodeID, timeout: Duration
    ) async throws(TransportError) -> [UInt8] {
        let connection = try await connection(to: peer)
        let key = ObjectIdentifier(connection)
        let result = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<[UInt8], TransportError>, Never>) in
            let id = state.withLock { state -> UInt64? in
                guard !state.shuttingDown else { return nil }
                if state.requests[key] == nil {
                    // A closed connection's table is gone for good; an open one's is made on first use.
                    guard connection.channel.isActive else { return nil }
                    state.requests[key] = RequestTable()
                }
                state.pendingCount += 1
                return state.requests[key]!.add(PendingRequest(peer: peer, continuation: continuation))
            }
            guard let id else {
                continuation.resume(
                    returning: .failure(TransportError(.unreachable, peer: peer, "shutting down or connection closed")))
                return
            }
            send(.request(id: id, payload: request), on: connection, to: peer).whenFailure { error in
                self.expire(id, on: key, TransportError(.unreachable, peer: peer, "write failed: \(error)"))
            }
            let timer = connection.channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) {
                self.expire(id, on: key, TransportError(.timeout, peer: peer, "no answer within \(timeout)"))
            }
            state.withLock { $0.requests[key]?.setTimer(timer, of: id) }
        }
        return try result.get()
    }

    public func gossip(_ message: [UInt8], to peer: NodeID) async {
        guard let connection = try? await connection(to: peer) else { return }
        send(.gossip(payload: message), on: connection, to: peer).whenFailure { _ in }
    }

    /// What an answer that arrived on `connection` from `peer` did.
    enum AnswerOutcome {
        /// It completed a waiting request.
        case completed
        /// Its request timed out recently; dropped.
        case late
        /// No request with its id was sent on this connection.
        case unsolicited
    }

    /// Completes the request numbered `id` on `connection` with `payload`,
    /// if it waits there.
    func answer(
        _ id: UInt64, _ payload: [UInt8], on connection: Connection, from peer: NodeID
    ) -> AnswerOutcome {
        let key = ObjectIdentifier(connection)
        let (answer, drained) = state.withLock { state -> (RequestTable.Answer, [CheckedContinuation<Void, Never>]) in
            let answer = state.requests[key]?.answer(id) ?? .unsolicited
            let now = ContinuousClock.now
            switch answer {
            case .completes: state.pendingCount -= 1
            case .late:
                state.statistics.lateAnswers += 1
                state.scores.update(peer, at: now) { $0.lateAnswers += 1 }
            case .unsolicited:
                state.statistics.unsolicitedAnswers += 1
                state.scores.update(peer, at: now) { $0.unsolicitedAnswers += 1 }
            }
            return (answer, state.takeDrainWaiters())
        }
        defer { for waiter in drained { waiter.resume() } }
        switch answer {
        case .completes(let request):
            request.timer?.cancel()
            request.continuation.resume(returning: .success(payload))
            return .completed
        case .late: return .late
        case .unsolicited: return .unsolicited
        }
    }

    /// Fails the request numbered `id` on the connection `key`, if it still
    /// waits, and remembers its id so a late answer is dropped quietly.
    func expire(_ id: UInt64, on key: ObjectIdentifier, _ error: TransportError) {
        let (waiting, drained) = state.withLock { state in
            let waiting = state.requests[key]?.expire(id)
            if waiting != nil { state.pendingCount -= 1 }
            return (waiting, state.takeDrainWaiters())
        }
        waiting?.timer?.cancel()
        waiting?.continuation.resume(returning: .failure(error))
        for waiter in drained { waiter.resume() }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
