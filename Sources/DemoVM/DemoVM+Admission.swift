import DSMR
import DSMRNode
import SystemC

extension DemoVM {
    /// Takes a transfer that decodes strictly, has not expired and carries
    /// its sender's signature in this chain's domain; it is routed by its
    /// sender. Nonces and balances are checked when it executes.
    public func admit(_ bytes: [UInt8], now: Int64, limits: DecodingLimits) throws(AdmissionError)
        -> PendingTransaction
    {
        let transfer: Transfer
        do {
            transfer = try Transfer(decoding: bytes, limits: limits)
        } catch {
            throw .malformed("\(error)")
        }
        guard transfer.expiry >= now else { throw .expired(expiry: transfer.expiry, now: now) }
        guard transfer.verifySignature(domain: domain) else {
            throw .invalid("the signature is not the sender's in this chain's domain")
        }
        return PendingTransaction(transfer)
    }

    /// Bytes of the state's data file.
    public func diskBytes() -> UInt64 {
        var info = stat()
        guard stat("\(path)/data.mdb", &info) == 0 else { return 0 }
        return UInt64(info.st_size)
    }
}
