"""End to end with a real MTA: Debian's Postfix, started by the test as a
private instance (its own config_directory, queue_directory and
data_directory in a temporary directory, SMTP on a loopback port),
accepts mail over SMTP and delivers it to vimapd over LMTP; the test
fetches it over IMAP.

Postfix's master must start as root (it drops to mail_owner itself), so
the test skips, saying why, when Postfix is not installed or the test does
not run as root."""

import os
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

from vimaptest import BUILDDIR, free_port
from test_lmtp import fetch_all, lmtp_server

POSTFIX = "/usr/sbin/postfix"
DAEMON_DIR = "/usr/lib/postfix/sbin"
PUNCH = next((p for p in (os.path.join(BUILDDIR, "tools", "vimap-punch"),
                           os.path.join(BUILDDIR, "vimap-punch")) if os.access(p, os.X_OK)),
             os.path.join(BUILDDIR, "tools", "vimap-punch"))

MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
lmtp      unix  - - n -     - lmtp
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def postfix_missing():
    """Why Postfix cannot run here, or None."""
    if not os.path.exists(POSTFIX) or not os.path.isdir(DAEMON_DIR):
        return f"Postfix is not installed ({POSTFIX}, {DAEMON_DIR})"
    if os.geteuid() != 0:
        return "Postfix's master must be started as root"
    try:
        import pwd
        pwd.getpwnam("postfix")
    except KeyError:
        return "no 'postfix' user (mail_owner)"
    return None


class Postfix:
    """A private Postfix instance relaying `domain` to `transport`."""

    def __init__(self, domain, transport, master_extra=""):
        self.dir = tempfile.mkdtemp(prefix="vimap-postfix-")
        os.chmod(self.dir, 0o755)       # the postfix user walks down here
        self.smtp_port = free_port()
        self.etc = os.path.join(self.dir, "etc")
        for d in ("etc", "spool", "data"):
            os.mkdir(os.path.join(self.dir, d))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        self.maillog = os.path.join(self.dir, "maillog")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""\
compatibility_level = 3.6
queue_directory = {self.dir}/spool
data_directory = {self.dir}/data
command_directory = /usr/sbin
daemon_directory = {DAEMON_DIR}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.maillog}
maillog_file_prefixes = {self.dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.postfix-test.example
mydomain = postfix-test.example
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = {domain}
relay_transport = {transport}
default_transport = error:no mail leaves this test
smtputf8_enable = no
biff = no
""")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp_port=self.smtp_port) + master_extra)

    def postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.etc] + list(args),
                              capture_output=True, text=True, timeout=60)

    def log(self):
        try:
            with open(self.maillog) as f:
                return f.read()
        except OSError:
            return "(no maillog)"

    def start(self):
        proc = self.postfix("start")
        if proc.returncode != 0:
            raise RuntimeError("postfix start failed: %s %s\n%s"
                               % (proc.stdout, proc.stderr, self.log()))
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=2) as s:
                    s.noop()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postfix did not listen:\n" + self.log())

    def stop(self):
        self.postfix("stop")
        # master leaves when its children have; give it a moment
        pidfile = os.path.join(self.dir, "spool", "pid", "master.pid")
        deadline = time.time() + 10
        while os.path.exists(pidfile) and time.time() < deadline:
            time.sleep(0.1)
        if not os.environ.get("VIMAP_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)


def wait_messages(srv, user, count, timeout=30):
    """The user's INBOX once it holds `count` messages."""
    deadline = time.time() + timeout
    while True:
        msgs = fetch_all(srv, user)
        if len(msgs) >= count or time.time() > deadline:
            return msgs
        time.sleep(0.2)


@unittest.skipIf(postfix_missing(), postfix_missing() or "")
class PostfixLmtp(unittest.TestCase):
    def setUp(self):
        self.srv = lmtp_server()
        self.srv.start()
        self.srv.add_user("alice", "pw")
        self.srv.add_user("bob", "pw")
        self.mta = Postfix("example.org", f"lmtp:inet:127.0.0.1:{self.srv.lmtp_port}")
        self.mta.start()

    def tearDown(self):
        self.mta.stop()
        self.srv.stop()

    def test_smtp_in_lmtp_out_imap_fetch(self):
        body = (b"From: carol@sender.example\r\nTo: alice@example.org\r\n"
                b"Subject: through postfix\r\nMessage-ID: <pf1@sender.example>\r\n\r\n"
                b"Line one.\r\n.a line that starts with a dot\r\n\r\nLast line.\r\n")
        with smtplib.SMTP("127.0.0.1", self.mta.smtp_port, timeout=10) as s:
            refused = s.sendmail("carol@sender.example",
                                 ["alice@example.org", "bob+news@example.org"], body)
        self.assertEqual(refused, {})
        for user, rcpt in (("alice", b"alice@example.org"), ("bob", b"bob+news@example.org")):
            msgs = wait_messages(self.srv, user, 1)
            self.assertEqual(len(msgs), 1, f"{user}: nothing delivered; postfix log:\n"
                             + self.mta.log()[-3000:])
            m = msgs[0]
            self.assertTrue(m.startswith(b"Return-Path: <carol@sender.example>\r\n"
                                         b"Delivered-To: " + rcpt + b"\r\n"), m[:200])
            self.assertIn(b"\r\nReceived: from ", m)     # Postfix's own trace
            self.assertTrue(m.endswith(b"Line one.\r\n.a line that starts with a dot\r\n"
                                       b"\r\nLast line.\r\n"), m[-200:])
        log = self.mta.log()
        self.assertIn("status=sent", log)
        self.assertIn("250 2.0.0", log)
        stats = self.srv.vimap("STATS").stdout
        self.assertRegex(stats, r"lmtp\.delivered\s+2\b")

    def test_unknown_user_bounced_by_lmtp(self):
        with smtplib.SMTP("127.0.0.1", self.mta.smtp_port, timeout=10) as s:
            s.sendmail("carol@sender.example", ["nobody@example.org"],
                       b"Subject: to nobody\r\n\r\nx\r\n")
        deadline = time.time() + 30
        while "status=bounced" not in self.mta.log() and time.time() < deadline:
            time.sleep(0.2)
        log = self.mta.log()
        self.assertIn("status=bounced", log)
        self.assertIn("550 5.1.1", log)


SPOOL_PLUGIN = os.path.join(BUILDDIR, ".plugins", "spool.so")


@unittest.skipIf(postfix_missing(), postfix_missing() or "")
@unittest.skipUnless(os.access(PUNCH, os.X_OK) and os.path.exists(SPOOL_PLUGIN),
                     f"vimap-punch or the spool plugin is not built in {BUILDDIR} yet "
                     "(tools/vimap-punch and delivery/spool are written in parallel)")
class PostfixPipePunch(unittest.TestCase):
    """Postfix's pipe transport runs vimap-punch (as `nobody`: pipe never
    runs commands as root or mail_owner), which writes a NETDATA file into
    the spool that vimapd's spool source delivers."""

    def setUp(self):
        from vimaptest import Server
        self.srv = Server(extra="")
        self.spool = os.path.join(self.srv.dir, "spool")
        os.mkdir(self.spool)
        os.chmod(self.spool, 0o777)
        with open(self.srv.config_path, "a") as f:
            f.write(f"  spool:\n    directory: {self.spool}\ndelivery: [spool]\n")
        os.chmod(self.srv.dir, 0o755)
        os.chmod(self.srv.config_path, 0o644)
        self.srv.start()
        self.srv.add_user("alice", "pw")
        pipe = ("punch unix - n n - - pipe\n"
                f"  flags=Rq user=nobody argv={PUNCH} --config {self.srv.config_path}"
                " --to ${user} --from SMTP\n")
        self.mta = Postfix("example.org", "punch:", master_extra=pipe)
        self.mta.start()

    def tearDown(self):
        self.mta.stop()
        self.srv.stop()

    def test_pipe_transport_into_spool(self):
        body = (b"From: carol@sender.example\r\nTo: alice@example.org\r\n"
                b"Subject: through the punch\r\n\r\nFirst line.\r\n"
                b"Caf\xe9 [brackets] {braces} ~tilde~ \\ back\r\nLast line.\r\n")
        with smtplib.SMTP("127.0.0.1", self.mta.smtp_port, timeout=10) as s:
            self.assertEqual(s.sendmail("carol@sender.example", ["alice@example.org"], body), {})
        msgs = wait_messages(self.srv, "alice", 1, timeout=60)
        self.assertEqual(len(msgs), 1, "nothing delivered; postfix log:\n"
                         + self.mta.log()[-3000:] + "\nvimapd log:\n" + self.srv.log()[-3000:])
        self.assertIn(b"Subject: through the punch\r\n", msgs[0])
        self.assertTrue(msgs[0].endswith(b"First line.\r\n"
                                         b"Caf\xe9 [brackets] {braces} ~tilde~ \\ back\r\n"
                                         b"Last line.\r\n"), msgs[0][-300:])


if __name__ == "__main__":
    unittest.main()
