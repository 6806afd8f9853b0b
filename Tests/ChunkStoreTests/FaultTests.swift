@testable import ChunkStore
@testable import StoreMaintenance
import DSMR
import DSMRTestSupport
import Foundation
@testable import LMDB
import Synchronization
import Testing

/// A fault the LMDB layer injects, and the code it fails with.
enum InjectedFault: String, CaseIterable, Sendable {
    case putIOError, putNoSpace, putMapFullAtCeiling, commitIOError, commitNoSpace, syncIOError

    var operation: FaultSwitch.Operation {
        switch self {
        case .putIOError, .putNoSpace, .putMapFullAtCeiling: return .put
        case .commitIOError, .commitNoSpace: return .commit
        case .syncIOError: return .sync
        }
    }

    var code: LMDBError.Code {
        switch self {
        case .putIOError, .commitIOError, .syncIOError: return .ioError
        case .putNoSpace, .commitNoSpace: return .noSpace
        case .putMapFullAtCeiling: return .mapFull
        }
    }

    /// The code the store's callers see for it.
    var storeCode: ChunkStoreError.Code {
        switch self {
        case .putMapFullAtCeiling: return .storeFull
        default: return .io
        }
    }
}

@Suite("Faults in the LMDB layer under group commit")
struct StoreFaultTests {
    static let callers = 4

    /// For N = 1, 2, ...: the Nth put, commit or sync fails while four
    /// callers wait in one group commit. Every caller gets a typed error or
    /// a share; a share is only ever given for a chunk stored and signed
    /// (checked after reopening); the reopened store is clean and signs the
    /// refused chunks. The loop ends at the first N past the batch's last
    /// operation, where every caller gets its share.
    @Test(arguments: InjectedFault.allCases)
    func everyCallerOfAFailedGroupGetsATypedErrorAndNothingUnstoredIsSigned(_ fault: InjectedFault) async throws {
        try await withTemporaryDirectory("fault") { path in
            var configuration = Fixture.configuration(path, rules: GarbageCollectionTests.roomyRules)
            if fault == .putMapFullAtCeiling { configuration.maxMapSize = configuration.mapSize }
            var rounds = 0
            for nth in 1...200 {
                rounds = nth
                let fired = try await Self.round(configuration, fault, nth: nth)
                if !fired { break }
            }
            print("\(fault): the operation completed at N = \(rounds)")
            #expect(rounds > 1 && rounds < 200, "\(fault): \(rounds) rounds")
        }
    }

    /// One round; returns whether the fault fired.
    static func round(_ configuration: StoreConfiguration, _ fault: InjectedFault, nth: Int) async throws -> Bool {
        let slot = UInt64(nth) * 2
        let chunks = (0..<callers).map { index in
            Fixture.chunk(Fixture.producers[index % 3], slot: slot + UInt64(index / 3), tag: UInt64(nth))
        }
        let store = try ChunkStore(configuration)
        store.environment.faults.arm(fault.operation, failingCall: nth, with: fault.code)
        let callers = self.callers
        // Holds the writer until every caller is queued, so they share one batch.
        let gateRunning = Atomic<Bool>(false)
        let gate = Task {
            try await store.submit { _ in
                gateRunning.store(true, ordering: .releasing)
                let deadline = Date().addingTimeInterval(60)
                while store.queuedWriteCount < callers && Date() < deadline { usleep(100) }
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while !gateRunning.load(ordering: .acquiring) && Date() < deadline { await Task.yield() }
        let outcomes = await withTaskGroup(of: (Int, Result<SignatureShare, any Error>).self) { group in
            for (index, chunk) in chunks.enumerated() {
                group.addTask {
                    do {
                        return (
                            index,
                            .success(
                                try await store.persistAndSign(
                                    chunk, validators: Fixture.validators, now: .milliseconds(0)))
                        )
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var outcomes: [Int: Result<SignatureShare, any Error>] = [:]
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        _ = try? await gate.value
        let fired = store.environment.faults.firedCount > 0
        store.environment.faults.disarm()
        store.close()

        let expected: Set<ChunkStoreError.Code> = [fault.storeCode, .writerFailed]
        var refused: [Chunk] = []
        for (index, chunk) in chunks.enumerated() {
            switch outcomes[index]! {
            case .success(let share):
                #expect(share.reference.chunkID == chunk.id)
            case .failure(let error):
                let code = (error as? ChunkStoreError)?.code
                #expect(code.map(expected.contains) == true, "\(fault) N=\(nth): caller \(index) got \(error)")
                refused.append(chunk)
            }
        }
        if fired {
            #expect(
                refused.count == callers, "\(fault) N=\(nth): the fault fired but only \(refused.count) callers failed")
        } else {
            #expect(refused.isEmpty, "\(fault) N=\(nth): no fault fired, yet \(refused.count) callers failed")
        }

        let reopened = try ChunkStore(configuration)
        defer { reopened.close() }
        let report = try reopened.check()
        #expect(report.isClean, "\(fault) N=\(nth): \(report.problems.prefix(3))")
        for (index, chunk) in chunks.enumerated() {
            guard case .success = outcomes[index]! else { continue }
            // A share was given: the chunk is stored and its slot signed for it.
            #expect(try reopened.chunk(chunk.id)?.chunk == chunk, "\(fault) N=\(nth): signed but not stored")
            #expect(try reopened.signedChunk(producer: chunk.producer, slot: Slot(chunk.slot)) == chunk.id)
        }
        if fault.operation != .sync {
            // Nothing of a failed group reached the file.
            for chunk in refused {
                #expect(try reopened.chunk(chunk.id) == nil, "\(fault) N=\(nth): refused but stored")
            }
        }
        for chunk in refused {
            _ = try await reopened.persistAndSign(chunk, validators: Fixture.validators, now: .milliseconds(0))
        }
        return fired
    }
}
