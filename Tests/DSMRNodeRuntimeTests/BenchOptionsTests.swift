import DSMRTestSupport
import Testing

/// `dsmr-bench` refuses options out of range before it measures anything,
/// naming the option, whether or not rows are chosen.
@Suite struct BenchOptionsTests {
    @Test(arguments: [
        (["--sign-rounds", "0"], "--sign-rounds must be 1 to 1000; got 0"),
        (["--sign-rounds", "1001", "--rows", "sign-1"], "--sign-rounds must be 1 to 1000; got 1001"),
        (["--sign-rounds=-5", "--quick"], "--sign-rounds must be 1 to 1000; got -5"),
        (["--rows", "sign-1,nope"], "unknown row \"nope\""),
        (["--rows", ","], "--rows names no row"),
        (["--instructions", "--rows", "read"], "--instructions adds to a sign row"),
    ])
    func outOfRangeOptionsAreRefusedByName(arguments: [String], message: String) async throws {
        let run = try await runTool(try builtExecutable("dsmr-bench"), arguments, timeout: .seconds(30))
        #expect(run.status != 0, "\(run)")
        #expect(run.stderr.contains(message), "\(run)")
        #expect(run.stdout.isEmpty, "nothing was measured: \(run)")
    }
}
