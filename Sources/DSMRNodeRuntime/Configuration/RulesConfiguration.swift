import DSMR

/// `Rules` as JSON: every field optional, defaulting to
/// ``RulesConfiguration/devnet``'s value; unknown keys are refused.
public struct RulesConfiguration: Codable, Sendable, Hashable {
    /// `Rules.slotDuration`, in the same unit.
    public var slotDuration: Int64?
    /// `Rules.chunkLifetime`, in the same unit.
    public var chunkLifetime: Int64?
    /// `Rules.maxFutureSlots`, in the same unit.
    public var maxFutureSlots: UInt64?
    /// `Rules.maxChunkBytes`, in the same unit.
    public var maxChunkBytes: Int?
    /// `Rules.rateLimitWindow`, in the same unit.
    public var rateLimitWindow: UInt64?
    /// `Rules.maxUnitsPerWindow`, in the same unit.
    public var maxUnitsPerWindow: Dimensions?
    /// The quorum as `[numerator, denominator]`.
    public var quorum: [UInt64]?
    /// `Rules.epochDuration`, in the same unit.
    public var epochDuration: Int64?
    /// `Rules.maxBlockSkew`, in the same unit.
    public var maxBlockSkew: Int64?
    /// `Rules.validityWindow`, in the same unit.
    public var validityWindow: Int64?

    /// No field set: the devnet's rules.
    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case slotDuration, chunkLifetime, maxFutureSlots, maxChunkBytes, rateLimitWindow, maxUnitsPerWindow
        case quorum, epochDuration, maxBlockSkew, validityWindow
    }

    public init(from decoder: any Decoder) throws {
        try refuseUnknownKeys(decoder, allowed: CodingKeys.allCases.map(\.rawValue), in: "rules")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        slotDuration = try container.decodeIfPresent(Int64.self, forKey: .slotDuration)
        chunkLifetime = try container.decodeIfPresent(Int64.self, forKey: .chunkLifetime)
        maxFutureSlots = try container.decodeIfPresent(UInt64.self, forKey: .maxFutureSlots)
        maxChunkBytes = try container.decodeIfPresent(Int.self, forKey: .maxChunkBytes)
        rateLimitWindow = try container.decodeIfPresent(UInt64.self, forKey: .rateLimitWindow)
        maxUnitsPerWindow = try container.decodeIfPresent(Dimensions.self, forKey: .maxUnitsPerWindow)
        quorum = try container.decodeIfPresent([UInt64].self, forKey: .quorum)
        epochDuration = try container.decodeIfPresent(Int64.self, forKey: .epochDuration)
        maxBlockSkew = try container.decodeIfPresent(Int64.self, forKey: .maxBlockSkew)
        validityWindow = try container.decodeIfPresent(Int64.self, forKey: .validityWindow)
    }

    /// The devnet's rules: quarter-second slots, chunks of up to 256 KiB that
    /// live 10 s, a validity window of twice that, generous rate limits, and
    /// blocks up to 5 s after their parent.
    public static let devnet = Rules(
        slotDuration: 250, chunkLifetime: 10_000, maxFutureSlots: 4, maxChunkBytes: 256 << 10, maxChunksPerSlot: 1,
        rateLimitWindow: 40,
        maxUnitsPerWindow: Dimensions(
            bandwidth: 1 << 40, compute: 1 << 40, storageRead: 1 << 40, storageAllocate: 1 << 40,
            storageWrite: 1 << 40),
        epochDuration: 3_600_000, maxBlockSkew: 5_000, validityWindow: 20_000)

    /// The rules these fields give over ``devnet``, validated.
    ///
    /// - Throws: ``ConfigurationError`` naming the rule at fault.
    public func rules() throws -> Rules {
        var rules = Self.devnet
        if let slotDuration { rules.slotDuration = slotDuration }
        if let chunkLifetime { rules.chunkLifetime = chunkLifetime }
        if let maxFutureSlots { rules.maxFutureSlots = maxFutureSlots }
        if let maxChunkBytes { rules.maxChunkBytes = maxChunkBytes }
        if let rateLimitWindow { rules.rateLimitWindow = rateLimitWindow }
        if let maxUnitsPerWindow { rules.maxUnitsPerWindow = maxUnitsPerWindow }
        if let quorum {
            guard quorum.count == 2 else {
                throw ConfigurationError("rules.quorum must be [numerator, denominator], has \(quorum.count) numbers")
            }
            do {
                rules.quorum = try Quorum(numerator: quorum[0], denominator: quorum[1])
            } catch {
                throw ConfigurationError("rules.quorum: \(error)")
            }
        }
        if let epochDuration { rules.epochDuration = epochDuration }
        if let maxBlockSkew { rules.maxBlockSkew = maxBlockSkew }
        if let validityWindow { rules.validityWindow = validityWindow }
        do {
            try rules.validate()
        } catch {
            throw ConfigurationError("rules: \(error)")
        }
        // While chain time lags the clock, chunks are built to expire at most
        // validityWindow after chain time, and the next block may lie
        // maxBlockSkew after it: with less than a slot between the two, no
        // block could carry a new chunk and chain time would never move.
        guard rules.validityWindow >= rules.maxBlockSkew + rules.slotDuration else {
            throw ConfigurationError(
                "rules: validityWindow (\(rules.validityWindow) ms) must be at least maxBlockSkew "
                    + "(\(rules.maxBlockSkew) ms) plus slotDuration (\(rules.slotDuration) ms), or a chain whose "
                    + "time lags the clock could never carry a new chunk")
        }
        return rules
    }
}
