/// The stages of a transaction's path from submission to execution, as a
/// validator times them, each a Prometheus histogram in seconds. Their
/// means add up to the time a transaction spends in the validator that
/// carries it, from entering its mempool to the block that carries it
/// executed (the client's own round trips excluded).
package enum LatencyStage: String, CaseIterable, Sendable {
    /// In the mempool, from arrival to a chunk taking it (one sample per
    /// transaction): bound by one chunk per slot per validator.
    case mempool
    /// From taking the transactions to the chunk stored and signed by its
    /// producer (encoding, signing, the synced write).
    case build
    /// From the chunk stored to its certificate stored: the other
    /// validators' persist-and-sign, over the network, to a quorum.
    case certify
    /// From the certificate stored to the block carrying it arriving for
    /// acceptance (gossip to the block's builder, the block interval,
    /// ordering).
    case blockWait
    /// The block verified, missing chunks fetched, accepted and executed.
    case acceptAndExecute

    /// The metric's name.
    package var metric: String {
        switch self {
        case .mempool: "dsmr_mempool_wait_seconds"
        case .build: "dsmr_chunk_build_seconds"
        case .certify: "dsmr_chunk_certify_seconds"
        case .blockWait: "dsmr_certificate_block_wait_seconds"
        case .acceptAndExecute: "dsmr_block_accept_seconds"
        }
    }
}
