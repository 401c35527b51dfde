#!/usr/bin/env bash
# NBD-source figures (issue 26), all in one run on the same machine, RUNS times, medians and spread:
#   1. a changed-block cycle (send --bitmap of a QEMU dirty bitmap through qemu-nbd) next to a full-compare send
#      (send of the same image as a raw file: every chunk read and hashed on both sides) of the same 1 GiB disk with
#      the same ~1 % of scattered 64 KiB writes; target: bitmap time <= 5 % of the full compare;
#   2. the NBD read rate of a full send (send --full of the fully allocated export) next to nbdcopy of the same
#      export into a file; target: send >= 0.8 x nbdcopy. A full send of the same image from a local raw file
#      (same agent path, no NBD) is printed beside them: it tells whether NBD reading or the agent path limits.
# "send s" is the send phase the summary reports (--json "seconds": connected, streams open, until the last end
# marker is acknowledged); "wall s" is the whole process (JVM start, TLS, libnbd connect included).
# The agent is a real one (java -jar mtagent.jar run) with retention off; the disks are files in WORKDIR.
#   mvn -q -B -DskipTests package && bench/nbd-send.sh [RUNS] [WORKDIR] [DISK_MIB] [DIRTY_WRITES]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jar=$root/agent/target/mtagent.jar
[ -f "$jar" ] || { echo "build first: mvn -q -B -DskipTests package" >&2; exit 2; }
for t in qemu-img qemu-io qemu-nbd nbdcopy python3; do
  command -v "$t" >/dev/null || { echo "needs $t (apt-get install qemu-utils libnbd-bin python3)" >&2; exit 2; }
done
runs=${1:-5}
work=${2:-$(mktemp -d)}
mib=${3:-1024}
writes=${4:-$((mib * 1024 / 64 / 100))} # 1 % of the disk in 64 KiB writes
size=$((mib << 20))
mkdir -p "$work"
work=$(cd "$work" && pwd)
log=$work/bench.log
: >"$log"
java_opts=(-Xmx512m -XX:+UseParallelGC)
mt() { java "${java_opts[@]}" -jar "$jar" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

conf=$work/agent.properties
data_port=$(free_port)
cat >"$conf" <<CONF
data.listen=127.0.0.1:$data_port
control.listen=127.0.0.1:$(free_port)
state.dir=$work/state
cache.dir=$work/cache
disk.bitmap.id=bench-bitmap
disk.bitmap.path=$work/t-bitmap.img
disk.bitmap.size=$size
disk.compare.id=bench-compare
disk.compare.path=$work/t-compare.img
disk.compare.size=$size
disk.full.id=bench-full
disk.full.path=$work/t-full.img
disk.full.size=$size
CONF
pass=$work/pass.txt
echo "bench passphrase $RANDOM$RANDOM" >"$pass"
mt passphrase set --config "$conf" --from-file "$pass" >>"$log" 2>&1
java "${java_opts[@]}" -jar "$jar" run --config "$conf" >>"$log" 2>&1 &
agent_pid=$!
qemu_pid=
cleanup() {
  [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
  kill "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$data_port),1)" 2>/dev/null && break
  sleep 0.5
done
fingerprint=$(mt cert --config "$conf" 2>>"$log" | grep -oE '([0-9A-F]{2}:){31}[0-9A-F]{2}' | head -1)
send() { mt send --agent "127.0.0.1:$data_port" --fingerprint "$fingerprint" --passphrase-file "$pass" --json "$@"; }

# Times one command: prints "WALL_SECONDS" and leaves its stdout in $work/out.json.
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$work/out.json" 2>>"$log"
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}
field() { python3 -c "import json,sys; d=json.load(open('$work/out.json')); print($1)"; }

serve() { # serve IMAGE [BITMAP]: qemu-nbd read-only on a Unix socket
  rm -f "$work/nbd.sock"
  qemu-nbd --read-only --persistent --shared=4 --format=qcow2 --socket="$work/nbd.sock" ${2:+--bitmap="$2"} "$1" &
  qemu_pid=$!
  for _ in $(seq 1 100); do [ -S "$work/nbd.sock" ] && break; sleep 0.05; done
}
unserve() { kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=; }
uri="nbd+unix:///?socket=$work/nbd.sock"

echo "setup: ${mib} MiB of random data, a qcow2 image with dirty bitmap b0, baselines of every target" >&2
head -c "$size" /dev/urandom >"$work/base.raw"
qemu-img convert -O qcow2 "$work/base.raw" "$work/vm.qcow2"
rm -f "$work/base.raw"
qemu-img bitmap --add --enable "$work/vm.qcow2" b0
qemu-img bitmap --add --enable "$work/vm.qcow2" b1
qemu-img convert -O raw "$work/vm.qcow2" "$work/snap.raw"
serve "$work/vm.qcow2" b0
send --disk bench-bitmap --source "$uri" --bitmap b0 --disk bench-full --source "$uri" --name base >/dev/null 2>>"$log"
unserve
qemu-img bitmap --remove "$work/vm.qcow2" b0
send --disk bench-compare --source "$work/snap.raw" --name base >/dev/null 2>>"$log"

printf '%-4s %-9s %8s %8s %10s %10s | %8s %8s %10s | %9s %9s %9s %9s %9s\n' run dirty bitmap_s bm_wall compare_s \
  cmp_wall ratio_s ratio_w bm_sent full_MBps copy_MBps ratio full_wall file_MBps >&2
results=$work/results.txt
: >"$results"
for r in $(seq 1 "$runs"); do
  # ~1 % of the disk in 64 KiB writes at scattered 64 KiB-aligned offsets (one dirty granule each).
  cmds=()
  for i in $(seq 0 $((writes - 1))); do
    slot=$((size / writes / 65536))
    off=$(((i * slot + RANDOM % (slot > 1 ? slot - 1 : 1)) * 65536))
    cmds+=(-c "write -P $((RANDOM % 250 + 1)) $off 64k")
  done
  qemu-io -f qcow2 "${cmds[@]}" "$work/vm.qcow2" >/dev/null
  next=$((r + 1))
  qemu-img bitmap --add --enable "$work/vm.qcow2" "b$next"
  qemu-img convert -O raw "$work/vm.qcow2" "$work/snap.raw"
  serve "$work/vm.qcow2" "b$r"
  order=(bitmap compare)
  [ $((r % 2)) -eq 0 ] && order=(compare bitmap)
  for m in "${order[@]}"; do
    if [ "$m" = bitmap ]; then
      bm_wall=$(timed send --disk bench-bitmap --source "$uri" --bitmap "b$r" --name "c$r")
      bm_s=$(field "d['seconds']")
      bm_sent=$(field "d['sentBytes']")
      bm_dirty=$(field "d['disks'][0]['dirtyBytes']")
    else
      cmp_wall=$(timed send --disk bench-compare --source "$work/snap.raw" --name "c$r")
      cmp_s=$(field "d['seconds']")
    fi
  done
  unserve
  qemu-img bitmap --remove "$work/vm.qcow2" "b$r"
  # Full read of the export: send --full vs nbdcopy to a file, alternating which goes first.
  serve "$work/vm.qcow2"
  order=(send copy file)
  [ $((r % 2)) -eq 0 ] && order=(file copy send)
  for m in "${order[@]}"; do
    if [ "$m" = file ]; then
      timed send --disk bench-full --source "$work/snap.raw" --full --name "g$r" >/dev/null
      file_mbps=$(field "d['disks'][0]['bytesPerSecond'] / 1e6")
    elif [ "$m" = send ]; then
      full_wall=$(timed send --disk bench-full --source "$uri" --full --name "f$r")
      full_mbps=$(field "d['disks'][0]['bytesPerSecond'] / 1e6")
    else
      rm -f "$work/copy.raw"
      copy_wall=$(timed nbdcopy "$uri" "$work/copy.raw")
      copy_mbps=$(python3 -c "print($size / $copy_wall / 1e6)")
      rm -f "$work/copy.raw"
    fi
  done
  unserve
  line=$(python3 -c "
bs, bw, cs, cw = $bm_s, $bm_wall, $cmp_s, $cmp_wall
f, c = $full_mbps, $copy_mbps
print(f'$r {$bm_dirty} {bs:.3f} {bw:.3f} {cs:.3f} {cw:.3f} {bs/cs:.4f} {bw/cw:.4f} {$bm_sent} {f:.1f} {c:.1f} {f/c:.3f} $full_wall {$file_mbps:.1f}')")
  echo "$line" >>"$results"
  read -r a b c d e f g h i j k l m n <<<"$line"
  printf '%-4s %-9s %8s %8s %10s %10s | %8s %8s %10s | %9s %9s %9s %9s %9s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" \
    "$i" "$j" "$k" "$l" "$m" "$n" >&2
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(i): return [float(r[i]) for r in rows]
def show(name, i, target=None, fmt="{:.3f}"):
    v = col(i)
    med = statistics.median(v)
    verdict = "" if target is None else ("  MET" if target(med) else "  NOT MET")
    print(f"{name:44s} median {fmt.format(med)}  spread {fmt.format(min(v))}..{fmt.format(max(v))}{verdict}")
print(f"runs: {len(rows)}; dirty bytes per cycle (bitmap) median {statistics.median(col(1)):.0f}")
show("bitmap cycle, send phase (s)", 2)
show("full-compare send, send phase (s)", 4)
show("bitmap / full compare, send phase (<= 0.05)", 6, lambda m: m <= 0.05, "{:.4f}")
show("bitmap / full compare, whole process (<= 0.05)", 7, lambda m: m <= 0.05, "{:.4f}")
show("full send NBD read rate (MB/s)", 9, None, "{:.1f}")
show("nbdcopy to a file (MB/s)", 10, None, "{:.1f}")
show("full send / nbdcopy (>= 0.8)", 11, lambda m: m >= 0.8)
show("full send of the same image from a raw file (MB/s)", 13, None, "{:.1f}")
PY
