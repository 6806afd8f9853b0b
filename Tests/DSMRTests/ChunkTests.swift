import DSMR
import PropertyBased
import Testing

@Suite struct ChunkTests {
    static let transactions = Gen.uint8().array(of: 0...40).array(of: 0...8)

    @Test func signedChunkRoundTripsAndVerifies() throws {
        let producer = Fixtures.signer(1)
        let chunk = Fixtures.chunk(producer: producer)
        let bytes = chunk.encoded()
        #expect(bytes.count == chunk.encodedSize)
        let decoded = try Chunk(decoding: bytes)
        #expect(decoded == chunk)
        #expect(decoded.id == ChunkID(hashing: bytes))
        #expect(decoded.transactions == chunk.transactions)
        #expect(decoded.signature == chunk.signature)
        #expect(decoded.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
    }

    @Test func anyChunkRoundTrips() async {
        await propertyCheck(input: Self.transactions, Gen.uint64()) { transactions, slot throws in
            let chunk = Fixtures.chunk(slot: slot, transactions: transactions)
            let decoded = try Chunk(decoding: chunk.encoded())
            #expect(decoded.encoded() == chunk.encoded())
            #expect(decoded.id == chunk.id)
            #expect(decoded.slot == slot)
            #expect(decoded.transactions == transactions)
        }
    }

    @Test func signatureIsBoundToProducerDomainAndContent() throws {
        let producer = Fixtures.signer(1)
        let chunk = Fixtures.chunk(producer: producer)
        #expect(!chunk.verifySignature(publicKey: producer.publicKey, domain: Fixtures.otherChain))
        var otherNetwork = Fixtures.domain
        otherNetwork.networkID += 1
        #expect(!chunk.verifySignature(publicKey: producer.publicKey, domain: otherNetwork))
        #expect(!chunk.verifySignature(publicKey: Fixtures.signer(2).publicKey, domain: Fixtures.domain))
        let tampered = try Chunk(
            producer: chunk.producer, beneficiary: chunk.beneficiary, slot: chunk.slot + 1,
            transactions: chunk.transactions, signature: chunk.signature)
        #expect(tampered.id != chunk.id)
        #expect(!tampered.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
    }

    @Test func aShareSignatureIsNotAChunkSignature() throws {
        let producer = Fixtures.signer(1)
        let chunk = Fixtures.chunk(producer: producer)
        let forged = try Chunk(
            producer: chunk.producer, beneficiary: chunk.beneficiary, slot: chunk.slot,
            transactions: chunk.transactions,
            signature: try producer.sign(Fixtures.domain.message(.signatureShare, chunk.signingDigest)))
        #expect(!forged.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
    }

    @Test func signingDigestIsSHA256OfUnsignedBytes() throws {
        let producer = Fixtures.signer(1)
        let chunk = Fixtures.chunk(producer: producer)
        #expect(chunk.signingDigest.count == 32)
        #expect(chunk.signingDigest == ChunkID(hashing: chunk.unsignedBytes).bytes)
        #expect(chunk.id == ChunkID(hashing: chunk.encoded()))
        #expect(chunk.encoded().starts(with: chunk.unsignedBytes))
        let message = Fixtures.domain.message(.chunk, chunk.signingDigest)
        #expect(Ed25519Verifier().isValid(signature: chunk.signature, message: message, publicKey: producer.publicKey))
        // A signature over the unsigned bytes themselves (not their digest) is not the chunk's.
        let overBytes = try Chunk(
            producer: chunk.producer, beneficiary: chunk.beneficiary, slot: chunk.slot,
            transactions: chunk.transactions,
            signature: try producer.sign(Fixtures.domain.message(.chunk, chunk.unsignedBytes)))
        #expect(!overBytes.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
    }

    @Test func digestAndIdHoldForMixedTransactionSizes() throws {
        // Short transactions are gathered before hashing and long ones hashed in
        // place; mix both, across several gathering buffers.
        let sizes = [0, 1, 255, 256, 257, 4095, 4096, 4097] + Array(repeating: 200, count: 50) + [70_000, 3]
        let transactions = sizes.enumerated().map { index, size in
            (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
        }
        let producer = Fixtures.signer(1)
        let chunk = Fixtures.chunk(producer: producer, transactions: transactions)
        #expect(chunk.signingDigest == ChunkID(hashing: chunk.unsignedBytes).bytes)
        #expect(chunk.id == ChunkID(hashing: chunk.encoded()))
        let decoded = try Chunk(decoding: chunk.encoded())
        #expect(decoded.signingDigest == chunk.signingDigest)
        #expect(decoded.id == chunk.id)
        #expect(decoded.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
    }

    @Test func anyChunkHasOneDigestAndIdHoweverMade() async {
        await propertyCheck(input: Self.transactions, Gen.uint64()) { transactions, slot throws in
            let signed = Fixtures.chunk(slot: slot, transactions: transactions)
            let rebuilt = try Chunk(
                producer: signed.producer, beneficiary: signed.beneficiary, slot: slot, transactions: transactions,
                signature: signed.signature)
            let decoded = try Chunk(decoding: signed.encoded())
            for chunk in [signed, rebuilt, decoded] {
                #expect(chunk.signingDigest == ChunkID(hashing: chunk.unsignedBytes).bytes)
                #expect(chunk.signingDigest == signed.signingDigest)
                #expect(chunk.id == ChunkID(hashing: signed.encoded()))
                #expect(chunk.verifySignature(publicKey: Fixtures.signer(1).publicKey, domain: Fixtures.domain))
            }
        }
    }

    @Test func aFlippedTransactionByteChangesIdAndBreaksTheSignature() throws {
        let producer = Fixtures.signer(1)
        // Large enough that the transaction is hashed in place as well as gathered.
        let transactions = [[UInt8](repeating: 7, count: 20_000), [1, 2, 3], Array("hello".utf8)]
        let chunk = Fixtures.chunk(producer: producer, transactions: transactions)
        #expect(chunk.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
        for (index, offset) in [(0, 0), (0, 12_345), (0, 19_999), (1, 1), (2, 4)] {
            var flipped = transactions
            flipped[index][offset] ^= 0x01
            let tampered = try Chunk(
                producer: chunk.producer, beneficiary: chunk.beneficiary, slot: chunk.slot, transactions: flipped,
                signature: chunk.signature)
            #expect(tampered.id != chunk.id)
            #expect(tampered.signingDigest != chunk.signingDigest)
            #expect(!tampered.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
            // The same holds for the tampered bytes as received off the wire.
            var bytes = chunk.encoded()
            let start = Chunk.minimumEncodedBytes - 4 + transactions[..<index].reduce(0) { $0 + 4 + $1.count } + 4
            bytes[start + offset] ^= 0x01
            #expect(bytes == tampered.encoded())
            let decoded = try Chunk(decoding: bytes)
            #expect(decoded.id == tampered.id)
            #expect(decoded.id == ChunkID(hashing: bytes))
            #expect(decoded.signingDigest == tampered.signingDigest)
            #expect(!decoded.verifySignature(publicKey: producer.publicKey, domain: Fixtures.domain))
        }
    }

    @Test func encodingInPlaceWritesTheCanonicalBytes() async {
        await propertyCheck(input: Self.transactions, Gen.uint64()) { transactions, slot in
            let chunk = Fixtures.chunk(slot: slot, transactions: transactions)
            var buffer = [UInt8](repeating: 0xEE, count: chunk.encodedSize)
            buffer.withUnsafeMutableBytes { chunk.encode(into: $0) }
            #expect(buffer == chunk.encoded())
        }
    }

    @Test func unitsAreEncodedSizeAndDeclaredTransactionUnits() throws {
        let chunk = Fixtures.chunk(transactions: [[1], [2, 2]])
        let units = try chunk.units { transaction in
            Dimensions(bandwidth: 999, compute: UInt64(transaction.count), storageWrite: 7)
        }
        #expect(units == Dimensions(bandwidth: UInt64(chunk.encodedSize), compute: 3, storageWrite: 14))
        #expect(throws: DimensionsError.self) {
            _ = try chunk.units { _ in Dimensions(compute: .max) }
        }
    }

    @Test func referenceAndShareRoundTrip() throws {
        let chunk = Fixtures.chunk()
        let reference = Fixtures.reference(chunk)
        #expect(reference.expiry == Fixtures.rules.expiry(ofSlot: chunk.slot))
        #expect(reference.encoded().count == 1 + ChunkReference.bodyByteCount)
        #expect(try ChunkReference(decoding: reference.encoded()) == reference)
        let signer = Fixtures.signer(3)
        let share = try SignatureShare.sign(reference, rules: Fixtures.rules, signer: signer, domain: Fixtures.domain)
        #expect(try SignatureShare(decoding: share.encoded()) == share)
        #expect(share.verify(publicKey: signer.publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
        #expect(!share.verify(publicKey: signer.publicKey, rules: Fixtures.rules, domain: Fixtures.otherChain))
        #expect(!share.verify(publicKey: Fixtures.signer(4).publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
        var moved = share
        moved.reference.expiry += 1
        #expect(!moved.verify(publicKey: signer.publicKey, rules: Fixtures.rules, domain: Fixtures.domain))
    }

    @Test func anyReferenceRoundTrips() async {
        let input = zip(Gen.uint64(), Gen.int64(), Gen.uint8().array(of: 32))
        await propertyCheck(input: input) { value throws in
            let reference = ChunkReference(
                chunkID: try ChunkID(bytes: value.2), producer: Fixtures.signer(1).nodeID, slot: value.0,
                expiry: value.1)
            #expect(try ChunkReference(decoding: reference.encoded()) == reference)
        }
    }
}
