"""Privilege separation (`user: nobody`) against a real vimapd started as
root: the IMAP-serving process runs as nobody with no capability left and
PR_SET_NO_NEW_PRIVS, the auth monitor and the auth process stay root; the
users file is root's alone (0600), so every login proves the unprivileged
side never reads it; concurrent logins, a blocking exit that does not stall
other logins, the auth process killed with SIGKILL (logins fail with NO
[UNAVAILABLE], then work again once the monitor restarted it), start-up
refusals; and the whole auth-plugin conformance kit (cp, checkpassword,
esm with a real PAM stack, the OAUTHBEARER sample) run again through the
separated auth process."""

import imaplib
import os
import pwd
import signal
import stat
import tempfile
import threading
import time
import unittest

import test_authkit as ak
from authkit import Responder
from vimaptest import Server

USER = "nobody"
NO_THROTTLE = "auth_throttle:\n  base_ms: 0\n"


def skip_reason():
    if os.geteuid() != 0:
        return "needs root: vimapd must start as root to separate privileges"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no user '{USER}' on this host"
    return None


class PrivsepServer(Server):
    """A Server with `user: nobody`; its directory is made traversable so
    that nobody reaches the store vimapd makes inside it (the users file
    stays 0600 root)."""

    def __init__(self, extra="", **kw):
        super().__init__(extra + f"user: {USER}\n", **kw)
        os.chmod(self.dir, 0o711)
        os.chmod(self.users_file, 0o600)


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def children(pid):
    """(pid, comm) of the processes whose parent is `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out.append((int(entry), comm))
    return out


def auth_processes(srv):
    """(monitor pid, auth process pid or None)."""
    mons = [p for p, c in children(srv.proc.pid) if c == "vimap-authmon"]
    if len(mons) != 1:
        raise AssertionError(f"expected one vimap-authmon under {srv.proc.pid}: "
                             f"{children(srv.proc.pid)}")
    auths = [p for p, c in children(mons[0]) if c == "vimap-auth"]
    return mons[0], auths[0] if auths else None


def uids(pid):
    return [int(x) for x in proc_status(pid)["Uid"].split()]


def try_login(port, user, password):
    """'OK', or the server's refusal text."""
    m = imaplib.IMAP4("127.0.0.1", port)
    try:
        m.login(user, password)
        return "OK"
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        try:
            m.logout()
        except Exception:
            pass


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class Separation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = PrivsepServer(NO_THROTTLE).start()
        cls.srv.add_user("alice", "wonder-Land")
        cls.nobody = pwd.getpwnam(USER).pw_uid

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_imap_process_runs_as_nobody_without_privilege(self):
        st = proc_status(self.srv.proc.pid)
        self.assertEqual(uids(self.srv.proc.pid), [self.nobody] * 4)
        self.assertNotIn("0", st["Gid"].split())
        self.assertEqual(st["Groups"].split(), [str(pwd.getpwnam(USER).pw_gid)])
        self.assertEqual(int(st["CapPrm"], 16), 0)
        self.assertEqual(int(st["CapEff"], 16), 0)
        self.assertEqual(st["NoNewPrivs"].strip(), "1")
        # Every thread, not only the main one.
        for tid in os.listdir(f"/proc/{self.srv.proc.pid}/task"):
            with open(f"/proc/{self.srv.proc.pid}/task/{tid}/status") as f:
                text = f.read()
            self.assertIn(f"Uid:\t{self.nobody}\t{self.nobody}", text)
            self.assertIn("CapEff:\t0000000000000000", text)

    def test_auth_processes_stay_root(self):
        mon, auth = auth_processes(self.srv)
        self.assertIsNotNone(auth)
        self.assertEqual(uids(mon)[:2], [0, 0])
        self.assertEqual(uids(auth)[:2], [0, 0])

    def test_store_belongs_to_the_user(self):
        self.assertEqual(os.stat(self.srv.store).st_uid, self.nobody)
        self.assertEqual(os.stat(os.path.join(self.srv.store, "users")).st_uid, self.nobody)

    def test_login_with_a_root_only_users_file(self):
        st = os.stat(self.srv.users_file)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))
        self.assertEqual(try_login(self.srv.port, "alice", "wonder-Land"), "OK")

    def test_wrong_password_and_unknown_user_refused(self):
        self.assertIn("AUTHENTICATIONFAILED", try_login(self.srv.port, "alice", "wrong"))
        self.assertIn("AUTHENTICATIONFAILED", try_login(self.srv.port, "ghost", "x"))

    def test_select_and_append_after_login(self):
        m = self.srv.login("alice", "wonder-Land")
        m.append("INBOX", None, None, b"Subject: t\r\n\r\nbody\r\n")
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertGreaterEqual(int(data[0]), 1)
        m.logout()

    def test_authenticate_plain_and_scram(self):
        for mech in ("PLAIN", "SCRAM-SHA-256"):
            m = imaplib.IMAP4("127.0.0.1", self.srv.port)
            typ, _ = m.authenticate(mech, Responder(mech, "alice", "wonder-Land"))
            self.assertEqual(typ, "OK", mech)
            m.logout()

    def test_concurrent_logins(self):
        results = []

        def one(i):
            pw = "wonder-Land" if i % 3 else "nope"
            results.append((i, try_login(self.srv.port, "alice", pw)))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 12)
        for i, res in results:
            if i % 3:
                self.assertEqual(res, "OK", i)
            else:
                self.assertIn("AUTHENTICATIONFAILED", res, i)

    def test_password_never_logged(self):
        try_login(self.srv.port, "alice", "Secret-in-log-7")
        self.assertNotIn("Secret-in-log-7", self.srv.wait_log("alice"))


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class Restart(unittest.TestCase):
    def setUp(self):
        self.srv = PrivsepServer(NO_THROTTLE).start()
        self.addCleanup(self.srv.stop)
        self.srv.add_user("bob", "build-It9")

    def test_killed_auth_process_is_restarted(self):
        mon, auth = auth_processes(self.srv)
        self.assertEqual(try_login(self.srv.port, "bob", "build-It9"), "OK")
        os.kill(auth, signal.SIGKILL)
        # Until the monitor restarts it, logins fail cleanly.
        res = try_login(self.srv.port, "bob", "build-It9")
        self.assertIn("UNAVAILABLE", res)
        self.srv.wait_log("died")
        deadline = time.time() + 15
        while time.time() < deadline:
            res = try_login(self.srv.port, "bob", "build-It9")
            if res == "OK":
                break
            self.assertIn("UNAVAILABLE", res)
            time.sleep(0.2)
        self.assertEqual(res, "OK")
        mon2, auth2 = auth_processes(self.srv)
        self.assertEqual(mon2, mon)
        self.assertNotEqual(auth2, auth)
        self.assertEqual(uids(auth2)[:2], [0, 0])
        self.assertIsNone(self.srv.proc.poll())
        log = self.srv.log()
        self.assertIn("killed by signal 9", log)
        self.assertIn("(generation 2) is ready", log)

    def test_killed_mid_exchange(self):
        """An exchange begun with the dead auth process fails; a new one
        works with the new process."""
        c = self.srv.connect()
        c.readline()
        c.send("a1 AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c.readline(), "+ ")
        _, auth = auth_processes(self.srv)
        os.kill(auth, signal.SIGKILL)
        self.srv.wait_log("died")
        c.send(ak.b64(b"\0bob\0build-It9") + "\r\n")
        self.assertIn("a1 NO", c.readline())
        c.sock.close()
        deadline = time.time() + 15
        while time.time() < deadline and try_login(self.srv.port, "bob", "build-It9") != "OK":
            time.sleep(0.2)
        self.assertEqual(try_login(self.srv.port, "bob", "build-It9"), "OK")

    def test_stop_ends_the_auth_processes(self):
        mon, auth = auth_processes(self.srv)
        self.assertEqual(self.srv.stop(), 0)
        self.srv.proc = None   # stopped: the cleanup has nothing left to do
        for pid in (mon, auth):
            self.assertFalse(os.path.exists(f"/proc/{pid}/status") and
                             "vimap-auth" in open(f"/proc/{pid}/comm").read(), pid)


SLOW_SCRIPT = r"""#!/bin/bash
IFS= read -r -d '' user <&3
IFS= read -r -d '' pass <&3
case "$user:$pass" in
  "quick:right") exec "$@" ;;
  "slow:"*) sleep 6; exit 1 ;;
esac
exit 1
"""


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class BlockingExit(unittest.TestCase):
    """An exit that blocks (a checkpassword program that sleeps) holds up
    only its own login: the auth process serves others meanwhile."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vimap-privsep-")
        prog = os.path.join(self.tmp, "checkpassword")
        with open(prog, "w") as f:
            f.write(SLOW_SCRIPT)
        os.chmod(prog, 0o700)
        self.srv = PrivsepServer(f"  checkpassword:\n    program: {prog}\n    timeout: 30\n"
                                 "authenticate: checkpassword\n" + NO_THROTTLE).start()
        self.addCleanup(self.srv.stop)
        for u in ("quick", "slow"):
            self.srv.vimap("ENROLL", u)

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_slow_exit_does_not_stall_others(self):
        slow = [threading.Thread(target=try_login, args=(self.srv.port, "slow", "x"))
                for _ in range(2)]
        for t in slow:
            t.start()
        time.sleep(0.5)
        t0 = time.time()
        self.assertEqual(try_login(self.srv.port, "quick", "right"), "OK")
        self.assertLess(time.time() - t0, 3)
        for t in slow:
            t.join(30)


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class Refusals(unittest.TestCase):
    def refused(self, extra, text, **kw):
        srv = Server(extra, **kw)
        try:
            rc, log = srv.run_to_exit()
        finally:
            srv.stop()
        self.assertNotEqual(rc, 0, log)
        self.assertIn(text, log)

    def test_root_is_no_separation(self):
        self.refused("user: root\n", "'root' is root")

    def test_unknown_user(self):
        self.refused("user: no-such-user-x\n", "no user 'no-such-user-x'")

    def test_unknown_group(self):
        self.refused(f"user: {USER}\ngroup: no-such-group-x\n", "no group 'no-such-group-x'")

    def test_auth_plugin_that_does_not_load(self):
        self.refused(f"user: {USER}\nauthenticate: nosuchplugin\n", "nosuchplugin")

    def test_filepool_the_user_cannot_reach(self):
        # The test directory stays 0700 root: nobody cannot reach the store.
        self.refused(f"user: {USER}\n", "is not writable by user nobody")


# ---- the conformance kit, through the separated auth process ----

class Separated:
    """Makes a kit's server with `user: nobody`."""

    @classmethod
    def make_server(cls):
        saved = ak.Server
        ak.Server = PrivsepServer
        try:
            srv = super().make_server()
        finally:
            ak.Server = saved
        if uids(srv.proc.pid)[1] == 0:
            srv.stop()
            raise AssertionError("vimapd did not drop root")
        return srv


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class SeparatedCpKit(Separated, ak.CpKit):
    pass


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class SeparatedCheckpasswordKit(Separated, ak.CheckpasswordKit):
    pass


@unittest.skipIf(skip_reason() is not None or ak.esm_skip_reason() is not None,
                 skip_reason() or ak.esm_skip_reason() or "")
class SeparatedEsmKit(Separated, ak.EsmKit):
    pass


@unittest.skipIf(skip_reason() is not None, skip_reason() or "")
class SeparatedOauthbearerKit(Separated, ak.OauthbearerSampleKit):
    pass


if __name__ == "__main__":
    unittest.main()
