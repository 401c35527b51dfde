#!/usr/bin/env bash
# A/B of the pipelined applier (apply.pipelined=true, the default) against batches one after another (false):
# rand-64k on 4 disks with retention on and off, alternating, RUNS times each, every run with its fio baseline.
#
#   bench/pipeline-ab.sh [RUNS] [SECONDS] [WORKDIR]     defaults: 3 12 ./target/bench-pipeline
#
# Needs the jar (mvn -B -DskipTests package) and fio (else the plain Java writer is the baseline, named as such).
# Prints one line per run and the medians; the JSON summaries stay in WORKDIR/results-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-12}
WORK=${3:-target/bench-pipeline}
. bench/results-dir.sh # sets jar, WORK (absolute) and OUT
for run in $(seq 1 "$RUNS"); do
  for ret in on off; do
    for pipe in true false; do
      name="$ret-pipelined-$pipe-$run"
      java -jar "$jar" bench --spawn --dir "$WORK/agent" --seconds "$SECS" --json --profile rand-64k --disks 4 \
        --compressibility 0 --retention "$ret" --set "apply.pipelined=$pipe" >"$OUT/$name.json" 2>"$OUT/$name.log" \
        || { echo "$name failed, see $OUT/$name.log" >&2; tail -3 "$OUT/$name.log" >&2; }
      rm -rf "$WORK/agent"
      python3 bench/run-line.py "$OUT/$name.json" "$name"
    done
  done
done | tee "$OUT/runs.txt"
python3 - "$OUT" <<'PY'
import json, glob, statistics, sys, collections
by = collections.defaultdict(list)
for f in glob.glob(sys.argv[1] + "/*.json"):
    name = f.rsplit("/", 1)[1].rsplit("-", 1)[0]
    d = json.load(open(f))
    by[name].append((d['ratio']['appliedOverBaseline'], d['ratio']['receivedOverBaseline'], d['applied']['MBps']))
for name in sorted(by):
    a = sorted(x[0] for x in by[name]); r = sorted(x[1] for x in by[name])
    print(f"{name:22s} applied/baseline median {statistics.median(a):.3f} ({a[0]:.3f}-{a[-1]:.3f})"
          f"  received/baseline median {statistics.median(r):.3f}  n={len(a)}")
PY
