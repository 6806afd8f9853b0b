import DSMRNodeRuntime
import FuzzSupport

// Bytes as a control connection delivers them: every frame decoded before
// the first error re-encodes to exactly the bytes it came from, none is above
// the maximum, and what is left over is a frame still arriving. Every
// payload is decoded as a request and as a response: whatever decodes
// re-encodes to exactly that payload.
fuzz { input in
    let (frames, error) = decodeControlFrames(input)
    var offset = 0
    for frame in frames {
        let bytes = frame.encoded()
        precondition(frame.payload.count <= ControlFrame.maxPayloadBytes, "a frame above the maximum was decoded")
        precondition(offset + bytes.count <= input.count, "a frame was decoded from bytes not yet received")
        expectCanonical(Array(input[offset..<offset + bytes.count]), bytes, "control frame")
        offset += bytes.count
        if let request = try? ControlRequest(decoding: frame.payload) {
            expectCanonical(frame.payload, request.encoded(), "control request")
        }
        if let response = try? ControlResponse(decoding: frame.payload) {
            expectCanonical(frame.payload, response.encoded(), "control response")
        }
    }
    let rest = input[offset...]
    if error == nil, rest.count >= 4 {
        let length = rest.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        precondition(rest.count < 4 + length, "a whole frame was left undecoded")
    }
}
