"""A TCP listener for the tests of `realign follow --send`: what a neurofeedback program
does, in the ways it can misbehave. It binds 127.0.0.1 on a port the system chooses (port
0), writes that port to PORTFILE, and writes every line it receives to OUTFILE, with a
line "# connection N" before each connection's lines.

    listener.py PORTFILE OUTFILE MODE [ARG]

MODE:
  read         listen at once, take one connection, read it to its end
  late GOFILE  bound but not listening (connections are refused) until GOFILE exists
  stall GOFILE a small receive buffer and nothing read until GOFILE exists, then all of it
  vanish K     after K lines, hang up; take the next connection, read K more lines, then go
               away altogether (the listening socket closed too)

Every wait is bounded: the whole listener ends after 90 s whatever happens (exit 3).
"""
import os
import signal
import socket
import sys
import time

portfile, outfile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else ""
signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
signal.alarm(90)

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if mode == "stall":
    # Inherited by the accepted socket: a few lines fill it.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
server.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % server.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
out = open(outfile, "w", buffering=1)


def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.02)


def read_lines(conn, limit=None):
    """Lines from conn until its end, or until `limit` lines; how many were read."""
    buf, count = b"", 0
    while limit is None or count < limit:
        data = conn.recv(65536)
        if not data:
            break
        buf += data
        while b"\n" in buf and (limit is None or count < limit):
            line, buf = buf.split(b"\n", 1)
            out.write(line.decode("utf-8") + "\n")
            count += 1
    return count


if mode == "late":
    wait_for(arg)
server.listen(4)
connection = 0


def accept():
    global connection
    conn, _ = server.accept()
    connection += 1
    out.write("# connection %d\n" % connection)
    return conn


conn = accept()
if mode == "stall":
    wait_for(arg)
if mode == "vanish":
    k = int(arg)
    read_lines(conn, k)
    conn.close()
    conn = accept()
    read_lines(conn, k)
    conn.close()
    server.close()
    sys.exit(0)
read_lines(conn)
conn.close()
