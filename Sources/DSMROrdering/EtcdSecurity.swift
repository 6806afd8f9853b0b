/// How an ``EtcdClient`` proves itself to a secured etcd cluster: TLS to
/// the members (`https://` endpoints) with a client certificate, and a
/// user's name and password for etcd's role-based access control.
///
/// etcd's JSON gateway does not take a client certificate's common name
/// as the user (and refuses a request whose certificate has one), so the
/// certificate gets the client through TLS (`--client-cert-auth`) and the
/// user is proved with a password, exchanged for a token at
/// `/v3/auth/authenticate`. A client certificate must therefore have no
/// common name.
public struct EtcdSecurity: Sendable, Hashable {
    /// A user of etcd's access control.
    public struct Credentials: Sendable, Hashable {
        /// The user's name.
        public var user: String
        /// Its password.
        public var password: String

        /// A user and its password.
        public init(user: String, password: String) {
            self.user = user
            self.password = password
        }
    }

    /// PEM file of the certificate authorities the members' certificates
    /// must chain to; nil trusts the system's.
    public var trustRootsPath: String?
    /// PEM file of the client's certificate (no common name), shown to
    /// members that ask for one; nil shows none.
    public var certificatePath: String?
    /// PEM file of the client certificate's private key.
    public var keyPath: String?
    /// The user the client acts as; nil when the cluster's access control is off.
    public var credentials: Credentials?

    /// No TLS settings and no user: plain `http://` members without access control.
    public init(
        trustRootsPath: String? = nil, certificatePath: String? = nil, keyPath: String? = nil,
        credentials: Credentials? = nil
    ) {
        self.trustRootsPath = trustRootsPath
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.credentials = credentials
    }

    /// Whether any TLS setting is given.
    public var usesTLS: Bool { trustRootsPath != nil || certificatePath != nil || keyPath != nil }
}
