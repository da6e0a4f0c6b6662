"""Conformance kit for auth plugins: any auth plugin, run in a real vimapd,
goes through the same cases (tests/proto/test_authkit.py runs it against
cp, esm, checkpassword and the OAUTHBEARER sample).

A site testing its own exit subclasses AuthKit with unittest.TestCase:

    class MyExit(AuthKit, unittest.TestCase):
        @classmethod
        def make_server(cls):          # a started vimaptest.Server using the exit,
            ...                        # with cls.USER enrolled
        USER = "site"
        def secret(self, user, right): # what the client presents for `user`:
            ...                        # the password, or a wrong one

The kit reads the mechanisms from CAPABILITY (AUTH=...) and runs, for
each one it can speak (PLAIN, LOGIN, SCRAM-SHA-256, OAUTHBEARER):
right secret, wrong secret, unknown user, the exchange without and with
the SASL-IR initial response, a cancelled exchange ("*" -> BAD) and
malformed base64 (-> BAD); and LOGIN when the plugin checks passwords.
Every failure must look the same to the client, and the log must hold
the client's address and the user but never a secret.

The client side is Python's own: imaplib's authenticate() and a SCRAM-SHA-256
client written here with hashlib and hmac (RFC 5802, RFC 7677)."""

import base64
import hashlib
import hmac
import imaplib
import os
import re

from vimaptest import Server  # noqa: F401  (re-exported for kit users)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


class ScramClient:
    """The client half of SCRAM-SHA-256.  Feed it to imaplib's
    authenticate() as the authobject: it is called with each decoded
    challenge and returns the next response."""

    def __init__(self, user, password, nonce=None, gs2=b"n,,"):
        self.user = user
        self.password = password
        self.gs2 = gs2
        self.nonce = nonce or b64(os.urandom(18))
        self.step = 0
        self.server_signature = None
        self.verified = False

    @staticmethod
    def saslname(name):
        return name.replace("=", "=3D").replace(",", "=2C")

    def client_first_bare(self):
        return f"n={self.saslname(self.user)},r={self.nonce}".encode()

    def first(self):
        return self.gs2 + self.client_first_bare()

    def final(self, server_first):
        attrs = dict(a.split("=", 1) for a in server_first.decode().split(","))
        if not attrs["r"].startswith(self.nonce):
            raise ValueError("server nonce does not extend ours")
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c={b64(self.gs2)},r={attrs['r']}".encode()
        auth_message = self.client_first_bare() + b"," + server_first + b"," + without_proof
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return without_proof + b",p=" + b64(proof).encode()

    def __call__(self, challenge):
        if self.step == 0:
            if challenge != b"":
                raise ValueError("expected an empty first challenge")
            self.step = 1
            return self.first()
        if self.step == 1:
            self.step = 2
            return self.final(challenge)
        if challenge != b"v=" + b64(self.server_signature).encode():
            raise ValueError("the server's signature is wrong: %r" % challenge)
        self.verified = True
        return b""


def plain_message(user, secret):
    return f"\0{user}\0{secret}".encode()


def oauthbearer_message(user, token):
    return f"n,a={user},\x01auth=Bearer {token}\x01\x01".encode()


class Responder:
    """An authobject for imaplib: answers the challenges of one mechanism."""

    def __init__(self, mech, user, secret, initial_sent=False):
        self.mech = mech
        self.user = user
        self.secret = secret
        self.challenges = []
        self.scram = ScramClient(user, secret) if mech == "SCRAM-SHA-256" else None
        self.login_step = 1 if initial_sent else 0

    def initial(self):
        """The SASL-IR initial response."""
        if self.mech == "PLAIN":
            return plain_message(self.user, self.secret)
        if self.mech == "LOGIN":
            return self.user.encode()
        if self.mech == "OAUTHBEARER":
            return oauthbearer_message(self.user, self.secret)
        self.scram.step = 1
        return self.scram.first()

    def __call__(self, challenge):
        self.challenges.append(challenge)
        if self.mech == "PLAIN":
            return plain_message(self.user, self.secret)
        if self.mech == "LOGIN":
            self.login_step += 1
            return self.user if self.login_step == 1 else self.secret
        if self.mech == "OAUTHBEARER":
            # An error challenge (RFC 7628 3.2.2) is answered with %x01.
            return oauthbearer_message(self.user, self.secret) if challenge == b"" else b"\x01"
        return self.scram(challenge)


KNOWN_MECHS = ("PLAIN", "LOGIN", "SCRAM-SHA-256", "OAUTHBEARER")


class AuthKit:
    """The cases.  Subclasses set USER (enrolled), UNKNOWN_USER (not in the
    plugin's directory), make_server() and secret()."""

    USER = "kituser"
    UNKNOWN_USER = "nosuchuser"
    srv = None

    @classmethod
    def make_server(cls):
        raise NotImplementedError

    def secret(self, user, right):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.make_server()

    @classmethod
    def tearDownClass(cls):
        if cls.srv is not None:
            cls.srv.stop()

    # ---- helpers ----

    def connect(self):
        return imaplib.IMAP4("127.0.0.1", self.srv.port)

    def mechanisms(self):
        m = self.connect()
        try:
            caps = m.capabilities
        finally:
            m.logout()
        offered = [c[5:] for c in caps if c.startswith("AUTH=")]
        self.assertTrue(offered, "no AUTH= in CAPABILITY %r" % (caps,))
        return offered

    def kit_mechanisms(self):
        return [m for m in self.mechanisms() if m in KNOWN_MECHS]

    def authenticate(self, mech, user, secret):
        """Runs imaplib's authenticate(); returns (ok, text, responder)."""
        m = self.connect()
        r = Responder(mech, user, secret)
        try:
            typ, data = m.authenticate(mech, r)
            ok = typ == "OK"
            if ok:
                typ, _ = m.list()
                self.assertEqual(typ, "OK")
            text = data[0].decode() if data and data[0] else ""
        except imaplib.IMAP4.error as e:
            ok, text = False, str(e)
        finally:
            try:
                m.logout()
            except Exception:
                pass
        return ok, text, r

    def raw(self):
        c = self.srv.connect()
        self.addCleanup(c.sock.close)
        self.assertTrue(c.readline().startswith("* OK"))
        return c

    def tagged(self, c, tag):
        """Reads to the tagged line; returns (tagged, [earlier lines])."""
        lines = []
        while True:
            line = c.readline()
            if line.startswith(tag + " "):
                return line, lines
            lines.append(line)

    # ---- the cases ----

    def test_right_secret_every_mechanism(self):
        for mech in self.kit_mechanisms():
            with self.subTest(mech=mech):
                ok, text, r = self.authenticate(mech, self.USER, self.secret(self.USER, True))
                self.assertTrue(ok, f"{mech}: {text}")
                if mech == "SCRAM-SHA-256":
                    self.assertTrue(r.scram.verified, "server signature not checked")

    def test_wrong_secret_and_unknown_user_look_the_same(self):
        for mech in self.kit_mechanisms():
            with self.subTest(mech=mech):
                ok1, wrong, _ = self.authenticate(mech, self.USER, self.secret(self.USER, False))
                ok2, unknown, _ = self.authenticate(mech, self.UNKNOWN_USER,
                                                    self.secret(self.UNKNOWN_USER, True))
                self.assertFalse(ok1)
                self.assertFalse(ok2)
                self.assertIn("AUTHENTICATIONFAILED", wrong)
                self.assertEqual(wrong, unknown)

    def test_multi_step_exchange(self):
        """An exchange with at least two challenges before the answer."""
        multi = [m for m in self.kit_mechanisms() if m in ("LOGIN", "SCRAM-SHA-256")]
        if not multi and "OAUTHBEARER" in self.kit_mechanisms():
            # OAUTHBEARER's error round: challenge, %x01, then NO.
            c = self.raw()
            c.send("m1 AUTHENTICATE OAUTHBEARER\r\n")
            self.assertEqual(c.readline(), "+ ")
            c.send(b64(oauthbearer_message(self.USER, self.secret(self.USER, False))) + "\r\n")
            line = c.readline()
            self.assertTrue(line.startswith("+ "), line)
            self.assertIn(b"invalid_token", base64.b64decode(line[2:]))
            c.send(b64(b"\x01") + "\r\n")
            tagged, _ = self.tagged(c, "m1")
            self.assertIn("NO [AUTHENTICATIONFAILED]", tagged)
            return
        self.assertTrue(multi, "no multi-step mechanism offered")
        for mech in multi:
            with self.subTest(mech=mech):
                ok, text, r = self.authenticate(mech, self.USER, self.secret(self.USER, True))
                self.assertTrue(ok, text)
                self.assertGreaterEqual(len(r.challenges), 2, r.challenges)

    def test_sasl_ir(self):
        for mech in self.kit_mechanisms():
            with self.subTest(mech=mech):
                r = Responder(mech, self.USER, self.secret(self.USER, True), initial_sent=True)
                c = self.raw()
                c.send(f"i1 AUTHENTICATE {mech} {b64(r.initial())}\r\n")
                while True:
                    line = c.readline()
                    if not line.startswith("+"):
                        break
                    reply = r(base64.b64decode(line[2:]))
                    c.send(b64(reply) + "\r\n")
                self.assertTrue(line.startswith("i1 OK"), line)
                c.send("i2 NOOP\r\n")
                tagged, _ = self.tagged(c, "i2")
                self.assertTrue(tagged.startswith("i2 OK"), tagged)

    def test_empty_initial_response(self):
        """"=" is an empty initial response: valid SASL-IR syntax."""
        mech = self.kit_mechanisms()[0]
        c = self.raw()
        c.send(f"e1 AUTHENTICATE {mech} =\r\n")
        line = c.readline()
        if line.startswith("+"):
            c.send("*\r\n")
            line, _ = self.tagged(c, "e1")
        self.assertRegex(line, r"^e1 (NO|BAD) ")

    def test_cancel(self):
        for mech in self.kit_mechanisms():
            with self.subTest(mech=mech):
                c = self.raw()
                c.send(f"c1 AUTHENTICATE {mech}\r\n")
                self.assertTrue(c.readline().startswith("+"))
                c.send("*\r\n")
                tagged, _ = self.tagged(c, "c1")
                self.assertTrue(tagged.startswith("c1 BAD"), tagged)
                # The connection goes on: a later exchange works.
                r = Responder(mech, self.USER, self.secret(self.USER, True), initial_sent=True)
                c.send(f"c2 AUTHENTICATE {mech} {b64(r.initial())}\r\n")
                line = c.readline()
                while line.startswith("+"):
                    c.send(b64(r(base64.b64decode(line[2:]))) + "\r\n")
                    line = c.readline()
                self.assertTrue(line.startswith("c2 OK"), line)

    def test_malformed_base64(self):
        for mech in self.kit_mechanisms():
            with self.subTest(mech=mech):
                c = self.raw()
                c.send(f"b1 AUTHENTICATE {mech}\r\n")
                self.assertTrue(c.readline().startswith("+"))
                c.send("not*base64!\r\n")
                tagged, _ = self.tagged(c, "b1")
                self.assertTrue(tagged.startswith("b1 BAD"), tagged)
                c.send(f"b2 AUTHENTICATE {mech} QQ=\r\n")   # bad padding
                tagged, _ = self.tagged(c, "b2")
                self.assertTrue(tagged.startswith("b2 BAD"), tagged)
                c.send("b3 NOOP\r\n")
                tagged, _ = self.tagged(c, "b3")
                self.assertTrue(tagged.startswith("b3 OK"), tagged)

    def test_unsupported_mechanism(self):
        c = self.raw()
        c.send("u1 AUTHENTICATE X-NO-SUCH-MECH\r\n")
        tagged, _ = self.tagged(c, "u1")
        self.assertTrue(tagged.startswith("u1 NO"), tagged)

    def test_login_command(self):
        """LOGIN works exactly when the plugin checks passwords (it then
        offers PLAIN)."""
        m = self.connect()
        if "PLAIN" not in self.mechanisms():
            with self.assertRaises(imaplib.IMAP4.error):
                m.login(self.USER, self.secret(self.USER, True))
            m.logout()
            return
        m.login(self.USER, self.secret(self.USER, True))
        m.logout()
        answers = []
        for user, right in [(self.USER, False), (self.UNKNOWN_USER, True)]:
            m = self.connect()
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                m.login(user, self.secret(user, right))
            answers.append(str(cm.exception))
            m.logout()
        self.assertEqual(answers[0], answers[1])
        self.assertIn("AUTHENTICATIONFAILED", answers[0])

    def test_log_names_address_and_user_never_the_secret(self):
        for mech in self.kit_mechanisms():
            self.authenticate(mech, self.USER, self.secret(self.USER, False))
        log = self.srv.wait_log("refused")
        self.assertRegex(log, r"127\.0\.0\.1: (AUTHENTICATE \S+ of|login of) '%s' refused"
                         % re.escape(self.USER))
        for right in (True, False):
            s = self.secret(self.USER, right)
            self.assertNotIn(s, log)
            self.assertNotIn(b64(plain_message(self.USER, s)), log)
