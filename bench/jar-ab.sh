#!/usr/bin/env bash
# A/B of two builds of the agent on the same machine in the same minutes: rand-64k on 4 disks, retention on and
# off, the two jars alternating, RUNS rounds, every run with its own fio baseline. This is how a hot-path change is
# judged on a noisy box: the two builds see the same noise, and the medians are compared, not single runs.
#
#   bench/jar-ab.sh OLD.jar NEW.jar [RUNS] [SECONDS] [WORKDIR]     defaults: 3 12 ./target/bench-jar-ab
#
# Build each jar with `mvn -B -DskipTests package` on its commit and copy agent/target/mtagent.jar aside first.
# Prints one line per run and the medians; the JSON summaries stay in WORKDIR/results-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,9p "$0" >&2; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2")
RUNS=${3:-3}
SECS=${4:-12}
WORK=${5:-target/bench-jar-ab}
. bench/results-dir.sh # sets jar (unused here), WORK (absolute) and OUT
for run in $(seq 1 "$RUNS"); do
  for build in old new; do
    j=$OLD; [ "$build" = new ] && j=$NEW
    for ret in on off; do
      name="$build-$ret-$run"
      java -jar "$j" bench --spawn --dir "$WORK/agent" --seconds "$SECS" --json --profile rand-64k --disks 4 \
        --compressibility 0 --retention "$ret" >"$OUT/$name.json" 2>"$OUT/$name.log" \
        || { echo "$name failed, see $OUT/$name.log" >&2; tail -3 "$OUT/$name.log" >&2; }
      rm -rf "$WORK/agent"
      python3 bench/run-line.py "$OUT/$name.json" "$name"
    done
  done
done
python3 - "$OUT" <<'PY'
import glob, json, statistics, sys
out = sys.argv[1]
for ret in ("on", "off"):
    for build in ("old", "new"):
        runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{build}-{ret}-*.json"))]
        if not runs:
            continue
        ratio = [r["ratio"]["appliedOverBaseline"] for r in runs]
        applied = [r["applied"]["MBps"] for r in runs]
        cpu = [r["agent"]["cpuSecondsPerGB"] for r in runs]
        print(f"retention {ret:3s} {build}: applied/baseline median {statistics.median(ratio):.3f}"
              f" ({min(ratio):.3f}-{max(ratio):.3f}), applied {statistics.median(applied):.1f} MB/s,"
              f" agent {statistics.median(cpu):.2f} CPU-s/GB")
PY
echo "results in $OUT"
