#!/usr/bin/env bash
# Builds every fuzz target (decoders, key files, certificate verification, dump
# loading, store rows, network frames and handshake, control frames and
# messages, the ordering log's block attempts, the node's block verification
# and chunk server) with libFuzzer and
# AddressSanitizer and runs each for SECONDS seconds. Exits non-zero if any
# target finds a crash.
# Usage: Tools/fuzz/run.sh SECONDS [TARGET...]
set -euo pipefail

seconds=${1:?usage: $0 SECONDS [TARGET...]}
shift
cd "$(dirname "$0")"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(chunk chunk-reference signature-share chunk-certificate block dimensions-bytes dimensions-json signing-history
        key-file certificate-verify dump-load store-rows
        frame handshake control block-attempt state-sync verify-block chunk-server)
fi

swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
runtimes=("$swift_bin"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a)
runtime=${runtimes[0]}
if [ ! -f "$runtime" ]; then
    echo "libFuzzer runtime not found at $runtime" >&2
    exit 1
fi

build_args=(
    -c release --scratch-path .build-fuzz
    -Xswiftc -sanitize=address
    -Xswiftc -Xfrontend -Xswiftc "-sanitize=fuzzer,address"
    -Xlinker "$runtime" -Xlinker -lstdc++
)
for target in "${targets[@]}"; do
    swift build "${build_args[@]}" --product "fuzz-$target"
done
bin=$(swift build "${build_args[@]}" --show-bin-path)

vectors=../../Tests/DSMRTests/Vectors

# Seeds an empty corpus with the golden vector for the target's decoder.
seed_corpus() {
    local target=$1 corpus=$2 file key
    case $target in
        dimensions-bytes) file=dimensions key=fixedBytes ;;
        dimensions-json) file=dimensions key=json ;;
        signing-history)
            printf '%s' '{"metadata":{"interchange_format":"dsmr.signing-history","interchange_format_version":"1","network_id":1,"chain_id":"0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a","node_id":"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b","low_watermark":0},"data":[{"producer":"0000000000000000000000000000000000000000","signed_chunks":[{"slot":"1","chunk_id":"0000000000000000000000000000000000000000000000000000000000000000"}]}]}' > "$corpus/golden"
            return 0 ;;
        key-file)
            printf 'dsmr-ed25519-private-key-v1\n%s\n' \
                0505050505050505050505050505050505050505050505050505050505050505 > "$corpus/golden"
            return 0 ;;
        certificate-verify) file=chunk-certificate key=encoded ;;
        dump-load)
            # Odd first byte: the harness appends the checksum. Header, one `blocks` row, the end marker.
            printf '\x01DSMRDUMP\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x08%b\x00\x00\x00\x03abc\xff' \
                '\x00\x00\x00\x00\x00\x00\x00\x01' > "$corpus/golden"
            return 0 ;;
        store-rows)
            # A `signed` row: key slot 1, producer 0…; value version 1, chunk id, expiry 9000, flags 0.
            printf '\x05\x1c%b' '\x00\x00\x00\x00\x00\x00\x00\x01' > "$corpus/golden"
            head -c 20 /dev/zero >> "$corpus/golden"
            printf '\x01' >> "$corpus/golden"
            head -c 32 /dev/zero >> "$corpus/golden"
            printf '\x00\x00\x00\x00\x00\x00\x23\x28\x00' >> "$corpus/golden"
            return 0 ;;
        frame | handshake)
            # A hello from validator 1 on network 77, a 64-byte proof, then a request frame.
            printf '%s' "0000005b0101""0000004d""5a5b58595e5f5c5d52535051565754554a4b48494e4f4c4d4243404146474445" \
                "34750f98bd59fcfc946da45aaabe933be154a4b5" "$(printf '07%.0s' {1..32})" \
                "0000004102" "$(printf '01%.0s' {1..64})" "0000000d03""0000000000000001""01020304" \
                | xxd -r -p > "$corpus/golden"
            return 0 ;;
        verify-block | chunk-server)
            # The target writes valid blocks or messages signed with its fixture keys.
            DSMR_FUZZ_SEEDS="$corpus" "$bin/fuzz-$target"
            return 0 ;;
        control)
            # A status request (id 1), then an error response (id 2, code malformed, message "bad").
            printf '%s' "0000000a""0000000000000001""0101" \
                "00000012""0000000000000002""010601""00000003""626164" | xxd -r -p > "$corpus/golden"
            return 0 ;;
        block-attempt)
            # Version 1, a proposer id, a signature no key made, then the golden block.
            printf '%s' "01" "$(printf '0b%.0s' {1..20})" "$(printf '01%.0s' {1..64})" \
                "$(sed -n 's/^encoded: //p' "$vectors/block.txt")" | xxd -r -p > "$corpus/golden"
            return 0 ;;
        *) file=$target key=encoded ;;
    esac
    local value
    value=$(sed -n "s/^$key: //p" "$vectors/$file.txt" 2>/dev/null || true)
    [ -n "$value" ] || return 0
    if [ "$key" = json ]; then
        printf '%s' "$value" > "$corpus/golden"
    elif command -v xxd > /dev/null; then
        printf '%s' "$value" | xxd -r -p > "$corpus/golden"
    fi
}

failed=()
for target in "${targets[@]}"; do
    corpus="corpus-$target"
    mkdir -p "$corpus" "artifacts"
    [ -n "$(ls -A "$corpus")" ] || seed_corpus "$target" "$corpus"
    echo "== fuzz-$target for ${seconds}s"
    if ! "$bin/fuzz-$target" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target-" "$corpus"; then
        failed+=("$target")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashes found in: ${failed[*]} (inputs under Tools/fuzz/artifacts/)" >&2
    exit 1
fi
echo "no crashes in ${#targets[@]} targets"
