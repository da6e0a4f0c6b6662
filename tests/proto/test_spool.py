"""The reader spool (delivery plugin `spool`) against a real vimapd: NETDATA
and envelope files into INBOXes over IMAP, pass-through of files for users
who are not enrolled, bad files with their reasons, files present at
start-up, a kill -9 in the middle of a file, the admin START and STATS, and
the round trip vimap-punch -> spool -> IMAP FETCH."""

import os
import re
import signal
import subprocess
import time
import unittest

import netdata_gen as gen
from vimaptest import BUILDDIR, Server

PUNCH = os.path.join(BUILDDIR, "tools", "vimap-punch")


def spool_extra(root, threads=2, passthrough=True):
    return (
        "  spool:\n"
        f"    directory: {root}/spool\n"
        + (f"    passthrough: {root}/passthrough\n" if passthrough else "")
        + "    poll_interval: 1\n"
        "    retry_interval: 1\n"
        "delivery: [spool]\n"
        "xlate: [builtin]\n"
        "mailoriginid: [SMTP, MAILER]\n"
        f"readerthreads: {threads}\n"
    )


def make_server(threads=2, passthrough=True):
    srv = Server()
    with open(srv.config_path, "a") as f:
        f.write(spool_extra(srv.dir, threads, passthrough))
    return srv


def wait_for(cond, timeout=15, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def drop(srv, name, data):
    """Puts a file into the spool as an MTA would: written under a '.'
    name, then renamed."""
    spool = os.path.join(srv.dir, "spool")
    tmp = os.path.join(spool, "." + name + ".part")
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(spool, name))


def inbox(srv, user):
    """Every message of the user's INBOX, in UID order, as bytes."""
    m = srv.login(user, "pw")
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    m.logout()
    return [item[1] for item in data if isinstance(item, tuple)]


def count(srv, user):
    """How many messages the user's INBOX holds (cheap: SELECT only)."""
    m = srv.login(user, "pw")
    typ, data = m.select("INBOX")
    m.logout()
    return int(data[0])


def stats(srv):
    out = srv.vimap("STATS").stdout
    return {k: int(v) for k, v in re.findall(r"^(\S+)\s+(-?\d+)$", out, re.M)}


class SpoolDelivery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = make_server()
        cls.srv.start()
        for user in ("mea", "fixed", "plain", "notify", "punchy", "many", "fifo"):
            cls.srv.add_user(user, "pw")
        cls.bad = os.path.join(cls.srv.dir, "bad")
        cls.passthrough = os.path.join(cls.srv.dir, "passthrough")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def delivered(self, user, n):
        wait_for(lambda: count(self.srv, user) >= n, what=f"{n} messages for {user}")
        return inbox(self.srv, user)

    def bad_reason(self, name):
        path = os.path.join(self.bad, name + ".reason")
        wait_for(lambda: os.path.exists(os.path.join(self.bad, name)) and
                 os.path.exists(path), what=f"{name} in the bad-file directory")
        with open(path) as f:
            return f.read()

    def test_variable_records_every_unit_and_odd_segments(self):
        # INMR01..INMR04, INMR06, all the spec's text units, unknown keys,
        # segments of 1, 7, 80 and 253 bytes crossing card boundaries;
        # variable records keep trailing blanks; one blank is an empty line.
        lines = [b"From: someone@example.org", b"Subject: variable \xe9\xdf\xa7",
                 b"", b"line with trailing blanks   ", b"x" * 700,
                 b"[brackets] ^caret~ {braces} |bar| \\back", b"", b"end"]
        data = gen.mail_file("MEA", "SMTP", lines, seg_sizes=(1, 7, 80, 253))
        drop(self.srv, "var1", data)
        msgs = self.delivered("mea", 1)
        self.assertEqual(msgs[0], gen.expected_message(lines))
        self.assertFalse(os.path.exists(os.path.join(self.srv.dir, "spool", "var1")))
        self.assertIn("var1: delivered to mea", self.srv.wait_log("var1: delivered"))

    def test_fixed_records(self):
        lines = [b"Subject: fixed", b"", b"padded to eighty", b"   indented"]
        data = gen.mail_file("fixed", "smtp", lines, recfm=gen.RECFM_F, lrecl=80,
                             seg_sizes=(33,))
        drop(self.srv, "fixed1", data)
        msgs = self.delivered("fixed", 1)
        self.assertEqual(msgs[0], gen.expected_message(lines, gen.RECFM_F))
        self.assertTrue(msgs[0].startswith(b"Subject: fixed\r\n\r\npadded to eighty\r\n"))

    def test_plain_envelope(self):
        body = b"Subject: plain\n\nhello\r\nworld"
        drop(self.srv, "plain1", b"X-Vimap-Recipient: Plain\nX-Vimap-Origin: mailer\n\n" + body)
        msgs = self.delivered("plain", 1)
        self.assertEqual(msgs[0], b"Subject: plain\r\n\r\nhello\r\nworld\r\n")

    def test_not_enrolled_passes_through_unchanged(self):
        data = gen.mail_file("Stranger", "SMTP", [b"Subject: for the reader"])
        drop(self.srv, "pass1", data)
        path = os.path.join(self.passthrough, "stranger", "pass1")
        wait_for(lambda: os.path.exists(path), what="the pass-through file")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertIn("recipient stranger is not enrolled", self.srv.wait_log("pass1: passed"))

    def test_notification_passes_through(self):
        drop(self.srv, "ack1", gen.notification_file("notify", "SMTP"))
        path = os.path.join(self.passthrough, "notify", "ack1")
        wait_for(lambda: os.path.exists(path), what="the notification")
        self.assertEqual(inbox(self.srv, "notify"), [])

    def test_bad_origin(self):
        drop(self.srv, "evil1", gen.mail_file("mea", "EVIL", [b"Subject: spoofed"]))
        reason = self.bad_reason("evil1")
        self.assertIn("origin 'EVIL' is not a mail origin id", reason)
        self.assertIn("SMTP MAILER", reason)

    def test_broken_files_go_to_bad_with_reason(self):
        for name, (data, why) in gen.broken_files().items():
            drop(self.srv, "broken-" + name, data)
        for name, (data, why) in gen.broken_files().items():
            reason = self.bad_reason("broken-" + name)
            self.assertIn(why, reason, name)
            with open(os.path.join(self.bad, "broken-" + name), "rb") as f:
                self.assertEqual(f.read(), data, name)

    def test_envelope_errors(self):
        cases = {
            "env-noblank": (b"X-Vimap-Recipient: mea\nX-Vimap-Origin: SMTP\n", "does not end"),
            "env-unknown": (b"X-Vimap-Recipient: mea\nX-Other: 1\n\nbody\n", "envelope line 2"),
            "env-noorigin": (b"X-Vimap-Recipient: mea\n\nbody\n", "no origin"),
            "env-baduser": (b"X-Vimap-Recipient: a/b\nX-Vimap-Origin: SMTP\n\nx\n",
                            "not a valid user id"),
            "empty": (b"", "the file is empty"),
        }
        for name, (data, why) in cases.items():
            drop(self.srv, name, data)
        for name, (data, why) in cases.items():
            self.assertIn(why, self.bad_reason(name), name)

    def test_same_name_twice_gets_two_bad_files(self):
        drop(self.srv, "twice", b"junk")
        self.bad_reason("twice")
        drop(self.srv, "twice", b"junk again")
        self.bad_reason("twice.1")

    def test_fifo_goes_to_bad_and_hangs_nothing(self):
        # A FIFO renamed into the spool (inotify sees IN_MOVED_TO) must not
        # block a reader in open(): it is a bad file, and mail goes on.
        fifo = os.path.join(self.srv.dir, "a-fifo")
        os.mkfifo(fifo)
        os.rename(fifo, os.path.join(self.srv.dir, "spool", "fifo1"))
        self.assertIn("not a regular file", self.bad_reason("fifo1"))
        drop(self.srv, "afterfifo", gen.mail_file("fifo", "SMTP", [b"Subject: after fifo"]))
        wait_for(lambda: any(b"after fifo" in m for m in inbox(self.srv, "fifo")),
                 what="mail after the FIFO")

    def test_reason_never_replaces_an_earlier_bad_file(self):
        # Bad file "r1.reason" first, then bad file "r1": the second one's
        # reason must not land on the first one's bytes.
        drop(self.srv, "r1.reason", b"first junk")
        self.bad_reason("r1.reason")
        drop(self.srv, "r1", b"second junk")
        self.bad_reason("r1.1")
        with open(os.path.join(self.bad, "r1.reason"), "rb") as f:
            self.assertEqual(f.read(), b"first junk")
        with open(os.path.join(self.bad, "r1.1"), "rb") as f:
            self.assertEqual(f.read(), b"second junk")

    def test_dot_files_are_ignored(self):
        path = os.path.join(self.srv.dir, "spool", ".inprogress")
        with open(path, "wb") as f:
            f.write(b"half a file")
        time.sleep(2.5)  # two rescans
        self.assertTrue(os.path.exists(path))

    def test_many_files_with_two_readers(self):
        for i in range(40):
            drop(self.srv, "many%02d" % i,
                 gen.mail_file("many", "SMTP", [b"Subject: many %d" % i]))
        msgs = self.delivered("many", 40)
        self.assertEqual(sorted(msgs), sorted(b"Subject: many %d\r\n" % i for i in range(40)))

    def test_start_adds_reader_and_stats_counts(self):
        before = stats(self.srv)
        out = self.srv.vimap("START").stdout
        self.assertIn("one more reader thread", out)
        self.srv.wait_log("reader 3 started")
        after = stats(self.srv)
        self.assertEqual(after["reader_threads"] if "reader_threads" in after else
                         after.get("server.reader_threads", 0),
                         (before.get("reader_threads") or before.get("server.reader_threads", 0)) + 1)
        for key in ("spool.delivered", "spool.passed_through", "spool.bad"):
            self.assertIn(key, after)
        drop(self.srv, "counted", gen.mail_file("nobody2", "EVIL", [b"x"]))
        self.bad_reason("counted")
        self.assertGreater(stats(self.srv)["spool.bad"], before["spool.bad"])

    def test_punch_round_trip(self):
        original = (b"From: a@example.org\r\nSubject: punch \xe4\xf6\xfc [x] ^ ~\r\n\r\n"
                    b"  two leading, three trailing   \r\n  \r\n\r\n\r\n"
                    + b"long " * 300 + b"\r\n\xff\x01\x7f\x80\x85\x15 bytes\r\nlast\r\n")
        # (no NUL: FETCH shows NUL as 0x80, RFC 3501 allows none in a literal)
        proc = subprocess.run([PUNCH, "--config", self.srv.config_path, "--to", "Punchy"],
                              input=original, capture_output=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        msgs = self.delivered("punchy", 1)
        self.assertEqual(msgs[0], original)
        # A line of exactly one blank is the one thing that does not come
        # back: on VM such a record is an empty line (netdata.md).
        proc = subprocess.run([PUNCH, "--config", self.srv.config_path, "--to", "punchy"],
                              input=b"Subject: blank\n \nx\n", capture_output=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        msgs = self.delivered("punchy", 2)
        self.assertEqual(msgs[1], b"Subject: blank\r\n\r\nx\r\n")

    def test_punch_exit_codes(self):
        def punch(*args):
            return subprocess.run([PUNCH, "--config", self.srv.config_path] + list(args),
                                  input=b"x\n", capture_output=True).returncode
        self.assertEqual(punch("--to", "a/b"), 67)           # EX_NOUSER
        self.assertEqual(punch("--to", "mea", "--from", "EVIL"), 64)  # EX_USAGE
        self.assertEqual(punch(), 64)
        self.assertEqual(punch("--to", "mea", "--spool", "/nonexistent/dir"), 75)  # EX_TEMPFAIL
        proc = subprocess.run([PUNCH, "--config", "/nonexistent.yaml", "--to", "mea"],
                              input=b"x\n", capture_output=True)
        self.assertEqual(proc.returncode, 75)


class SpoolRestart(unittest.TestCase):
    def test_file_present_at_startup_is_delivered(self):
        srv = make_server()
        os.makedirs(os.path.join(srv.dir, "spool"))
        try:
            # enrol first with the spool off: then stop, drop, start
            srv.start()
            srv.add_user("early", "pw")
            srv.proc.send_signal(signal.SIGTERM)
            srv.proc.wait(15)
            srv.logf.close()
            drop(srv, "early1", gen.mail_file("early", "SMTP", [b"Subject: early"]))
            srv.start()
            msgs = wait_for(lambda: inbox(srv, "early"), what="the early file")
            self.assertEqual(msgs, [b"Subject: early\r\n"])
        finally:
            srv.stop()

    def test_kill9_mid_file_delivers_exactly_once(self):
        srv = make_server(threads=1)
        try:
            srv.start()
            srv.add_user("big", "pw", blocks=100000)
            lines = [b"Subject: big"] + [b"line %06d of a large message " % i + b"z" * 40
                                         for i in range(30000)]
            data = gen.mail_file("big", "SMTP", lines)
            spool = os.path.join(srv.dir, "spool")
            drop(srv, "big1", data)
            # claimed (moved into .work/) but not yet delivered: kill it
            deadline = time.time() + 10
            while os.path.exists(os.path.join(spool, "big1")) and time.time() < deadline:
                pass
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv.logf.close()
            unfinished = os.listdir(os.path.join(spool, ".work"))
            # killed between claim and delivery: the file waits in .work/
            self.assertEqual(unfinished, ["big1"])
            srv.start()
            wait_for(lambda: count(srv, "big"), timeout=60, what="the big file")
            time.sleep(1.5)
            msgs = inbox(srv, "big")
            self.assertEqual(len(msgs), 1, "delivered %d times (unfinished: %s)"
                             % (len(msgs), unfinished))
            self.assertEqual(msgs[0], gen.expected_message(lines))
            self.assertEqual(os.listdir(os.path.join(spool, ".work")), [])
        finally:
            srv.stop()

    def test_crash_after_commit_before_unlink_stores_no_second_copy(self):
        # The last window: the store has committed the message but the spool
        # file is not yet removed when the server dies.  Simulated exactly:
        # a hard link made before the drop keeps the claimed file's inode
        # (and so its size and times) alive; after the delivery it is put
        # back into .work/ under its name, as a crash there would leave it.
        srv = make_server(threads=1)
        try:
            srv.start()
            srv.add_user("once", "pw")
            spool = os.path.join(srv.dir, "spool")
            keep = os.path.join(srv.dir, "keep-once1")
            data = gen.mail_file("once", "SMTP", [b"Subject: only once", b"", b"body"])
            tmp = os.path.join(spool, ".once1.part")
            with open(tmp, "wb") as f:
                f.write(data)
            os.link(tmp, keep)
            os.rename(tmp, os.path.join(spool, "once1"))
            wait_for(lambda: count(srv, "once") == 1, what="the first delivery")
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv.logf.close()
            os.link(keep, os.path.join(spool, ".work", "once1"))
            srv.start()
            srv.wait_log("was made before: not stored again")
            wait_for(lambda: os.listdir(os.path.join(spool, ".work")) == [],
                     what="the redelivered file to go")
            self.assertEqual(count(srv, "once"), 1)
            # A different file with the same name and content is new mail.
            drop(srv, "once1", data)
            wait_for(lambda: count(srv, "once") == 2, what="the second, different file")
        finally:
            srv.stop()

    def test_unknown_key_stops_startup(self):
        srv = Server()
        with open(srv.config_path, "a") as f:
            f.write(spool_extra(srv.dir) .replace("    poll_interval", "    pol_interval"))
        rc, log = srv.run_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn("pol_interval", log)
        srv.stop()

    def test_directory_is_required(self):
        srv = Server()
        with open(srv.config_path, "a") as f:
            f.write("  spool:\n    poll_interval: 1\ndelivery: [spool]\nxlate: [builtin]\n")
        rc, log = srv.run_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn("'directory'", log)
        srv.stop()

    def test_second_server_on_the_same_spool_is_refused(self):
        first = make_server()
        second = Server()
        try:
            first.start()
            with open(second.config_path, "a") as f:
                # the first server's spool directory, its own everything else
                f.write(spool_extra(first.dir).replace(
                    f"{first.dir}/passthrough", f"{second.dir}/passthrough"))
            rc, log = second.run_to_exit()
            self.assertNotEqual(rc, 0)
            self.assertIn("is in use by another server", log)
        finally:
            second.stop()
            first.stop()

    def test_no_passthrough_makes_unenrolled_bad(self):
        srv = make_server(passthrough=False)
        try:
            srv.start()
            drop(srv, "nopass", gen.mail_file("ghost", "SMTP", [b"x"]))
            path = os.path.join(srv.dir, "bad", "nopass.reason")
            wait_for(lambda: os.path.exists(path), what="the bad file")
            with open(path) as f:
                self.assertIn("no passthrough directory is configured", f.read())
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
