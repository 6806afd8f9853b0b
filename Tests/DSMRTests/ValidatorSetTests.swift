import DSMR
import Testing

@Suite struct ValidatorSetTests {
    @Test func sortsByNodeIDAndIndexes() throws {
        let signers = Fixtures.signers(5)
        let set = Fixtures.validatorSet(signers.reversed())
        #expect(set.validators.map(\.nodeID) == signers.map(\.nodeID).sorted())
        #expect(set.totalWeight == 50)
        for signer in signers {
            let index = try #require(set.index(of: signer.nodeID))
            #expect(set.validators[index].nodeID == signer.nodeID)
            #expect(set.validator(signer.nodeID)?.publicKey == signer.publicKey)
            #expect(set.contains(signer.nodeID))
        }
        #expect(!set.contains(Fixtures.signer(77).nodeID))
        #expect(set.index(of: Fixtures.signer(77).nodeID) == nil)
    }

    @Test func rejectsDuplicatesZeroWeightOverflowAndEmpty() {
        let a = Fixtures.signer(1)
        let b = Fixtures.signer(2)
        func code(_ validators: [Validator]) -> ValidatorSetError.Code? {
            do {
                _ = try ValidatorSet(epoch: 0, validators: validators)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code([]) == .empty)
        #expect(
            code([Validator(publicKey: a.publicKey, weight: 1), Validator(publicKey: a.publicKey, weight: 2)])
                == .duplicate)
        #expect(code([Validator(publicKey: a.publicKey, weight: 0)]) == .zeroWeight)
        #expect(
            code([Validator(publicKey: a.publicKey, weight: .max), Validator(publicKey: b.publicKey, weight: 1)])
                == .weightOverflow)
        #expect(throws: ValidatorSetError.self) {
            _ = try Validator(nodeID: b.nodeID, publicKey: a.publicKey, weight: 1)
        }
    }

    @Test func quorumIsExactAndOverflowFree() {
        let quorum = Quorum.default
        #expect(quorum.isMet(signedWeight: 67, totalWeight: 100))
        #expect(!quorum.isMet(signedWeight: 66, totalWeight: 100))
        #expect(quorum.isMet(signedWeight: .max, totalWeight: .max))
        let unit: UInt64 = .max / 100
        let total: UInt64 = unit * 100
        let needed: UInt64 = unit * 67
        #expect(!quorum.isMet(signedWeight: needed - 1, totalWeight: total))
        #expect(quorum.isMet(signedWeight: needed, totalWeight: total))
    }

    /// An invalid quorum cannot be made, so no `verify`, `isMet` or `Rules` can hold one.
    @Test(arguments: [(0, 5), (0, 0), (1, 0), (2, 3), (1, 2), (101, 100), (.max, .max - 1)] as [(UInt64, UInt64)])
    func invalidQuorumsCannotBeMade(_ numerator: UInt64, _ denominator: UInt64) {
        do {
            _ = try Quorum(numerator: numerator, denominator: denominator)
            Issue.record("\(numerator)/\(denominator) was accepted")
        } catch {
            #expect(error.rule == "quorum")
            #expect(error.message.contains("more than 2/3"))
        }
    }

    @Test(arguments: [(67, 100), (1, 1), (.max, .max), (2_000_001, 3_000_000)] as [(UInt64, UInt64)])
    func quorumsAboveTwoThirdsCanBeMade(_ numerator: UInt64, _ denominator: UInt64) throws {
        let quorum = try Quorum(numerator: numerator, denominator: denominator)
        #expect(quorum.numerator == numerator && quorum.denominator == denominator)
        #expect(!quorum.isMet(signedWeight: 0, totalWeight: 1))
    }
}
