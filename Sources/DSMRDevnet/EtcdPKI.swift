import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificates of a devnet's etcd cluster, made fresh for each run
/// under `directory` (mode 0700; keys 0600): a certificate authority, a
/// certificate per member (server and peer, for its address), and client
/// certificates. Client certificates carry no common name: etcd's JSON
/// gateway refuses a request whose certificate has one (it would not take
/// it as the user), so users prove themselves with passwords.
struct EtcdPKI {
    /// The directory holding the files.
    let directory: String
    let authorityKey: P256.Signing.PrivateKey
    let authority: Certificate

    /// The authority's certificate file.
    var trustRootsPath: String { "\(directory)/ca.pem" }

    /// Makes the authority and writes its certificate.
    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        authorityKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("dsmr devnet")
            CommonName("dsmr devnet etcd authority")
        }
        let now = Date()
        authority = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(authorityKey.publicKey), notValidBefore: now - 3_600,
            notValidAfter: now + 10 * 365 * 86_400, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            }, issuerPrivateKey: Certificate.PrivateKey(authorityKey))
        try Self.write(try authority.serializeAsPEM().pemString, to: trustRootsPath, mode: 0o644)
    }

    /// Issues a certificate named `name` (`name.pem`, `name.key`) for
    /// servers at `addresses` (IPv4) that also serves as a client; with no
    /// address, a client certificate (no common name; `unit` names whose it is).
    /// Returns the certificate's and the key's paths.
    @discardableResult
    func issue(_ name: String, addresses: [String] = [], unit: String) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("dsmr devnet")
            OrganizationalUnitName(unit)
        }
        let ips = try addresses.map { address -> GeneralName in
            let octets = address.split(separator: ".").compactMap { UInt8($0) }
            guard octets.count == 4 else { throw DevnetError("\(address) is not an IPv4 address") }
            return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets)))
        }
        let usage: [ExtendedKeyUsage.Usage] = ips.isEmpty ? [.clientAuth] : [.serverAuth, .clientAuth]
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 3_600, notValidAfter: now + 10 * 365 * 86_400, issuer: authority.subject,
            subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage(usage)
                if !ips.isEmpty { SubjectAlternativeNames(ips) }
            }, issuerPrivateKey: Certificate.PrivateKey(authorityKey))
        let paths = (certificate: "\(directory)/\(name).pem", key: "\(directory)/\(name).key")
        try Self.write(try certificate.serializeAsPEM().pemString, to: paths.certificate, mode: 0o644)
        try Self.write(key.pemRepresentation, to: paths.key, mode: 0o600)
        return paths
    }

    /// Writes a new random password to `name.password` (0600) and returns it.
    func password(_ name: String) throws -> (password: String, path: String) {
        let password = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let path = "\(directory)/\(name).password"
        try Self.write(password + "\n", to: path, mode: 0o600)
        return (password, path)
    }

    static func write(_ text: String, to path: String, mode: Int) throws {
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        else { throw DevnetError("cannot write \(path)") }
    }
}
