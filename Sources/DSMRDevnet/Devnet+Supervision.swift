import DSMRNodeRuntime
import Foundation

extension Devnet {
    /// The longest wait before restarting a validator that died.
    static let maxRestartBackoff = Duration.seconds(30)
    /// How long a validator runs before its restart backoff starts again at 1 s.
    static let stableRun = Duration.seconds(60)

    /// With ``DevnetOptions/restartDied``: every half second until
    /// cancelled, restarts a validator whose process ended without the
    /// devnet asking (after a backoff: 1 s, doubling up to
    /// ``maxRestartBackoff``), and takes back a validator that was started
    /// again by hand (its control socket answers while the devnet runs no
    /// process for it).
    func superviseValidators() async {
        while !Task.isCancelled {
            for index in 0..<options.validators { await supervise(index) }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func supervise(_ index: Int) async {
        let (process, client, restarting, nextRestart) = members.withLock {
            ($0[index].process, $0[index].client, $0[index].restarting, $0[index].nextRestart)
        }
        guard !restarting else { return }
        if let process, !process.isRunning {
            // Died on its own (``kill(_:)`` forgets the process first).
            if client != nil {
                members.withLock { $0[index].client = nil }
                await client?.close()
            }
            guard let nextRestart else {
                let wait = members.withLock { members in
                    if let started = members[index].startedAt, ContinuousClock.now - started >= Self.stableRun {
                        members[index].streak = 0
                    }
                    let wait = min(Self.maxRestartBackoff, .seconds(1 << min(members[index].streak, 5)))
                    members[index].nextRestart = .now + wait
                    return wait
                }
                Self.notice(
                    "node\(index) ended (\(process.ending ?? "running")); restarting in \(wait) "
                        + "(see \(layout.logPath(index)))")
                return
            }
            guard ContinuousClock.now >= nextRestart else { return }
            members.withLock {
                $0[index].restarting = true
                $0[index].restarts += 1
                $0[index].streak += 1
                $0[index].nextRestart = nil
            }
            Task {
                do {
                    try await self.startNode(index)
                    Self.notice("node\(index) restarted (restart \(self.members.withLock { $0[index].restarts }))")
                } catch {
                    Self.notice("node\(index) did not restart: \(error)")
                }
                self.members.withLock { $0[index].restarting = false }
            }
        } else if process == nil, client == nil, FileManager.default.fileExists(atPath: layout.controlSocket(index)),
            let adopted = try? await ControlClient.connect(path: layout.controlSocket(index)),
            case .status(let status)? = try? await adopted.send(.status, timeout: .seconds(2))
        {
            members.withLock {
                $0[index].client = adopted
                $0[index].silent = false
                $0[index].stopped = false
            }
            record(status, of: index)
            Self.notice("node\(index) answers on its control socket again (started outside the devnet): following it")
        }
    }
}
