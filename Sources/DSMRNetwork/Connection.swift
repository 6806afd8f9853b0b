import DSMR
import NIOCore
import Synchronization

/// One TCP connection to or from a peer, with the bytes written to it that
/// the socket has not taken yet (its outbound backlog).
///
/// Every frame this node writes goes through ``TCPTransport/send(_:on:to:)``,
/// which adds the frame's size here before the write and takes it off when
/// the write completes (the bytes are in the kernel, or the write failed).
/// A write that would take the backlog past
/// ``TCPTransportConfiguration/maxOutboundBacklogBytes`` closes the
/// connection instead, so what one peer does not read never costs this node
/// more than that.
final class Connection: Sendable {
    /// The channel the connection runs on.
    let channel: any Channel
    private let backlog = Atomic<Int>(0)
    private let closing = Atomic<Bool>(false)
    /// Whether the connection's ``FrameReader`` stopped for the backlog and
    /// waits to be told it drained.
    private let readerWaiting = Atomic<Bool>(false)

    /// The backlog at which an accepted connection's reader stops (64 KiB,
    /// or half the cap when that is smaller).
    static func pauseBytes(cap: Int) -> Int { max(min(64 << 10, cap / 2), 1) }

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Bytes written to the channel that the socket has not taken yet.
    var backlogBytes: Int { backlog.load(ordering: .relaxed) }

    /// Adds `bytes` to the backlog, unless the backlog is not empty and
    /// would pass `cap`: one frame is always let through, so a frame larger
    /// than the cap can still be sent to a peer that reads.
    ///
    /// - Returns: the backlog with `bytes` added, or nil when refused.
    func reserve(_ bytes: Int, cap: Int) -> Int? {
        var current = backlog.load(ordering: .relaxed)
        while true {
            let (after, overflow) = current.addingReportingOverflow(bytes)
            if current > 0 && (overflow || after > cap) { return nil }
            let (exchanged, original) = backlog.compareExchange(
                expected: current, desired: after, ordering: .relaxed)
            if exchanged { return after }
            current = original
        }
    }

    /// Marks the connection as being closed by this node; true only the first time.
    func markClosing() -> Bool {
        !closing.exchange(true, ordering: .relaxed)
    }

    /// Marks the reader as stopped until the backlog drains to half of `pauseBytes`.
    func readerStopped() {
        readerWaiting.store(true, ordering: .relaxed)
    }

    /// Takes `bytes` off the backlog once their write completed; on the
    /// channel's event loop. Tells a stopped reader when the backlog is down
    /// to half of `pauseBytes`.
    func release(_ bytes: Int, pauseBytes: Int) {
        let after = backlog.subtract(bytes, ordering: .relaxed).newValue
        if after <= pauseBytes / 2, readerWaiting.exchange(false, ordering: .relaxed) {
            channel.pipeline.fireUserInboundEventTriggered(FrameReader.BacklogDrained())
        }
    }
}
