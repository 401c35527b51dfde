#!/usr/bin/env bash
# Ingest benchmark: the issue-8 targets in one go, each measured RUNS times (median and spread).
#   - mtagent bench --spawn against a child-JVM agent (TLS, file-backed disks in WORKDIR), with the fio baseline of
#     the same pattern in the same run (retention on: append + before-image read + journal append + target write,
#     retention off: append + target write, the agent's fdatasync cadence);
#   - the peer: nbdcopy pushing the same kind of bytes into an nbdkit file target over TLS-PSK on loopback;
#   - rand-4k at half of its maximum rate for the ack latency, many-disks (256) for memory and fairness.
#
#   bench/ingest.sh [RUNS] [SECONDS] [WORKDIR]        defaults: 3 12 ./target/bench-ingest
#   RESTART_SECONDS=60 bench/ingest.sh ...            also the kill -9 restart with a journal filled for 60 s
#
# Installs fio, nbdkit, libnbd-bin (nbdcopy), jq and python3 with apt-get when missing (as root), builds the jar
# when missing. Writes every JSON summary and a results table to WORKDIR/results-<time>/. Keep the machine quiet:
# other load shows up directly in the figures (the table prints the spread).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SECS=${2:-12}
WORK=${3:-target/bench-ingest}
PEER_MIB=${PEER_MIB:-1024}

need=""
for t in fio:fio nbdkit:nbdkit nbdcopy:libnbd-bin jq:jq python3:python3; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing:$need"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need) \
      >/tmp/mtagent-bench-apt.log 2>&1 || { echo "apt-get failed, see /tmp/mtagent-bench-apt.log" >&2; exit 2; }
  else
    echo "missing:$need — install them (apt-get install$need) or run as root" >&2; exit 2
  fi
fi
. bench/results-dir.sh # sets jar, WORK (absolute) and OUT

bench() { # NAME RUN ARGS... : one mtagent bench --spawn run, JSON kept
  local name=$1 run=$2; shift 2
  echo "== $name run $run: mtagent bench --spawn $*" >&2
  java -jar "$jar" bench --spawn --dir "$WORK/agent" --seconds "$SECS" --json "$@" >"$OUT/$name-$run.json" \
    2>"$OUT/$name-$run.log" || { echo "   failed, see $OUT/$name-$run.log" >&2; tail -3 "$OUT/$name-$run.log" >&2; }
  rm -rf "$WORK/agent"
}

peer() { # RUN : nbdcopy -> nbdkit (file plugin) over TLS-PSK on loopback, PEER_MIB of the bench's kind of data
  local run=$1 dir="$WORK/peer"
  mkdir -p "$dir"
  printf 'bench:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/keys.psk"
  chmod 600 "$dir/keys.psk"
  # Same data as the bench's --compressibility 0.5: each 4 KiB block is 2 KiB of zeros and 2 KiB random.
  [ -f "$dir/src.img" ] || python3 -c "
import os,sys
with open('$dir/src.img','wb') as f:
    for _ in range($PEER_MIB*256): f.write(bytes(2048)+os.urandom(2048))"
  rm -f "$dir/dst.img"; truncate -s "${PEER_MIB}M" "$dir/dst.img"
  local port; port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  rm -f "$dir/nbdkit.pid"
  # nbdkit writes the pid file once it listens.
  nbdkit -f -i 127.0.0.1 -p "$port" -P "$dir/nbdkit.pid" --tls=require --tls-psk="$dir/keys.psk" file "$dir/dst.img" &
  local pid=$!
  for _ in $(seq 100); do [ -s "$dir/nbdkit.pid" ] && break; sleep 0.1; done
  local t0 t1; t0=$(date +%s.%N)
  nbdcopy --flush "$dir/src.img" "nbds://bench@127.0.0.1:$port/?tls-psk-file=$dir/keys.psk"
  t1=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import json;print(json.dumps({'tool':'nbdcopy $(nbdcopy --version | head -1 | cut -d' ' -f2) -> nbdkit $(nbdkit --version | cut -d' ' -f2) file, TLS-PSK','bytes':$PEER_MIB*1048576,'seconds':$t1-$t0,'MBps':$PEER_MIB*1048576/1e6/($t1-$t0)}))" \
    >"$OUT/peer-$run.json"
  rm -f "$dir/dst.img"
}

for run in $(seq "$RUNS"); do
  bench ret-rand64k "$run" --retention on --profile rand-64k --disks 4 --compressibility 0
  bench off-rand64k "$run" --retention off --profile rand-64k --disks 4 --compressibility 0
  bench off-seq1m "$run" --retention off --profile seq-1m --compressibility 0
  bench tls-seq1m-lz4 "$run" --retention off --profile seq-1m --compressibility 0.5 --baseline none
  peer "$run"
  bench rand4k-max "$run" --retention off --profile rand-4k --compressibility 0 --baseline none
  max=$(jq -r '.received.MBps // 0' "$OUT/rand4k-max-$run.json" 2>/dev/null || echo 0)
  bench rand4k-half "$run" --retention off --profile rand-4k --compressibility 0 --baseline none \
    --rate "$(python3 -c "print(max(0.5, $max/2))")"
  bench many-disks "$run" --retention on --profile many-disks --disks 256 --connections 4 --baseline none
  # The same with the heap an operator would give 256 small disks (MTAGENT_HEAP=256m): the RSS target.
  bench many-disks-256m "$run" --retention on --profile many-disks --disks 256 --connections 4 --baseline none \
    --agent-java-opt=-Xms256m --agent-java-opt=-Xmx256m --agent-java-opt=-XX:MaxDirectMemorySize=512m
done
if [ "${RESTART_SECONDS:-0}" -gt 0 ]; then # optional: kill -9 restart with a large journal (long: fills it first)
  bench/restart.sh "$RESTART_SECONDS" "$WORK/restart" | tee "$OUT/restart.txt"
  rm -rf "$WORK/restart"
fi
rm -rf "$WORK/peer"

SECS=$SECS python3 - "$OUT" "$RUNS" <<'PY' | tee "$OUT/summary.txt"
import json, statistics, sys, glob, os
out, runs = sys.argv[1], int(sys.argv[2])
def load(name):
    docs = []
    for r in range(1, runs + 1):
        try:
            docs.append(json.load(open(f"{out}/{name}-{r}.json")))
        except Exception:
            docs.append(None)
    return docs
def get(d, path):
    for p in path.split("."):
        if d is None: return None
        d = d.get(p)
    return d
def row(label, values, target, better):
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        print(f"{label:58s} no data"); return
    med = statistics.median(vals)
    ok = (med >= target) if better == ">=" else (med <= target)
    print(f"{label:58s} median {med:9.3f}  min {min(vals):9.3f}  max {max(vals):9.3f}  target {better} {target}  "
          f"{'MET' if ok else 'NOT MET'}  runs {[round(v, 3) for v in vals]}")
def info(label, values):
    """A figure with no target of its own (the RSS target is the 256 MiB-heap row: a 1 GiB heap may fill)."""
    vals = [v for v in values if isinstance(v, (int, float))]
    if not vals:
        print(f"{label:58s} no data"); return
    print(f"{label:58s} median {statistics.median(vals):9.3f}  min {min(vals):9.3f}  max {max(vals):9.3f}  "
          f"(no target: for reference)  runs {[round(v, 3) for v in vals]}")
ret, off64, off1m = load("ret-rand64k"), load("off-rand64k"), load("off-seq1m")
tls, peer, half, many = load("tls-seq1m-lz4"), load("peer"), load("rand4k-half"), load("many-disks")
many256 = load("many-disks-256m")
m4 = load("rand4k-max")
print(f"mtagent bench, {runs} runs, {os.environ.get('SECS', '')} s each; baseline tool: "
      f"{get(next((d for d in ret if d), None), 'baseline.tool')}")
row("retention on, 4 disks, rand-64k: applied/fio", [get(d, "ratio.appliedOverBaseline") for d in ret], 0.8, ">=")
row("retention on, 4 disks, rand-64k: received/fio", [get(d, "ratio.receivedOverBaseline") for d in ret], 0.8, ">=")
row("retention off, 4 disks, rand-64k: applied/fio", [get(d, "ratio.appliedOverBaseline") for d in off64], 0.8, ">=")
row("retention off, 1 disk, seq-1m: applied/fio", [get(d, "ratio.appliedOverBaseline") for d in off1m], 0.8, ">=")
row("TLS seq-1m retention off: agent received / nbdcopy-nbdkit",
    [get(t, "received.MBps") / get(p, "MBps") if t and p else None for t, p in zip(tls, peer)], 2, ">=")
row("rand-4k ack p99 ms at half max rate", [get(d, "ackLatencyMs.p99") for d in half], 20, "<=")
row("CPU s per GB, TLS + LZ4 (0.5), retention off, seq-1m", [get(d, "agent.cpuSecondsPerGB") for d in tls], 2, "<=")
row("many-disks 256: every write acked (1 = yes)", [1 if get(d, "allAcked") else 0 for d in many if d], 1, ">=")
info("many-disks 256, the launcher's 1 GiB heap: peak RSS MiB", [get(d, "agent.peakRssMiB") for d in many])
row("many-disks 256, 256 MiB heap: agent peak RSS MiB", [get(d, "agent.peakRssMiB") for d in many256], 512, "<=")
row("many-disks 256: slowest disk / median", [get(d, "perDiskMBps.minOverMedian") for d in many], 0.5, ">=")
print("figures (medians):")
for name, docs in [("ret-rand64k", ret), ("off-rand64k", off64), ("off-seq1m", off1m), ("tls-seq1m-lz4", tls),
                   ("rand4k-max", m4), ("rand4k-half", half), ("many-disks", many)]:
    def med(path):
        v = [get(d, path) for d in docs if d and isinstance(get(d, path), (int, float))]
        return round(statistics.median(v), 1) if v else None
    print(f"  {name:14s} received {med('received.MBps')} MB/s ({med('received.writesPerSecond')} w/s), applied "
          f"{med('applied.MBps')} MB/s, baseline {med('baseline.MBps')} MB/s, ack p50/p99/p99.9 "
          f"{med('ackLatencyMs.p50')}/{med('ackLatencyMs.p99')}/{med('ackLatencyMs.p999')} ms, CPU s/GB "
          f"agent {med('agent.cpuSecondsPerGB')} + load generator {med('loadGenerator.cpuSecondsPerGB')}"
          f" (baseline {med('baseline.cpuSecondsPerGB')}), peak RSS {med('agent.peakRssMiB')} MiB")
pv = [get(p, "MBps") for p in peer if p]
print(f"  {'peer':14s} nbdcopy->nbdkit TLS-PSK {round(statistics.median(pv), 1) if pv else None} MB/s")
PY
echo "results in $OUT"
