import ChunkStore

extension ChainTimeBounds {
    /// Throws when a signing history's metadata reaches past the bounds,
    /// naming the field, its value and the bound.
    func check(_ metadata: SigningHistory.Metadata) throws {
        let remedy = "Import with force (--force)"
        try checkWatermark(
            metadata.lowWatermark, field: "the signing history's low_watermark",
            consequence: "importing it would collect everything expiring before it", remedy: remedy)
        try checkLowSlot(
            metadata.lowSlot, field: "the signing history's low_slot",
            consequence: "importing it would forbid signing below it", remedy: remedy)
    }
}
