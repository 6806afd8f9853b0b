/// The `# HELP` text of every metric the node reports: what it counts and
/// in which unit. ``DocumentedMetricsFactory`` gives it to Prometheus, so a
/// scrape describes every family.
package enum MetricHelp {
    /// Each metric's help text, by name.
    package static let text: [String: String] = [
        // Chunks and blocks.
        "dsmr_chunks_built_total": "Chunks this validator built from its mempool and signed.",
        "dsmr_chunks_certified_total": "Chunks of this validator that gathered a quorum of signature shares.",
        "dsmr_chunks_uncertified_total": "Chunks of this validator given up without a quorum of shares.",
        "dsmr_chunk_build_errors_total": "Attempts to build a chunk that failed (the store refused or an error).",
        "dsmr_blocks_built_total": "Blocks this validator built when asked to propose.",
        "dsmr_blocks_accepted_total": "Ordered blocks this validator verified and recorded.",
        "dsmr_blocks_refused_total": "Ordered blocks this validator refused: they did not verify.",
        "dsmr_accepted_height": "Height of the last block this validator accepted.",
        "dsmr_executed_height": "Height of the last block this validator executed.",
        // Transactions and their path.
        "dsmr_transactions_submitted_total": "Transactions admitted to this validator's mempool.",
        "dsmr_transactions_executed_total": "Transactions that applied when their blocks executed.",
        "dsmr_mempool_transactions": "Transactions waiting in the mempool.",
        "dsmr_mempool_wait_seconds": "Seconds a transaction waited in the mempool before its chunk was built.",
        "dsmr_chunk_build_seconds": "Seconds to build and sign a chunk.",
        "dsmr_chunk_certify_seconds": "Seconds from a chunk built to its certificate.",
        "dsmr_certificate_block_wait_seconds": "Seconds from a chunk's certificate to the block that carries it.",
        "dsmr_block_accept_seconds": "Seconds from a block's arrival to its execution.",
        // Storage and health.
        "dsmr_store_bytes": "Bytes of the chunk store's data file.",
        "dsmr_state_bytes": "Bytes of the state machine's files.",
        "dsmr_health": "The node's health: 0 healthy, 1 degraded, 2 failing.",
        // State sync.
        "dsmr_state_certified_height": "Highest height whose state root a quorum attested.",
        "dsmr_state_diverged_total": "Times this validator's state root differed from a quorum's at a height.",
        "dsmr_state_conflicting_attestations_total": "Validators seen attesting two state roots at one height.",
        // Ordering through etcd.
        "dsmr_ordering_invalid_attempts_total":
            "Block attempts in the etcd log signed by a validator (label proposer) that did not verify.",
        "dsmr_ordering_unsigned_attempts_total": "Block attempts in the etcd log signed by no validator, skipped.",
        // Each peer (label peer: its node id in hex).
        "dsmr_peer_disconnects_total": "Connections closed because of the peer: an offence, a backlog or a ban.",
        "dsmr_peer_unsolicited_answers_total": "Answers from the peer to requests never sent.",
        "dsmr_peer_late_answers_total": "Answers from the peer after their request timed out.",
        "dsmr_peer_malformed_frames_total":
            "Frames from the peer that did not decode, came out of turn or were too long.",
        "dsmr_peer_invalid_signatures_total": "Signatures from the peer that did not verify.",
        "dsmr_peer_invalid_messages_total": "Messages from the peer the node found invalid.",
        "dsmr_peer_backlog_overflows_total": "Connections closed because the peer did not read its replies.",
        "dsmr_peer_bans_total": "Times the peer ran out of budget and was banned.",
        "dsmr_peer_ban_remaining_seconds": "Seconds left of the peer's current ban (0 when not banned).",
        // The transport as a whole.
        "dsmr_transport_handshakes_refused_total":
            "Connections closed because their handshake failed or timed out, or their peer is banned.",
        "dsmr_transport_handshakes_evicted_total":
            "Connections in their handshake closed to make room for a newer one.",
        "dsmr_transport_frames_refused_total": "Connections closed because of an oversized or malformed frame.",
        "dsmr_transport_bans_total": "Peers banned for their offences.",
        "dsmr_transport_overloaded_replies_total": "Requests answered with an overloaded reply.",
        "dsmr_transport_gossip_dropped_total": "Gossip dropped because its sender had too much in hand.",
        "dsmr_transport_requests_served_total": "Requests handed to the handler and answered.",
        "dsmr_transport_largest_outbound_backlog_bytes":
            "Most bytes waiting for the socket on one connection at once.",
    ]
}
