import DSMR

/// A fault the campaign injects into a running devnet.
enum CampaignFault: String, CaseIterable, Sendable {
    /// SIGKILL of one validator; the devnet restarts it.
    case killOne = "SIGKILL one validator"
    /// SIGKILL of every validator and etcd member at once; all started again after a while.
    case killAll = "SIGKILL every validator and etcd member"
    /// SIGSTOP of one validator, SIGCONT after a while.
    case pause = "SIGSTOP one validator"
    /// nftables drops on one validator's host: every link, its link to one
    /// etcd member, or its link to one other validator (both ways).
    case dropPackets = "drop one validator's packets (nft)"
    /// Its peers' traffic to and from one validator held back by the relays.
    case delay = "delay one validator's peer traffic"
    /// One validator's file system filled (its tmpfs), freed after a while.
    case fullDisk = "fill one validator's disk"
    /// One validator killed, a block row near its tip damaged in its store's
    /// data file or its state's meta pages overwritten, started again.
    case damage = "damage one validator's store or state"
    /// One validator killed, its store, state and snapshots deleted, started again late.
    case lateJoin = "wipe one validator, start it late"
}

/// One round's decisions, every one drawn from the campaign's seed before
/// the campaign starts, so a seed replays the same faults on the same
/// validators at the same moments.
struct CampaignRound: CustomStringConvertible, Sendable {
    let number: Int
    let fault: CampaignFault
    let victim: Int
    /// How far into the round's load the fault begins.
    let onset: Duration
    /// How long it holds (a validator down, paused, cut off, delayed, or its disk full).
    let length: Duration
    /// `.delay`: how long each byte is held.
    let delay: Duration
    /// `.dropPackets`: the one link cut; nil cuts every link.
    let link: CampaignLink?
    /// `.damage`: how many blocks below its tip the damaged block lies, and
    /// which byte of it changes (a fraction of its length, in 1/1000).
    let damageDepth: UInt64
    let damagePlace: Int
    /// `.damage`: the state's meta pages are overwritten instead of a block row.
    let damageState: Bool

    var description: String {
        var text = "round \(number): \(fault.rawValue), validator \(victim), at +\(onset) for \(length)"
        switch fault {
        case .delay: text += ", \(delay) each way"
        case .dropPackets: text += link.map { ", its link to \($0)" } ?? ", every link"
        case .damage:
            text +=
                damageState
                ? ", its state's meta pages" : ", block \(damageDepth) below its tip, byte at \(damagePlace)/1000"
        default: break
        }
        return text
    }

    /// `count` rounds from `seed` on `validators` validators with
    /// `etcdMembers` members: the faults go round every kind in `faults`,
    /// each lap in a new seeded order, so a campaign of a lap or more has each.
    static func plan(
        seed: UInt64, count: Int, validators: Int, etcdMembers: Int, faults: [CampaignFault] = CampaignFault.allCases
    ) -> [CampaignRound] {
        var generator = SeededGenerator(seed: seed)
        var lap: [CampaignFault] = []
        var rounds: [CampaignRound] = []
        for number in 1...max(1, count) {
            if lap.isEmpty { lap = faults.shuffled(using: &generator) }
            let fault = lap.removeFirst()
            func seconds(_ range: ClosedRange<Int>) -> Duration {
                .milliseconds(Int.random(in: range.lowerBound * 1_000...range.upperBound * 1_000, using: &generator))
            }
            let length: Duration
            switch fault {
            case .killOne: length = .zero
            case .killAll: length = seconds(2...5)
            case .pause, .dropPackets: length = seconds(3...10)
            case .delay: length = seconds(5...10)
            case .fullDisk: length = seconds(3...8)
            case .damage: length = seconds(1...4)
            case .lateJoin: length = seconds(10...20)
            }
            let victim = Int.random(in: 0..<validators, using: &generator)
            let link: CampaignLink?
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: link = .etcdMember(Int.random(in: 0..<etcdMembers, using: &generator))
            case 1: link = .validator((victim + Int.random(in: 1..<validators, using: &generator)) % validators)
            default: link = nil
            }
            rounds.append(
                CampaignRound(
                    number: number, fault: fault, victim: victim, onset: seconds(1...3), length: length,
                    delay: .milliseconds(Int.random(in: 50...300, using: &generator)), link: link,
                    damageDepth: UInt64.random(in: 0...4, using: &generator),
                    damagePlace: Int.random(in: 100...900, using: &generator),
                    damageState: Bool.random(using: &generator)))
        }
        return rounds
    }
}

/// One link of a validator's that a round cuts.
enum CampaignLink: CustomStringConvertible, Sendable {
    /// To etcd member `n`.
    case etcdMember(Int)
    /// To validator `n` (through the relays, both ways).
    case validator(Int)

    var description: String {
        switch self {
        case .etcdMember(let member): "etcd member \(member)"
        case .validator(let validator): "validator \(validator)"
        }
    }
}
