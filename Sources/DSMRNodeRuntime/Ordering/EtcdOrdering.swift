import DSMR
import DSMROrdering
import Foundation
import Logging
import Synchronization

/// Orders blocks through an etcd cluster, as Fabric's Raft orderer does:
/// etcd is trusted to order (crash-fault tolerant); every validator verifies
/// every block it is given.
///
/// The log is the keys `<prefix>/blocks/<height, 20 digits>/<attempt>`,
/// each holding one ``BlockAttempt`` (a block signed by the validator that
/// published it), created once. An attempt no validator signed is skipped
/// (etcd credentials alone publish nothing anyone follows); one a validator
/// signed that does not verify is evidence against it, kept in the log,
/// logged and counted (``invalidAttempts``). Each validator follows
/// the log in create-revision order by replaying etcd's history (a watch
/// from the revision of its accepted block's attempt), taking each attempt
/// with the value it was created with: at each height, the attempt with
/// the lowest create revision that verifies against the block accepted
/// below it is the block; an attempt that does not verify, or comes before
/// its height is next, is skipped (and logged) by every honest validator
/// alike, so one that reads the log late decides as one that watched it
/// live.
///
/// A holder of etcd credentials (a validator's role may create attempts,
/// and etcd cannot grant put without delete) may write over an attempt or
/// delete it later. Inside the retained history neither changes any
/// validator's decision: the replay still delivers the first value of an
/// attempt written over, and an attempt deleted after its creation. Such a
/// holder can still publish attempts (each verified like any other), stall
/// the chain until the takeover time, delete heights (a validator that
/// needs them to catch up then cannot), or compact etcd's history; a
/// validator whose history from its accepted block was compacted reads the
/// attempts as they are now and logs so, and there a deletion or rewrite
/// made before the read can change what it decides.
///
/// The leader prunes: when it publishes a block at a multiple of
/// ``EtcdOrderingOptions/pruneEvery``, it deletes (fenced on its
/// leadership) the heights more than ``EtcdOrderingOptions/retainHeights``
/// below, and compacts etcd's history to the oldest create revision among
/// the attempts kept, so etcd's database stays bounded while every
/// validator inside the window can still replay it. etcd's own
/// `--auto-compaction-mode`/`--auto-compaction-retention` would bound it
/// too, but by time or revisions rather than heights, and could compact
/// the history a validator inside the window replays; the devnet's members
/// run without it.
///
/// The validator leading the election `<prefix>/proposer` (on a lease)
/// builds on the tip once its node accepted everything in the log and
/// publishes the block as a new attempt at the next height, fenced on its
/// leadership; it resigns after ``EtcdOrderingOptions/rotateBlocks``
/// blocks or ``EtcdOrderingOptions/rotateAfter``. When no block has been
/// accepted for ``EtcdOrderingOptions/takeoverAfter``, any validator
/// publishes an attempt unfenced, so a stalled leader cannot hold the chain.
public final class EtcdOrdering: Ordering {
    struct Progress {
        /// The height decided last (the node's accepted height).
        var height: UInt64 = 0
        /// The revision through which the log has been handed to the node.
        var through: Int64 = 0
        /// When the last block was accepted (or following began).
        var lastAccepted = ContinuousClock.now
    }

    /// The etcd client.
    public let client: EtcdClient
    /// The chain's key prefix, without a trailing slash.
    public let prefix: String
    /// The options it runs with.
    public let options: EtcdOrderingOptions
    /// Signs this validator's attempts.
    let signer: any Signer
    /// The network and chain its signatures are bound to.
    public let domain: SigningDomain
    /// The validators whose signed attempts are followed: public keys by node id.
    public let validators: [NodeID: [UInt8]]
    let logger: Logger
    let progress = Mutex(Progress())
    let invalid = Mutex<[NodeID: Int]>([:])

    /// Attempts each validator signed that did not verify (bytes that are no
    /// block, a block at another height, or one that fails verification),
    /// since the ordering started: evidence kept in the log, and logged.
    public var invalidAttempts: [NodeID: Int] { invalid.withLock { $0 } }

    /// An ordering over the etcd members at `endpoints`, under `prefix`,
    /// reached as `security` says, publishing attempts signed by `signer`
    /// for `domain` and following those signed by one of `validators`
    /// (public keys by node id).
    ///
    /// - Throws: `EtcdError` (of DSMROrdering) for a bad endpoint or an
    ///   unreadable TLS file.
    public init(
        endpoints: [String], prefix: String, signer: any Signer, domain: SigningDomain,
        validators: [NodeID: [UInt8]], options: EtcdOrderingOptions = .init(), security: EtcdSecurity = EtcdSecurity(),
        logger: Logger
    ) throws {
        client = try EtcdClient(endpoints: endpoints, security: security)
        self.signer = signer
        self.domain = domain
        self.validators = validators
        self.prefix = prefix
        self.options = options
        self.logger = logger
    }

    /// The prefix a chain's log lives under: `dsmr/<network id>/<chain id in hex>`.
    public static func prefix(for domain: SigningDomain) -> String {
        "dsmr/\(domain.networkID)/\(domain.chainID.hex)"
    }

    /// The prefix of every attempt.
    var blocksPrefix: [UInt8] { Array("\(prefix)/blocks/".utf8) }
    /// The prefix of the attempts at `height`.
    func heightPrefix(_ height: UInt64) -> [UInt8] { Array("\(prefix)/blocks/\(Self.digits(height))/".utf8) }
    /// The election's name.
    var electionName: [UInt8] { Array("\(prefix)/proposer".utf8) }

    /// `height` as 20 decimal digits.
    static func digits(_ height: UInt64) -> String {
        let text = String(height)
        return String(repeating: "0", count: 20 - text.count) + text
    }

    /// The height a key of the log names; nil for a key of another shape.
    func height(of key: [UInt8]) -> UInt64? {
        let text = String(decoding: key, as: UTF8.self)
        let head = "\(prefix)/blocks/"
        guard text.hasPrefix(head) else { return nil }
        let rest = text.dropFirst(head.count)
        let digits = rest.prefix(20)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), rest.dropFirst(20).first == "/" else { return nil }
        return UInt64(digits)
    }

    /// Follows the log, proposes when leading, and takes over a stalled
    /// chain, until cancelled; then closes the client.
    public func run(_ chain: any OrderedChain) async {
        progress.withLock {
            $0.height = chain.lastAccepted.height
            $0.lastAccepted = .now
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow(chain) }
            group.addTask { await self.propose(chain) }
            group.addTask { await self.takeOver(chain) }
            await group.waitForAll()
        }
        await client.shutdown()
    }

    /// `block` signed for the log.
    func attempt(_ block: Block) throws -> [UInt8] {
        try BlockAttempt(signing: block, by: signer, in: domain).encoded
    }

    /// The block `value` holds and the validator that signed it, when a
    /// validator did and it decodes; throws ``BlockAttemptError`` otherwise.
    func signedBlock(_ value: [UInt8], rules: Rules) throws(BlockAttemptError) -> (proposer: NodeID, block: Block) {
        let limits = DecodingLimits(rules: rules)
        let attempt = try BlockAttempt(decoding: value, maxBlockBytes: limits.maxBlockBytes)
        return (attempt.proposer, try attempt.verifiedBlock(validators: validators, domain: domain, limits: limits))
    }

    /// The timestamp of a child of `parent` now: the clock, but at most
    /// `maxBlockSkew` after the parent and always after it.
    func timestamp(after parent: Block, rules: Rules) -> Int64 {
        let now = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))
        let (latest, overflow) = parent.timestamp.addingReportingOverflow(rules.maxBlockSkew)
        let (earliest, atEnd) = parent.timestamp.addingReportingOverflow(1)
        return atEnd ? .max : max(earliest, min(now, overflow ? .max : latest))
    }
}
