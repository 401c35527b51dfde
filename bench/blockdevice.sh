#!/usr/bin/env bash
# Write benchmark of the native block device against FileChannel and fio, on the same file in the same run.
# Pattern (the applier's): random block-aligned overwrites of a preallocated file, fdatasync every 32 writes,
# block sizes 4 KiB, 64 KiB, 1 MiB. Not part of the test suite.
#
#   bench/blockdevice.sh [DIR] [SECONDS] [FILE_MIB]     defaults: ./target/bench 5 512
#
# Needs fio (apt-get install fio) and a built tree (it runs 'mvn -o -q -pl native test-compile').
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-target/bench}
SECS=${2:-5}
MIB=${3:-512}
mkdir -p "$DIR"
FILE="$DIR/blockdevice-bench.img"
command -v fio >/dev/null || { echo "fio is missing: apt-get install fio" >&2; exit 2; }

mvn -B -o -q -pl native test-compile
JNA=$(find ~/.m2/repository/net/java/dev/jna/jna/5.19.1 -name 'jna-5.19.1.jar' | head -1)
CP="native/target/classes:native/target/test-classes:$JNA"

# Preallocate and write the file once so every run overwrites allocated blocks (no allocation cost in any of them).
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" -ne $((MIB << 20)) ]; then
  rm -f "$FILE"
  dd if=/dev/urandom of="$FILE" bs=1M count="$MIB" oflag=direct status=none
fi
echo "file: $FILE ($MIB MiB, $(df -T "$DIR" | awk 'NR==2{print $2}')), $SECS s per run, fdatasync every 32 writes"

OUT=$(mktemp)
java -cp "$CP" io.mtagent.nativeio.bench.BlockDeviceBench "$FILE" "$SECS" 4096 65536 1048576 | tee "$OUT"
for bs in 4096 65536 1048576; do
  bw=$(fio --name=bench --filename="$FILE" --rw=randwrite --bs="$bs" --direct=1 --ioengine=psync \
      --fdatasync=32 --size="${MIB}M" --runtime="$SECS" --time_based --norandommap --randrepeat=0 \
      --output-format=json | python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]["write"]; print(j["bw_bytes"], j["iops"])')
  set -- $bw
  printf 'bs=%s impl=fio-odirect MBps=%.1f iops=%.0f\n' "$bs" "$(echo "$1/1000000" | bc -l)" "$2" | tee -a "$OUT"
done

echo
echo "ratios (MB/s of BlockDevice O_DIRECT / other):"
awk '{ split($1,a,"="); split($2,b,"="); split($3,c,"="); v[a[2]" "b[2]]=c[2]; bs[a[2]]=1 }
     END { for (s in bs) printf "  %8d B: vs FileChannel %.2f   vs fio %.2f\n", s,
             v[s" blockdevice-odirect"]/v[s" filechannel"], v[s" blockdevice-odirect"]/v[s" fio-odirect"] }' "$OUT" | sort -n
rm -f "$OUT"
