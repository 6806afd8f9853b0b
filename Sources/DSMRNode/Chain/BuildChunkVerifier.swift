import DSMR

/// Decides, certificate by certificate, what goes into a block being built.
public protocol BuildChunkVerifier: Sendable {
    /// Whether `certificate` may go into a block with `timestamp`: throwing
    /// drops this certificate and goes on; `false` stops the walk and the
    /// block gets what was gathered so far.
    func verifyChunk(_ certificate: ChunkCertificate, timestamp: Int64) throws -> Bool
}

/// Takes every certificate the node's own checks let through.
public struct AcceptEveryChunk: BuildChunkVerifier {
    /// The verifier.
    public init() {}
    public func verifyChunk(_ certificate: ChunkCertificate, timestamp: Int64) throws -> Bool { true }
}
