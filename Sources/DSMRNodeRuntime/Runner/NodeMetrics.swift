import Metrics

/// The node's counters, gauges and timers, reported through swift-metrics
/// (and so to Prometheus when the process bootstrapped it, see
/// ``MetricsEndpoint``). Names follow Prometheus' conventions.
struct NodeMetrics: Sendable {
    let chunksBuilt = Counter(label: "dsmr_chunks_built_total")
    let chunksCertified = Counter(label: "dsmr_chunks_certified_total")
    let chunksUncertified = Counter(label: "dsmr_chunks_uncertified_total")
    let chunkErrors = Counter(label: "dsmr_chunk_build_errors_total")
    let blocksBuilt = Counter(label: "dsmr_blocks_built_total")
    let blocksAccepted = Counter(label: "dsmr_blocks_accepted_total")
    let blocksRefused = Counter(label: "dsmr_blocks_refused_total")
    let transactionsSubmitted = Counter(label: "dsmr_transactions_submitted_total")
    let transactionsExecuted = Counter(label: "dsmr_transactions_executed_total")
    // A transaction's path, stage by stage (see ``LatencyStage``).
    let mempoolWait = Metrics.Timer(label: LatencyStage.mempool.metric)
    let buildTime = Metrics.Timer(label: LatencyStage.build.metric)
    let certifyTime = Metrics.Timer(label: LatencyStage.certify.metric)
    let blockWait = Metrics.Timer(label: LatencyStage.blockWait.metric)
    let acceptTime = Metrics.Timer(label: LatencyStage.acceptAndExecute.metric)
    let acceptedHeight = Gauge(label: "dsmr_accepted_height")
    let executedHeight = Gauge(label: "dsmr_executed_height")
    let mempool = Gauge(label: "dsmr_mempool_transactions")
    let storeBytes = Gauge(label: "dsmr_store_bytes")
    let stateBytes = Gauge(label: "dsmr_state_bytes")
}
