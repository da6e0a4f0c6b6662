#!/usr/bin/env python3
"""A throw-away PostgreSQL cluster for the tests of the sfs storage plugin.
VIMAP_PG_BINDIR names the server's bin directory when the search below
does not find the right one.

initdb in a new temporary directory, postgres listening on a Unix socket in
that directory and on a free loopback port, one database; stopped and
removed afterwards.  Uses Debian's server binaries (/usr/lib/postgresql/N/bin,
the `postgresql` package) or whatever `pg_config --bindir` / PATH offers.
Run as root, the server runs as the `postgres` user when there is one, else
as `nobody` (PostgreSQL refuses to run as root).

As a module:
    c = Cluster().start()      # c.conninfo: libpq connection string
    c.stop_server(); c.start_server()   # a server outage, same data
    c.destroy()

As a command:
    pgcluster.py run [--fsync] -- CMD ARG...   start, run CMD with
        VIMAP_PG_CONNINFO set, stop and remove; exits with CMD's status
        (77, "skipped", when no PostgreSQL server is installed)
    pgcluster.py start [--fsync]   start one and print its directory and
        connection string (the cluster stays until `stop DIR`)
    pgcluster.py stop DIR
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def find_bindir():
    """The directory of initdb/pg_ctl/postgres, or None."""
    env = os.environ.get("VIMAP_PG_BINDIR")
    if env:
        return env if os.access(os.path.join(env, "initdb"), os.X_OK) else None
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        d = out.stdout.strip()
        if out.returncode == 0 and os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    except OSError:
        pass
    path = shutil.which("initdb")
    return os.path.dirname(path) if path else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as_user():
    """The account the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user")


class Cluster:
    """One PostgreSQL cluster in a temporary directory."""

    def __init__(self, fsync=False, dbname="vimap", port=None):
        self.bindir = find_bindir()
        if self.bindir is None:
            raise FileNotFoundError("no PostgreSQL server (initdb) installed")
        self.fsync = fsync
        self.dbname = dbname
        self.port = port or free_port()
        self.user = run_as_user()
        self.dir = None

    # ---- helpers ----

    def _cmd(self, args, check=True, timeout=120):
        """Runs a server program as the cluster's owner."""
        if self.user is not None:
            args = ["setpriv", "--reuid", str(self.user.pw_uid), "--regid",
                    str(self.user.pw_gid), "--clear-groups", "--"] + args
        env = dict(os.environ, LC_ALL="C", LANG="C")
        if self.user is not None:
            env["HOME"] = self.dir
        proc = subprocess.run(args, capture_output=True, text=True, env=env,
                              cwd=self.dir, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("%s failed (%d): %s%s" % (
                " ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    @property
    def socket_dir(self):
        return self.dir

    @property
    def conninfo(self):
        """libpq connection string over the Unix socket."""
        return "host=%s port=%d dbname=%s user=vimap" % (self.socket_dir, self.port,
                                                          self.dbname)

    @property
    def conninfo_tcp(self):
        return "host=127.0.0.1 port=%d dbname=%s user=vimap" % (self.port, self.dbname)

    # ---- life cycle ----

    def start(self):
        """initdb, start, create the database; returns self."""
        self.dir = tempfile.mkdtemp(prefix="vimap-pg-")
        # Anyone may reach the socket in it (a vimapd that dropped its
        # privileges, say); data/ itself stays 0700.
        os.chmod(self.dir, 0o711)
        if self.user is not None:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        try:
            self._cmd([self._bin("initdb"), "-D", self.data, "-U", "vimap", "-A", "trust",
                       "-E", "UTF8", "--locale=C", "--no-sync"])
            self.start_server()
            self._cmd([self._bin("createdb"), "-h", self.socket_dir, "-p", str(self.port),
                       "-U", "vimap", self.dbname])
        except Exception:
            self.destroy()
            raise
        return self

    def start_server(self, timeout=60):
        opts = ("-k %s -p %d -c listen_addresses=127.0.0.1 -c max_connections=300 "
                "-c shared_buffers=64MB" % (self.socket_dir, self.port))
        if not self.fsync:
            # Nothing is synced to disk, but every commit is in the WAL
            # before it is acknowledged (no synchronous_commit=off): a
            # crash of the server (stop_server("immediate")) loses nothing,
            # only one of the machine would.
            opts += " -c fsync=off -c full_page_writes=off"
        self._cmd([self._bin("pg_ctl"), "-D", self.data, "-w", "-t", str(timeout),
                   "-l", os.path.join(self.dir, "server.log"), "-o", opts, "start"])

    def stop_server(self, mode="fast"):
        """Stops the server; mode "immediate" is a crash of the server."""
        self._cmd([self._bin("pg_ctl"), "-D", self.data, "-w", "-m", mode, "stop"],
                  check=False)

    def psql(self, sql):
        """Runs SQL through psql; returns its output."""
        return self._cmd([self._bin("psql"), "-X", "-q", "-A", "-t", "-h", self.socket_dir,
                          "-p", str(self.port), "-U", "vimap", "-d", self.dbname,
                          "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()
        except OSError:
            return ""

    def destroy(self):
        """Stops the server and removes the directory."""
        if self.dir is None:
            return
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.stop_server("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()


def main(argv):
    args = argv[1:]
    fsync = "--fsync" in args
    args = [a for a in args if a != "--fsync"]
    if not args:
        sys.exit(__doc__)
    if args[0] == "stop" and len(args) == 2:
        c = Cluster.__new__(Cluster)
        c.bindir = find_bindir()
        c.dir = args[1]
        c.user = run_as_user()
        c.destroy()
        return 0
    try:
        c = Cluster(fsync=fsync)
    except FileNotFoundError as e:
        print("pgcluster: %s: skipped" % e, file=sys.stderr)
        return SKIP
    if args[0] == "start":
        c.start()
        print(c.dir)
        print(c.conninfo)
        return 0
    if args[0] == "run":
        cmd = args[1:]
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        if not cmd:
            sys.exit("pgcluster: run: no command")
        with c:
            env = dict(os.environ, VIMAP_PG_CONNINFO=c.conninfo, VIMAP_PG_DIR=c.dir)
            started = time.time()
            rc = subprocess.call(cmd, env=env)
            print("pgcluster: %s exited %d after %.1f s" % (cmd[0], rc, time.time() - started),
                  file=sys.stderr)
            if rc != 0:
                tail = c.log()[-3000:]
                if tail:
                    print("pgcluster: server log (tail):\n" + tail, file=sys.stderr)
        return rc
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
