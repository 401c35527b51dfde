#!/usr/bin/env bash
# Restart after kill -9 with a large retention journal (issue 8 target: serving again within 10 s at 10 GB).
# Fills the journal with `mtagent bench --spawn` (seq-1m, retention on, 1 disk), starts the agent again on the same
# folder, kills it with SIGKILL once it serves (no clean-shutdown marker), then times the next start until
# "mtagent: ready" and until the data port answers.
#
#   bench/restart.sh [FILL_SECONDS] [WORKDIR]          defaults: 30 ./target/bench-restart
#   RESTARTS=5 bench/restart.sh ...                    timed restarts on the same journal (default 3)
#
# The journal grows by about the bytes written (before-images); FILL_SECONDS × the seq-1m rate gives its size.
set -euo pipefail
cd "$(dirname "$0")/.."
FILL=${1:-30}
WORK=${2:-target/bench-restart}
RESTARTS=${RESTARTS:-3}
jar=agent/target/mtagent.jar
[ -f "$jar" ] || mvn -q -B -DskipTests package
JAVA_OPTS=(-Xms1g -Xmx1g -XX:MaxDirectMemorySize=512m -XX:+ExitOnOutOfMemoryError)

java -jar "$jar" bench --spawn --dir "$WORK" --retention on --profile seq-1m --disks 1 --disk-mib 4096 \
  --seconds "$FILL" --warmup 0 --baseline none --set retention.segment.bytes=256MiB >"$WORK.fill.txt" 2>&1 \
  || { cat "$WORK.fill.txt"; exit 1; }
grep -E "received|applied" "$WORK.fill.txt"
journal=$(du -sb "$WORK/retention" | cut -f1)
port=$(sed -n 's/^data.listen=127.0.0.1\\:\([0-9]*\)$/\1/p' "$WORK/agent.properties")

start_agent() { # LOG: starts the agent in the background, sets $pid and $t0
  t0=$(date +%s.%N)
  java "${JAVA_OPTS[@]}" -jar "$jar" run --config "$WORK/agent.properties" >"$1" 2>&1 & pid=$!
}
wait_ready() { # LOG
  for _ in $(seq 1200); do
    grep -q "mtagent: ready" "$1" && return 0
    kill -0 "$pid" 2>/dev/null || { tail "$1"; return 1; }
    sleep 0.05
  done
  return 1
}
start_agent "$WORK/start1.log"; wait_ready "$WORK/start1.log"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
times=()
for run in $(seq 1 "$RESTARTS"); do # each timed start follows a kill -9 (no clean-shutdown marker)
  log="$WORK/start$((run + 1)).log"
  start_agent "$log"
  wait_ready "$log"
  t1=$(date +%s.%N)
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.02; done
  t2=$(date +%s.%N)
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "print('journal %.2f GB; restart %d after kill -9: ready in %.2f s, data port answering in %.2f s' % ($journal/1e9, $run, $t1-$t0, $t2-$t0))"
  times+=("$(python3 -c "print($t2-$t0)")")
done
python3 -c "import statistics; t=sorted([$(IFS=,; echo "${times[*]}")]); print('data port answering after kill -9: median %.2f s, min %.2f, max %.2f, %d restarts' % (statistics.median(t), t[0], t[-1], len(t)))"
