import DSMR
import SystemC

/// The least Ed25519 work 4 validators need to execute transfers, and the
/// rate at which one core does each operation, measured in the run.
///
/// Per transfer: its signature checked by each of the 4 executing nodes.
/// Per chunk: the producer's signature made once and checked by the 3 other
/// validators, 3 shares made and checked by the builder, and the
/// certificate's 3 signatures checked by each of the 3 nodes it is gossiped
/// to. Nothing else (hashing, storage, the network, ordering) is counted.
struct Ed25519Work {
    /// Signatures one core makes per second.
    let signsPerSecond: Double
    /// Signatures one core checks per second.
    let verifiesPerSecond: Double

    /// Measures both rates on one thread now, per second of that thread's
    /// CPU time: other load on a shared machine does not lower them.
    static func measure() throws -> Ed25519Work {
        let key = try Ed25519Signer(seed: [UInt8](repeating: 7, count: 32))
        let message = [UInt8](repeating: 1, count: 120)
        let count = 2_000
        var signature: [UInt8] = []
        let signing = try threadCPUSeconds { for _ in 0..<count { signature = try key.sign(message) } }
        let verifier = Ed25519Verifier()
        var valid = 0
        let verifying = threadCPUSeconds {
            for _ in 0..<count where verifier.isValid(signature: signature, message: message, publicKey: key.publicKey)
            {
                valid += 1
            }
        }
        guard valid == count else { throw BenchError("Ed25519 verification failed while measuring") }
        return Ed25519Work(signsPerSecond: Double(count) / signing, verifiesPerSecond: Double(count) / verifying)
    }

    /// The faster of two measurements, operation by operation.
    func best(_ other: Ed25519Work) -> Ed25519Work {
        Ed25519Work(
            signsPerSecond: max(signsPerSecond, other.signsPerSecond),
            verifiesPerSecond: max(verifiesPerSecond, other.verifiesPerSecond))
    }

    /// Seconds of all `cores` that `transfers` executed in `chunks` certified chunks need at least.
    func leastSeconds(transfers: Double, chunks: Double, cores: Double) -> Double {
        let signs = chunks * 4
        let verifies = transfers * 4 + chunks * (3 + 3 + 9)
        return (signs / signsPerSecond + verifies / verifiesPerSecond) / cores
    }

    /// Transfers per second that this work alone allows on `cores` cores,
    /// with chunks of `transfers / chunks` transfers on average.
    func limit(transfers: Double, chunks: Double, cores: Double) -> Double {
        transfers / leastSeconds(transfers: transfers, chunks: chunks, cores: cores)
    }
}

/// CPU seconds the calling thread spends in `body`.
func threadCPUSeconds(_ body: () throws -> Void) rethrows -> Double {
    func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
    let start = now()
    try body()
    return now() - start
}
