import Foundation

/// Polls `condition` every `interval` until it holds or `deadline` has
/// passed; returns whether it held. For waiting, from async code, on a state
/// another task, thread or process reaches. Returns false early when the
/// task is cancelled.
public func eventually(
    within deadline: Duration = .seconds(30), pollingEvery interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while !(try await condition()) {
        if clock.now >= end || Task.isCancelled { return false }
        try? await Task.sleep(for: interval)
    }
    return true
}

/// Polls `condition` every `interval` until it holds or `deadline` has
/// passed; returns whether it held. The blocking form of the async
/// `eventually`, for code on threads of its own: it sleeps the calling
/// thread between polls.
@discardableResult
public func eventuallyBlocking(
    within deadline: Duration, pollingEvery interval: Duration = .microseconds(200),
    _ condition: () throws -> Bool
) rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    let micros = interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000
    while !(try condition()) {
        if clock.now >= end { return false }
        usleep(UInt32(clamping: max(1, micros)))
    }
    return true
}

/// Polls `condition` every `interval` until it holds; after `timeout` throws
/// a ``TestFailure`` naming `what` and the caller's place, with `diagnosis`
/// (evaluated only then) appended.
public func waitUntil(
    _ what: @autoclosure () -> String = "condition", timeout: Duration = .seconds(60),
    pollingEvery interval: Duration = .milliseconds(5), diagnosis: () async -> String = { "" },
    fileID: String = #fileID, line: Int = #line, _ condition: () async throws -> Bool
) async throws {
    guard try await eventually(within: timeout, pollingEvery: interval, condition) else {
        try Task.checkCancellation()
        let notes = await diagnosis()
        throw TestFailure(
            "timed out after \(timeout) at \(fileID):\(line): \(what())\(notes.isEmpty ? "" : "\n" + notes)")
    }
}
