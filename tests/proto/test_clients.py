"""Real IMAP clients from Debian against a real vimapd: mbsync (isync)
synchronises a mailbox both ways, fetchmail downloads and deletes, curl
lists, fetches and searches.  Each test skips with the reason when its
client is not installed (quickstart installs them)."""

import email
import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from vimaptest import Server


def msg(i):
    return (f"From: sender{i}@example.org\r\nTo: clients@example.org\r\n"
            f"Subject: client test {i}\r\nMessage-ID: <client-{i}@example.org>\r\n"
            f"\r\nbody line of message {i}\r\n").encode()


def need(program):
    path = shutil.which(program)
    if path is None:
        raise unittest.SkipTest(f"{program} is not installed (apt-get install it)")
    return path


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vimap-clients-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fresh_user(self, name, count):
        self.srv.add_user(name, "pw-" + name)
        m = self.srv.login(name, "pw-" + name)
        for i in range(count):
            m.append("INBOX", None, None, msg(i))
        m.logout()

    def test_mbsync_pulls_and_pushes(self):
        mbsync = need("mbsync")
        self.fresh_user("mbs", 4)
        maildir = os.path.join(self.tmp, "Mail")
        os.makedirs(maildir)
        rc = os.path.join(self.tmp, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(f"""IMAPAccount vimap
Host 127.0.0.1
Port {self.srv.port}
User mbs
Pass pw-mbs
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account vimap

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel inbox
Far :remote:INBOX
Near :local:INBOX
Create Both
Expunge Both
SyncState *
""")
        def sync():
            p = subprocess.run([mbsync, "-c", rc, "inbox"], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

        sync()
        files = glob.glob(os.path.join(maildir, "INBOX", "cur", "*")) + \
            glob.glob(os.path.join(maildir, "INBOX", "new", "*"))
        self.assertEqual(len(files), 4)
        subjects = sorted(email.message_from_bytes(open(p, "rb").read())["Subject"]
                          for p in files)
        self.assertEqual(subjects, [f"client test {i}" for i in range(4)])
        # A message written locally is pushed to the server on the next sync.
        new = os.path.join(maildir, "INBOX", "new", "1700000000.local.host")
        with open(new, "wb") as f:
            f.write(b"From: local@example.org\r\nSubject: pushed by mbsync\r\n\r\nhi\r\n")
        sync()
        m = self.srv.login("mbs", "pw-mbs")
        m.select("INBOX")
        typ, data = m.search(None, "SUBJECT", '"pushed by mbsync"')
        self.assertEqual(len(data[0].split()), 1)
        typ, data = m.search(None, "ALL")
        self.assertEqual(len(data[0].split()), 5)
        m.logout()

    def test_fetchmail_downloads_and_deletes(self):
        fetchmail = need("fetchmail")
        self.fresh_user("fm", 3)
        out = os.path.join(self.tmp, "mbox")
        rc = os.path.join(self.tmp, "fetchmailrc")
        with open(rc, "w") as f:
            f.write(f"poll 127.0.0.1 service {self.srv.port} protocol IMAP auth password\n"
                    f"  user fm password pw-fm is root here\n"
                    f"  mda \"/bin/sh -c 'cat >> {out}'\"\n  sslproto '' \n")
        os.chmod(rc, 0o600)
        env = dict(os.environ, FETCHMAILHOME=self.tmp)
        p = subprocess.run([fetchmail, "-f", rc, "--nosyslog", "--nodetach", "-v"],
                           capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(out, "rb") as f:
            data = f.read()
        for i in range(3):
            self.assertIn(b"Subject: client test %d" % i, data)
        # fetchmail deletes what it delivered (no `keep`): INBOX is empty.
        m = self.srv.login("fm", "pw-fm")
        typ, data = m.select("INBOX")
        self.assertEqual(int(data[0]), 0)
        m.logout()

    def test_curl_lists_fetches_and_searches(self):
        curl = need("curl")
        self.fresh_user("cu", 2)
        base = f"imap://127.0.0.1:{self.srv.port}"
        auth = ["-u", "cu:pw-cu", "--silent", "--show-error", "--max-time", "30"]
        p = subprocess.run([curl] + auth + [base + "/"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("INBOX", p.stdout)
        self.assertIn("Sent", p.stdout)
        p = subprocess.run([curl] + auth + [base + "/INBOX;UID=2"], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Subject: client test 1", p.stdout)
        p = subprocess.run([curl] + auth + [base + "/INBOX?SUBJECT%20%22test%200%22"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("* SEARCH 1", p.stdout)


if __name__ == "__main__":
    unittest.main()
