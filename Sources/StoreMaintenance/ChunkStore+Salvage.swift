import ChunkStore
import DSMR
import LMDB

extension ChunkStore {
    /// Salvages what the damaged store at `source` still holds into a new
    /// store at `destination` (an empty or missing directory), for a store
    /// too damaged to repair in place: LMDB refuses parts of it, or rows do
    /// not decode. The source is opened read-only and never written; a
    /// source whose writer lock is held is refused (`locked`).
    ///
    /// Each table is read row by row from its start until LMDB refuses, then
    /// from its end back to that place, then from keys halfway through what
    /// is still unread (at most `DamagedTableReader.maxProbes` times a
    /// table); the rows left unread are reported lost, as ranges of keys. Kept: chunk records that hash to their id
    /// and agree with their header, certificates that decode under their own
    /// key, every `signed` and `ledger` row that decodes, evidence that
    /// proves its conflict, blocks that decode at their height, the
    /// watermark, signing floor and tips. The chunk indexes, `signed` rows
    /// of held chunks and the ledgers are then rebuilt as `recover()` does,
    /// except that no ledger is ever lowered. When `signed` rows were lost,
    /// the new store's signing floor is raised past their slots so that no
    /// chunk can be signed for them (the watermark stays the source's);
    /// when the loss runs to the table's end the floor goes past the last
    /// slot read and the report names the first slot left unprotected
    /// (`SalvageReport.unprotectedFromSlot`).
    ///
    /// When one of the source's two meta pages is damaged and the other is
    /// sound, the store is read from a private copy of its data file (in a
    /// new directory beside `destination`, removed afterwards) in which the
    /// damaged page is rewritten from the sound one: salvage then holds the
    /// state of the sound page's transaction, and the report says which
    /// page was used (`SalvageReport.metaPageFallback`). The original is
    /// never written.
    ///
    /// The source's identity (`meta`) must be readable: it says which
    /// network, chain, node and rules the new store is for. Until salvage
    /// returns, the new store is marked unfinished and refuses to open, so a
    /// salvage that fails half-way leaves nothing a node could sign with.
    ///
    /// `isolation` says where tables are read: LMDB aborts the process on
    /// some damaged pages, so tools read in child processes
    /// (`SalvageIsolation.childProcess`), one per pass over a table; then
    /// this process never maps the source, and the identity comes from the
    /// `meta` rows a child read. `progress`, if given, hears per table how
    /// many rows have been read.
    public static func salvage(
        from source: String, into destination: String, isolation: SalvageIsolation = .inProcess,
        progress: ProgressHandler? = nil
    ) async throws -> SalvageReport {
        // Passes over a store that changes under them would miss rows.
        if let holder = WriterLock.holder(of: source) {
            throw ChunkStoreError(
                .locked, "the store at \(source) is held by a writer (\(holder)); stop it before salvaging the store")
        }
        // Outside every store's directory, new or empty (made 0700 if missing).
        _ = try OutputPlacement.newStoreDirectory(destination)
        // One damaged meta page: read a copy at the other page's transaction.
        let metaCopy = try MetaPageCopy.make(of: source, beside: destination)
        defer { metaCopy?.remove() }
        let readable = metaCopy?.directory ?? source
        if metaCopy == nil {
            // Both meta pages damaged, or the file cut short: no reader could
            // open it, so say what is wrong with it (`damaged`).
            do {
                try DataFileCheck.validate(directory: source)
            } catch {
                throw ChunkStoreError.opening(source, error)
            }
        }
        // With child readers this process never maps the source.
        let environment = isolation == .inProcess ? try StoreEnvironment.open(readable, readOnly: true) : nil
        defer { environment?.close() }
        let meta = try await StoreSalvage.readAll(
            Schema.meta, path: readable, isolation: isolation, source: environment)
        let identity = try StoreIdentity(salvaging: meta, path: source)
        var configuration = StoreConfiguration(
            path: destination, networkID: identity.networkID, chainID: identity.chainID, nodeID: identity.nodeID,
            rules: identity.rules)
        configuration.acceptedRetention = identity.acceptedRetention
        configuration.evidenceRetention = identity.evidenceRetention
        let store = try ChunkStore(configuration)
        defer { store.close() }
        var salvage = StoreSalvage(
            source: environment, path: readable, isolation: isolation, rules: identity.rules,
            limits: DecodingLimits(rules: identity.rules), domain: configuration.domain)
        salvage.progress = progress
        var report = try await salvage.run(into: store, meta: meta)
        report.metaPageFallback = metaCopy?.fallback
        return report
    }

    /// The salvage reader child's work (`SalvageIsolation.childProcess`):
    /// reads one pass over one table, named by `arguments` (`--store PATH
    /// --table NAME [--after HEX] [--before HEX] [--reverse]`, or `--count`
    /// for the number of rows LMDB says it holds), writing its rows to
    /// standard output. Returns the exit status: 0 when the pass was
    /// written (a read error ends it in-band), 1 for bad arguments or a
    /// store that does not open.
    package static func streamTableRows(arguments: [String]) -> Int32 {
        var options: [String: String] = [:]
        var reverse = false
        var count = false
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--reverse" {
                reverse = true
            } else if argument == "--count" {
                count = true
            } else if index + 1 < arguments.count, argument.hasPrefix("--") {
                options[argument] = arguments[index + 1]
                index += 1
            } else {
                return 1
            }
            index += 1
        }
        guard let path = options["--store"], let table = options["--table"], Schema.all.contains(table) else {
            return 1
        }
        let after = options["--after"].flatMap { Hex.decode($0) }
        let before = options["--before"].flatMap { Hex.decode($0) }
        if options["--after"] != nil && after == nil || options["--before"] != nil && before == nil { return 1 }
        guard let environment = try? StoreEnvironment.open(path, readOnly: true) else { return 1 }
        defer { environment.close() }
        if count {
            TableRowStream.writeCount(environment, table: table)
            return 0
        }
        TableRowStream.write(environment, table: table, after: after, before: before, reverse: reverse)
        return 0
    }
}

extension StoreIdentity {
    /// The identity in `meta` rows salvaged from the store at `path`.
    init(salvaging meta: StoreSalvage.Read, path: String) throws {
        var rows: [[UInt8]: [UInt8]] = [:]
        for row in meta.rows { rows[row.key] = row.value }
        func decode<Value: Row>(_ field: MetaField<Value>) throws -> Value {
            guard let bytes = rows[field.key.bytes] else {
                let unread = meta.gaps.map(\.reason).joined(separator: "; ")
                throw ChunkStoreError(
                    .wrongStore,
                    "\(path): meta has no readable \(field.key.name) row\(unread.isEmpty ? "" : " (\(unread))"); the store's identity is needed to salvage it"
                )
            }
            do {
                return try bytes.withUnsafeBytes { try Value(decoding: $0) }
            } catch {
                throw ChunkStoreError(.wrongStore, "\(path): meta \(field.key.name) does not decode: \(error)")
            }
        }
        let version = try decode(MetaKey.version).value
        guard Schema.readable.contains(version) else {
            throw ChunkStoreError(.wrongStore, "\(path) has schema version \(version), which this build does not read")
        }
        let retention = try decode(MetaKey.retention)
        do {
            self.init(
                networkID: try decode(MetaKey.network).value, chainID: try ChainID(bytes: decode(MetaKey.chain).bytes),
                nodeID: try NodeID(bytes: decode(MetaKey.node).bytes), rules: try decode(MetaKey.rules).rules,
                acceptedRetention: retention.accepted, evidenceRetention: retention.evidence)
        } catch let error as ChunkStoreError {
            throw error
        } catch {
            throw ChunkStoreError(.wrongStore, "\(path): meta identity does not decode: \(error)")
        }
    }
}
