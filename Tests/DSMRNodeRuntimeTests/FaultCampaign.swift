import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation

/// A devnet of four validators and three etcd members, each on a host of
/// its own (``HostTestbed``), each validator's directory on a tmpfs of its
/// own (so its disk can fill) and behind a relay its peers dial (so its
/// traffic can be delayed), and the faults the campaign injects into it.
final class FaultCampaign {
    static let etcdMembers = 3
    static let validators = 4
    /// Each validator's tmpfs.
    static let diskSize = "1g"

    let devnet: Devnet
    let testbed: HostTestbed
    let plan: DelayPlan
    let relays: [DelayRelay]
    /// The block id seen at each height, the first time any validator showed it.
    var blockIDs: [UInt64: BlockID] = [:]
    /// Per validator: the height through which its blocks were compared with ``blockIDs``.
    var comparedThrough: [UInt64]
    /// Filler files that fill a validator's disk, by validator.
    var fillers: [Int: String] = [:]

    init(devnet: Devnet, testbed: HostTestbed, plan: DelayPlan, relays: [DelayRelay]) {
        self.devnet = devnet
        self.testbed = testbed
        self.plan = plan
        self.relays = relays
        comparedThrough = Array(repeating: 0, count: Self.validators)
    }

    /// The testbed host validator `index` runs on (the etcd members take the first hosts).
    static func host(of validator: Int) -> Int { etcdMembers + validator }

    /// Mounts a tmpfs on each validator's directory of a devnet about to be
    /// made in `directory` (before its keys are written there), and returns
    /// the mount points.
    static func mountDisks(devnetDirectory directory: String) async throws -> [String] {
        var mounted: [String] = []
        for index in 0..<validators {
            // DevnetLayout.nodeDirectory: node<index> under the devnet's directory.
            let path = "\(directory)/node\(index)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let run = try await runTool(
                "/bin/mount", ["-t", "tmpfs", "-o", "size=\(diskSize),mode=0700", "tmpfs", path])
            guard run.status == 0 else { throw TestFailure("cannot mount a tmpfs on \(path): \(run)") }
            mounted.append(path)
        }
        return mounted
    }

    /// Unmounts what ``mountDisks(devnetDirectory:)`` mounted.
    static func unmountDisks(_ paths: [String]) {
        for path in paths {
            _ = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: ["-l", path]).waitUntilExit()
        }
    }

    var layout: DevnetLayout { devnet.layout }

    // MARK: Faults

    /// Begins `round`'s fault.
    func inject(_ round: CampaignRound) async throws {
        let victim = round.victim
        switch round.fault {
        case .killOne:
            // The devnet's supervisor restarts it; the fault ends once it is dead.
            let process = devnet.process(victim)
            process?.signal(SIGKILL)
            await process?.wait()
        case .killAll:
            devnet.killAllNow()
            for index in 0..<Self.validators { await devnet.kill(index) }
            for member in 0..<Self.etcdMembers { await devnet.etcd?.kill(member) }
        case .pause:
            devnet.process(victim)?.signal(SIGSTOP)
        case .dropPackets:
            switch round.link {
            case .etcdMember(let member):
                try testbed.cut(Self.host(of: victim), from: member)
            case .validator(let peer):
                // Peer traffic goes through the relays: the victim's dials
                // to the peer's relay, and the peer's to the victim's.
                try testbed.cut(Self.host(of: victim), fromPort: relays[peer].port, at: testbed.gateway)
                try testbed.cut(Self.host(of: peer), fromPort: relays[victim].port, at: testbed.gateway)
            case nil:
                try testbed.cutOff(Self.host(of: victim))
            }
        case .delay:
            plan.delay(testbed.hosts[Self.host(of: victim)].address, by: round.delay)
        case .fullDisk:
            fillers[victim] = try fillDisk(layout.nodeDirectory(victim))
        case .damage where round.damageState:
            await devnet.kill(victim)
            // Both LMDB meta pages of the state's data file: it no longer opens.
            let path = layout.nodeDirectory(victim) + "/state/data.mdb"
            var generator = SeededGenerator(seed: UInt64(round.number))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.write(contentsOf: generator.bytes(2 * 4_096))
            try handle.close()
            print("campaign: overwrote the meta pages of validator \(victim)'s state")
        case .damage:
            let depth = round.damageDepth
            let tip = await nodeStatus(layout.controlSocket(victim))?.acceptedHeight ?? 0
            let height = tip > depth ? tip - depth : tip
            let reference = (0..<Self.validators).first { $0 != victim } ?? 0
            guard case .block(let block)? = await ask(layout.controlSocket(reference), .block(height: height)) else {
                throw TestFailure("no block at height \(height) to damage")
            }
            await devnet.kill(victim)
            let copies = try damage(block.encoded(), in: layout.storePath(victim) + "/data.mdb", at: round.damagePlace)
            print("campaign: damaged \(copies) copies of block \(height) in validator \(victim)'s data file")
        case .lateJoin:
            await devnet.kill(victim)
            let directory = layout.nodeDirectory(victim)
            for entry in try FileManager.default.contentsOfDirectory(atPath: directory)
            where !["node.key", "node.json", "node.log"].contains(entry) {
                try FileManager.default.removeItem(atPath: "\(directory)/\(entry)")
            }
            comparedThrough[victim] = 0
        }
    }

    /// Ends `round`'s fault (a killed or wiped validator is started again).
    func heal(_ round: CampaignRound) async throws {
        let victim = round.victim
        switch round.fault {
        case .killOne:
            break
        case .killAll:
            for member in 0..<Self.etcdMembers { try devnet.etcd?.startMember(member) }
            let devnet = self.devnet
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<Self.validators { group.addTask { try await devnet.startNode(index) } }
                try await group.waitForAll()
            }
        case .pause:
            devnet.process(victim)?.signal(SIGCONT)
        case .dropPackets:
            try testbed.heal(Self.host(of: victim))
            if case .validator(let peer) = round.link { try testbed.heal(Self.host(of: peer)) }
        case .delay:
            plan.clear()
        case .fullDisk:
            if let filler = fillers.removeValue(forKey: victim) { try FileManager.default.removeItem(atPath: filler) }
        case .damage, .lateJoin:
            try await devnet.startNode(victim)
        }
    }

    /// Undoes whatever faults may still hold, however a round ended.
    func healEverything() {
        plan.clear()
        for index in 0..<Self.validators {
            devnet.process(index)?.signal(SIGCONT)
            try? testbed.heal(Self.host(of: index))
        }
        for filler in fillers.values { try? FileManager.default.removeItem(atPath: filler) }
        fillers.removeAll()
    }

    /// Fills the file system holding `directory` with one file and returns its path.
    func fillDisk(_ directory: String) throws -> String {
        let path = "\(directory)/filler"
        var information = statvfs()
        guard statvfs(directory, &information) == 0 else { throw TestFailure("statvfs \(directory) failed") }
        var size = off_t(information.f_bavail) * off_t(information.f_frsize)
        let descriptor = open(path, O_CREAT | O_WRONLY, 0o600)
        guard descriptor >= 0 else { throw TestFailure("cannot create \(path)") }
        defer { close(descriptor) }
        // What is free may shrink meanwhile: take a little less until it fits.
        while size > 0, posix_fallocate(descriptor, 0, size) != 0 { size -= 64 * 1_024 }
        return path
    }

    /// Changes the byte at `place`/1000 of every copy of `needle` in the file
    /// at `path`, and returns how many copies it changed.
    func damage(_ needle: [UInt8], in path: String, at place: Int) throws -> Int {
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let offset = min(needle.count - 1, needle.count * place / 1_000)
        var copies = 0
        var index = 0
        while index + needle.count <= data.count {
            if data[index] == needle[0], data[index..<(index + needle.count)].elementsEqual(needle) {
                data[index + offset] ^= 0x20
                copies += 1
                index += needle.count
            } else {
                index += 1
            }
        }
        try Data(data).write(to: URL(fileURLWithPath: path))
        return copies
    }
}
