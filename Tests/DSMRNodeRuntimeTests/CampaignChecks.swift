import ChunkStore
import DSMR
import DSMRDevnet
import DSMRNodeRuntime
import DSMRTestSupport
import Foundation
import StoreMaintenance

/// What the campaign checks after each round; each returns the problems it found.
extension FaultCampaign {
    /// How long the chain may take to execute new blocks once a fault ends.
    static let progressBound = Duration.seconds(60)
    /// How long a validator hit by a fault may take to be back in step once it ends.
    static let comebackBound = Duration.seconds(180)

    /// The executed heights of every validator, 0 for one that does not answer.
    func executedHeights() async -> [UInt64] {
        var heights: [UInt64] = []
        for index in 0..<Self.validators {
            heights.append(await nodeStatus(layout.controlSocket(index))?.executedHeight ?? 0)
        }
        return heights
    }

    /// Waits until some validator has executed `blocks` blocks past `height`;
    /// returns how long that took, nil when it did not within ``progressBound``.
    func progress(past height: UInt64, blocks: UInt64 = 3) async -> Duration? {
        let started = ContinuousClock.now
        let resumed = await eventually(within: Self.progressBound, pollingEvery: .milliseconds(100)) {
            await self.executedHeights().max() ?? 0 >= height + blocks
        }
        return resumed ? ContinuousClock.now - started : nil
    }

    /// Waits until every validator has executed `height`; returns how long
    /// that took, nil when one did not within ``comebackBound``.
    func everyoneExecuted(_ height: UInt64) async -> Duration? {
        let started = ContinuousClock.now
        let inStep = await eventually(within: Self.comebackBound, pollingEvery: .milliseconds(100)) {
            await self.executedHeights().min() ?? 0 >= height
        }
        return inStep ? ContinuousClock.now - started : nil
    }

    /// Every validator's state root at the highest height all of them
    /// executed: problems when one does not answer or they differ.
    func rootsAgree() async -> [String] {
        let common = await executedHeights().min() ?? 0
        var roots: [Int: StateRoot] = [:]
        for index in 0..<Self.validators {
            guard case .stateRoot(let root)? = await ask(layout.controlSocket(index), .stateRoot(height: common))
            else { return ["validator \(index) gives no state root at height \(common)"] }
            roots[index] = root
        }
        return Set(roots.values).count == 1 ? [] : ["state roots differ at height \(common): \(roots)"]
    }

    /// Compares each validator's block at every height it accepted since the
    /// last round (and `resample` older heights of its, drawn by `generator`)
    /// with the id first seen at that height: no block ever changes. A
    /// height a validator no longer holds (pruned, or before the snapshot it
    /// synced from) is skipped.
    func blocksUnchanged(resample: Int, using generator: inout SeededGenerator) async -> [String] {
        var problems: [String] = []
        for index in 0..<Self.validators {
            let socket = layout.controlSocket(index)
            guard let tip = await nodeStatus(socket)?.acceptedHeight else {
                problems.append("validator \(index) does not answer")
                continue
            }
            var heights = Array((comparedThrough[index] + 1)...max(tip, comparedThrough[index] + 1))
            if comparedThrough[index] > 1 {
                heights += (0..<resample).map { _ in UInt64.random(in: 1...comparedThrough[index], using: &generator) }
            }
            for height in heights where height <= tip {
                guard case .block(let block)? = await ask(socket, .block(height: height)) else { continue }
                if let seen = blockIDs[height], seen != block.id {
                    problems.append("validator \(index) holds block \(block.id) at height \(height), \(seen) before")
                } else {
                    blockIDs[height] = block.id
                }
            }
            comparedThrough[index] = max(comparedThrough[index], tip)
        }
        return problems
    }

    /// Opens every validator's store read-only beside its running node:
    /// no store holds evidence of a double signature, and each checks clean.
    func storesClean() -> [String] {
        var problems: [String] = []
        for index in 0..<Self.validators {
            let path = layout.storePath(index)
            do {
                let store = try ChunkStore(adopting: path, readOnly: true)
                defer { store.close() }
                let evidence = try store.evidence()
                if !evidence.isEmpty {
                    problems.append(
                        "validator \(index)'s store holds \(evidence.count) double signatures: "
                            + evidence.map { "producer \($0.producer) slot \($0.slot)" }.joined(separator: ", "))
                }
                let report = try store.check()
                if !report.isClean {
                    problems.append("validator \(index)'s store does not check clean: \(report.problems.prefix(3))")
                }
            } catch {
                problems.append("validator \(index)'s store at \(path): \(error)")
            }
        }
        return problems
    }

    /// Removes stores and states a validator moved aside (`*.replaced-*`),
    /// once looked at (the disk is small), and returns how many stores.
    func removeReplaced() -> Int {
        var stores = 0
        for index in 0..<Self.validators {
            let directory = layout.nodeDirectory(index)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            where entry.contains(".replaced-") {
                print("campaign: validator \(index) moved \(entry) aside")
                if entry.hasPrefix("store.") { stores += 1 }
                try? FileManager.default.removeItem(atPath: "\(directory)/\(entry)")
            }
        }
        return stores
    }
}
