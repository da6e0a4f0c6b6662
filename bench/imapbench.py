#!/usr/bin/env python3
"""Benchmarks of a real vimapd over TCP, printing figures (no pass/fail).

  bench/imapbench.py idle    [--connections 10000] [--users 100]
      logged-in IDLE connections: login rate and server memory (VmRSS)
  bench/imapbench.py mailbox [--messages 100000]
      one big mailbox: SELECT, UID FETCH 1:* (FLAGS), FETCH 1:* (ENVELOPE),
      UID SEARCH SUBJECT, UID SEARCH BODY, STORE 1:* +FLAGS, EXPUNGE of 10%
  bench/imapbench.py append  [--clients 20] [--seconds 20]
      APPEND throughput with mixed sizes (1 KB to 1 MB, median ~5 KB)

Each starts its own vimapd from the build tree (VIMAP_BUILDDIR, default
./build) on a free loopback port with a fresh store, durable writes on."""

import argparse
import os
import random
import resource
import selectors
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "proto"))
os.environ.setdefault("VIMAP_BUILDDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
from vimaptest import Server  # noqa: E402


class Client:
    """A minimal blocking IMAP client: enough for timing commands."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.n = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        m = line.rstrip()
        if m.endswith(b"}") and b"{" in m:
            size = int(m[m.rindex(b"{") + 1:-1].rstrip(b"+"))
            while len(self.buf) < size:
                self.buf += self.sock.recv(1 << 20)
            line += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]
            line += self.readline()
        return line

    def cmd(self, text, literal=None):
        self.n += 1
        tag = b"t%d" % self.n
        if literal is not None:
            self.sock.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        lines = []
        while True:
            line = self.readline()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line)
                return lines
            lines.append(line)


def _pipeline_appends(self, msgs, window=64):
    """APPENDs with LITERAL+, `window` in flight at a time."""
    sent = done = 0
    while done < len(msgs):
        while sent < len(msgs) and sent - done < window:
            m = msgs[sent]
            self.sock.sendall(b"p%d APPEND INBOX {%d+}\r\n" % (sent, len(m)) + m + b"\r\n")
            sent += 1
        line = self.readline()
        if line.startswith(b"p"):
            if b" OK " not in line:
                raise RuntimeError(line)
            done += 1


Client.pipeline_appends = _pipeline_appends


def message(rng, size, i):
    head = (b"From: Sender %d <s%d@example.org>\r\nTo: rcpt@example.org\r\n"
            b"Subject: Message number %d about topic %d\r\n"
            b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <%d@example.org>\r\n\r\n"
            % (i, i, i, i % 97, i))
    words = [b"lorem", b"ipsum", b"dolor", b"sit", b"amet", b"consectetur", b"adipiscing"]
    body = bytearray()
    while len(body) < max(0, size - len(head)):
        body += b" ".join(rng.choice(words) for _ in range(12)) + b"\r\n"
    return head + bytes(body[:max(0, size - len(head))])


def mixed_size(rng):
    """1 KB to 1 MB, median about 5 KB (log-normal, clipped)."""
    return int(min(1 << 20, max(1024, rng.lognormvariate(8.5, 1.0))))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cmd_bulk(self, text):
    """Sends a command and reads its whole response as raw bytes, looking
    only at the newest bytes for the tagged line: the timing then measures
    the server, not a client parsing 100,000 lines."""
    self.n += 1
    tag = b"t%d" % self.n
    self.sock.sendall(tag + b" " + text + b"\r\n")
    data = bytearray(b"\r\n" + self.buf)  # a lone tagged line has no CRLF before it
    self.buf = b""
    end = b"\r\n" + tag + b" "
    while True:
        idx = data.find(end, max(0, len(data) - (1 << 20) - len(end)))
        if idx >= 0 and data.find(b"\r\n", idx + len(end)) >= 0:
            if not data[idx + len(end):].startswith(b"OK"):
                raise RuntimeError(bytes(data[idx:idx + 200]))
            return len(data)
        chunk = self.sock.recv(1 << 22)
        if not chunk:
            raise EOFError
        data += chunk


Client.cmd_bulk = _cmd_bulk


def timed(label, fn, repeat=1):
    """Runs fn `repeat` times; prints the first (cold) and the best time."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    extra = f"   (best of {repeat}: {min(times):.1f} ms)" if repeat > 1 else ""
    print(f"  {label:<34} {times[0]:9.1f} ms{extra}")


def bench_mailbox(args):
    srv = Server().start()
    srv.add_user("big", "pw", blocks=1 << 30)
    c = Client(srv.port)
    c.cmd(b"LOGIN big pw")
    rng = random.Random(1)
    n = args.messages
    t = time.perf_counter()
    c.pipeline_appends([message(rng, rng.choice([1500, 2500, 3500, 5000]), i) for i in range(n)])
    print(f"populated {n} messages in {time.perf_counter() - t:.1f} s")
    c2 = Client(srv.port)
    c2.cmd(b"LOGIN big pw")
    timed("SELECT INBOX", lambda: c2.cmd_bulk(b"SELECT INBOX"), repeat=3)
    timed("UID FETCH 1:* (FLAGS)", lambda: c2.cmd_bulk(b"UID FETCH 1:* (FLAGS)"), repeat=3)
    timed("FETCH 1:* (ENVELOPE)", lambda: c2.cmd_bulk(b"FETCH 1:* (ENVELOPE)"), repeat=3)
    timed("UID SEARCH SUBJECT x", lambda: c2.cmd_bulk(b"UID SEARCH SUBJECT nomatchx"), repeat=3)
    timed("UID SEARCH BODY x", lambda: c2.cmd_bulk(b"UID SEARCH BODY nomatchx"), repeat=3)
    timed("STORE 1:* +FLAGS (\\Seen)", lambda: c2.cmd_bulk(b"STORE 1:* +FLAGS.SILENT (\\Seen)"))
    c2.cmd_bulk(b"STORE 1:%d +FLAGS.SILENT (\\Deleted)" % (n // 10))
    timed("EXPUNGE of 10%", lambda: c2.cmd_bulk(b"EXPUNGE"))
    print(f"  server VmRSS {rss_kb(srv.proc.pid) / 1024:.1f} MB")
    srv.stop()


def bench_append(args):
    srv = Server().start()
    for i in range(args.clients):
        srv.add_user(f"u{i}", "pw", blocks=1 << 30)
    stop = time.time() + args.seconds
    latencies, counts, bytes_total = [], [0] * args.clients, [0] * args.clients
    lock = threading.Lock()

    def worker(i):
        rng = random.Random(i)
        c = Client(srv.port)
        c.cmd(b"LOGIN u%d pw" % i)
        msgs = [message(rng, mixed_size(rng), k) for k in range(200)]
        k = 0
        while time.time() < stop:
            m = msgs[k % len(msgs)]
            t = time.perf_counter()
            c.cmd(b"APPEND INBOX", m)
            with lock:
                latencies.append(time.perf_counter() - t)
            counts[i] += 1
            bytes_total[i] += len(m)
            k += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
    t0 = time.time()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.time() - t0
    total = sum(counts)
    lat = sorted(latencies)
    print(f"APPEND: {args.clients} clients, {total} messages in {elapsed:.1f} s = "
          f"{total / elapsed:.0f} messages/s, {sum(bytes_total) / elapsed / 1e6:.1f} MB/s")
    print(f"  latency p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
          f"p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms; median size "
          f"{statistics.median(len(message(random.Random(0), mixed_size(random.Random(s)), 0)) for s in range(999))} B")
    srv.stop()


def add_users(srv, prefix, count, password="pw", scheme="yescrypt"):
    """Many users at once: one hash (its salt travels with it, so every
    line may share it) and one bulk ENROLL.  scheme: yescrypt (what
    `vimap passwd` writes) or sha512 (SHA-512-crypt, 5000 rounds)."""
    srv.add_user(prefix + "0", password)
    with open(srv.users_file) as f:
        hashed = f.read().split(":", 1)[1].strip()
    if scheme == "sha512":
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
        with open(srv.users_file, "w") as f:
            f.write(f"{prefix}0:{hashed}\n")
    with open(srv.users_file, "a") as f:
        for u in range(1, count):
            f.write(f"{prefix}{u}:{hashed}\n")
    listing = os.path.join(srv.dir, "enroll.txt")
    with open(listing, "w") as f:
        f.write("".join(f"{prefix}{u}\n" for u in range(1, count)))
    if count > 1:
        t = time.perf_counter()
        srv.vimap("ENROLL", "--from", listing, timeout=3600)
        print(f"enrolled {count} users in {time.perf_counter() - t:.1f} s")


def bench_idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    srv = Server().start()
    add_users(srv, "idle", args.users, scheme=args.hash)
    print(f"{args.users} users, password hashes: {args.hash}")
    base = rss_kb(srv.proc.pid)
    sel = selectors.DefaultSelector()
    socks = []
    t0 = time.perf_counter()
    pending = {}
    # Pipelined: each connection sends LOGIN, SELECT and IDLE at once, and is
    # counted when "+ idling" arrives.
    for i in range(args.connections):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.setblocking(False)
        s.sendall(b"a LOGIN idle%d pw\r\nb SELECT INBOX\r\nc IDLE\r\n" % (i % args.users))
        sel.register(s, selectors.EVENT_READ, i)
        pending[i] = b""
        socks.append(s)
        # Keep the number of logins in flight bounded, like a real burst.
        while len(pending) > 500:
            drain(sel, pending)
    while pending:
        drain(sel, pending)
    elapsed = time.perf_counter() - t0
    time.sleep(2)
    rss = rss_kb(srv.proc.pid)
    print(f"IDLE: {args.connections} connections logged in, SELECTed and IDLE in "
          f"{elapsed:.1f} s = {args.connections / elapsed:.0f} logins/s")
    print(f"  server VmRSS {rss / 1024:.1f} MB (at start {base / 1024:.1f} MB), "
          f"{(rss - base) / args.connections:.2f} KB per connection")
    for s in socks:
        s.close()
    srv.stop()


def drain(sel, pending):
    for key, _ in sel.select(timeout=10):
        i = key.data
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            continue
        if not data:
            raise RuntimeError(f"connection {i} closed")
        pending[i] += data
        if b"+ idling" in pending[i]:
            sel.unregister(key.fileobj)
            del pending[i]
        elif b" NO " in pending[i] or b" BAD " in pending[i]:
            raise RuntimeError(pending[i])


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("idle")
    p.add_argument("--connections", type=int, default=10000)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--hash", choices=["yescrypt", "sha512"], default="yescrypt")
    p = sub.add_parser("mailbox")
    p.add_argument("--messages", type=int, default=100000)
    p = sub.add_parser("append")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    {"idle": bench_idle, "mailbox": bench_mailbox, "append": bench_append}[args.what](args)


if __name__ == "__main__":
    main()
