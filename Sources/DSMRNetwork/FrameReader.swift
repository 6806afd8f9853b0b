import NIOCore

/// Cuts a connection's bytes into ``Frame``s one at a time and, on an
/// accepted connection, stops while the connection's replies do not drain.
///
/// Before each frame it hands on, a pausing reader checks the connection's
/// backlog (the bytes written that the socket has not taken, counted from
/// the moment a reply is handed to ``TCPTransport/send(_:on:to:)``, see
/// ``Connection``) and the channel's writability: from a backlog of
/// `pauseBytes` (64 KiB), or while the channel is not writable, it hands on
/// nothing more and passes no `read` on, so the peer's further bytes stay in
/// the kernel and then in the peer. What it holds meanwhile is the bytes of
/// the reads already done, at most one read cycle. When the backlog is down
/// to half of `pauseBytes` and the channel is writable, it goes on from
/// where it stopped. Checking per frame, not per read, matters: one read
/// of cheap requests can ask for replies hundreds of times larger.
///
/// A dialed connection's reader never pauses: its writes are this node's
/// requests, and a peer that stopped reading them while this node stopped
/// reading its answers would lock both up.
final class FrameReader: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = Frame
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    /// The event a connection fires when its backlog drained for a stopped reader.
    struct BacklogDrained {}

    private let maxFrameBytes: Int
    /// The connection whose backlog stops this reader; nil for one that never stops.
    private let connection: Connection?
    private let pauseBytes: Int
    private var buffer: ByteBuffer?
    /// A `read` held back while paused.
    private var readHeld = false
    /// Inside ``deliver(_:)``, so an event it causes does not start another.
    private var delivering = false
    /// A bad frame was found: nothing more is handed on.
    private var failed = false

    init(maxFrameBytes: Int, pausing connection: Connection?, pauseBytes: Int) {
        self.maxFrameBytes = maxFrameBytes
        self.connection = connection
        self.pauseBytes = pauseBytes
    }

    /// Whether the reader stops now; when for the backlog, the connection
    /// tells it once drained.
    private func paused(_ context: ChannelHandlerContext) -> Bool {
        guard let connection else { return false }
        if connection.backlogBytes >= pauseBytes {
            connection.readerStopped()
            // A write may have completed between the check and the mark.
            return connection.backlogBytes > pauseBytes / 2
        }
        return !context.channel.isWritable
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if failed { return }
        if buffer == nil { buffer = bytes } else { buffer!.writeBuffer(&bytes) }
        deliver(context)
    }

    /// Hands on whole frames until the bytes run out, a frame is bad, or the
    /// reader stops.
    private func deliver(_ context: ChannelHandlerContext) {
        guard !delivering else { return }
        delivering = true
        defer { delivering = false }
        while !failed, buffer != nil, !paused(context) {
            let frame: Frame?
            do {
                frame = try FrameDecoder.next(from: &buffer!, maxFrameBytes: maxFrameBytes)
            } catch {
                failed = true
                buffer = nil
                context.fireErrorCaught(error)
                return
            }
            guard let frame else { break }
            context.fireChannelRead(wrapInboundOut(frame))
        }
        if buffer?.readableBytes == 0 {
            buffer = nil
        } else if let readerIndex = buffer?.readerIndex, readerIndex > 64 << 10 {
            buffer!.discardReadBytes()
        }
    }

    /// Goes on after a pause: the frames held, then the `read` held.
    private func resume(_ context: ChannelHandlerContext) {
        deliver(context)
        if readHeld && !paused(context) {
            readHeld = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if paused(context) {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { resume(context) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is BacklogDrained {
            resume(context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        buffer = nil
        context.fireChannelInactive()
    }
}
