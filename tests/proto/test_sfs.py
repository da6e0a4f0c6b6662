"""The sfs storage plugin with several front ends: two real vimapd processes
(different ports) on one PostgreSQL filepool, a throw-away cluster from
tests/pgcluster.py started once for the module.  What one node changes, a
client IDLE on the other hears within a second; concurrent APPENDs through
both nodes get distinct UIDs; a database outage gives NO [UNAVAILABLE] and
service comes back with the database.  Skipped when the sfs plugin is not
built or no PostgreSQL server is installed."""

import os
import sys
import threading
import time
import unittest

from vimaptest import BUILDDIR, PLUGIN_DIR, VIMAP, Server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
import pgcluster  # noqa: E402  (tests/pgcluster.py)

UPGRADE = os.path.join(BUILDDIR, "tests", "sfs-upgrade")
CLUSTER = None

MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: Bob <bob@example.org>\r\n"
       b"Subject: over two nodes\r\n"
       b"\r\n"
       b"Body line one.\r\n")


def setUpModule():
    global CLUSTER
    if not os.path.exists(os.path.join(PLUGIN_DIR, "sfs.so")):
        raise unittest.SkipTest("the sfs plugin is not built")
    try:
        CLUSTER = pgcluster.Cluster().start()
    except FileNotFoundError as e:
        raise unittest.SkipTest(str(e))


def tearDownModule():
    if CLUSTER is not None:
        CLUSTER.destroy()


class SfsServer(Server):
    """A vimapd whose store is the module's PostgreSQL database."""

    def __init__(self, schema=None, sfs_config="", **kw):
        self.conninfo = CLUSTER.conninfo
        if schema is not None:
            # A filepool of its own: the tables in `schema`.
            CLUSTER.psql("CREATE SCHEMA IF NOT EXISTS " + schema)
            self.conninfo += " options=-csearch_path=" + schema
        self.sfs_config = sfs_config
        super().__init__(**kw)

    def default_config(self):
        config = super().default_config()
        config = config.replace("filepoolid: %s\n" % self.store,
                                'filepoolid: "%s"\nstorage: sfs\n' % self.conninfo)
        return config + "  sfs:\n    pool_size: 4\n" + self.sfs_config

    def halt(self):
        """Stops vimapd but keeps its directory (stop() removes it)."""
        self.proc.terminate()
        self.proc.wait(15)
        self.logf.close()

    def rewrite_config(self):
        with open(self.config_path, "w") as f:
            f.write(self.default_config())


def upgrade_store(server):
    """Gives the database the schema: `vimap upgrade-store` (vimapd stopped),
    or tests/sfs-upgrade (the same op through the loader) without it."""
    import subprocess
    proc = subprocess.run([VIMAP, "--config", server.config_path, "upgrade-store"],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return
    proc2 = subprocess.run([UPGRADE, server.config_path], capture_output=True, text=True)
    if proc2.returncode != 0:
        raise RuntimeError("upgrade-store failed: %s%s / %s%s" % (
            proc.stdout, proc.stderr, proc2.stdout, proc2.stderr))


class Conn2:
    """Helpers over vimaptest.Conn for raw sessions."""

    @staticmethod
    def login(server, user, password):
        c = server.connect()
        c.readline()
        lines = c.command("l", "LOGIN %s %s" % (user, password))
        assert lines[-1].startswith("l OK"), lines
        return c

    @staticmethod
    def idle(c, mailbox):
        lines = c.command("s", "SELECT " + mailbox)
        assert lines[-1].startswith("s OK"), lines
        c.send("i IDLE\r\n")
        line = c.readline()
        assert line.startswith("+ "), line

    @staticmethod
    def wait_line(c, pred, timeout):
        """The first line within `timeout` seconds that pred() accepts."""
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            c.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                line = c.readline()
            except OSError:
                break
            seen.append(line)
            if pred(line):
                return line
        raise AssertionError("no matching line within %.1f s; got %r" % (timeout, seen))


class TwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = SfsServer()
        cls.b = SfsServer()
        upgrade_store(cls.a)
        cls.a.start()
        cls.b.start()
        cls.a.add_user("alice", "wonderland", blocks=1000000)
        # The same user directory entry on node B; enrolled once, in the store.
        cls.b.add_user("alice", "wonderland", enroll=False)

    @classmethod
    def tearDownClass(cls):
        cls.a.stop()
        cls.b.stop()

    def append(self, server, mailbox, msg=MSG, tag="a"):
        c = Conn2.login(server, "alice", "wonderland")
        c.send("%s APPEND %s {%d+}\r\n" % (tag, mailbox, len(msg)))
        c.send(msg + b"\r\n")
        lines = c.until_tagged(tag)
        c.close()
        self.assertTrue(lines[-1].startswith(tag + " OK"), lines)
        return lines[-1]

    def test_append_on_a_is_exists_on_b(self):
        w = Conn2.login(self.b, "alice", "wonderland")
        w.command("c", "CREATE Cross1")
        Conn2.idle(w, "Cross1")
        started = time.time()
        self.append(self.a, "Cross1")
        Conn2.wait_line(w, lambda l: l == "* 1 EXISTS", 1.0)
        self.assertLess(time.time() - started, 1.0)
        w.send("DONE\r\n")
        self.assertTrue(w.until_tagged("i")[-1].startswith("i OK"))
        w.close()

    def test_flags_and_expunge_reach_b(self):
        self.append(self.a, "INBOX")
        self.append(self.a, "INBOX")
        w = Conn2.login(self.b, "alice", "wonderland")
        lines = w.command("s", "SELECT INBOX")
        count = [l for l in lines if l.endswith(" EXISTS")][0].split()[1]
        w.send("i IDLE\r\n")
        self.assertTrue(w.readline().startswith("+ "))
        c = Conn2.login(self.a, "alice", "wonderland")
        c.command("s", "SELECT INBOX")
        c.command("f", "STORE %s +FLAGS (\\Flagged)" % count)
        Conn2.wait_line(w, lambda l: l.startswith("* %s FETCH" % count) and "\\Flagged" in l,
                        1.0)
        c.command("d", "STORE %s +FLAGS (\\Deleted)" % count)
        Conn2.wait_line(w, lambda l: "\\Deleted" in l, 1.0)
        c.command("e", "EXPUNGE")
        Conn2.wait_line(w, lambda l: l == "* %s EXPUNGE" % count, 1.0)
        w.send("DONE\r\n")
        w.until_tagged("i")
        w.close()
        c.close()

    def test_fifty_megabytes_round_trip(self):
        """A 50 MB message appended through A reads back through B, byte
        for byte (stored in chunks, read back through a temporary file)."""
        import hashlib
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?\r\n"
        body = MSG + line * (50 * 1024 * 1024 // len(line))
        c = Conn2.login(self.a, "alice", "wonderland")
        c.command("c", "CREATE Big")
        c.send("a APPEND Big {%d}\r\n" % len(body))
        self.assertTrue(c.readline().startswith("+"))
        c.send(body + b"\r\n")
        lines = c.until_tagged("a")
        self.assertTrue(lines[-1].startswith("a OK"), lines)
        c.close()
        r = Conn2.login(self.b, "alice", "wonderland")
        r.command("s", "SELECT Big")
        r.send("f FETCH 1 BODY.PEEK[]\r\n")
        head = r.readline()
        self.assertTrue(head.endswith("{%d}" % len(body)), head)
        r.sock.settimeout(60)
        while len(r.buf) < len(body):
            chunk = r.sock.recv(1 << 20)
            self.assertTrue(chunk, "connection closed")
            r.buf += chunk
        got, r.buf = r.buf[:len(body)], r.buf[len(body):]
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest())
        self.assertTrue(r.until_tagged("f")[-1].startswith("f OK"))
        r.close()

    def test_concurrent_appends_distinct_uids(self):
        c = Conn2.login(self.a, "alice", "wonderland")
        c.command("c", "CREATE Race")
        c.close()
        results = {"a": [], "b": []}

        def run(server, key):
            conn = Conn2.login(server, "alice", "wonderland")
            for i in range(40):
                msg = MSG + (b"%s %d\r\n" % (key.encode(), i))
                tag = "t%d" % i
                conn.send("%s APPEND Race {%d+}\r\n" % (tag, len(msg)))
                conn.send(msg + b"\r\n")
                results[key].append(conn.until_tagged(tag)[-1])
            conn.close()

        threads = [threading.Thread(target=run, args=(s, k))
                   for s, k in ((self.a, "a"), (self.b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        uids = []
        for line in results["a"] + results["b"]:
            self.assertIn("OK [APPENDUID ", line)
            uids.append(int(line.split("APPENDUID ")[1].split()[1].rstrip("]")))
        self.assertEqual(len(uids), 80)
        self.assertEqual(len(set(uids)), 80, "a UID was given twice")
        c = Conn2.login(self.b, "alice", "wonderland")
        lines = c.command("st", "STATUS Race (MESSAGES UIDNEXT)")
        self.assertIn("MESSAGES 80", lines[0])
        self.assertIn("UIDNEXT %d" % (max(uids) + 1), lines[0])
        c.close()


class Format(unittest.TestCase):
    """vimapd refuses a database without the schema, naming the command."""

    def test_refuses_without_schema(self):
        srv = SfsServer(schema="empty")
        rc, log = srv.run_to_exit()
        srv.stop()
        self.assertNotEqual(rc, 0)
        self.assertIn("upgrade-store", log)


class Tablespaces(unittest.TestCase):
    """A storage group mapped to a tablespace: vimapd refuses to start until
    `upgrade-store` placed it, which moves the group's existing bodies."""

    def test_group_moves_to_its_tablespace(self):
        ts_dir = os.path.join(CLUSTER.dir, "ts_fast")
        os.mkdir(ts_dir, 0o700)
        if CLUSTER.user is not None:
            os.chown(ts_dir, CLUSTER.user.pw_uid, CLUSTER.user.pw_gid)
        CLUSTER.psql("CREATE TABLESPACE vimap_fast LOCATION '%s'" % ts_dir)
        srv = SfsServer(schema="spaces")
        upgrade_store(srv)
        srv.start()
        try:
            srv.add_user("dave", "pw")   # storage group 2 (ENROLLDEFAULTS)
            c = Conn2.login(srv, "dave", "pw")
            body = MSG + b"x" * 300000 + b"\r\n"
            c.send("a APPEND INBOX {%d+}\r\n" % len(body))
            c.send(body + b"\r\n")
            self.assertTrue(c.until_tagged("a")[-1].startswith("a OK"))
            c.close()
        finally:
            srv.halt()
        srv.sfs_config = '    tablespaces: "2=vimap_fast"\n'
        srv.rewrite_config()
        rc, log = srv.run_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn("not in tablespace vimap_fast", log)
        upgrade_store(srv)
        out = CLUSTER.psql("SELECT count(*) FROM spaces.vimap_chunks_g2; "
                           "SELECT count(*) FROM spaces.vimap_chunks_default")
        self.assertEqual(out.split(), ["2", "0"])
        srv.start()
        try:
            c = Conn2.login(srv, "dave", "pw")
            c.command("s", "SELECT INBOX")
            lines = c.command("f", "FETCH 1 RFC822.SIZE")
            self.assertIn("RFC822.SIZE %d" % len(body), lines[0])
            c.close()
        finally:
            srv.stop()


class Outage(unittest.TestCase):
    """The database goes away and comes back: NO [UNAVAILABLE] meanwhile,
    never a crash, and the same sessions work again afterwards."""

    def test_database_restart(self):
        srv = SfsServer()
        upgrade_store(srv)
        srv.start()
        try:
            srv.add_user("carol", "pw")
            c = Conn2.login(srv, "carol", "pw")
            self.assertTrue(c.command("s", "STATUS INBOX (MESSAGES)")[-1].startswith("s OK"))
            CLUSTER.stop_server("immediate")
            lines = c.command("s2", "STATUS INBOX (MESSAGES)")
            self.assertTrue(lines[-1].startswith("s2 NO [UNAVAILABLE]"), lines)
            lines = c.command("s3", "SELECT INBOX")
            self.assertTrue(lines[-1].startswith("s3 NO [UNAVAILABLE]"), lines)
            CLUSTER.start_server()
            # The first call after the restart already works (the dead
            # pooled connections are replaced).
            lines = c.command("s4", "STATUS INBOX (MESSAGES)")
            self.assertTrue(lines[-1].startswith("s4 OK"), lines)
            lines = c.command("s5", "SELECT INBOX")
            self.assertTrue(lines[-1].startswith("s5 OK"), lines)
            c.close()
            self.assertIsNone(srv.proc.poll(), "vimapd died")
        finally:
            if CLUSTER.dir is not None and not os.path.exists(
                    os.path.join(CLUSTER.data, "postmaster.pid")):
                CLUSTER.start_server()
            srv.stop()


if __name__ == "__main__":
    unittest.main()
