import DSMRNodeRuntime
import Synchronization

extension Devnet {
    /// How long a validator may leave a status request unanswered before
    /// the devnet stops waiting on it (a node answers its status at once,
    /// whatever else it does). Until it answers again it is silent: its
    /// lanes get no new load, the driver orders without it, and nothing the
    /// devnet reads waits for it; one status request stays out to it, so it
    /// counts again as soon as it answers.
    static let silenceLimit = Duration.seconds(10)

    /// How long the devnet waits for a responsive validator's answer to a
    /// read, a submission or a block (a validator that stops answering
    /// meanwhile holds up the caller at most this long, once).
    static let callTimeout = Duration.seconds(10)

    /// Whether validator `index` runs, is not stopped (SIGSTOP: seen at
    /// once in `/proc`), and has not left a status request unanswered for
    /// ``silenceLimit``.
    func isResponsive(_ index: Int) -> Bool {
        let (client, process, silent) = members.withLock { ($0[index].client, $0[index].process, $0[index].silent) }
        guard client != nil, !silent else { return false }
        return process?.isStopped != true
    }

    /// The running validators that answer (see ``isResponsive(_:)``).
    var responsive: [Int] { live.filter(isResponsive) }

    /// The running validators that do not answer: stopped, or silent for
    /// ``silenceLimit``.
    package var silentValidators: [Int] { live.filter { !isResponsive($0) } }

    /// Sends `request` to validator `index` if it is responsive, waiting at
    /// most `timeout`; any answer, a refusal too, shows it alive. Returns
    /// nil when it is not responsive or no answer came.
    /// The wait also ends, with nil, as soon as the validator stops being
    /// responsive (the request stays out until its timeout).
    func ask(_ index: Int, _ request: ControlRequest, timeout: Duration = callTimeout) async -> ControlResponse? {
        guard isResponsive(index), let client = client(of: index) else { return nil }
        let answer = Task { () -> ControlResponse? in
            do {
                return try await client.send(request, timeout: timeout)
            } catch let error as ControlError where error.code != .failed {
                return .error(error)
            } catch {
                return nil
            }
        }
        return await Self.value(of: answer) { !self.isResponsive(index) } ?? nil
    }

    /// Waits for `task`'s value, or until `giveUp` is true (checked every
    /// 50 ms), then returns nil and leaves the task running.
    static func value<T: Sendable>(
        of task: Task<T, Never>, unless giveUp: @escaping @Sendable () -> Bool
    ) async -> T? {
        let waiter = Waiter<T?>()
        return await withCheckedContinuation { continuation in
            waiter.set(continuation)
            let watcher = Task {
                while !Task.isCancelled {
                    if giveUp() {
                        waiter.resume(returning: nil)
                        return
                    }
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            Task {
                let value = await task.value
                watcher.cancel()
                waiter.resume(returning: value)
            }
        }
    }

    /// Asks validator `index` for its status and keeps it. A responsive
    /// validator is waited for up to ``silenceLimit``, and is silent if it
    /// does not answer by then; a silent one gets one request at a time in
    /// the background, whose answer ends its silence. A stopped process is
    /// not asked (it could not answer).
    func probe(_ index: Int) async {
        let (client, process, silent) = members.withLock { ($0[index].client, $0[index].process, $0[index].silent) }
        guard let client, process?.isStopped != true else { return }
        if silent {
            let asking = members.withLock { members -> Bool in
                defer { members[index].probing = true }
                return !members[index].probing
            }
            guard asking else { return }
            Task {
                let answer = try? await client.send(.status, timeout: .seconds(600))
                self.members.withLock { $0[index].probing = false }
                if case .status(let status)? = answer { self.record(status, of: index) }
            }
            return
        }
        let answer = Task { try? await client.send(.status, timeout: Self.silenceLimit) }
        // A process stopped meanwhile is not waited for (its answer is dropped at the timeout).
        switch await Self.value(of: answer, unless: { process?.isStopped == true }) {
        case .status(let status)??: record(status, of: index)
        case .some(.some): break
        case .some(nil):
            // Still running and not stopped: it left the request unanswered.
            if process?.isRunning != false, process?.isStopped != true {
                members.withLock { $0[index].silent = true }
            }
        case nil: break
        }
    }

    /// Keeps validator `index`'s latest status: it answered, so it is not silent.
    func record(_ status: NodeStatus, of index: Int) {
        members.withLock {
            $0[index].silent = false
            $0[index].status = status
            $0[index].height = max($0[index].height, status.acceptedHeight)
            $0[index].certified = $0[index].certifiedBase + status.chunksCertified
        }
    }
}

/// A continuation resumed by whichever of several tasks comes first.
private final class Waiter<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

    /// Sets the continuation to resume.
    func set(_ value: CheckedContinuation<T, Never>) { continuation.withLock { $0 = value } }

    /// Resumes the continuation with `value` unless it was resumed already.
    func resume(returning value: T) { continuation.withLock { $0.take() }?.resume(returning: value) }
}
