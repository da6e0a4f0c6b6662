#!/usr/bin/env python3
"""Storage benchmark, localfs against sfs on one machine, figures side by
side; the last column is how many times slower sfs is (the goal: within 3x).

  bench/storagebench.py BUILDDIR [--messages 20000] [--imap-messages 5000]
                        [--skip-abi] [--skip-imap]

A throw-away PostgreSQL cluster (tests/pgcluster.py) with fsync ON serves
sfs, so both plugins acknowledge only durable changes.  Two levels:

1. the storage ABI (bench/bench_storage: its comment says what is
   measured): the plugins alone, as vimapd's workers call them;
2. IMAP through a real vimapd (localfs store, then sfs store), one client:
   APPEND (LITERAL+, pipelined 32 deep), SELECT, UID FETCH 1:* (FLAGS),
   UID SEARCH SUBJECT, UID SEARCH BODY, STORE 1:* +FLAGS.  This is what a
   user of the server sees."""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRCDIR, "tests"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "proto"))
sys.path.insert(0, os.path.join(SRCDIR, "bench"))


def imap_workload(srv, n):
    """Times the IMAP workload on a started server; returns {name: value}."""
    from imapbench import Client, message
    srv.add_user("bench", "pw", blocks=1 << 30)
    c = Client(srv.port)
    c.cmd(b"LOGIN bench pw")
    rng = random.Random(1)
    msgs = [message(rng, rng.choice([1500, 2500, 3500, 5000, 12000]), i) for i in range(n)]
    r = {}
    t = time.perf_counter()
    c.pipeline_appends(msgs, window=32)
    r["APPEND (msg/s)"] = n / (time.perf_counter() - t)

    def best(cmd, repeat=3):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            c.cmd_bulk(cmd)
            times.append((time.perf_counter() - t0) * 1000)
        return min(times)

    r["SELECT INBOX (ms)"] = best(b"SELECT INBOX")
    r["UID FETCH 1:* (FLAGS) (ms)"] = best(b"UID FETCH 1:* (FLAGS)")
    r["UID SEARCH SUBJECT (ms)"] = best(b"UID SEARCH SUBJECT nomatchx")
    r["UID SEARCH BODY (ms)"] = best(b"UID SEARCH BODY nomatchx")
    r["STORE 1:* +FLAGS (ms)"] = best(b"STORE 1:* +FLAGS.SILENT (\\Seen)", repeat=1)
    return r


def run_imap(builddir, pg, n):
    os.environ["VIMAP_BUILDDIR"] = os.path.abspath(builddir)
    import vimaptest
    vimaptest.BUILDDIR = os.path.abspath(builddir)
    vimaptest.VIMAPD = os.path.join(vimaptest.BUILDDIR, "vimapd")
    vimaptest.VIMAP = os.path.join(vimaptest.BUILDDIR, "vimap")
    vimaptest.PLUGIN_DIR = os.path.join(vimaptest.BUILDDIR, ".plugins")

    class SfsServer(vimaptest.Server):
        def __init__(self, **kw):
            super().__init__(plugin_dir=vimaptest.PLUGIN_DIR, **kw)

        def default_config(self):
            return super().default_config().replace(
                "filepoolid: %s\n" % self.store,
                'filepoolid: "%s"\nstorage: sfs\n' % pg.conninfo)

    results = {}
    for name in ("localfs", "sfs"):
        srv = (vimaptest.Server(plugin_dir=vimaptest.PLUGIN_DIR) if name == "localfs"
               else SfsServer())
        if name == "sfs":
            subprocess.run([vimaptest.VIMAP, "--config", srv.config_path, "upgrade-store"],
                           check=True, capture_output=True)
        srv.start()
        try:
            print("storagebench: IMAP on %s..." % name, file=sys.stderr)
            results[name] = imap_workload(srv, n)
        finally:
            srv.stop()
    print("\nIMAP through vimapd, %d messages, one client" % n)
    print("%-32s %12s %12s  %s" % ("", "localfs", "sfs", "sfs/localfs"))
    for key in results["localfs"]:
        a, b = results["localfs"][key], results["sfs"][key]
        ratio = a / b if key.startswith("APPEND") else b / a
        print("%-32s %12.1f %12.1f  %8.2fx" % (key, a, b, ratio))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("builddir")
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--imap-messages", type=int, default=5000)
    ap.add_argument("--skip-abi", action="store_true")
    ap.add_argument("--skip-imap", action="store_true")
    args = ap.parse_args()
    import pgcluster
    pool = tempfile.mkdtemp(prefix="vimap-bench-", dir="/var/tmp")
    rc = 0
    try:
        with pgcluster.Cluster(fsync=True) as pg:
            if not args.skip_abi:
                print("storage ABI (bench/bench_storage)")
                sys.stdout.flush()
                rc = subprocess.call([os.path.join(args.builddir, "bench", "bench_storage"),
                                      str(args.messages),
                                      "localfs=" + os.path.join(pool, "pool"),
                                      "sfs=" + pg.conninfo])
            if not args.skip_imap and rc == 0:
                run_imap(args.builddir, pg, args.imap_messages)
    finally:
        shutil.rmtree(pool, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
