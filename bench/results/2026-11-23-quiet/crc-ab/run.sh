#!/bin/bash
# A/B: old vs new jar, alternating, retention on then off; RUNS rounds
RUNS=${1:-3}; OUT=/tmp/ab/out-$(date +%H%M); mkdir -p $OUT
for i in $(seq 1 $RUNS); do
  for v in old new; do
    for ret in on off; do
      java -jar /tmp/ab/$v.jar bench --spawn --dir /tmp/ab/agent --seconds 12 --json --retention $ret --profile rand-64k --disks 4 --compressibility 0 > $OUT/$v-$ret-$i.json 2>$OUT/$v-$ret-$i.log
      rm -rf /tmp/ab/agent
      echo "$v $ret $i $(jq -c '[.received.MBps,.applied.MBps,.baseline.MBps,.ratio.appliedOverBaseline,.agent.cpuSecondsPerGB,.loadGenerator.cpuSecondsPerGB,.baseline.cpuSecondsPerGB]' $OUT/$v-$ret-$i.json)"
    done
  done
done
