import DSMRNetwork
import FuzzSupport

// Bytes as a connection delivers them: every frame decoded before the first
// error must re-encode to exactly the bytes it came from, and no frame
// longer than the maximum may be returned.
fuzz { input in
    let maximum = 4_096
    let (frames, error) = decodeFrames(input, maxFrameBytes: maximum)
    var offset = 0
    for frame in frames {
        let bytes = frame.encoded()
        precondition(bytes.count - Frame.headerBytes <= maximum, "a frame above the maximum was decoded")
        precondition(offset + bytes.count <= input.count, "a frame was decoded from bytes not yet received")
        expectCanonical(Array(input[offset..<offset + bytes.count]), bytes, "frame")
        offset += bytes.count
    }
    if error == nil { precondition(input.count - offset < Frame.headerBytes + maximum + 1, "bytes left undecoded") }
}
