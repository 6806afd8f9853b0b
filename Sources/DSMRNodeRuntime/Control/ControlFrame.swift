import NIOCore

/// One message on a control connection: `length (u32 BE) || id (u64 BE) ||
/// payload`, where `length` counts the id and the payload. A response
/// carries its request's id, so requests may be answered out of order.
public struct ControlFrame: Hashable, Sendable {
    /// The request's id, repeated in its answer.
    package let id: UInt64
    /// The encoded ``ControlRequest`` or ``ControlResponse``.
    public let payload: [UInt8]

    /// The largest payload either side accepts; a longer length prefix closes the connection.
    public static let maxPayloadBytes = 32 << 20
    /// The length prefix and the id.
    package static let headerBytes = 12

    /// A frame from its parts.
    package init(id: UInt64, payload: [UInt8]) {
        self.id = id
        self.payload = payload
    }

    /// The frame as it goes on the connection.
    public func encoded() -> [UInt8] {
        var buffer = ByteBuffer()
        ControlFrameEncoder().write(self, to: &buffer)
        return Array(buffer.readableBytesView)
    }
}

/// Cuts a control connection's bytes into frames, checking each length before its body is buffered.
struct ControlFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ControlFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.next(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(NIOAny(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }

    /// The next whole frame in `buffer`, consumed, or nil when more bytes are needed.
    ///
    /// - Throws: ``ControlError/Code/malformed`` for a length prefix too
    ///   short to hold the id or above the maximum, before any of the body is waited for.
    static func next(from buffer: inout ByteBuffer) throws(ControlError) -> ControlFrame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= 8, Int(length) - 8 <= ControlFrame.maxPayloadBytes else {
            throw ControlError(
                .malformed,
                "control frame of \(length) bytes; a frame holds an 8-byte id and at most "
                    + "\(ControlFrame.maxPayloadBytes) bytes of payload")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let id = buffer.readInteger(as: UInt64.self)!
        let payload = buffer.readBytes(length: Int(length) - 8)!
        return ControlFrame(id: id, payload: payload)
    }
}

/// Writes control frames with their length prefix.
struct ControlFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = ControlFrame

    func encode(data: ControlFrame, out: inout ByteBuffer) throws { write(data, to: &out) }

    func write(_ frame: ControlFrame, to out: inout ByteBuffer) {
        out.writeInteger(UInt32(8 + frame.payload.count))
        out.writeInteger(frame.id)
        out.writeBytes(frame.payload)
    }
}

/// Decodes every whole frame in `bytes` the way a control connection does;
/// for tests and fuzzing. Returns the frames, and the error that would close
/// the connection, if any.
public func decodeControlFrames(_ bytes: [UInt8]) -> (frames: [ControlFrame], error: ControlError?) {
    var buffer = ByteBuffer(bytes: bytes)
    var frames: [ControlFrame] = []
    do {
        while let frame = try ControlFrameDecoder.next(from: &buffer) { frames.append(frame) }
    } catch {
        return (frames, error)
    }
    return (frames, nil)
}
