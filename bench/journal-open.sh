#!/usr/bin/env bash
# Restart cost of a large retention journal (the retention issue's bounded-index figures): writes GIB GiB of
# 4 KiB before-images, times opening it with its index files and with a full scan, reports the heap each holds
# and a plain sequential read of the same segments. Needs the built jar:
#   mvn -q -B -DskipTests package && bench/journal-open.sh [GIB] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=agent/target/mtagent.jar
[ -f "$jar" ] || { echo "build first: mvn -q -B -DskipTests package" >&2; exit 2; }
gib="${1:-4}"
work="${2:-$(mktemp -d)}"
out="$(mktemp -d)"
javac -d "$out" -cp "$jar" bench/recovery/JournalOpenBench.java
java -Xmx1g -cp "$jar:$out" JournalOpenBench "$work/journal" "$gib"
rm -rf "$out" "$work/journal"
