/// How far behind its peers a validator with an intact store may start and
/// still catch up by replaying the ordered log.
///
/// Replaying a block needs its chunks, and peers keep an accepted chunk only
/// `acceptedRetention` past its expiry, by their chain time: a block after
/// the local tip was made after the tip's timestamp, so its chunks are kept
/// at least until `tip.timestamp + acceptedRetention`. A tip older than
/// three quarters of that (the last quarter is for the replay) is beyond
/// the horizon: the node moves its store aside (its signing history
/// carried into the new one as a floor) and comes back through state sync,
/// when a peer offers a certified state above its tip.
package enum CatchUpHorizon {
    /// Whether a store whose accepted tip has `tipTimestamp` (ms) is beyond
    /// the horizon at `now` (ms), with peers keeping chunks `acceptedRetention` ms.
    package static func isBeyond(tipTimestamp: Int64, now: Int64, acceptedRetention: Int64) -> Bool {
        let (age, overflow) = now.subtractingReportingOverflow(tipTimestamp)
        return !overflow && age > max(0, acceptedRetention) / 4 * 3
    }
}
