import NIOCore

/// Cuts a connection's bytes into ``Frame``s; ``FrameReader`` runs it on
/// each connection.
///
/// The length prefix is read and checked against `maxFrameBytes` before any
/// of the body is waited for: a longer frame throws
/// ``NetworkError/Code/frameTooLarge`` and its body is never buffered whole.
enum FrameDecoder {
    /// The next whole frame in `buffer`, consumed, or nil when more bytes are needed.
    static func next(from buffer: inout ByteBuffer, maxFrameBytes: Int) throws(NetworkError) -> Frame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard Int(length) <= maxFrameBytes else {
            throw NetworkError(.frameTooLarge, "frame of \(length) bytes, the maximum is \(maxFrameBytes)")
        }
        guard buffer.readableBytes >= Frame.headerBytes + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: Frame.headerBytes)
        let body = buffer.readBytes(length: Int(length))!
        return try Frame(body: body)
    }
}

/// Writes ``Frame``s with their length prefix.
struct FrameEncoder: MessageToByteEncoder {
    typealias OutboundIn = Frame

    func encode(data: Frame, out: inout ByteBuffer) throws {
        let body = data.encodedBody()
        out.writeInteger(UInt32(body.count))
        out.writeBytes(body)
    }
}

/// Decodes every whole frame in `bytes` the way a connection does; for
/// tests and fuzzing. Returns the frames, and the error that would close the
/// connection, if any.
public func decodeFrames(_ bytes: [UInt8], maxFrameBytes: Int) -> (frames: [Frame], error: NetworkError?) {
    var buffer = ByteBuffer(bytes: bytes)
    var frames: [Frame] = []
    do {
        while let frame = try FrameDecoder.next(from: &buffer, maxFrameBytes: maxFrameBytes) { frames.append(frame) }
    } catch {
        return (frames, error)
    }
    return (frames, nil)
}
