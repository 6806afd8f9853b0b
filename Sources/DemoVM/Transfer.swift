import Crypto
import DSMR

/// The kind of a transfer's id.
public enum TransferKind: Digest32Kind {
    public static let name = "TransferID"
}

/// A transfer's id: the SHA-256 of its canonical encoding.
public typealias TransferID = Digest32<TransferKind>

/// A token transfer, signed by its sender.
///
/// The sender's account nonce must equal ``nonce`` (it then goes up by one),
/// so a transfer executes at most once; one that expired before its block's
/// timestamp is skipped.
public struct Transfer: DSMR.Transaction, Hashable {
    /// The sender's Ed25519 public key: its account.
    public let sender: [UInt8]
    /// The recipient's account (an Ed25519 public key).
    public let recipient: [UInt8]
    /// Tokens moved.
    public let amount: UInt64
    /// The sender's account nonce this transfer uses.
    public let nonce: UInt64
    /// When it stops being valid (ms).
    public let expiry: Int64
    /// The sender's signature over ``signingMessage(domain:)``.
    public let signature: [UInt8]

    /// The tag of a transfer's signature.
    public static let signingTag = SigningTag("dsmr-demo/transfer/v1")
    /// The length of an account (an Ed25519 public key).
    public static let accountByteCount = 32

    /// A transfer from its parts; see ``sign(sender:recipient:amount:nonce:expiry:domain:)``.
    public init(
        sender: [UInt8], recipient: [UInt8], amount: UInt64, nonce: UInt64, expiry: Int64, signature: [UInt8]
    ) {
        precondition(sender.count == Self.accountByteCount && recipient.count == Self.accountByteCount)
        precondition(signature.count <= Ed25519Verifier.signatureByteCount)
        self.sender = sender
        self.recipient = recipient
        self.amount = amount
        self.nonce = nonce
        self.expiry = expiry
        self.signature = signature
    }

    /// A transfer signed by `sender`.
    public static func sign(
        sender: Ed25519Signer, recipient: [UInt8], amount: UInt64, nonce: UInt64, expiry: Int64,
        domain: SigningDomain
    ) throws -> Transfer {
        let unsigned = Transfer(
            sender: sender.publicKey, recipient: recipient, amount: amount, nonce: nonce, expiry: expiry, signature: [])
        return Transfer(
            sender: sender.publicKey, recipient: recipient, amount: amount, nonce: nonce, expiry: expiry,
            signature: try sender.sign(unsigned.signingMessage(domain: domain)))
    }

    /// The bytes the sender signs: every field but the signature, under ``signingTag``.
    public func signingMessage(domain: SigningDomain) -> [UInt8] {
        var writer = CanonicalWriter(capacity: 88)
        writer.writeRaw(sender)
        writer.writeRaw(recipient)
        writer.write(amount)
        writer.write(nonce)
        writer.write(expiry)
        return domain.message(Self.signingTag, writer.bytes)
    }

    /// Whether the signature is the sender's in `domain`.
    public func verifySignature(domain: SigningDomain) -> Bool {
        Ed25519Verifier().isValid(signature: signature, message: signingMessage(domain: domain), publicKey: sender)
    }

    /// The SHA-256 of the canonical encoding.
    public var id: TransferID { try! TransferID(bytes: Array(SHA256.hash(data: encoded()))) }
    /// The sender pays: transfers are partitioned by it.
    public var sponsor: [UInt8] { sender }
    /// One compute unit; reads and writes the two accounts.
    public var units: Dimensions { Dimensions(compute: 1, storageRead: 2, storageAllocate: 1, storageWrite: 2) }
}

extension Transfer: CanonicalValue {
    public static let formatVersion: UInt8 = 1
    public static let codecName: StaticString = "transfer"
    public static func maxEncodedBytes(limits: DecodingLimits) -> Int { 1 + 32 + 32 + 24 + 4 + 64 }

    /// `sender (32) || recipient (32) || amount (u64) || nonce (u64) ||
    /// expiry (i64) || signature length (u32) || signature`.
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeRaw(sender)
        writer.writeRaw(recipient)
        writer.write(amount)
        writer.write(nonce)
        writer.write(expiry)
        writer.writeLengthPrefixed(signature)
    }

    public init(from reader: inout CanonicalReader) throws(CodecError) {
        let sender = try reader.readRaw(Self.accountByteCount, "sender")
        let recipient = try reader.readRaw(Self.accountByteCount, "recipient")
        let amount = try reader.readUInt64("amount")
        let nonce = try reader.readUInt64("nonce")
        let expiry = try reader.readInt64("expiry")
        let signature = try reader.readLengthPrefixed("signature", limit: Ed25519Verifier.signatureByteCount)
        self.init(
            sender: sender, recipient: recipient, amount: amount, nonce: nonce, expiry: expiry, signature: signature)
    }
}
