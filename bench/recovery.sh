#!/usr/bin/env bash
# Point-in-time recovery figures (the retention issue's note): journal bytes per written byte, export of a view
# and rollback to a tag in MB/s, next to a plain sequential copy (+ fsync) of the same 64 MiB target in the same
# run. Streams 256 MiB of 64 KiB writes through a real in-process agent. Needs the built jar:
#   mvn -q -B -DskipTests package && bench/recovery.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=agent/target/mtagent.jar
[ -f "$jar" ] || { echo "build first: mvn -q -B -DskipTests package" >&2; exit 2; }
work="${1:-$(mktemp -d)}"
out="$(mktemp -d)"
javac -d "$out" -cp "$jar" bench/recovery/RecoveryBench.java
java -cp "$jar:$out" RecoveryBench "$work/run" 2>/dev/null | grep -v '^INFO\|^WARN'
rm -rf "$out" "$work/run"
