import DSMR
import DSMRNode

extension KeyValueMachine {
    /// Takes a write that decodes strictly and has not expired; it is
    /// routed by its writer. Sequences are checked when it executes.
    public func admit(
        _ bytes: [UInt8], now: Int64, limits: DecodingLimits
    ) throws(AdmissionError)
        -> PendingTransaction
    {
        let write: KeyValueWrite
        do {
            write = try KeyValueWrite(decoding: bytes, limits: limits)
        } catch {
            throw .malformed("\(error)")
        }
        guard write.expiry >= now else { throw .expired(expiry: write.expiry, now: now) }
        return PendingTransaction(write)
    }

    /// Bytes of the state file.
    public func diskBytes() -> UInt64 { StateFiles.size(statePath) }
}
