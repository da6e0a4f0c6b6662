"""The auth conformance kit (authkit.py) run against every auth plugin we
ship: cp, esm (PAM; needs root), checkpassword and the out-of-tree
OAUTHBEARER sample; then the kernel's own authentication rules: SCRAM
details, the users file's SCRAM secrets, plaintext refusal, brute-force
delays."""

import base64
import contextlib
import hashlib
import hmac
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from authkit import AuthKit, Responder, ScramClient, b64, plain_message
from vimaptest import BUILDDIR, PLUGIN_DIR, SRCDIR, Server

NO_THROTTLE = "auth_throttle:\n  base_ms: 0\n"


def started(srv):
    try:
        return srv.start()
    except Exception:
        srv.stop()
        raise


# ---- the kit against each plugin ----

class CpKit(AuthKit, unittest.TestCase):
    """cp: the users file with yescrypt and SCRAM-SHA-256 secrets."""

    @classmethod
    def make_server(cls):
        srv = started(Server(NO_THROTTLE))
        srv.add_user(cls.USER, "kit-Pa55")
        return srv

    def secret(self, user, right):
        return "kit-Pa55" if right else "kit-wrong"

    def test_offers_scram_plain_login(self):
        self.assertEqual(set(self.mechanisms()), {"SCRAM-SHA-256", "PLAIN", "LOGIN"})


# Per run: two runs at once (two build trees) must not share the system
# user or the PAM service file one of them removes.
PAM_SERVICE = "vimap-test-%d" % os.getpid()
PAM_FILE = "/etc/pam.d/" + PAM_SERVICE
PAM_USER = "vimapkit%d" % os.getpid()


def pam_unix_path():
    for d in ("/lib/x86_64-linux-gnu/security", "/usr/lib/x86_64-linux-gnu/security",
              "/lib/security", "/usr/lib/security", "/lib64/security", "/usr/lib64/security"):
        if os.path.exists(os.path.join(d, "pam_unix.so")):
            return os.path.join(d, "pam_unix.so")
    return None


def esm_skip_reason():
    if os.geteuid() != 0:
        return "needs root (creates a system user and a PAM service file)"
    if not os.path.exists(os.path.join(PLUGIN_DIR, "esm.so")):
        return "esm plugin not built (PAM headers missing)"
    if pam_unix_path() is None:
        return "pam_unix.so not found"
    if shutil.which("useradd") is None or shutil.which("chpasswd") is None:
        return "useradd/chpasswd missing"
    return None


@contextlib.contextmanager
def asan_libcrypt_preload():
    """Under AddressSanitizer, libcrypt must be loaded at start: ASan's
    crypt_r interceptor finds no real crypt_r when pam_unix dlopens it
    later, and jumps to address 0.  A plain build needs nothing."""
    from vimaptest import VIMAPD
    ldd = subprocess.run(["ldd", VIMAPD], capture_output=True, text=True).stdout
    lib = [l.split("=>")[1].split()[0] for l in subprocess.run(
        ["ldconfig", "-p"], capture_output=True, text=True).stdout.splitlines()
        if "libcrypt.so.1 " in l and "=>" in l]
    if "libasan" not in ldd or "libcrypt.so" in ldd or not lib:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("LD_PRELOAD", "ASAN_OPTIONS")}
    os.environ["LD_PRELOAD"] = lib[0]
    os.environ["ASAN_OPTIONS"] = ((saved["ASAN_OPTIONS"] + ":") if saved["ASAN_OPTIONS"]
                                  else "") + "verify_asan_link_order=0"
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@unittest.skipIf(esm_skip_reason() is not None, esm_skip_reason() or "")
class EsmKit(AuthKit, unittest.TestCase):
    """esm: a real PAM stack (pam_unix) against a system user made here."""

    USER = PAM_USER
    PASSWORD = "Esm-kit-9q"

    @classmethod
    def make_server(cls):
        subprocess.run(["userdel", PAM_USER], capture_output=True)
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", PAM_USER],
                       check=True, capture_output=True)
        subprocess.run(["chpasswd"], input=f"{PAM_USER}:{cls.PASSWORD}\n", text=True,
                       check=True, capture_output=True)
        with open(PAM_FILE, "w") as f:
            f.write("# written by vimap's tests/proto/test_authkit.py\n"
                    "auth required pam_unix.so nodelay\n"
                    "account required pam_unix.so\n")
        srv = Server(f"  esm:\n    service: {PAM_SERVICE}\n"
                     "authenticate: esm\n" + NO_THROTTLE)
        with asan_libcrypt_preload():
            started(srv)
        srv.vimap("ENROLL", PAM_USER)
        return srv

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        try:
            os.unlink(PAM_FILE)
        except OSError:
            pass
        subprocess.run(["userdel", PAM_USER], capture_output=True)

    def secret(self, user, right):
        return self.PASSWORD if right else "Esm-wrong-1"

    def test_log_names_the_pam_service(self):
        self.assertIn(f"PAM service '{PAM_SERVICE}'", self.srv.log())

    def test_locked_account_is_denied(self):
        subprocess.run(["usermod", "-L", PAM_USER], check=True)
        try:
            m = self.connect()
            with self.assertRaises(imaplib.IMAP4.error):
                m.login(PAM_USER, self.PASSWORD)
            m.logout()
        finally:
            subprocess.run(["usermod", "-U", PAM_USER], check=True)


CHECKPASSWORD_SCRIPT = r"""#!/bin/bash
# checkpassword protocol: user NUL password NUL timestamp NUL on fd 3
IFS= read -r -d '' user <&3
IFS= read -r -d '' pass <&3
IFS= read -r -d '' stamp <&3
case "$stamp" in ''|*[!0-9]*) exit 2 ;; esac
case "$user:$pass" in
  "kituser:cpw-right") exec "$@" ;;
  "tempfail:"*) exit 111 ;;
  "slow:"*) sleep 30 ;;
esac
exit 1
"""


class CheckpasswordKit(AuthKit, unittest.TestCase):
    """checkpassword: an external program (a shell script here)."""

    @classmethod
    def make_server(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vimap-cpw-")
        prog = os.path.join(cls.tmp, "checkpassword")
        with open(prog, "w") as f:
            f.write(CHECKPASSWORD_SCRIPT)
        os.chmod(prog, 0o755)
        srv = started(Server(f"  checkpassword:\n    program: {prog}\n    timeout: 1\n"
                             "authenticate: checkpassword\n" + NO_THROTTLE))
        for user in (cls.USER, "tempfail", "slow"):
            srv.vimap("ENROLL", user)
        return srv

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def secret(self, user, right):
        return "cpw-right" if right else "cpw-wrong"

    def test_temporary_failure_is_unavailable(self):
        m = self.connect()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("tempfail", "x")
        self.assertIn("UNAVAILABLE", str(cm.exception))
        m.logout()
        self.assertIn("temporary failure (111)", self.srv.wait_log("(111)"))

    def test_timeout_kills_the_program(self):
        m = self.connect()
        t0 = time.time()
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            m.login("slow", "x")
        self.assertLess(time.time() - t0, 5)
        self.assertIn("UNAVAILABLE", str(cm.exception))
        m.logout()
        self.assertIn("timed out and was killed", self.srv.wait_log("timed out"))


def oauth_token(key, user, lifetime=3600):
    msg = f"{user}:{int(time.time()) + lifetime}"
    return msg + ":" + hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


class OauthbearerSampleKit(AuthKit, unittest.TestCase):
    """The sample exit, built out of tree with the installed headers and
    pkg-config, installed into a plugin directory of its own."""

    KEY = b"0123456789abcdef-site-shared-key"

    @classmethod
    def make_server(cls):
        cls.root = tempfile.mkdtemp(prefix="vimap-ob-")
        subprocess.run(["make", "-C", BUILDDIR, "install", f"DESTDIR={cls.root}/inst"],
                       check=True, capture_output=True)
        pcdir = subprocess.run(["find", cls.root, "-name", "vimap.pc"], capture_output=True,
                               text=True).stdout.split()[0]
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcdir),
                   PKG_CONFIG_SYSROOT_DIR=f"{cls.root}/inst")
        src = os.path.join(cls.root, "oauthbearer-copy")
        shutil.copytree(os.path.join(SRCDIR, "auth", "oauthbearer-sample"), src)
        plugins = os.path.join(cls.root, "plugins")
        subprocess.run(["make", "-C", src, "install", f"PLUGINDIR={plugins}"], env=env,
                       check=True, capture_output=True)
        exported = subprocess.run(["nm", "-D", "--defined-only",
                                   os.path.join(plugins, "oauthbearer.so")],
                                  capture_output=True, text=True).stdout
        cls.exported = [l.split()[-1] for l in exported.splitlines()]
        os.symlink(os.path.join(PLUGIN_DIR, "localfs.so"), os.path.join(plugins, "localfs.so"))
        keyfile = os.path.join(cls.root, "key")
        with open(keyfile, "wb") as f:
            f.write(cls.KEY + b"\n")
        srv = started(Server(f"  oauthbearer:\n    key_file: {keyfile}\n"
                             "authenticate: oauthbearer\n" + NO_THROTTLE,
                             plugin_dir=plugins))
        srv.vimap("ENROLL", cls.USER)
        return srv

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.root, ignore_errors=True)

    def secret(self, user, right):
        return oauth_token(self.KEY if right else b"not-the-key-0123456789", user)

    def test_only_the_descriptor_is_exported(self):
        self.assertEqual(self.exported, ["vimap_plugin"])

    def test_offers_only_its_mechanism(self):
        self.assertEqual(self.mechanisms(), ["OAUTHBEARER"])

    def test_expired_token(self):
        ok, text, _ = self.authenticate("OAUTHBEARER", self.USER,
                                        oauth_token(self.KEY, self.USER, lifetime=-10))
        self.assertFalse(ok)
        self.assertIn("token expired", self.srv.wait_log("token expired"))

    def test_disconnect_mid_exchange(self):
        """The exchange's sasl_end runs when the client goes away; the
        server goes on."""
        for _ in range(3):
            c = self.raw()
            c.send("d1 AUTHENTICATE OAUTHBEARER\r\n")
            self.assertEqual(c.readline(), "+ ")
            c.sock.close()
        ok, text, _ = self.authenticate("OAUTHBEARER", self.USER, self.secret(self.USER, True))
        self.assertTrue(ok, text)


# ---- the kernel's rules ----

def scram_line(user, password, iterations=4096, salt=b"0123456789abcdef"):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    server = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored)}:{b64(server)}"


class Scram(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        users = (f"scramonly:{scram_line('scramonly', 'only-Scram')}\n"
                 "cryptonly:{PLAIN}crypt-only\n")
        cls.srv = started(Server(NO_THROTTLE, users=users))
        cls.srv.add_user("alice", "wonder-Land")
        for u in ("scramonly", "cryptonly"):
            cls.srv.vimap("ENROLL", u)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def auth(self, mech, user, password):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        try:
            return m.authenticate(mech, Responder(mech, user, password))[0]
        except imaplib.IMAP4.error as e:
            return str(e)
        finally:
            m.logout()

    def exchange(self, first, final_of):
        """Raw SCRAM: sends client-first, then final_of(server_first)."""
        c = self.srv.connect()
        self.addCleanup(c.sock.close)
        c.readline()
        c.send(f"s1 AUTHENTICATE SCRAM-SHA-256 {b64(first)}\r\n")
        line = c.readline()
        if not line.startswith("+ "):
            return line
        c.send(b64(final_of(base64.b64decode(line[2:]))) + "\r\n")
        line = c.readline()
        while line.startswith("+ "):
            c.send("\r\n")
            line = c.readline()
        return line

    def test_users_file_scram_only_line(self):
        self.assertEqual(self.auth("SCRAM-SHA-256", "scramonly", "only-Scram"), "OK")
        # LOGIN is checked against the SCRAM secret (PBKDF2).
        m = self.srv.login("scramonly", "only-Scram")
        m.logout()
        self.assertIn("AUTHENTICATIONFAILED", self.auth("SCRAM-SHA-256", "scramonly", "no"))

    def test_user_without_scram_secret(self):
        self.assertIn("AUTHENTICATIONFAILED", self.auth("SCRAM-SHA-256", "cryptonly", "crypt-only"))
        self.assertIn("no SCRAM-SHA-256 secret", self.srv.wait_log("no SCRAM-SHA-256 secret"))
        m = self.srv.login("cryptonly", "crypt-only")
        m.logout()

    def test_passwd_writes_both_secrets(self):
        with open(self.srv.users_file) as f:
            line = [l for l in f if l.startswith("alice:")][0]
        self.assertRegex(line, r"^alice:\$y\$[^:]+:SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+"
                         r"\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$")
        self.assertNotIn("wonder-Land", line)

    def test_unknown_user_gets_a_stable_salt(self):
        salts = []
        for _ in range(2):
            sc = ScramClient("ghost", "x")
            seen = []
            self.exchange(sc.first(), lambda sf: (seen.append(sf), sc.final(sf))[1])
            salts.append(dict(a.split("=", 1) for a in seen[0].decode().split(","))["s"])
        self.assertEqual(salts[0], salts[1])

    def test_y_flag_works(self):
        sc = ScramClient("alice", "wonder-Land", gs2=b"y,,")
        self.assertTrue(self.exchange(sc.first(), sc.final).startswith("s1 OK"))

    def test_authzid_must_be_the_user(self):
        sc = ScramClient("alice", "wonder-Land", gs2=b"n,a=alice,")
        self.assertTrue(self.exchange(sc.first(), sc.final).startswith("s1 OK"))
        sc = ScramClient("alice", "wonder-Land", gs2=b"n,a=bob,")
        self.assertTrue(self.exchange(sc.first(), sc.final).startswith("s1 NO"))

    def test_protocol_violations_are_bad(self):
        cases = {
            "channel binding asked": (b"p=tls-unique,,n=alice,r=abc", None),
            "no nonce": (b"n,,n=alice", None),
            "mandatory extension": (b"n,,m=x,n=alice,r=abc", None),
            "bad saslname escape": (b"n,,n=al=ice,r=abc", None),
        }
        for name, (first, _) in cases.items():
            with self.subTest(name):
                self.assertTrue(self.exchange(first, None).startswith("s1 BAD"))
        finals = {
            "wrong channel binding": lambda sc, sf: sc.final(sf).replace(b"c=biws", b"c=eSws"),
            "wrong nonce": lambda sc, sf: sc.final(sf).replace(b",r=", b",r=x"),
            "short proof": lambda sc, sf: sc.final(sf).split(b",p=")[0] + b",p=AAAA",
            "no proof": lambda sc, sf: sc.final(sf).split(b",p=")[0],
        }
        for name, bad in finals.items():
            with self.subTest(name):
                sc = ScramClient("alice", "wonder-Land")
                self.assertTrue(self.exchange(sc.first(), lambda sf: bad(sc, sf))
                                .startswith("s1 BAD"))

    def test_final_confirmation_must_be_empty(self):
        sc = ScramClient("alice", "wonder-Land")
        c = self.srv.connect()
        self.addCleanup(c.sock.close)
        c.readline()
        c.send(f"f1 AUTHENTICATE SCRAM-SHA-256 {b64(sc.first())}\r\n")
        sf = base64.b64decode(c.readline()[2:])
        c.send(b64(sc.final(sf)) + "\r\n")
        self.assertTrue(c.readline().startswith("+ "))
        c.send(b64("junk") + "\r\n")
        self.assertTrue(c.readline().startswith("f1 BAD"))
        c.send("f2 NOOP\r\n")
        self.assertTrue(c.readline().startswith("f2 OK"))


class PlaintextRefused(unittest.TestCase):
    """tls: require: always — plaintext passwords are refused without TLS,
    SCRAM still works."""

    @classmethod
    def setUpClass(cls):
        cls.srv = started(Server("tls:\n  require: always\n" + NO_THROTTLE))
        cls.srv.add_user("alice", "wonder-Land")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_capabilities_and_refusals(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        self.assertIn("LOGINDISABLED", m.capabilities)
        self.assertIn("AUTH=SCRAM-SHA-256", m.capabilities)
        self.assertNotIn("AUTH=PLAIN", m.capabilities)
        self.assertNotIn("AUTH=LOGIN", m.capabilities)
        m.logout()
        c = self.srv.connect()
        self.addCleanup(c.sock.close)
        c.readline()
        c.send("a LOGIN alice wonder-Land\r\n")
        self.assertTrue(c.readline().startswith("a NO [PRIVACYREQUIRED]"))
        c.send(f"b AUTHENTICATE PLAIN {b64(plain_message('alice', 'wonder-Land'))}\r\n")
        self.assertTrue(c.readline().startswith("b NO [PRIVACYREQUIRED]"))
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        self.assertEqual(m.authenticate("SCRAM-SHA-256",
                                        ScramClient("alice", "wonder-Land"))[0], "OK")
        m.logout()


class Throttle(unittest.TestCase):
    """Failed authentications slow the next attempts down, per address and
    per user; a success clears them."""

    @classmethod
    def setUpClass(cls):
        cls.srv = started(Server("auth_throttle:\n  base_ms: 300\n  max_ms: 1200\n"
                                 "  window: 60\n"))
        cls.srv.add_user("alice", "wonder-Land")
        cls.srv.add_user("bob", "builder-Bob")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def login_time(self, user, password, source="127.0.0.1"):
        s = socket.create_connection(("127.0.0.1", self.srv.port), 10,
                                     source_address=(source, 0))
        f = s.makefile("rb")
        f.readline()
        t0 = time.time()
        s.sendall(f"t LOGIN {user} {password}\r\n".encode())
        line = f.readline().decode()
        dt = time.time() - t0
        s.close()
        return dt, line

    def test_exponential_delay_cap_and_reset(self):
        times = []
        for _ in range(5):
            dt, line = self.login_time("alice", "wrong")
            self.assertIn("AUTHENTICATIONFAILED", line)
            times.append(dt)
        # 0, 300, 600, 1200, 1200 (capped) ms, give or take the hashing.
        self.assertLess(times[0], 0.25)
        for got, want in zip(times[1:], (0.3, 0.6, 1.2, 1.2)):
            self.assertGreaterEqual(got, want - 0.02)
            self.assertLess(got, want + 0.5)
        # Per user: another address is slowed for alice, not for bob.
        dt, line = self.login_time("alice", "wrong", source="127.0.0.2")
        self.assertGreaterEqual(dt, 1.18)
        dt, line = self.login_time("bob", "builder-Bob", source="127.0.0.3")
        self.assertLess(dt, 0.25)
        self.assertIn("OK", line)
        # The right password, delayed like any attempt, then everything clears.
        dt, line = self.login_time("alice", "wonder-Land", source="127.0.0.2")
        self.assertIn("OK", line)
        self.assertGreaterEqual(dt, 1.18)
        # 127.0.0.1's own failures still count, until a success from it.
        dt, line = self.login_time("alice", "wonder-Land")
        self.assertGreaterEqual(dt, 1.18)
        dt, line = self.login_time("alice", "wonder-Land")
        self.assertLess(dt, 0.25)
        log = self.srv.log()
        self.assertIn("127.0.0.1: login of 'alice' refused: wrong password", log)
        self.assertIn("127.0.0.2: login of 'alice' refused: wrong password", log)
        self.assertNotIn("wonder-Land", log)

    def test_too_many_waiting_are_refused_at_once(self):
        """At most half the workers (2 of 4) wait; the rest get UNAVAILABLE
        without their password being checked."""
        for _ in range(4):
            self.login_time("bob", "wrong", source="127.0.0.9")
        results = []

        def attempt():
            results.append(self.login_time("bob", "wrong", source="127.0.0.9"))

        threads = [threading.Thread(target=attempt) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        unavailable = [r for r in results if "UNAVAILABLE" in r[1]]
        self.assertGreaterEqual(len(unavailable), 1, results)
        self.assertTrue(all(dt < 0.5 for dt, _ in unavailable), results)
        # Clear bob for the other test.
        time.sleep(1.3)
        self.login_time("bob", "builder-Bob", source="127.0.0.9")


if __name__ == "__main__":
    unittest.main()
