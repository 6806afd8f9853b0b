#!/usr/bin/env bash
# Runs the fault campaign: a devnet of real processes on the network-namespace
# testbed taken through seeded rounds of faults (kills, whole-network crashes,
# pauses, dropped packets, delay, a full disk, damaged stores, late joiners),
# each round checked before the next. Needs root.
#
#   Tools/campaign/run.sh ROUNDS [SEED] [FAULTS]
#
# ROUNDS: how many rounds (eight is one of each fault).
# SEED: replays a campaign's decisions (a random one is printed otherwise).
# FAULTS: comma-separated fault names (killOne, killAll, pause, dropPackets,
#         delay, fullDisk, damage, lateJoin) to draw from; all when omitted.
# The table of what the campaign survived is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: $0 ROUNDS [SEED] [FAULTS]" >&2
    exit 2
fi
export DSMR_CAMPAIGN_ROUNDS="$1"
if [ $# -ge 2 ]; then export DSMR_CAMPAIGN_SEED="$2"; fi
if [ $# -ge 3 ]; then export DSMR_CAMPAIGN_FAULTS="$3"; fi

swift build --build-tests
swift test --skip-build --filter FaultCampaignTests
