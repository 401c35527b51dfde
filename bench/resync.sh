#!/usr/bin/env bash
# Resync figures (issue 10's note): SHA-256 hashing through CHECKSUM_REQUEST next to a plain sequential read of
# the same target (and dd with O_DIRECT), a 1 % differential resync's bytes on the wire, and one disk's live-write
# throughput alone vs while another disk resyncs (rate-limited, then unlimited). In-process agent, real TLS.
#   mvn -q -B -DskipTests package && bench/resync.sh [WORKDIR] [DISK_BYTES] [SECONDS] [RESYNC_RATE_BYTES_PER_S] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=agent/target/mtagent.jar
[ -f "$jar" ] || { echo "build first: mvn -q -B -DskipTests package" >&2; exit 2; }
work="${1:-$(mktemp -d)}"
size="${2:-268435456}"
secs="${3:-8}"
rate="${4:-33554432}"
rounds="${5:-3}"
out="$(mktemp -d)"
javac -d "$out" -cp "$jar" bench/resync/ResyncBench.java
java -cp "$jar:$out" ResyncBench "$work/run" "$size" "$secs" "$rate" "$rounds" 2>/dev/null | grep -v '^INFO\|^WARN\|Z INFO\|Z WARN'
if command -v dd >/dev/null && [ -f "$work/run/run1/d0.img" ]; then
  echo -n "dd of the same target, 1 MiB O_DIRECT reads: "
  dd if="$work/run/run1/d0.img" of=/dev/null bs=1M iflag=direct 2>&1 | tail -1
fi
rm -rf "$out" "$work/run"
