# Runs a command on a pseudo-terminal of COLS columns and records every byte it writes.
# usage: python3 pty-run.py COLS OUTPUT_FILE COMMAND [ARGS...]; exits with the command's exit code.
import fcntl
import os
import select
import struct
import subprocess
import sys
import termios

cols = int(sys.argv[1])
out_path = sys.argv[2]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
proc = subprocess.Popen(sys.argv[3:], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
captured = bytearray()
while True:
    ready, _, _ = select.select([master], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        captured += chunk
    elif proc.poll() is not None:
        break
with open(out_path, "wb") as f:
    f.write(bytes(captured))
sys.exit(proc.wait())
