import DSMR
import DSMRNode

/// Changes to how a node behaves, for tests only: the Byzantine peer
/// harness (`dsmr-byzantine`) runs a real validator with one of these.
/// `dsmr-node` never sets any.
package struct NodeCustomization: Sendable {
    /// Changes the configuration before anything opens.
    package var adjustConfiguration: (@Sendable (NodeConfiguration) -> NodeConfiguration)?
    /// Wraps the transport the node core talks to its peers through.
    package var wrapTransport: (@Sendable (any Transport) -> any Transport)?
    /// Changes a block this node built before the one who asked gets it.
    package var alterBuiltBlock: (@Sendable (Block) -> Block)?
    /// Runs beside the node from ``NodeRunner/run()`` until the node stops.
    package var whileRunning: (@Sendable (NodeRunner) async -> Void)?

    /// No change.
    package init() {}
}
