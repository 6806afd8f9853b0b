import DSMR
import DSMRNode
import Testing

@Suite struct StateAttestationTests {
    let rules = Fixture.rules
    let domain = Fixture.domain
    let root = try! StateRoot(bytes: [UInt8](repeating: 0xAB, count: 32))
    let otherRoot = try! StateRoot(bytes: [UInt8](repeating: 0xCD, count: 32))
    let blockID = try! BlockID(bytes: [UInt8](repeating: 0x11, count: 32))

    func schedule() -> ValidatorSchedule { ValidatorSchedule(initial: Fixture.validators(), rules: rules) }

    func attestation(
        _ signer: Ed25519Signer, height: UInt64 = 64, root: StateRoot? = nil, epoch: UInt64 = 0
    ) throws -> StateAttestation {
        try StateAttestation(
            height: height, blockID: blockID, root: root ?? self.root, epoch: epoch, signer: signer, domain: domain)
    }

    @Test func aQuorumOfOneRootCertifiesItAndTheCertificateVerifiesAndRoundTrips() throws {
        let pool = AttestationPool(validators: schedule(), quorum: rules.quorum, domain: domain)
        pool.advance(executed: 64)
        #expect(try pool.add(attestation(Fixture.signers[0])) == .held)
        #expect(try pool.add(attestation(Fixture.signers[0])) == .known)
        // A different root from another validator does not count toward this one.
        #expect(try pool.add(attestation(Fixture.signers[1], root: otherRoot)) == .held)
        #expect(try pool.add(attestation(Fixture.signers[2])) == .held)
        guard case .certified(let certificate) = try pool.add(attestation(Fixture.signers[3])) else {
            Issue.record("three of four equal weights attesting one root is a quorum")
            return
        }
        #expect(certificate.height == 64 && certificate.root == root && certificate.blockID == blockID)
        #expect(certificate.signers.indices == [0, 2, 3])
        #expect(pool.latestCertificate == certificate)
        #expect(try pool.add(attestation(Fixture.signers[1])) == .known)

        let set = try schedule().validators(epoch: 0)
        try certificate.verify(validators: set, quorum: rules.quorum, domain: domain)
        let decoded = try StateCertificate(decoding: certificate.encoded())
        #expect(decoded == certificate)
        // Another chain's domain, or a flipped signature byte, fails.
        let otherDomain = SigningDomain(networkID: Fixture.networkID + 1, chainID: Fixture.chainID)
        #expect(throws: StateSyncError.self) {
            try certificate.verify(validators: set, quorum: rules.quorum, domain: otherDomain)
        }
        var bytes = certificate.encoded()
        bytes[bytes.count - 5] ^= 1
        let tampered = try StateCertificate(decoding: bytes)
        #expect(throws: StateSyncError.self) {
            try tampered.verify(validators: set, quorum: rules.quorum, domain: domain)
        }
    }

    @Test func tooLittleStakeAnOutsiderABadSignatureAndAnotherHeightAreRefused() throws {
        let set = try schedule().validators(epoch: 0)
        let two = try [attestation(Fixture.signers[0]), attestation(Fixture.signers[1])]
        #expect(throws: StateSyncError.self) {
            try StateCertificate.aggregate(two, validators: set, quorum: rules.quorum, domain: domain)
        }
        let withOutsider = try two + [attestation(Fixture.outsider)]
        #expect(throws: StateSyncError.self) {
            try StateCertificate.aggregate(withOutsider, validators: set, quorum: rules.quorum, domain: domain)
        }
        let mixed = try two + [attestation(Fixture.signers[2], height: 65)]
        #expect(throws: StateSyncError.self) {
            try StateCertificate.aggregate(mixed, validators: set, quorum: rules.quorum, domain: domain)
        }
        let doubled = try two + [attestation(Fixture.signers[1])]
        #expect(throws: StateSyncError.self) {
            try StateCertificate.aggregate(doubled, validators: set, quorum: rules.quorum, domain: domain)
        }

        let pool = AttestationPool(validators: schedule(), quorum: rules.quorum, domain: domain)
        pool.advance(executed: 64)
        var forged = try attestation(Fixture.signers[0])
        forged.signature[0] ^= 1
        #expect(throws: StateSyncError.self) { try pool.add(forged) }
        #expect(throws: StateSyncError.self) { try pool.add(attestation(Fixture.outsider)) }
        // A root signed under one signer's name by another.
        var borrowed = try attestation(Fixture.signers[1])
        borrowed.signer = Fixture.signers[0].nodeID
        #expect(throws: StateSyncError.self) { try pool.add(borrowed) }
    }

    @Test func twoRootsFromOneValidatorAreAConflictAndTheWindowBoundsWhatIsHeld() throws {
        let pool = AttestationPool(validators: schedule(), quorum: rules.quorum, domain: domain, window: 8)
        pool.advance(executed: 64)
        let first = try attestation(Fixture.signers[0])
        let second = try attestation(Fixture.signers[0], root: otherRoot)
        #expect(try pool.add(first) == .held)
        #expect(try pool.add(second) == .conflict(first, second))
        #expect(try pool.add(attestation(Fixture.signers[1], height: 73)) == .outsideWindow)
        #expect(try pool.add(attestation(Fixture.signers[1], height: 55)) == .outsideWindow)
        #expect(try pool.add(attestation(Fixture.signers[1], height: 72)) == .held)
        #expect(try pool.add(attestation(Fixture.signers[1], height: 56)) == .held)
        // Heights a peer could choose at the edges of the counter are outside any window.
        #expect(try pool.add(attestation(Fixture.signers[2], height: .max)) == .outsideWindow)
        #expect(try pool.add(attestation(Fixture.signers[2], height: 0)) == .outsideWindow)
        // Moving on drops heights below the window: the same attestation is new again but outside it.
        pool.advance(executed: 100)
        #expect(try pool.add(attestation(Fixture.signers[1], height: 72)) == .outsideWindow)
    }

    @Test func snapshotMessagesAndFilesRoundTripAndDamagedFilesAreRefused() throws {
        let piece = SnapshotPiece(index: 1, payload: [1, 2, 3], proof: [UInt8](repeating: 9, count: 32))
        let manifest = SnapshotManifest(height: 64, root: root, pieceCount: 2, format: 2)
        let attestation = try attestation(Fixture.signers[0])
        for message: NodeMessage in [
            .stateAttestation(attestation), .requestStateOffer, .requestSnapshotPiece(height: 64, index: 1),
            .snapshotPiece(piece), .requestBlock(height: 9), .block([1, 2, 3]),
        ] {
            #expect(try NodeMessage(decoding: message.encoded()) == message)
        }
        // A proof longer than any tree needs, or a manifest with no pieces, does not decode.
        let longProof = SnapshotPiece(index: 0, payload: [], proof: [UInt8](repeating: 0, count: 33 * 32))
        #expect(throws: CodecError.self) { try NodeMessage(decoding: NodeMessage.snapshotPiece(longProof).encoded()) }
        var noPieces = manifest
        noPieces.pieceCount = 0
        #expect(throws: CodecError.self) { try SnapshotManifest(decoding: noPieces.encoded()) }

        let file = SnapshotFile(manifest: manifest, pieces: [SnapshotPiece(index: 0, payload: [7]), piece])
        let bytes = file.encoded()
        #expect(try SnapshotFile(decoding: bytes) == file)
        #expect(throws: StateSyncError.self) { try SnapshotFile(decoding: Array(bytes.dropLast())) }
        for position in stride(from: 0, to: bytes.count, by: 7) {
            var damaged = bytes
            damaged[position] ^= 0x10
            #expect(throws: StateSyncError.self) { try SnapshotFile(decoding: damaged) }
        }
        // Pieces out of order or missing are refused even with a good checksum.
        let swapped = SnapshotFile(manifest: manifest, pieces: [piece, SnapshotPiece(index: 0, payload: [7])])
        #expect(throws: StateSyncError.self) { try SnapshotFile(decoding: swapped.encoded()) }
        let short = SnapshotFile(manifest: manifest, pieces: [SnapshotPiece(index: 0, payload: [7])])
        #expect(throws: StateSyncError.self) { try SnapshotFile(decoding: short.encoded()) }
    }
}
