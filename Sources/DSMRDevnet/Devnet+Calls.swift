import DSMRNodeRuntime

extension Devnet {
    /// How long a validator may leave a status request unanswered before
    /// the devnet stops waiting on it: a paused, stuck or overloaded process
    /// (a node answers status at once, whatever else it is doing). Until it
    /// answers again, its lanes get no new load, the driver orders without
    /// it, and nothing else the devnet does waits for it; status rounds keep
    /// one request out to it, so it counts again as soon as it answers.
    static let silenceLimit = Duration.seconds(5)

    /// How long a status request may take before it is given up.
    static let statusTimeout = Duration.seconds(30)

    /// Sends `request` to validator `index`; any answer (a refusal too)
    /// shows the process alive and ends its silence.
    ///
    /// - Throws: ``DevnetError`` when the validator is not running, or what
    ///   the control client throws.
    func call(
        _ index: Int, _ request: ControlRequest, timeout: Duration = .seconds(30)
    ) async throws
        -> ControlResponse
    {
        guard let client = client(of: index) else { throw DevnetError("validator \(index) is not running") }
        do {
            let response = try await client.send(request, timeout: timeout)
            heard(from: index)
            return response
        } catch let error as ControlError where error.code != .failed {
            heard(from: index)
            throw error
        }
    }

    /// Records that validator `index` answered: it is not silent.
    private func heard(from index: Int) {
        members.withLock { $0[index].probeSince = nil }
    }

    /// Asks validator `index` for its status unless a status request is
    /// already out to it, and keeps the answer; returns the status, or nil
    /// (not asked, no answer, or the validator fell silent while it waited).
    func probe(_ index: Int) async -> NodeStatus? {
        let asking = members.withLock { members -> Bool in
            guard members[index].client != nil, !members[index].probing else { return false }
            members[index].probing = true
            if members[index].probeSince == nil { members[index].probeSince = .now }
            return true
        }
        guard asking else { return nil }
        let (answers, sink) = AsyncStream.makeStream(of: NodeStatus?.self)
        Task {
            defer { self.members.withLock { $0[index].probing = false } }
            guard case .status(let status)? = try? await self.call(index, .status, timeout: Self.statusTimeout) else {
                sink.yield(nil)
                return
            }
            // Kept even when it comes after the wait was given up.
            self.record(status, of: index)
            sink.yield(status)
        }
        let watching = Task {
            while !Task.isCancelled, self.isResponsive(index) { try? await Task.sleep(for: .milliseconds(50)) }
            sink.yield(nil)
        }
        defer {
            watching.cancel()
            sink.finish()
        }
        for await status in answers { return status }
        return nil
    }

    /// Sends `request` to validator `index` and waits for the answer while
    /// the validator is responsive: once it has left a request unanswered
    /// for ``silenceLimit`` (this one or another), stops waiting and throws
    /// (the request stays out until its deadline, and an answer then still
    /// counts the validator back).
    ///
    /// - Throws: ``DevnetError`` when the validator is silent or not
    ///   running, or what the control client throws.
    func answer(
        from index: Int, _ request: ControlRequest, timeout: Duration = .seconds(30)
    ) async throws
        -> ControlResponse
    {
        guard isResponsive(index) else { throw DevnetError("validator \(index) does not answer") }
        let (results, sink) = AsyncStream.makeStream(of: Result<ControlResponse, any Error>.self)
        Task {
            do {
                sink.yield(.success(try await self.call(index, request, timeout: timeout)))
            } catch {
                sink.yield(.failure(error))
            }
        }
        let watching = Task {
            while !Task.isCancelled, self.isResponsive(index) { try? await Task.sleep(for: .milliseconds(50)) }
            sink.yield(.failure(DevnetError("validator \(index) has not answered for \(Self.silenceLimit)")))
        }
        defer {
            watching.cancel()
            sink.finish()
        }
        for await result in results { return try result.get() }
        throw CancellationError()
    }

    /// Whether validator `index` runs and has not left a status request
    /// unanswered for ``silenceLimit``.
    func isResponsive(_ index: Int) -> Bool {
        members.withLock { members in
            guard members[index].client != nil else { return false }
            guard let since = members[index].probeSince else { return true }
            return ContinuousClock.now - since < Self.silenceLimit
        }
    }

    /// The running validators that answer (see ``silenceLimit``).
    var responsive: [Int] { live.filter(isResponsive) }
}
