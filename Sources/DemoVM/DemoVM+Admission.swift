import DSMR
import DSMRNode
import SystemC

extension DemoVM {
    /// Takes a transfer that decodes strictly and has not expired; it is
    /// routed by its sender. The signature, nonce and balance are checked
    /// when it executes (every node skips an invalid one alike): submission
    /// comes through the node's own control socket, and checking a signature
    /// there as well would add a quarter to a devnet validator's Ed25519 work.
    public func admit(
        _ bytes: [UInt8], now: Int64, limits: DecodingLimits
    ) throws(AdmissionError)
        -> PendingTransaction
    {
        let transfer: Transfer
        do {
            transfer = try Transfer(decoding: bytes, limits: limits)
        } catch {
            throw .malformed("\(error)")
        }
        guard transfer.expiry >= now else { throw .expired(expiry: transfer.expiry, now: now) }
        return PendingTransaction(transfer)
    }

    /// Bytes of the state's data file.
    public func diskBytes() -> UInt64 {
        var info = stat()
        guard stat("\(path)/data.mdb", &info) == 0 else { return 0 }
        return UInt64(info.st_size)
    }
}
