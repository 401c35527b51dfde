#!/usr/bin/env bash
# Recovery-time figures (issue 25), each a ratio against a baseline measured in the same run, for this build and
# an older one side by side, RUNS runs each (interleaved, so a noisy neighbour hits both alike), median and
# spread (min..max):
#   export_ratio    plain sequential copy + fsync time / export time (view at the half-way tag)   target >= 0.8
#   rollback_ratio  rollback to the half-way tag / plain copy of the whole disk                   target <= 2
#   hash_ratio      resync hashing MB/s (3 requests in flight) / dd O_DIRECT MB/s of the target   target >= 0.8
#   failover_ms     test-failover command -> first NBD read (qemu-io)                             target <= 1000
#   sparse_bytes    bytes allocated by the export of a 256 MiB disk holding 16 MiB of data        target <= 20 MiB
# Needs the built jar, and for the old build a jar built from another commit:
#   git archive REV | tar -x -C /tmp/old && (cd /tmp/old && mvn -q -B -DskipTests package)
#   mvn -q -B -DskipTests package && bench/recovery-time.sh [OLD_JAR] [RUNS] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
new="${NEW_JAR:-agent/target/mtagent.jar}"
old="${1:-}"
runs="${2:-3}"
work="${3:-$(mktemp -d)}"
[ -f "$new" ] || { echo "build first: mvn -q -B -DskipTests package" >&2; exit 2; }
results="$(mktemp -d)"
compile() { # jar → class dir
  local out; out="$(mktemp -d)"
  javac -nowarn -d "$out" -cp "$1" bench/recovery/RecoveryTimeBench.java
  echo "$out"
}
builds=(new)
declare -A jar=([new]="$new")
if [ -n "$old" ]; then builds=(old new); jar[old]="$old"; fi
declare -A classes
for b in "${builds[@]}"; do classes[$b]="$(compile "${jar[$b]}")"; done
echo "load before: $(uptime)"
for i in $(seq 1 "$runs"); do
  for b in "${builds[@]}"; do
    java -cp "${jar[$b]}:${classes[$b]}" RecoveryTimeBench "$work/$b" 2>/dev/null | grep -E '^[a-z_]+ ' \
      | sed "s/^/$b /" | tee -a "$results/all" | sed "s/^/run $i: /"
  done
done
echo "load after: $(uptime)"
python3 - "$results/all" <<'PY'
import sys, statistics, collections
vals = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, name, v = line.split()
    try: vals[(name, b)].append(float(v))
    except ValueError: vals[(name, b)].append(None)
names = sorted({n for n, _ in vals}, key=lambda n: ["export_ratio","rollback_ratio","hash_ratio","failover_ms","sparse_bytes"].index(n) if n in ["export_ratio","rollback_ratio","hash_ratio","failover_ms","sparse_bytes"] else 99)
print("%-16s %-6s %10s %22s" % ("figure", "build", "median", "spread (min..max)"))
for n in names:
    for b in ("old", "new"):
        xs = [x for x in vals.get((n, b), []) if x is not None]
        if (n, b) not in vals: continue
        if not xs: print("%-16s %-6s %10s" % (n, b, "n/a")); continue
        print("%-16s %-6s %10.3f %10.3f..%-10.3f" % (n, b, statistics.median(xs), min(xs), max(xs)))
PY
rm -rf "$results" "$work"
