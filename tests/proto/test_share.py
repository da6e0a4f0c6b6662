"""Sharing over a real vimapd: the admin GRANT / REVOKE / SHAREFOLDER
commands, the owner's RFC 4314 ACL commands, and what a shared folder lets
the user it is shared with do (and not do).  Plus the store-format upgrade
(the seed's IMAP5TO6) on a store in the previous format."""

import imaplib
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import unittest

from vimaptest import Server, VIMAP, SRCDIR


def msg(subject, body="hello"):
    return (f"From: a@example.org\r\nSubject: {subject}\r\n\r\n{body}\r\n").encode()


class ShareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()
        for u in ("smith", "jones", "brown"):
            cls.srv.add_user(u, u + "pw")
        m = cls.srv.login("smith", "smithpw")
        m.create("Projects")
        for i in range(3):
            m.append("Projects", None, None, msg(f"project note {i}"))
        m.logout()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def admin(self, *args, check=False):
        return self.srv.vimap(*args, check=check)

    def setUp(self):
        # Each test starts from no grants and no links.
        self.admin("REVOKE", "smith", "Projects", "jones")
        self.admin("REVOKE", "smith", "Projects", "anyone")
        j = self.srv.login("jones", "jonespw")
        j.delete("Shared")
        j.logout()

    def share(self, rights="lr"):
        self.assertEqual(self.admin("GRANT", "smith", "Projects", "jones", rights).returncode, 0)
        res = self.admin("SHAREFOLDER", "jones", "Shared", "smith", "Projects")
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_capability_advertises_acl(self):
        m = self.srv.login("jones", "jonespw")
        typ, data = m.capability()
        caps = data[0].decode().split()
        self.assertIn("ACL", caps)
        self.assertIn("RIGHTS=texk", caps)
        m.logout()

    def test_sharefolder_needs_the_owners_grant(self):
        res = self.admin("SHAREFOLDER", "jones", "Shared", "smith", "Projects")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("has not granted", res.stderr)
        self.assertIn("GRANT smith Projects jones lr", res.stderr)
        j = self.srv.login("jones", "jonespw")
        typ, data = j.list()
        self.assertNotIn('"/" Shared', [d.decode().split(") ", 1)[1] for d in data])
        j.logout()

    def test_sharefolder_bad_arguments(self):
        for args, needle in [
                (("SHAREFOLDER", "jones", "Shared", "nosuchuser", "Projects"), "not enrolled"),
                (("SHAREFOLDER", "ghost", "Shared", "smith", "Projects"), ""),
                (("SHAREFOLDER", "jones", "INBOX", "smith", "Projects"), "INBOX"),
                (("SHAREFOLDER", "jones", "Shared", "jones", "Projects"), "same user"),
                (("SHAREFOLDER", "jones", "../x", "smith", "Projects"), "bad folder name"),
                (("SHAREFOLDER", "jones", "Shared"), ""),
                (("GRANT", "smith", "Projects", "jones", "lrq"), "not an RFC 4314 right"),
                (("GRANT", "smith", "NoSuchFolder", "jones"), "failed"),
                (("GRANT", "smith", "Projects", "smith"), "every right")]:
            res = self.admin(*args)
            self.assertNotEqual(res.returncode, 0, args)
            self.assertIn(needle, res.stderr, args)
        # GRANT to ghost: the grant is stored, but SHAREFOLDER to a user
        # who is not enrolled fails.
        self.admin("GRANT", "smith", "Projects", "ghost")
        res = self.admin("SHAREFOLDER", "ghost", "Shared", "smith", "Projects")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("not enrolled", res.stderr)

    def test_read_only_share(self):
        self.share("lr")
        j = self.srv.login("jones", "jonespw")
        typ, data = j.list()
        self.assertIn('"/" Shared', [d.decode().split(") ", 1)[1] for d in data])
        # imaplib raises on [READ-ONLY] after a SELECT: the server made the
        # shared folder read-only because 'lr' grants no change.
        with self.assertRaises(imaplib.IMAP4.readonly):
            j.select("Shared")
        typ, data = j.select("Shared", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertEqual(int(data[0]), 3)
        typ, data = j.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(len(subjects), 3)
        self.assertIn(b"project note 0", subjects[0])
        typ, data = j.store("1", "+FLAGS", r"(\Seen)")
        self.assertEqual(typ, "NO")
        typ, data = j.status("Shared", "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        # COPY out of a shared folder into one's own INBOX works.
        typ, data = j.copy("1:2", "INBOX")
        self.assertEqual(typ, "OK")
        typ, data = j.status("INBOX", "(MESSAGES)")
        self.assertIn(b"MESSAGES 2", data[0])
        # APPEND needs 'i'.
        typ, data = j.append("Shared", None, None, msg("from jones"))
        self.assertEqual(typ, "NO")
        j.logout()
        # The owner's folder is unchanged.
        s = self.srv.login("smith", "smithpw")
        typ, data = s.status("Projects", "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        s.logout()

    def test_write_rights_are_enforced_flag_by_flag(self):
        self.share("lrsi")
        j = self.srv.login("jones", "jonespw")
        typ, data = j.select("Shared")
        self.assertEqual(typ, "OK")
        typ, _ = j.store("1", "+FLAGS", r"(\Seen)")
        self.assertEqual(typ, "OK")
        typ, _ = j.store("1", "+FLAGS", r"(\Flagged)")
        self.assertEqual(typ, "NO")
        typ, _ = j.store("1", "+FLAGS", r"(\Deleted)")
        self.assertEqual(typ, "NO")
        # A STORE of allowed and forbidden flags keeps the allowed ones
        # (RFC 4314 4: it SHOULD NOT fail); PERMANENTFLAGS says which.
        typ, data = j.store("2", "+FLAGS", r"(\Seen \Flagged)")
        self.assertEqual(typ, "OK")
        typ, data = j.fetch("2", "(FLAGS)")
        self.assertIn(b"\\Seen", data[0])
        self.assertNotIn(b"\\Flagged", data[0])
        j.store("2", "-FLAGS", r"(\Seen)")
        typ, data = j.store("1", "FLAGS", r"(\Seen)")
        self.assertEqual(typ, "NO")
        typ, _ = j.expunge()
        self.assertEqual(typ, "NO")
        typ, data = j.append("Shared", None, None, msg("appended by jones"))
        self.assertEqual(typ, "OK")
        j.logout()
        s = self.srv.login("smith", "smithpw")
        s.select("Projects")
        typ, data = s.search(None, "SUBJECT", '"appended by jones"')
        self.assertEqual(len(data[0].split()), 1)
        typ, data = s.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Seen", data[0])
        # Tidy: the appended message goes again.
        uid = data[0]
        typ, data = s.search(None, "SUBJECT", '"appended by jones"')
        s.store(data[0].decode(), "+FLAGS", r"(\Deleted)")
        s.expunge()
        s.store("1", "-FLAGS", r"(\Seen)")
        s.logout()

    def test_idle_owner_sees_append_through_share(self):
        self.share("lri")
        s = self.srv.connect()
        s.readline()
        s.command("a", "LOGIN smith smithpw")
        s.command("b", "SELECT Projects")
        s.send("c IDLE\r\n")
        self.assertTrue(s.readline().startswith("+"))
        j = self.srv.login("jones", "jonespw")
        self.assertEqual(j.append("Shared", None, None, msg("idle note"))[0], "OK")
        j.logout()
        line = s.readline()
        self.assertRegex(line, r"^\* \d+ EXISTS")
        s.send("DONE\r\n")
        s.until_tagged("c")
        s.command("d", "STORE * +FLAGS.SILENT (\\Deleted)")
        s.command("e", "EXPUNGE")
        s.close()

    def test_owner_acl_commands(self):
        s = self.srv.connect()
        s.readline()
        s.command("a", "LOGIN smith smithpw")
        lines = s.command("b", "SETACL Projects jones lr")
        self.assertTrue(lines[-1].startswith("b OK"), lines)
        lines = s.command("c", "SETACL Projects jones +s")
        self.assertTrue(lines[-1].startswith("c OK"), lines)
        lines = s.command("d", "GETACL Projects")
        acl = [x for x in lines if x.startswith("* ACL")]
        self.assertEqual(len(acl), 1, lines)
        self.assertIn("smith lrswipkxtea", acl[0])
        self.assertIn("jones lrs", acl[0])
        lines = s.command("e", "LISTRIGHTS Projects jones")
        self.assertIn('* LISTRIGHTS Projects jones "" l r s w i p k x t e a', lines)
        lines = s.command("f", "MYRIGHTS Projects")
        self.assertIn("* MYRIGHTS Projects lrswipkxtea", lines)
        lines = s.command("g", "SETACL Projects -jones r")
        self.assertTrue(lines[-1].startswith("g NO"), lines)
        lines = s.command("h", "SETACL Projects jones lrz")
        self.assertTrue(lines[-1].startswith("h BAD"), lines)
        lines = s.command("i", "SETACL NoSuchBox jones lr")
        self.assertTrue(lines[-1].startswith("i NO [NONEXISTENT]"), lines)
        lines = s.command("j", "SETACL Projects smith lr")
        self.assertTrue(lines[-1].startswith("j NO"), lines)
        # Now the admin links it, and jones sees the rights smith set.
        res = self.admin("SHAREFOLDER", "jones", "Shared", "smith", "Projects")
        self.assertEqual(res.returncode, 0, res.stderr)
        j = self.srv.connect()
        j.readline()
        j.command("a", "LOGIN jones jonespw")
        lines = j.command("b", "MYRIGHTS Shared")
        self.assertIn("* MYRIGHTS Shared lrs", lines)
        # jones may not administer it (no 'a').
        lines = j.command("c", "GETACL Shared")
        self.assertTrue(lines[-1].startswith("c NO [NOPERM]"), lines)
        lines = j.command("d", "SETACL Shared brown lr")
        self.assertTrue(lines[-1].startswith("d NO [NOPERM]"), lines)
        # DELETEACL by the owner: the share disappears for jones.
        lines = s.command("k", "DELETEACL Projects jones")
        self.assertTrue(lines[-1].startswith("k OK"), lines)
        lines = j.command("e", "LIST \"\" *")
        self.assertFalse(any(x.endswith('"/" Shared') for x in lines), lines)
        lines = j.command("f", "SELECT Shared")
        self.assertTrue(lines[-1].startswith("f NO [NONEXISTENT]"), lines)
        s.close()
        j.close()

    def test_no_access_without_a_link(self):
        self.admin("GRANT", "smith", "Projects", "jones", "lr")
        j = self.srv.login("jones", "jonespw")
        for name in ("Projects", "../smith/Projects", "smith/Projects"):
            typ, data = j.select(name)
            self.assertEqual(typ, "NO", name)
        j.logout()

    def test_append_keeps_only_flags_the_rights_allow(self):
        # RFC 4314 4: with 'i' but neither 's', 't' nor 'w' the message is
        # stored, its flags and keywords are not.
        self.share("lri")
        j = self.srv.login("jones", "jonespw")
        typ, _ = j.append("Shared", r"(\Seen \Deleted \Flagged $Kw)", None, msg("masked"))
        self.assertEqual(typ, "OK")
        j.logout()
        s = self.srv.login("smith", "smithpw")
        s.select("Projects")
        typ, data = s.search(None, "SUBJECT", "masked")
        n = data[0].split()[-1].decode()
        typ, data = s.fetch(n, "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        self.assertNotIn(b"\\Deleted", data[0])
        self.assertNotIn(b"\\Flagged", data[0])
        self.assertNotIn(b"$Kw", data[0])
        s.store(n, "+FLAGS", r"(\Deleted)")
        s.expunge()
        s.logout()

    def test_revoking_reaches_a_selected_session(self):
        self.share("lrs")
        j = self.srv.connect()
        j.readline()
        j.command("a", "LOGIN jones jonespw")
        lines = j.command("b", "SELECT Shared")
        self.assertTrue(lines[-1].startswith("b OK"), lines)
        self.assertEqual(self.admin("REVOKE", "smith", "Projects", "jones").returncode, 0)
        lines = j.command("c", "FETCH 1 BODY.PEEK[]")
        self.assertIn("* BYE Access to this shared mailbox was revoked.", lines)
        self.assertTrue(lines[-1].startswith("c NO [NOPERM]"), lines)
        self.assertTrue(j.at_eof())
        j.close()

    def test_revoking_reaches_an_idle_session(self):
        self.share("lr")
        j = self.srv.connect()
        j.readline()
        j.command("a", "LOGIN jones jonespw")
        lines = j.command("b", "EXAMINE Shared")
        self.assertTrue(lines[-1].startswith("b OK"), lines)
        j.send("c IDLE\r\n")
        self.assertTrue(j.readline().startswith("+"))
        self.assertEqual(self.admin("REVOKE", "smith", "Projects", "jones").returncode, 0)
        self.assertEqual(j.readline(), "* BYE Access to this shared mailbox was revoked.")
        self.assertTrue(j.at_eof())
        j.close()

    def test_no_folders_below_a_link(self):
        self.share("lr")
        j = self.srv.login("jones", "jonespw")
        self.assertEqual(j.create("Shared/child")[0], "NO")
        self.assertEqual(j.create("Mine")[0], "OK")
        self.assertEqual(j.rename("Mine", "Shared/moved")[0], "NO")
        self.assertEqual(j.delete("Mine")[0], "OK")
        # An own \Noselect node blocks SHAREFOLDER under that name.
        self.assertEqual(j.create("Node/leaf")[0], "OK")
        j.logout()
        res = self.admin("SHAREFOLDER", "jones", "Node", "smith", "Projects")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("already has a folder", res.stderr)
        j = self.srv.login("jones", "jonespw")
        j.delete("Node/leaf")
        j.delete("Node")
        j.logout()

    def test_insert_only_drop_box(self):
        self.share("i")
        j = self.srv.login("jones", "jonespw")
        typ, data = j.list()
        self.assertNotIn('"/" Shared', [d.decode().split(") ", 1)[1] for d in data])
        self.assertEqual(j.append("Shared", None, None, msg("dropped"))[0], "OK")
        self.assertEqual(j.select("Shared", readonly=True)[0], "NO")
        self.assertEqual(j.status("Shared", "(MESSAGES)")[0], "NO")
        typ, data = j._simple_command("MYRIGHTS", "Shared")
        self.assertEqual(typ, "OK")
        self.assertIn(b"Shared i", j.untagged_responses.get("MYRIGHTS", [b""])[0])
        j.logout()
        s = self.srv.login("smith", "smithpw")
        s.select("Projects")
        typ, data = s.search(None, "SUBJECT", "dropped")
        n = data[0].split()
        self.assertEqual(len(n), 1)
        s.store(n[0].decode(), "+FLAGS", r"(\Deleted)")
        s.expunge()
        s.logout()

    def test_anyone_cannot_be_enrolled(self):
        res = self.admin("ENROLL", "anyone")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("reserved", res.stderr)

    def test_anyone_grant(self):
        self.admin("GRANT", "smith", "Projects", "anyone", "lr")
        res = self.admin("SHAREFOLDER", "brown", "Team", "smith", "Projects")
        self.assertEqual(res.returncode, 0, res.stderr)
        b = self.srv.login("brown", "brownpw")
        typ, data = b.select("Team", readonly=True)
        self.assertEqual(typ, "OK")
        # A link name is taken: CREATE and RENAME refuse it.
        self.assertEqual(b.create("Team")[0], "NO")
        self.assertEqual(b.rename("Team", "Other")[0], "NO")
        b.close()
        # DELETE of a link removes only the link.
        self.assertEqual(b.delete("Team")[0], "OK")
        b.logout()
        s = self.srv.login("smith", "smithpw")
        typ, data = s.status("Projects", "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        s.logout()


class UpgradeTest(unittest.TestCase):
    """A store in localfs index format 1 (tests/data/localfs-format1.tar.gz,
    made by this project before format 2) is refused at start-up with the
    command that upgrades it; `vimap upgrade-store` converts it in place and
    all its mail is there afterwards."""

    def test_format1_store_is_refused_then_upgraded(self):
        srv = Server()
        try:
            shutil.rmtree(srv.store, ignore_errors=True)
            with tarfile.open(os.path.join(SRCDIR, "tests", "data",
                                           "localfs-format1.tar.gz")) as t:
                t.extractall(srv.dir)
            srv.add_user("olduser", "oldpw", enroll=False)
            # A user id may start with '.': the upgrade must not take it
            # for a hidden file.
            shutil.copytree(os.path.join(srv.store, "users", "olduser"),
                            os.path.join(srv.store, "users", ".dotty"))
            srv.add_user(".dotty", "dotpw", enroll=False)
            srv.start(wait=False)
            rc = srv.proc.wait(timeout=20)
            self.assertNotEqual(rc, 0)
            with open(srv.log_path) as f:
                log = f.read()
            self.assertIn("format 1, older than format 2", log)
            self.assertIn("vimap upgrade-store", log)
            srv.proc = None
            up = subprocess.run([VIMAP, "--config", srv.config_path, "upgrade-store"],
                                capture_output=True, text=True, timeout=60)
            self.assertEqual(up.returncode, 0, up.stderr)
            self.assertIn("upgraded", up.stdout)
            self.assertIn("2 of 2", up.stderr)
            again = subprocess.run([VIMAP, "--config", srv.config_path, "upgrade-store"],
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual(again.returncode, 0, again.stderr)
            self.assertIn("nothing to do", again.stdout)
            srv.start()
            m = srv.login("olduser", "oldpw")
            typ, data = m.select("INBOX")
            self.assertEqual(int(data[0]), 5)
            typ, data = m.fetch("2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            self.assertIn(b"\\Flagged", data[0][0])
            self.assertIn(b"$Label1", data[0][0])
            self.assertIn(b"format one message 1", data[0][1])
            typ, data = m.status("Projects/2025", "(MESSAGES)")
            self.assertIn(b"MESSAGES 1", data[0])
            # The new tables work on the upgraded store.
            self.assertEqual(m._simple_command("MYRIGHTS", "INBOX")[0], "OK")
            m.logout()
            d = srv.login(".dotty", "dotpw")
            typ, data = d.select("INBOX")
            self.assertEqual(int(data[0]), 5)
            d.logout()
        finally:
            srv.stop()

    def test_upgrade_refused_while_running(self):
        srv = Server().start()
        try:
            up = subprocess.run([VIMAP, "--config", srv.config_path, "upgrade-store"],
                                capture_output=True, text=True, timeout=60)
            self.assertNotEqual(up.returncode, 0)
            self.assertIn("stop it", up.stderr)
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
