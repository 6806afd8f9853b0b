import NIOCore

/// One message on a control connection: `length (u32 BE) || id (u64 BE) ||
/// payload`, where `length` counts the id and the payload. A response
/// carries its request's id, so requests may be answered out of order.
struct ControlFrame: Sendable {
    let id: UInt64
    let payload: [UInt8]

    /// The largest payload either side accepts; a longer length prefix closes the connection.
    static let maxPayloadBytes = 32 << 20
}

/// Cuts a control connection's bytes into frames, checking each length before its body is buffered.
struct ControlFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ControlFrame

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length >= 8, Int(length) - 8 <= ControlFrame.maxPayloadBytes else {
            throw ControlError(.malformed, "control frame of \(length) bytes")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let id = buffer.readInteger(as: UInt64.self)!
        let payload = buffer.readBytes(length: Int(length) - 8)!
        context.fireChannelRead(NIOAny(ControlFrame(id: id, payload: payload)))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Writes control frames with their length prefix.
struct ControlFrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = ControlFrame

    func encode(data: ControlFrame, out: inout ByteBuffer) throws {
        out.writeInteger(UInt32(8 + data.payload.count))
        out.writeInteger(data.id)
        out.writeBytes(data.payload)
    }
}
