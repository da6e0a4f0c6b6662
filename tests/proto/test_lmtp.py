"""The LMTP delivery source (delivery/lmtp, RFC 2033) against a real vimapd:
Python's smtplib.LMTP as the MTA, raw sockets for pipelining and malformed
input, imaplib to see what was stored."""

import imaplib
import os
import signal
import smtplib
import socket
import time
import unittest

from vimaptest import Conn, Server, free_port


def lmtp_server(listen=None, options=""):
    """A vimapd with the lmtp source on `listen` (default a free loopback
    port); `options` are more lines of its `plugins: lmtp:` section."""
    port = None
    if listen is None:
        port = free_port()
        listen = f"127.0.0.1:{port}"
    extra = (f"  lmtp:\n    listen: \"{listen}\"\n    temp_dir: /tmp\n"
             + "".join(f"    {line}\n" for line in options.splitlines() if line)
             + "delivery: [lmtp]\n")
    srv = Server(extra=extra)
    srv.lmtp_port = port
    srv.lmtp_listen = listen
    return srv


class Lmtp:
    """A raw LMTP connection: send bytes, read (possibly multi-line) replies."""

    def __init__(self, port=None, path=None, timeout=10):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        """One reply: its lines joined by '\\n'."""
        lines = [self.line()]
        while lines[-1][3:4] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def fetch_all(srv, user, password="pw"):
    """Every message in the user's INBOX, as bytes, in UID order."""
    m = srv.login(user, password)
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    m.logout()
    return [item[1] for item in data if isinstance(item, tuple)]


class LmtpTestCase(unittest.TestCase):
    options = ""

    def setUp(self):
        self.srv = lmtp_server(options=self.options)
        self.srv.start()
        self.srv.add_user("alice", "pw")
        self.srv.add_user("bob", "pw")

    def tearDown(self):
        self.srv.stop()

    def raw(self):
        c = Lmtp(self.srv.lmtp_port)
        self.addCleanup(c.close)
        self.assertTrue(c.reply().startswith("220 "))
        return c


class Delivery(LmtpTestCase):
    def test_delivered_message_fetched_with_trace_headers(self):
        body = b"From: carol@example.org\r\nSubject: lmtp 1\r\n\r\nHello Alice.\r\n"
        with smtplib.LMTP("127.0.0.1", self.srv.lmtp_port) as lm:
            refused = lm.sendmail("carol@example.org", ["alice@example.org"], body)
        self.assertEqual(refused, {})
        msgs = fetch_all(self.srv, "alice")
        self.assertEqual(msgs, [b"Return-Path: <carol@example.org>\r\n"
                                b"Delivered-To: alice@example.org\r\n" + body])

    def test_lhlo_extensions_and_helo_refused(self):
        c = self.raw()
        self.assertTrue(c.cmd("EHLO client").startswith("500 5.5.1"))
        self.assertTrue(c.cmd("HELO client").startswith("500 5.5.1"))
        self.assertTrue(c.cmd("MAIL FROM:<a@b>").startswith("503 5.5.1"))
        lines = c.cmd("LHLO client").split("\n")
        self.assertTrue(all(l.startswith("250") for l in lines))
        exts = {l[4:].split()[0] for l in lines[1:]}
        self.assertTrue({"PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE"} <= exts)
        self.assertTrue(c.cmd("VRFY alice").startswith("252 2.5.0"))
        self.assertTrue(c.cmd("NOOP").startswith("250 2.0.0"))
        self.assertTrue(c.cmd("QUIT").startswith("221 2.0.0"))
        self.assertTrue(c.closed())

    def test_unknown_user_550(self):
        with smtplib.LMTP("127.0.0.1", self.srv.lmtp_port) as lm:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                lm.sendmail("x@y", ["nobody@example.org"], b"Subject: x\r\n\r\nx\r\n")
        code, text = cm.exception.recipients["nobody@example.org"]
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"))

    def test_mixed_recipients_one_reply_each_in_order(self):
        self.srv.add_user("tiny", "pw", blocks=1)   # 4 KB quota
        c = self.raw()
        body = b"Subject: mixed\r\n\r\n" + (b"x" * 70 + b"\r\n") * 150   # ~11 KB
        # pipelined, as PIPELINING allows: the group up to DATA in one write
        c.send(b"LHLO client\r\nMAIL FROM:<s@example.org>\r\n"
               b"RCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n"
               b"RCPT TO:<tiny@example.org>\r\nRCPT TO:<bob+lists@example.org>\r\n"
               b"DATA\r\n")
        got = c.replies(7)
        self.assertTrue(got[0].startswith("250-"))
        self.assertEqual([r[:9] for r in got[1:]],
                         ["250 2.1.0", "250 2.1.5", "550 5.1.1", "250 2.1.5",
                          "250 2.1.5", "354 Start"[:9]])
        c.send(body + b".\r\n")
        after = c.replies(3)    # one per accepted recipient, in RCPT order
        self.assertTrue(after[0].startswith("250 2.0.0 <alice@example.org>"), after)
        self.assertTrue(after[1].startswith("452 4.2.2 <tiny@example.org>"), after)
        self.assertTrue(after[2].startswith("250 2.0.0 <bob+lists@example.org>"), after)
        self.assertTrue(c.cmd("QUIT").startswith("221"))
        alice, bob = fetch_all(self.srv, "alice"), fetch_all(self.srv, "bob")
        self.assertEqual(len(alice), 1)
        self.assertEqual(len(bob), 1)
        self.assertTrue(alice[0].endswith(body))
        self.assertIn(b"Delivered-To: alice@example.org\r\n", alice[0])
        self.assertIn(b"Delivered-To: bob+lists@example.org\r\n", bob[0])
        self.assertEqual(fetch_all(self.srv, "tiny"), [])
        stats = self.srv.vimap("STATS").stdout
        self.assertRegex(stats, r"lmtp\.delivered\s+2\b")
        self.assertRegex(stats, r"lmtp\.rejected\s+1\b")
        self.assertRegex(stats, r"lmtp\.tempfail\s+1\b")

    def test_dot_stuffing_and_line_ends_round_trip(self):
        lines = [b"Subject: dots", b"", b".", b"..", b".leading dot", b"...", b"end."]
        body = b"\r\n".join(lines) + b"\r\n"
        with smtplib.LMTP("127.0.0.1", self.srv.lmtp_port) as lm:
            lm.sendmail("s@x", ["alice@x"], body)      # smtplib dot-stuffs
        # by hand: stuffed dots, a bare LF line end, a line of one dot
        c = self.raw()
        c.send(b"LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n")
        self.assertEqual([r[:3] for r in c.replies(4)][1:], ["250", "250", "354"])
        c.send(b"Subject: raw\r\n\r\n..\r\n...two\r\nbare lf\n.\n")
        self.assertTrue(c.reply().startswith("250 2.0.0"))
        msgs = fetch_all(self.srv, "alice")
        self.assertEqual(len(msgs), 2)
        self.assertTrue(msgs[0].endswith(b"\r\n\r\n" + body.split(b"\r\n\r\n", 1)[1]))
        self.assertTrue(msgs[0].endswith(b"\r\n.\r\n..\r\n.leading dot\r\n...\r\nend.\r\n"))
        self.assertTrue(msgs[1].endswith(b"Subject: raw\r\n\r\n.\r\n..two\r\nbare lf\r\n"))

    def test_idle_client_sees_exists(self):
        conn = Conn(self.srv.port)
        self.addCleanup(conn.close)
        conn.readline()
        conn.command("a", "LOGIN alice pw")
        conn.command("b", "SELECT INBOX")
        conn.send("c IDLE\r\n")
        self.assertTrue(conn.readline().startswith("+"))
        with smtplib.LMTP("127.0.0.1", self.srv.lmtp_port) as lm:
            lm.sendmail("s@x", ["alice@x"], b"Subject: idle\r\n\r\nwake up\r\n")
        conn.sock.settimeout(5)
        self.assertEqual(conn.readline(), "* 1 EXISTS")
        conn.send("DONE\r\n")
        conn.until_tagged("c")

    def test_malformed_commands_answered_and_session_goes_on(self):
        c = self.raw()
        cases = [
            ("LHLO", "501 5.5.4"),                        # no host name
            ("LHLO client", "250"),
            ("FROB", "500 5.5.2"),                        # unknown verb
            ("RCPT TO:<alice@x>", "503 5.5.1"),           # before MAIL
            ("DATA", "503 5.5.1"),
            ("MAIL FROM:alice@x", "501 5.5.4"),           # no brackets
            ("MAIL FROM <a@x>", "501 5.5.4"),             # no colon
            ("MAIL FROM:<a@x> FOO=1", "555 5.5.4"),       # unknown parameter
            ("MAIL FROM:<a@x> SIZE=abc", "555 5.5.4"),
            ("MAIL FROM:<a\x01b@x>", "501 5.5.4"),        # control character
            ("MAIL FROM:<> BODY=8BITMIME", "250 2.1.0"),  # null sender
            ("MAIL FROM:<a@x>", "503 5.5.1"),             # nested MAIL
            ("RCPT TO:<>", "501 5.1.3"),
            ("RCPT TO:<alice@x> NOTIFY=NEVER", "555 5.5.4"),
            ("DATA", "503 5.5.1"),                        # no valid recipient
            ("DATA now", "501 5.5.4"),
            ("X" * 5000, "500 5.5.2"),                    # line too long
            ("NO\0OP", "500 5.5.2"),                      # NUL
            ("RSET", "250 2.0.0"),
            ("RCPT TO:<alice@x>", "503 5.5.1"),           # RSET ended the transaction
            ("NOOP", "250 2.0.0"),
        ]
        for cmd, want in cases:
            got = c.cmd(cmd)
            self.assertTrue(got.startswith(want), f"{cmd[:40]!r}: {got!r}, want {want}")

    def test_too_many_errors_close(self):
        c = self.raw()
        for _ in range(20):
            self.assertTrue(c.cmd("BAD").startswith("500"))
        # the 21st is answered, then the session ends
        self.assertTrue(c.cmd("BAD").startswith("500"))
        self.assertTrue(c.reply().startswith("421 4.7.0"))
        self.assertTrue(c.closed())

    def test_whole_session_pipelined_in_one_write(self):
        c = self.raw()
        c.send(b"LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\n"
               b"DATA\r\n")
        self.assertEqual([r[:3] for r in c.replies(5)], ["250", "250", "250", "250", "354"])
        c.send(b"Subject: p1\r\n\r\none\r\n.\r\n"
               b"MAIL FROM:<s@x>\r\nRCPT TO:<bob@x>\r\nDATA\r\n")
        self.assertEqual([r[:9] for r in c.replies(5)],
                         ["250 2.0.0", "250 2.0.0", "250 2.1.0", "250 2.1.5", "354 Start"])
        c.send(b"Subject: p2\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        self.assertEqual([r[:9] for r in c.replies(2)], ["250 2.0.0", "221 2.0.0"])
        self.assertTrue(c.closed())
        self.assertEqual(len(fetch_all(self.srv, "alice")), 1)
        self.assertEqual(len(fetch_all(self.srv, "bob")), 2)

    def test_stop_lets_data_finish(self):
        c = self.raw()
        idle = self.raw()
        c.send(b"LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nDATA\r\n")
        self.assertEqual(c.replies(4)[3][:3], "354")
        c.send(b"Subject: stop\r\n\r\nfirst half\r\n")
        time.sleep(0.2)
        self.srv.signal(signal.SIGTERM)
        # the idle session is told at once; the one in DATA is not cut
        self.assertTrue(idle.reply().startswith("421 4.3.2"))
        time.sleep(0.3)
        c.send(b"second half\r\n.\r\n")
        self.assertTrue(c.reply().startswith("250 2.0.0"))
        self.assertTrue(c.reply().startswith("421 4.3.2"))
        self.assertEqual(self.srv.proc.wait(15), 0)
        self.srv.logf.close()
        self.srv.start()
        msgs = fetch_all(self.srv, "alice")
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0].endswith(b"first half\r\nsecond half\r\n"))


class Limits(LmtpTestCase):
    options = "max_message_size: 4096\nmax_recipients: 2\ntimeout: 2"

    def test_size_announced_and_checked(self):
        c = self.raw()
        self.assertIn("250 SIZE 4096", c.cmd("LHLO c"))
        self.assertTrue(c.cmd("MAIL FROM:<s@x> SIZE=5000").startswith("552 5.3.4"))
        self.assertTrue(c.cmd("MAIL FROM:<s@x> SIZE=4000").startswith("250"))
        self.assertTrue(c.cmd("RCPT TO:<alice@x>").startswith("250"))
        self.assertTrue(c.cmd("RCPT TO:<bob@x>").startswith("250"))
        self.assertTrue(c.cmd("RCPT TO:<alice@x>").startswith("452 4.5.3"))
        self.assertTrue(c.cmd("DATA").startswith("354"))
        c.send(b"Subject: big\r\n\r\n" + (b"y" * 98 + b"\r\n") * 60 + b".\r\n")
        self.assertEqual([r[:9] for r in c.replies(2)], ["552 5.3.4", "552 5.3.4"])
        self.assertTrue(c.cmd("NOOP").startswith("250"))   # the session goes on
        self.assertEqual(fetch_all(self.srv, "alice"), [])

    def test_size_limit_with_smtplib(self):
        with smtplib.LMTP("127.0.0.1", self.srv.lmtp_port) as lm:
            with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
                lm.sendmail("s@x", ["alice@x"], b"Subject: big\r\n\r\n" + b"z" * 8000)
        self.assertEqual(cm.exception.smtp_code, 552)

    def test_idle_timeout(self):
        c = self.raw()
        t0 = time.time()
        self.assertTrue(c.reply().startswith("421 4.4.2"))
        self.assertGreaterEqual(time.time() - t0, 1.5)
        self.assertTrue(c.closed())


class UnixSocket(unittest.TestCase):
    def test_unix_socket_listen(self):
        sockdir = os.path.join("/tmp", "vimap-lmtp-%d" % os.getpid())
        os.makedirs(sockdir, exist_ok=True)
        path = os.path.join(sockdir, "lmtp.sock")
        srv = lmtp_server(listen="unix:" + path, options="socket_mode: \"0600\"")
        srv.start()
        try:
            srv.add_user("alice", "pw")
            deadline = time.time() + 5
            while not os.path.exists(path) and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            with smtplib.LMTP(path) as lm:
                self.assertEqual(lm.sendmail("s@x", ["alice@x"], b"Subject: u\r\n\r\nunix\r\n"), {})
            self.assertTrue(fetch_all(srv, "alice")[0].endswith(b"unix\r\n"))
        finally:
            srv.stop()
        self.assertFalse(os.path.exists(path))   # removed at stop
        os.rmdir(sockdir)


class Config(unittest.TestCase):
    def test_listen_required(self):
        srv = Server(extra="  lmtp:\n    hostname: x\ndelivery: [lmtp]\n")
        rc, log = srv.run_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn("plugins.lmtp.listen is required", log)

    def test_unknown_key_refused(self):
        srv = Server(extra="  lmtp:\n    listen: \"127.0.0.1:1\"\n    lisen: x\ndelivery: [lmtp]\n")
        rc, log = srv.run_to_exit()
        self.assertNotEqual(rc, 0)
        self.assertIn("unknown key 'lisen'", log)


if __name__ == "__main__":
    unittest.main()
