/// A member of an epoch's validator set.
public struct Validator: Hashable, Sendable {
    /// The id derived from ``publicKey``.
    public let nodeID: NodeID
    /// The key that verifies the validator's signatures.
    public let publicKey: [UInt8]
    /// The validator's stake.
    public let weight: UInt64

    /// A validator whose id is derived from `publicKey`.
    public init(publicKey: [UInt8], weight: UInt64) {
        self.nodeID = NodeID(publicKey: publicKey)
        self.publicKey = publicKey
        self.weight = weight
    }

    /// A validator with a given id, which must be the one `publicKey` derives.
    ///
    /// - Throws: ``ValidatorSetError/Code/keyMismatch`` otherwise.
    public init(nodeID: NodeID, publicKey: [UInt8], weight: UInt64) throws(ValidatorSetError) {
        self.init(publicKey: publicKey, weight: weight)
        guard self.nodeID == nodeID else {
            throw ValidatorSetError(
                code: .keyMismatch, message: "public key of \(nodeID) derives node id \(self.nodeID)")
        }
    }
}
