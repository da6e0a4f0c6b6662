#!/usr/bin/env python3
"""LMTP delivery benchmark against a real vimapd (figures, no pass/fail).

  bench/lmtpbench.py [--sessions 10] [--seconds 10] [--users 5]
                     [--min-size 1024] [--max-size 3072] [--recipients 1]
                     [--unix]

Starts its own vimapd from the build tree (VIMAP_BUILDDIR, default ./build)
with the lmtp source on a free loopback port (or a Unix socket with --unix)
and a fresh localfs store with durable writes, enrols the users, then runs
N concurrent LMTP sessions, each delivering small messages back to back
(MAIL, RCPT and DATA pipelined as one group, then the message).  A
message's latency runs from sending its MAIL to reading its last reply.
Prints messages/s and p50/p99/max latency, plus vimapd's CPU time.

Target (issue 5): >= 1000 messages/s from 10 sessions, p99 < 50 ms."""

import argparse
import os
import random
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "proto"))
os.environ.setdefault("VIMAP_BUILDDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
from vimaptest import Server, free_port  # noqa: E402


class Session:
    """One LMTP connection, blocking."""

    def __init__(self, addr):
        if isinstance(addr, str):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(addr)
        else:
            self.sock = socket.create_connection(addr)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.replies(1)
        self.sock.sendall(b"LHLO bench\r\n")
        self.replies(1)

    def replies(self, n):
        """Reads n replies (multi-line ones count once); returns the codes."""
        codes = []
        while len(codes) < n:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("server closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                codes.append(line[:3])
        return codes

    def deliver(self, sender, rcpts, body):
        group = b"MAIL FROM:<%s>\r\n" % sender + b"".join(
            b"RCPT TO:<%s>\r\n" % r for r in rcpts) + b"DATA\r\n"
        self.sock.sendall(group)
        codes = self.replies(2 + len(rcpts))
        if codes[-1] != b"354":
            raise RuntimeError("DATA refused: %r" % codes)
        self.sock.sendall(body + b".\r\n")
        return self.replies(len(rcpts))


def make_body(rng, lo, hi, n):
    """An RFC 5322 message of lo..hi octets, dot-stuffing not needed."""
    head = (b"From: bench@example.org\r\nTo: user@example.org\r\n"
            b"Subject: bench message %d\r\nMessage-ID: <%d.%d@bench>\r\n\r\n"
            % (n, n, rng.randrange(1 << 30)))
    size = rng.randrange(lo, hi + 1)
    lines = []
    total = len(head)
    while total < size:
        line = bytes(rng.randrange(97, 123) for _ in range(min(76, max(1, size - total - 2))))
        lines.append(line + b"\r\n")
        total += len(line) + 2
    return head + b"".join(lines)


def worker(addr, idx, args, users, stop, results, errors):
    rng = random.Random(idx)
    bodies = [make_body(rng, args.min_size, args.max_size, idx * 1000 + i) for i in range(50)]
    try:
        s = Session(addr)
        n = 0
        while not stop.is_set():
            rcpts = [b"%s@example.org" % rng.choice(users).encode()
                     for _ in range(args.recipients)]
            t0 = time.perf_counter()
            codes = s.deliver(b"sender@example.org", rcpts, bodies[n % len(bodies)])
            results.append(time.perf_counter() - t0)
            if any(c != b"250" for c in codes):
                errors.append(codes)
            n += 1
    except Exception as e:  # noqa: BLE001 - a benchmark reports, not raises
        errors.append(repr(e))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--users", type=int, default=5)
    ap.add_argument("--recipients", type=int, default=1)
    ap.add_argument("--min-size", type=int, default=1024)
    ap.add_argument("--max-size", type=int, default=3072)
    ap.add_argument("--unix", action="store_true", help="listen on a Unix socket")
    ap.add_argument("--worker-threads", type=int, default=4)
    args = ap.parse_args()

    port = free_port()
    srv = Server(extra="")
    listen = f"unix:{srv.dir}/lmtp.sock" if args.unix else f"127.0.0.1:{port}"
    with open(srv.config_path, "a") as f:
        f.write(f"  lmtp:\n    listen: \"{listen}\"\n    max_sessions: {args.sessions + 10}\n"
                "delivery: [lmtp]\n")
    srv.start()
    try:
        users = [f"bench{i}" for i in range(args.users)]
        for u in users:
            srv.add_user(u, "pw", blocks=1000000)
        addr = listen[5:] if args.unix else ("127.0.0.1", port)
        stop, results, errors = threading.Event(), [], []
        threads = [threading.Thread(target=worker, args=(addr, i, args, users, stop, results, errors))
                   for i in range(args.sessions)]
        cpu0 = cpu_seconds(srv.proc.pid)
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(srv.proc.pid) - cpu0
        lat = sorted(results)
        n = len(lat)
        if n == 0:
            print("no message delivered:", errors[:3])
            return 1
        p = lambda q: lat[min(n - 1, int(q * n))] * 1000  # noqa: E731
        print(f"lmtpbench: {args.sessions} sessions, {args.users} users, "
              f"{args.recipients} recipient(s)/message, {args.min_size}-{args.max_size} octets, "
              f"{'unix' if args.unix else 'tcp'}, {elapsed:.1f} s")
        print(f"  messages: {n}  ({n / elapsed:.0f} messages/s, "
              f"{n * args.recipients / elapsed:.0f} deliveries/s)")
        print(f"  latency ms: p50 {p(0.50):.1f}  p90 {p(0.90):.1f}  p99 {p(0.99):.1f}  "
              f"max {lat[-1] * 1000:.1f}  mean {statistics.mean(lat) * 1000:.1f}")
        print(f"  vimapd CPU: {cpu:.1f} s ({cpu / elapsed * 100:.0f}% of one core), "
              f"{cpu / n * 1e6:.0f} us/message")
        if errors:
            print(f"  errors: {len(errors)}, first: {errors[:3]}")
        return 0
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
