@_spi(Fuzzing) import ChunkStore
import FuzzSupport

// Every typed key and value decoder of the store's tables (the ones `load`
// checks each row with) on arbitrary bytes, each in a block of exactly its
// size: never a read past it, and whatever decodes encodes to bytes that
// decode and encode again to the same bytes.
// Input: byte 0 picks the table (below the table count) or a typed `meta`
// value; byte 1 is the key's length; the rest is the key, then the value.
fuzz { input in
    guard input.count >= 2 else { return }
    let selector = Int(input[0])
    let body = input.dropFirst(2)
    let split = body.startIndex + min(Int(input[1]), body.count)
    _ = withExactCopy(body[..<split]) { key in
        withExactCopy(body[split...]) { value in
            if selector < RowFuzzing.tableCount {
                RowFuzzing.roundTrip(table: selector, key: key, value: value)
            } else {
                RowFuzzing.roundTripMeta(field: selector % RowFuzzing.metaCount, value: value)
            }
        }
    }
}
