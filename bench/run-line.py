"""One line for one `mtagent bench --json` summary: the A/B scripts print it after every run.

    python3 bench/run-line.py SUMMARY.json NAME
"""
import json
import sys

d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:28s} received {d['received']['MBps']:7.1f} MB/s  applied {d['applied']['MBps']:7.1f} MB/s"
      f"  baseline {d['baseline']['MBps']:7.1f} ({d['baseline']['tool']})"
      f"  applied/baseline {d['ratio']['appliedOverBaseline']:.3f}"
      f"  received/baseline {d['ratio']['receivedOverBaseline']:.3f}  agent {d['agent']['cpuSecondsPerGB']:.2f} CPU-s/GB")
