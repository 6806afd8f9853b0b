import DSMRNodeRuntime
import Foundation

extension Devnet {
    /// How long a validator may leave a status request unanswered before
    /// the devnet stops waiting on it (a node answers its status at once,
    /// whatever else it does). Until it answers again it is silent: its
    /// lanes get no new load, the driver orders without it, and nothing the
    /// devnet reads waits for it; one status request stays out to it, so it
    /// counts again as soon as it answers.
    package static let silenceLimit = Duration.seconds(10)

    /// How long the devnet waits for a responsive validator's answer to a
    /// read, a submission or a block (a validator that stops answering
    /// meanwhile holds up the caller at most this long, once).
    static let callTimeout = Duration.seconds(10)

    /// Whether validator `index` runs, is not stopped (SIGSTOP: seen within
    /// 0.1 s in `/proc`), and has not left a status request unanswered for
    /// ``silenceLimit``.
    func isResponsive(_ index: Int) -> Bool {
        members.withLock { $0[index].client != nil && !$0[index].silent && !$0[index].stopped }
    }

    /// The running validators that answer (see ``isResponsive(_:)``).
    var responsive: [Int] { live.filter(isResponsive) }

    /// The running validators that do not answer: stopped, or silent for
    /// ``silenceLimit``.
    package var silentValidators: [Int] { live.filter { !isResponsive($0) } }

    /// Sends `request` to validator `index` if it is responsive, waiting at
    /// most `timeout`; any answer, a refusal too, shows it alive. Returns
    /// nil when it is not responsive or no answer came (a wait also ends
    /// when the validator stops or falls silent meanwhile).
    func ask(_ index: Int, _ request: ControlRequest, timeout: Duration = callTimeout) async -> ControlResponse? {
        guard isResponsive(index), let client = client(of: index) else { return nil }
        do {
            return try await client.send(request, timeout: timeout)
        } catch let error as ControlError where error.code != .failed {
            return .error(error)
        } catch {
            return nil
        }
    }

    /// Watches every running validator's process state every 0.1 s until
    /// cancelled: a process found stopped is not responsive, and every
    /// request waiting for its answer ends at once (the requests stay in the
    /// connection and are read when it continues).
    func watchStoppedProcesses() async {
        while !Task.isCancelled {
            for index in live {
                let (process, client, wasStopped) = members.withLock {
                    ($0[index].process, $0[index].client, $0[index].stopped)
                }
                let stopped = process?.isStopped == true
                guard stopped != wasStopped else { continue }
                members.withLock { $0[index].stopped = stopped }
                if stopped {
                    Self.notice("node\(index) is stopped (its process does not run until continued)")
                    client?.abandonWaiting("node\(index) is stopped")
                } else {
                    Self.notice("node\(index) continues")
                }
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Asks validator `index` for its status and keeps it. A responsive
    /// validator is waited for up to ``silenceLimit``, and is silent if it
    /// does not answer by then; a silent one gets one request at a time in
    /// the background, whose answer ends its silence. A stopped process is
    /// not asked (it could not answer).
    func probe(_ index: Int) async {
        let (client, process, silent, stopped) = members.withLock {
            ($0[index].client, $0[index].process, $0[index].silent, $0[index].stopped)
        }
        guard let client, !stopped else { return }
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
        let started = ContinuousClock.now
        switch try? await client.send(.status, timeout: Self.silenceLimit) {
        case .status(let status)?: record(status, of: index)
        case nil where ContinuousClock.now - started >= Self.silenceLimit && process?.isRunning != false:
            // No answer, not even a refusal, in the whole limit.
            markSilent(index, "a status request")
        default: break
        }
    }

    /// Marks validator `index` silent unless it is stopped (that is known
    /// already): it left `what` unanswered for the limit. Requests waiting
    /// for its answer end at once.
    func markSilent(_ index: Int, _ what: String) {
        let (newly, client) = members.withLock { members in
            let newly = !members[index].silent && !members[index].stopped
            if newly { members[index].silent = true }
            return (newly, members[index].client)
        }
        guard newly else { return }
        Self.notice("node\(index) is silent: no answer to \(what) in \(Self.silenceLimit)")
        client?.abandonWaiting("node\(index) is silent")
    }

    /// Writes `message` to standard error, for the operator (the status line holds standard output).
    static func notice(_ message: String) {
        FileHandle.standardError.write(Data("devnet: \(message)\n".utf8))
    }

    /// Keeps validator `index`'s latest status: it answered, so it is not silent.
    func record(_ status: NodeStatus, of index: Int) {
        let wasSilent = members.withLock { members in
            let wasSilent = members[index].silent
            members[index].silent = false
            members[index].status = status
            members[index].height = max(members[index].height, status.acceptedHeight)
            members[index].certified = members[index].certifiedBase + status.chunksCertified
            return wasSilent
        }
        if wasSilent { Self.notice("node\(index) answers again") }
    }
}
