"""TLS against a real vimapd: STARTTLS (openssl s_client, imaplib), implicit
TLS on the second port (curl over imaps, imaplib.IMAP4_SSL), the STARTTLS
command-injection defence, STARTTLS refusals, LOGINDISABLED and the
`tls: require` modes, certificate reload on SIGHUP while connections stay
up, and start-up refusals for certificates that do not load.  The test CA
and certificates are made here with the openssl command."""

import imaplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from vimaptest import Server, free_port

if shutil.which("openssl") is None:
    raise unittest.SkipTest("the openssl command is needed to make the test CA")

MSG = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: over TLS\r\n"
       b"\r\nHello through TLS.\r\n")


def run(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, **kw)


class TestCA:
    """A throw-away CA in a directory, issuing server certificates for
    127.0.0.1 and localhost."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="vimap-tls-")
        self.ca_key = self.path("ca.key")
        self.ca = self.path("ca.pem")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=vimap test CA", "-keyout", self.ca_key, "-out", self.ca)

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name):
        """Makes NAME.pem and NAME.key with subject CN=NAME; returns both paths."""
        cert, key, csr = self.path(name + ".pem"), self.path(name + ".key"), self.path(name + ".csr")
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n")
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
            "-keyout", key, "-out", csr)
        run("openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
            "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
        return cert, key

    def context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def peer_cn(sslsock):
    subject = dict(x[0] for x in sslsock.getpeercert()["subject"])
    return subject["commonName"]


def tls_config(cert, key, port, require=None, extra=""):
    text = f"tls:\n  certificate: {cert}\n  key: {key}\n  port: {port}\n"
    if require is not None:
        text += f"  require: {require}\n"
    return text + extra


class RawTLS:
    """A raw IMAP connection that can switch to TLS in the middle."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def until_tagged(self, tag):
        lines = []
        while True:
            lines.append(self.readline())
            if lines[-1].startswith(tag + " "):
                return lines

    def command(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until_tagged(tag)

    def wrap(self, ctx):
        assert self.buf == b"", "plaintext left over before TLS: %r" % self.buf
        self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")

    def close(self):
        self.sock.close()


class TLSBase(unittest.TestCase):
    require = None

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.cert, cls.key = cls.ca.issue("one")
        cls.tls_port = free_port()
        cls.srv = Server(tls_config(cls.cert, cls.key, cls.tls_port, cls.require)).start()
        cls.srv.add_user("alice", "wonderland", blocks=10000)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.ca.remove()

    def starttls(self):
        """A plaintext connection switched to TLS by STARTTLS."""
        c = RawTLS(self.srv.port)
        c.readline()
        self.assertEqual(c.command("s", "STARTTLS")[-1], "s OK Begin TLS negotiation now.")
        c.wrap(self.ca.context())
        return c


class StartTLS(TLSBase):
    def test_capability_offers_starttls_before_and_not_after(self):
        c = RawTLS(self.srv.port)
        greeting = c.readline()
        self.assertIn(" STARTTLS", greeting)
        self.assertIn("AUTH=PLAIN", greeting)       # loopback: non-loopback mode allows it
        self.assertNotIn("LOGINDISABLED", greeting)
        c.command("s", "STARTTLS")
        c.wrap(self.ca.context())
        caps = c.command("c", "CAPABILITY")[0]
        self.assertNotIn("STARTTLS", caps)
        self.assertIn("AUTH=PLAIN", caps)
        c.close()

    def test_openssl_s_client_starttls(self):
        script = (b"a LOGIN alice wonderland\r\nb SELECT INBOX\r\nc LOGOUT\r\n")
        p = subprocess.run(
            ["openssl", "s_client", "-starttls", "imap", "-connect",
             f"127.0.0.1:{self.srv.port}", "-CAfile", self.ca.ca,
             "-verify_return_error", "-ign_eof"],
            input=script, capture_output=True, timeout=30)
        out = p.stdout.decode("utf-8", "replace")
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertIn("a OK", out)
        self.assertIn("b OK", out)
        self.assertIn("* BYE Logging out.", out)

    def test_imaplib_starttls_login_fetch(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        m.starttls(self.ca.context())
        self.assertEqual(peer_cn(m.sock), "one")
        self.assertIn("AUTH=PLAIN", m.capabilities)
        m.login("alice", "wonderland")
        m.append("INBOX", None, None, MSG)
        m.select("INBOX")
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        self.assertIn(MSG, [d[1] for d in data if isinstance(d, tuple)])
        m.logout()

    def test_pipelined_command_after_starttls_is_not_executed(self):
        """CVE-2011-0411 class: plaintext bytes sent behind STARTTLS must
        not run as if they came over TLS."""
        c = RawTLS(self.srv.port)
        c.readline()
        c.send("s STARTTLS\r\nx LOGIN alice wonderland\r\ny CAPABILITY\r\n")
        self.assertEqual(c.until_tagged("s")[-1], "s OK Begin TLS negotiation now.")
        c.wrap(self.ca.context())
        lines = c.command("z", "NOOP")
        self.assertEqual(lines, ["z OK NOOP completed."])   # no x or y answer came first
        # Still not logged in: the injected LOGIN did not run.
        self.assertTrue(c.command("w", "SELECT INBOX")[-1].startswith("w BAD"))
        c.close()
        self.assertIn("after STARTTLS before TLS discarded",
                      self.srv.wait_log("after STARTTLS before TLS discarded"))

    def test_starttls_twice_is_refused(self):
        c = self.starttls()
        self.assertEqual(c.command("t", "STARTTLS")[-1], "t BAD TLS is already active.")
        self.assertEqual(c.command("n", "NOOP")[-1], "n OK NOOP completed.")
        c.close()

    def test_starttls_on_implicit_port_is_refused(self):
        with socket.create_connection(("127.0.0.1", self.tls_port), 10) as s:
            c = RawTLS.__new__(RawTLS)
            c.sock = self.ca.context().wrap_socket(s, server_hostname="127.0.0.1")
            c.buf = b""
            self.assertNotIn("STARTTLS", c.readline())
            self.assertTrue(c.command("t", "STARTTLS")[-1].startswith("t BAD"))
            c.close()

    def test_starttls_with_arguments_or_after_login_is_bad(self):
        c = RawTLS(self.srv.port)
        c.readline()
        self.assertTrue(c.command("t", "STARTTLS now")[-1].startswith("t BAD"))
        c.close()
        c = self.starttls()
        self.assertEqual(c.command("l", "LOGIN alice wonderland")[-1][:4], "l OK")
        self.assertTrue(c.command("t", "STARTTLS")[-1].startswith("t BAD"))
        c.close()

    def test_handshake_garbage_closes_connection_only(self):
        c = RawTLS(self.srv.port)
        c.readline()
        c.command("s", "STARTTLS")
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        c.sock.settimeout(10)
        data = b""
        try:
            while True:
                chunk = c.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        self.assertNotIn(b"OK", data)
        c.close()
        self.assertIn("TLS handshake failed", self.srv.wait_log("TLS handshake failed"))
        # The server goes on.
        m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
        m.logout()


class ImplicitTLS(TLSBase):
    def test_imaplib_imap4_ssl_login_fetch(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertEqual(peer_cn(m.sock), "one")
        m.login("alice", "wonderland")
        m.append("INBOX", None, None, MSG)
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK")
        self.assertIn(b"over TLS", data[0][1])
        m.logout()

    @unittest.skipIf(shutil.which("curl") is None, "curl is not installed")
    def test_curl_imaps(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
        m.login("alice", "wonderland")
        m.create("Curl")
        m.append("Curl", None, None, MSG)
        m.logout()
        p = subprocess.run(
            ["curl", "-sS", "--max-time", "30", "--cacert", self.ca.ca,
             f"imaps://127.0.0.1:{self.tls_port}/Curl;UID=1", "-u", "alice:wonderland"],
            capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, MSG)
        # The listing of the mailbox too (curl's LIST form).
        p = subprocess.run(
            ["curl", "-sS", "--max-time", "30", "--cacert", self.ca.ca,
             f"imaps://127.0.0.1:{self.tls_port}/", "-u", "alice:wonderland"],
            capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Curl", p.stdout)

    def test_large_message_both_ways(self):
        """A 3 MB literal in and out: many TLS records, partial writes."""
        body = b"".join(b"line %07d of a large message over TLS\r\n" % i
                        for i in range(75000))
        big = b"Subject: big\r\n\r\n" + body
        m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
        m.login("alice", "wonderland")
        m.create("Big")
        typ, data = m.append("Big", None, None, big)
        self.assertEqual(typ, "OK", data)
        m.select("Big")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], big)
        # Pipelined small commands behind it all come back.
        tags = [m._command("NOOP") for _ in range(20)]
        for t in tags:
            self.assertEqual(m._command_complete("NOOP", t)[0], "OK")
        m.logout()

    def test_idle_over_tls_hears_of_new_mail(self):
        with socket.create_connection(("127.0.0.1", self.tls_port), 10) as s:
            c = RawTLS.__new__(RawTLS)
            c.sock = self.ca.context().wrap_socket(s, server_hostname="127.0.0.1")
            c.buf = b""
            c.readline()
            self.assertTrue(c.command("l", "LOGIN alice wonderland")[-1].startswith("l OK"))
            m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
            m.login("alice", "wonderland")
            m.create("Idle")
            self.assertTrue(c.command("s", "SELECT Idle")[-1].startswith("s OK"))
            c.send("i IDLE\r\n")
            self.assertEqual(c.readline(), "+ idling")
            m.append("Idle", None, None, MSG)
            self.assertEqual(c.readline(), "* 1 EXISTS")
            c.send("DONE\r\n")
            self.assertEqual(c.until_tagged("i")[-1], "i OK IDLE terminated.")
            m.logout()
            c.close()

    def test_client_gone_mid_handshake(self):
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", self.tls_port), 10)
            s.sendall(b"\x16\x03\x01\x00\x05")   # a truncated ClientHello
            s.close()
        m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
        self.assertEqual(m.noop()[0], "OK")
        m.logout()

    def test_slow_handshake_does_not_block_other_clients(self):
        idle = socket.create_connection(("127.0.0.1", self.tls_port), 10)
        try:
            m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
            m.login("alice", "wonderland")
            m.logout()
        finally:
            idle.close()

    def test_wrong_ca_fails_verification(self):
        other = TestCA()
        try:
            with self.assertRaises(ssl.SSLCertVerificationError):
                imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=other.context())
        finally:
            other.remove()


class TraceOverTLS(unittest.TestCase):
    def test_socketio_trace_shows_plaintext_with_password_masked(self):
        ca = TestCA()
        try:
            cert, key = ca.issue("one")
            tls_port = free_port()
            with Server(tls_config(cert, key, tls_port,
                                   extra="trace:\n  socketio: true\n")) as srv:
                srv.add_user("alice", "wonderland")
                m = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ca.context())
                m.login("alice", "wonderland")
                m.logout()
                m = imaplib.IMAP4("127.0.0.1", srv.port)
                m.starttls(ca.context())
                m.login("alice", "wonderland")
                m.logout()
                log = srv.wait_log("LOGOUT")
                self.assertIn("S: * OK [CAPABILITY", log)
                self.assertRegex(log, r"C: \w+ LOGIN alice \*\*\*")
                self.assertRegex(log, r"C: \w+ STARTTLS")
                self.assertNotIn("wonderland", log)
        finally:
            ca.remove()


class RequireAlways(TLSBase):
    require = "always"

    def test_plaintext_has_logindisabled_and_login_is_refused(self):
        c = RawTLS(self.srv.port)
        greeting = c.readline()
        self.assertIn("STARTTLS", greeting)
        self.assertIn("LOGINDISABLED", greeting)
        self.assertNotIn("AUTH=PLAIN", greeting)
        caps = c.command("c", "CAPABILITY")[0]
        self.assertIn("LOGINDISABLED", caps)
        # Mechanisms that send the password as it is go; SCRAM may stay.
        self.assertNotIn("AUTH=PLAIN", caps)
        self.assertNotIn("AUTH=LOGIN", caps)
        lines = c.command("a", "AUTHENTICATE PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=")
        self.assertRegex(lines[-1], r"^a (NO|BAD) ")
        lines = c.command("l", "LOGIN alice wonderland")
        self.assertRegex(lines[-1], r"^l (NO|BAD) ")
        self.assertTrue(c.command("s", "SELECT INBOX")[-1].startswith("s BAD"))
        c.close()

    def test_login_works_after_starttls(self):
        c = self.starttls()
        caps = c.command("c", "CAPABILITY")[0]
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertTrue(c.command("l", "LOGIN alice wonderland")[-1].startswith("l OK"))
        c.close()

    def test_imaplib_refuses_login_on_logindisabled(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        self.assertIn("LOGINDISABLED", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("alice", "wonderland")
        m.starttls(self.ca.context())
        m.login("alice", "wonderland")
        m.logout()

    def test_implicit_tls_allows_login(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port, ssl_context=self.ca.context())
        self.assertNotIn(b"LOGINDISABLED", m.welcome)
        self.assertIn(b"AUTH=PLAIN", m.welcome)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        m.login("alice", "wonderland")
        m.logout()


class RequireNever(TLSBase):
    require = "never"

    def test_plaintext_login_allowed(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        self.assertIn("STARTTLS", m.capabilities)
        m.login("alice", "wonderland")
        m.logout()


class NoTLSConfigured(unittest.TestCase):
    def test_no_starttls_offered_and_refused(self):
        with Server() as srv:
            c = RawTLS(srv.port)
            greeting = c.readline()
            self.assertNotIn("STARTTLS", greeting)
            self.assertNotIn("LOGINDISABLED", greeting)   # loopback
            self.assertEqual(c.command("s", "STARTTLS")[-1], "s BAD TLS is not configured.")
            self.assertEqual(c.command("n", "NOOP")[-1], "n OK NOOP completed.")
            c.close()


class Reload(unittest.TestCase):
    def test_sighup_serves_new_certificate_and_keeps_connections(self):
        ca = TestCA()
        try:
            one_cert, one_key = ca.issue("one")
            two_cert, two_key = ca.issue("two")
            cert, key = ca.path("server.pem"), ca.path("server.key")
            shutil.copy(one_cert, cert)
            shutil.copy(one_key, key)
            tls_port = free_port()
            with Server(tls_config(cert, key, tls_port)) as srv:
                srv.add_user("alice", "wonderland")
                old = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ca.context())
                old.login("alice", "wonderland")
                old.append("INBOX", None, None, MSG)
                old.select("INBOX")
                self.assertEqual(peer_cn(old.sock), "one")
                old_plain = imaplib.IMAP4("127.0.0.1", srv.port)
                old_plain.starttls(ca.context())

                shutil.copy(two_cert, cert)
                shutil.copy(two_key, key)
                srv.signal(signal.SIGHUP)
                self.assertIn("TLS certificate and key reloaded",
                              srv.wait_log("TLS certificate and key reloaded"))

                new = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ca.context())
                self.assertEqual(peer_cn(new.sock), "two")
                new.login("alice", "wonderland")
                new.logout()
                m = imaplib.IMAP4("127.0.0.1", srv.port)
                m.starttls(ca.context())
                self.assertEqual(peer_cn(m.sock), "two")
                m.logout()

                # The connections made before the reload go on.
                typ, data = old.fetch("1", "(BODY.PEEK[])")
                self.assertEqual(typ, "OK")
                self.assertEqual(data[0][1], MSG)
                old_plain.login("alice", "wonderland")
                self.assertEqual(old_plain.noop()[0], "OK")

                # A bad file on reload: logged, the last good one stays.
                with open(cert, "w") as f:
                    f.write("not a certificate\n")
                srv.signal(signal.SIGHUP)
                log = srv.wait_log("TLS reload failed")
                self.assertIn("TLS reload failed", log)
                self.assertIn(cert, log)
                new = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ca.context())
                self.assertEqual(peer_cn(new.sock), "two")
                new.logout()
                self.assertEqual(old.noop()[0], "OK")
                old.logout()
                old_plain.logout()
        finally:
            ca.remove()


class StartupRefusals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.cert, cls.key = cls.ca.issue("one")
        cls.other_cert, cls.other_key = cls.ca.issue("other")

    @classmethod
    def tearDownClass(cls):
        cls.ca.remove()

    def refused(self, tls):
        srv = Server(tls)
        rc, log = srv.run_to_exit()
        srv.stop()
        self.assertEqual(rc, 1, log)
        lines = [l for l in log.splitlines() if "start-up failed" in l]
        self.assertEqual(len(lines), 1, log)
        return lines[0]

    def test_bad_certificate_stops_startup_with_path_and_reason(self):
        bad = self.ca.path("bad.pem")
        with open(bad, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                    "-----END CERTIFICATE-----\n")
        line = self.refused(tls_config(bad, self.key, free_port()))
        self.assertIn("tls.certificate " + bad, line)
        self.assertIn("cannot load", line)

    def test_missing_key_file_is_named(self):
        missing = self.ca.path("nonexistent.key")
        line = self.refused(tls_config(self.cert, missing, free_port()))
        self.assertIn("tls.key " + missing, line)
        self.assertIn("No such file", line)

    def test_key_of_another_certificate_is_refused(self):
        line = self.refused(tls_config(self.cert, self.other_key, free_port()))
        self.assertIn("tls.key " + self.other_key, line)
        self.assertIn("mismatch", line)

    def test_unknown_tls_key_and_bad_require_are_config_errors(self):
        srv = Server(f"tls:\n  certificate: {self.cert}\n  requier: always\n")
        rc, log = srv.run_to_exit()
        self.assertEqual(rc, 1)
        self.assertRegex(log, r"vimap\.yaml:\d+:\d+: tls: unknown key 'requier'")
        srv = Server(f"tls:\n  certificate: {self.cert}\n  require: sometimes\n")
        rc, log = srv.run_to_exit()
        self.assertEqual(rc, 1)
        self.assertIn("non-loopback, always or never", log)
        srv.stop()
        srv = Server(f"tls:\n  key: {self.key}\n")
        rc, log = srv.run_to_exit()
        self.assertEqual(rc, 1)
        self.assertIn("tls: 'key' and 'ca' need 'certificate'", log)
        srv.stop()

    def test_tls_port_must_differ_from_port(self):
        port = free_port()
        srv = Server(tls_config(self.cert, self.key, port), port=port)
        rc, log = srv.run_to_exit()
        srv.stop()
        self.assertEqual(rc, 1)
        self.assertIn("implicit TLS needs a port of its own", log)


if __name__ == "__main__":
    unittest.main()
