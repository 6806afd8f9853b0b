import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOSSL
import Synchronization

/// A client of etcd's v3 JSON gateway (`/v3/kv/...`, `/v3/lease/...`,
/// `/v3/election/...`, `/v3/watch`) over several members.
///
/// Each call tries the member that answered last, and on a connection
/// failure, a timeout or a server error moves on to the next, up to
/// ``Options/tries`` tries of at most ``Options/perTryTimeout`` each: a
/// member that lost its leader or died costs one short try. Every request
/// carries `Grpc-Metadata-hasleader: true`, so a member cut off from its
/// leader fails at once instead of hanging. Answers are read up to
/// ``Options/maxResponseBytes`` and decoded strictly.
///
/// Against a secured cluster (``EtcdSecurity``) it speaks TLS to `https://`
/// members with its client certificate, and authenticates as its user on
/// its first call; a token the cluster no longer knows (a member
/// restarted, the token expired) is replaced on the next try.
public final class EtcdClient: Sendable {
    /// How the client talks to its members.
    public struct Options: Sendable {
        /// The longest one try may take.
        public var perTryTimeout: Duration = .seconds(1)
        /// How many tries a call makes over the members before it fails.
        public var tries = 6
        /// How long to wait between two rounds over every member.
        public var retryPause: Duration = .milliseconds(200)
        /// The largest answer read.
        public var maxResponseBytes = 64 << 20

        /// The defaults.
        public init() {}
    }

    /// The members' client URLs, without a trailing slash.
    public let endpoints: [String]
    /// The options it runs with.
    public let options: Options
    /// The user it authenticates as, if any.
    public let credentials: EtcdSecurity.Credentials?
    let http: HTTPClient
    let preferred = Mutex(0)
    /// The token of ``credentials``' last authentication; nil before the first, or once refused.
    package let token = Mutex<String?>(nil)

    /// A client of the members at `endpoints` (all `http://host:port`, or
    /// all `https://host:port`), secured by `security`.
    ///
    /// - Throws: ``EtcdError/Code/badArgument`` when the list is empty, an
    ///   endpoint is not an `http` or `https` URL with a host and a port,
    ///   the endpoints mix the two, TLS settings are given for `http`
    ///   members, or a certificate or key file cannot be read.
    public init(endpoints: [String], options: Options = Options(), security: EtcdSecurity = EtcdSecurity()) throws {
        guard !endpoints.isEmpty else { throw EtcdError(.badArgument, "no etcd endpoint given") }
        self.endpoints = try endpoints.map(Self.checked)
        self.options = options
        credentials = security.credentials
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(500))
        let secure = self.endpoints.filter { $0.hasPrefix("https://") }.count
        guard secure == 0 || secure == self.endpoints.count else {
            throw EtcdError(.badArgument, "etcd endpoints mix http:// and https://")
        }
        if secure > 0 {
            configuration.tlsConfiguration = try Self.tlsConfiguration(security)
        } else if security.usesTLS {
            throw EtcdError(.badArgument, "etcd TLS files are given but the endpoints are http://, not https://")
        }
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The TLS settings for `https://` members: `security`'s trust roots
    /// (the system's when none) and its client certificate, if any.
    static func tlsConfiguration(_ security: EtcdSecurity) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let roots = security.trustRootsPath {
            guard FileManager.default.isReadableFile(atPath: roots) else {
                throw EtcdError(.badArgument, "etcd trust roots \(roots) cannot be read")
            }
            tls.trustRoots = .file(roots)
        }
        switch (security.certificatePath, security.keyPath) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            } catch {
                throw EtcdError(.badArgument, "etcd client certificate \(certificate) cannot be read: \(error)")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw EtcdError(.badArgument, "etcd client key \(key) cannot be read: \(error)")
            }
        default:
            throw EtcdError(.badArgument, "an etcd client certificate needs both its certificate and its key file")
        }
        return tls
    }

    /// Closes the client's connections; call once, after its last call returned.
    public func shutdown() async {
        try? await http.shutdown()
    }

    static func checked(_ endpoint: String) throws -> String {
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        guard let url = URL(string: trimmed), url.scheme == "http" || url.scheme == "https", url.host != nil,
            url.port != nil, url.path.isEmpty
        else {
            throw EtcdError(
                .badArgument, "etcd endpoint \"\(endpoint.prefix(200))\" is not http://HOST:PORT or https://HOST:PORT")
        }
        return trimmed
    }

    /// Posts `body` to `path` on the members in turn until one answers with
    /// a success, and returns the answer's bytes.
    ///
    /// - Parameter timeout: one try's limit; ``Options/perTryTimeout`` when nil.
    ///   `authenticated` false sends no token (the authentication itself).
    func call(
        _ path: String, _ body: [String: Any], timeout: Duration? = nil, authenticated: Bool = true
    ) async throws -> Data {
        let payload = try JSONSerialization.data(withJSONObject: body)
        var lastFailure = "no try made"
        for attempt in 0..<max(options.tries, 1) {
            if attempt > 0, attempt % endpoints.count == 0 { try await Task.sleep(for: options.retryPause) }
            try Task.checkCancellation()
            let index = preferred.withLock { ($0 + attempt) % endpoints.count }
            let endpoint = endpoints[index]
            do {
                let token = authenticated ? try await currentToken() : nil
                let response = try await http.execute(
                    request(endpoint + path, payload, token: token),
                    timeout: .nanoseconds(Int64(nanoseconds(timeout))))
                let data = Data(buffer: try await response.body.collect(upTo: options.maxResponseBytes))
                if response.status.code >= 200, response.status.code < 300 {
                    preferred.withLock { $0 = index }
                    return data
                }
                let message = String(decoding: data.prefix(300), as: UTF8.self)
                lastFailure = "\(endpoint) answered \(response.status.code): \(message)"
                if response.status.code == 401, let token {
                    // The token is unknown here (expired, or the member restarted): authenticate again.
                    forget(token)
                    continue
                }
                if response.status.code < 500 {
                    let compacted = message.contains("required revision has been compacted")
                    throw EtcdError(compacted ? .compacted : .status, "\(path): \(lastFailure)")
                }
            } catch let error as EtcdError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastFailure = "\(endpoint): \(error)"
            }
        }
        throw EtcdError(.unreachable, "\(path): no member answered in \(options.tries) tries; last: \(lastFailure)")
    }

    func request(_ url: String, _ payload: Data, token: String?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Grpc-Metadata-hasleader", value: "true")
        if let token { request.headers.add(name: "Authorization", value: token) }
        request.body = .bytes(ByteBuffer(data: payload))
        return request
    }

    func nanoseconds(_ timeout: Duration?) -> Int64 {
        let duration = timeout ?? options.perTryTimeout
        return duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
