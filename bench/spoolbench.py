#!/usr/bin/env python3
"""Benchmark of the reader spool (delivery plugin `spool`), printing figures
(no pass/fail): N NETDATA files of small messages (1-3 KB) are written to a
staging directory, then renamed into the spool of a running vimapd at once,
and the time until the last one is durable in localfs (the spool.delivered
counter reaches N) gives files/s, for each reader-thread count asked.

  bench/spoolbench.py [--files 2000] [--users 10] [--threads 1,2,4]

Starts its own vimapd from the build tree (VIMAP_BUILDDIR, default ./build)
on a free loopback port with a fresh store, durable writes on."""

import argparse
import os
import random
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "proto"))
os.environ.setdefault("VIMAP_BUILDDIR", os.path.join(HERE, "..", "build"))
import netdata_gen as gen  # noqa: E402
from vimaptest import Server  # noqa: E402


def small_message(rng, i):
    lines = [b"From: bench@example.org", b"To: user@example.org",
             b"Subject: spool bench %d" % i, b"Message-ID: <%d@bench>" % i, b""]
    size = rng.randrange(1000, 3000)
    while sum(len(x) + 2 for x in lines) < size:
        lines.append(bytes(rng.randrange(97, 123) for _ in range(rng.randrange(20, 76))))
    return lines


def delivered(srv):
    out = srv.vimap("STATS").stdout
    m = re.search(r"^spool\.delivered\s+(\d+)$", out, re.M)
    return int(m.group(1)) if m else 0


def run(files, users, threads, rng):
    srv = Server()
    with open(srv.config_path, "a") as f:
        f.write(f"  spool:\n    directory: {srv.dir}/spool\n"
                f"delivery: [spool]\nxlate: [builtin]\nreaderthreads: {threads}\n")
    srv.start()
    try:
        for u in range(users):
            srv.add_user("bench%d" % u, "pw", blocks=1000000)
        stage = os.path.join(srv.dir, "stage")
        os.makedirs(stage)
        names = []
        total = 0
        for i in range(files):
            data = gen.mail_file("bench%d" % (i % users), "SMTP", small_message(rng, i))
            name = "f%06d" % i
            with open(os.path.join(stage, name), "wb") as f:
                f.write(data)
            names.append(name)
            total += len(data)
        spool = os.path.join(srv.dir, "spool")
        start = time.time()
        for name in names:
            os.rename(os.path.join(stage, name), os.path.join(spool, name))
        while delivered(srv) < files:
            time.sleep(0.02)
        elapsed = time.time() - start
        print("readers %2d: %6d files (%.1f MB of cards) in %6.2f s = %7.0f files/s"
              % (threads, files, total / 1e6, elapsed, files / elapsed))
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--threads", default="1,2,4")
    args = ap.parse_args()
    rng = random.Random(5)
    print("spool: %d files of 1-3 KB messages to %d users, localfs, fsync on"
          % (args.files, args.users))
    for t in [int(x) for x in args.threads.split(",")]:
        run(args.files, args.users, t, rng)


if __name__ == "__main__":
    main()
