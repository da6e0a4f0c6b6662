"""IMAP4rev1 over the localfs store with the cp user directory, against a
real vimapd: Python's imaplib as the client for whole sessions, raw
exchanges for the corners."""

import base64
import os
import imaplib
import re
import threading
import time
import unittest

from vimaptest import Server

MSG = (b"From: Alice <alice@example.org>\r\n"
       b"To: Bob <bob@example.org>\r\n"
       b"Subject: Hello there\r\n"
       b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
       b"Message-ID: <1@example.org>\r\n"
       b"\r\n"
       b"Body line one.\r\nBody line two.\r\n")

MULTIPART = (b"From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
             b"preamble\r\n--XX\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
             b"first part\r\n--XX\r\nContent-Type: application/octet-stream\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--XX--\r\n")


def untagged(m, name):
    return m.untagged_responses.get(name, [])


class ImapBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()
        cls.srv.add_user("alice", "wonderland")
        cls.srv.add_user("bob", "builder")
        cls.srv.add_user("notenrolled", "secret", enroll=False)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def login(self, user="alice", password="wonderland"):
        return self.srv.login(user, password)


class Login(ImapBase):
    def test_login_and_capability_after(self):
        m = self.login()
        typ, data = m.capability()
        self.assertIn(b"IDLE", data[0])
        m.logout()

    def test_user_ids_are_case_insensitive(self):
        m = self.srv.login("ALICE", "wonderland")
        m.logout()

    def test_every_failure_looks_the_same(self):
        answers = []
        for user, password in [("alice", "wrong"), ("nobody", "wonderland"),
                               ("notenrolled", "secret"), ("bad/user", "x")]:
            m = imaplib.IMAP4("127.0.0.1", self.srv.port)
            with self.assertRaises(imaplib.IMAP4.error) as cm:
                m.login(user, password)
            answers.append(str(cm.exception))
            m.logout()
        self.assertEqual(len(set(answers)), 1, answers)
        self.assertIn("AUTHENTICATIONFAILED", answers[0])
        log = self.srv.log()
        self.assertIn("wrong password", log)
        self.assertIn("not enrolled", log)
        self.assertNotIn("wonderland", log)

    def test_client_text_cannot_forge_log_lines(self):
        c = self.srv.connect()
        c.readline()
        # a literal user id may hold CR LF: it must not start a log line
        user = "x\r\n2026-01-01T00:00:00Z vimapd[1] info: forged"
        c.send("f1 LOGIN {%d}\r\n" % len(user))
        self.assertTrue(c.readline().startswith("+"))
        c.send(user + " pw\r\n")
        lines = c.until_tagged("f1")
        self.assertIn("AUTHENTICATIONFAILED", lines[-1])
        log = self.srv.wait_log("login of 'x??2026")
        self.assertIn("login of 'x??2026", log)
        self.assertNotIn("\n2026-01-01T00:00:00Z", log)

    def test_authenticate_plain_with_initial_response(self):
        c = self.srv.connect()
        c.readline()
        ir = base64.b64encode(b"\0alice\0wonderland").decode()
        lines = c.command("a1", f"AUTHENTICATE PLAIN {ir}")
        self.assertTrue(lines[-1].startswith("a1 OK"), lines)

    def test_authenticate_plain_with_continuation_and_cancel(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        typ, _ = m.authenticate("PLAIN", lambda _: b"\0alice\0wonderland")
        self.assertEqual(typ, "OK")
        m.logout()
        c = self.srv.connect()
        c.readline()
        c.send("a2 AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c.readline(), "+ ")
        c.send("*\r\n")
        self.assertTrue(c.readline().startswith("a2 BAD"))
        c.send("a3 AUTHENTICATE PLAIN\r\n")
        c.readline()
        c.send("!!notbase64\r\n")
        self.assertTrue(c.readline().startswith("a3 BAD"))

    def test_commands_need_login(self):
        c = self.srv.connect()
        c.readline()
        self.assertTrue(c.command("s", "SELECT INBOX")[-1].startswith("s BAD"))


class Mailboxes(ImapBase):
    def test_enrolment_made_special_use_mailboxes(self):
        m = self.login()
        typ, data = m.list()
        text = b"\n".join(data).decode()
        for name, attr in [("Drafts", "\\Drafts"), ("Sent", "\\Sent"),
                           ("Trash", "\\Trash"), ("Junk", "\\Junk")]:
            self.assertRegex(text, r"\(.*%s.*\) \"/\" \"?%s\"?" % (re.escape(attr), name))
        self.assertIn("INBOX", text)
        m.logout()

    def test_create_rename_delete_hierarchy(self):
        m = self.login("bob", "builder")
        self.assertEqual(m.create("Projects/2026")[0], "OK")
        typ, data = m.list('""', "Projects*")
        text = b"\n".join(data).decode()
        self.assertIn("\\HasChildren", text)
        self.assertIn("Projects/2026", text)
        self.assertEqual(m.rename("Projects", "Work")[0], "OK")
        typ, data = m.list('""', "*")
        text = b"\n".join(data).decode()
        self.assertIn("Work/2026", text)
        self.assertNotIn("Projects", text)
        self.assertEqual(m.delete("Work/2026")[0], "OK")
        self.assertEqual(m.delete("Work")[0], "OK")
        self.assertEqual(m.create("Work")[0], "OK")
        typ, data = m.create("Work")
        self.assertEqual(typ, "NO")
        self.assertIn(b"ALREADYEXISTS", data[0])
        typ, data = m.delete("INBOX")
        self.assertEqual(typ, "NO")
        m.logout()

    def test_list_percent_and_root(self):
        m = self.login("bob", "builder")
        m.create("Lists/a/b")
        typ, data = m.list('""', "%")
        names = b"\n".join(data).decode()
        self.assertIn('"/" Lists', names)
        self.assertNotIn("Lists/a", names)
        typ, data = m.list('""', '""')
        self.assertIn(b'(\\Noselect) "/" ""', data[0])
        m.logout()

    def test_international_names_round_trip(self):
        m = self.login("bob", "builder")
        name = "&ZeVnLIqe-"  # 日本語 in modified UTF-7
        self.assertEqual(m.create(name)[0], "OK")
        typ, data = m.list('""', "&ZeVnLIqe-")
        self.assertIn(b"&ZeVnLIqe-", data[0])
        m.logout()

    def test_hostile_names_refused(self):
        m = self.login("bob", "builder")
        for name in ["../etc", "a/../../b", "a//b", "/abs", "&Jjo", "&AGE-", "a/./b",
                     '"bad\x01"']:
            typ, data = m.create(name)
            self.assertEqual(typ, "NO", name)
        typ, data = m.list('""', "*")
        self.assertNotIn(b"etc", b"\n".join(x for x in data if x))
        m.logout()

    def test_subscriptions(self):
        m = self.login("bob", "builder")
        m.create("Subbed")
        self.assertEqual(m.subscribe("Subbed")[0], "OK")
        typ, data = m.lsub('""', "*")
        self.assertIn(b"Subbed", b"\n".join(data))
        m.unsubscribe("Subbed")
        typ, data = m.lsub('""', "*")
        self.assertNotIn(b"Subbed", b"\n".join(x for x in data if x))
        m.logout()

    def test_lsub_percent_shows_unsubscribed_parent_as_noselect(self):
        m = self.login("bob", "builder")
        m.create("Deep/inner")
        m.subscribe("Deep/inner")
        typ, data = m.lsub('""', "%")
        lines = [x for x in data if x and b"Deep" in x]
        self.assertEqual(len(lines), 1, data)
        self.assertIn(b"\\Noselect", lines[0])
        self.assertIn(b'"/" Deep', lines[0])
        m.logout()

    def test_status(self):
        m = self.login("bob", "builder")
        m.create("St")
        m.append("St", None, None, MSG)
        m.append("St", "(\\Seen)", None, MSG)
        typ, data = m.status("St", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY RECENT)")
        text = data[0].decode()
        self.assertIn("MESSAGES 2", text)
        self.assertIn("UNSEEN 1", text)
        self.assertIn("UIDNEXT 3", text)
        typ, data = m.status("Nope", "(MESSAGES)")
        self.assertEqual(typ, "NO")
        m.logout()


class Messages(ImapBase):
    def setUp(self):
        self.m = self.login()
        self.box = "T%d" % id(self)
        self.m.create(self.box)

    def tearDown(self):
        self.m.logout()

    def test_append_select_fetch(self):
        m = self.m
        typ, data = m.append(self.box, "(\\Flagged $Label1)",
                             imaplib.Time2Internaldate(time.time()), MSG)
        self.assertEqual(typ, "OK")
        self.assertIn(b"APPENDUID", data[0])
        typ, data = m.select(self.box)
        self.assertEqual(data[0], b"1")
        typ, data = m.fetch("1", "(FLAGS RFC822.SIZE ENVELOPE UID)")
        text = data[0].decode() if isinstance(data[0], bytes) else data[0][0].decode()
        self.assertIn("\\Flagged", text)
        self.assertIn("$Label1", text)
        self.assertIn("RFC822.SIZE %d" % len(MSG), text)
        self.assertIn('"Hello there"', text)
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], MSG)
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(data[0][1], b"Subject: Hello there\r\n\r\n")
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<5.4>)")
        self.assertEqual(data[0][1], b"line")

    def test_body_fetch_sets_seen_but_peek_does_not(self):
        m = self.m
        m.append(self.box, None, None, MSG)
        m.select(self.box)
        m.fetch("1", "(BODY.PEEK[])")
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        typ, data = m.fetch("1", "(BODY[TEXT])")
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Seen", data[0])

    def test_multipart_bodystructure_and_parts(self):
        m = self.m
        m.append(self.box, None, None, MULTIPART)
        m.select(self.box)
        typ, data = m.fetch("1", "(BODYSTRUCTURE)")
        self.assertIn(b'"MIXED"', data[0].upper())
        typ, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[2.MIME])")
        self.assertEqual(data[0][1], b"first part")
        self.assertIn(b"base64", data[1][1])

    def test_store_forms_and_silent(self):
        m = self.m
        for _ in range(3):
            m.append(self.box, None, None, MSG)
        m.select(self.box)
        typ, data = m.store("1:3", "+FLAGS", "(\\Seen Work)")
        self.assertEqual(len(data), 3)
        typ, data = m.store("2", "-FLAGS", "(\\Seen)")
        self.assertNotIn(b"\\Seen", data[0])
        typ, data = m.store("3", "FLAGS", "(\\Answered)")
        self.assertIn(b"\\Answered", data[0])
        self.assertNotIn(b"Work", data[0])
        typ, data = m.store("1", "+FLAGS.SILENT", "(\\Draft)")
        self.assertEqual(data, [None])
        typ, data = m.fetch("1", "FLAGS")
        self.assertIn(b"\\Draft", data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            m.store("1", "+FLAGS", "(\\Recent)")

    def test_expunge_and_uid_expunge(self):
        m = self.m
        for _ in range(4):
            m.append(self.box, None, None, MSG)
        m.select(self.box)
        m.store("2,4", "+FLAGS", "(\\Deleted)")
        typ, data = m.expunge()
        self.assertEqual(data, [b"4", b"2"])
        typ, data = m.select(self.box)
        self.assertEqual(data[0], b"2")
        m.store("1:2", "+FLAGS", "(\\Deleted)")
        typ, data = m.uid("EXPUNGE", "3")
        self.assertEqual(typ, "OK")
        typ, data = m.uid("FETCH", "1:*", "(UID)")
        self.assertEqual(len([d for d in data if d]), 1)

    def test_copy_and_move_with_copyuid(self):
        m = self.m
        dest = self.box + "-dest"
        m.create(dest)
        m.append(self.box, None, None, MSG)
        m.append(self.box, None, None, MSG)
        m.select(self.box)
        typ, data = m.copy("1:2", dest)
        self.assertIn(b"COPYUID", data[0])
        typ, data = m._simple_command("MOVE", "1", dest)
        self.assertEqual(typ, "OK")
        typ, data = m.status(dest, "(MESSAGES)")
        self.assertIn(b"MESSAGES 3", data[0])
        typ, data = m.select(self.box)
        self.assertEqual(data[0], b"1")
        typ, data = m.copy("1", "NoSuchBox")
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0])

    def test_close_expunges_unselect_does_not(self):
        m = self.m
        m.append(self.box, None, None, MSG)
        m.append(self.box, None, None, MSG)
        m.select(self.box)
        m.store("1", "+FLAGS", "(\\Deleted)")
        m._simple_command("UNSELECT")
        m.state = "AUTH"
        typ, data = m.status(self.box, "(MESSAGES)")
        self.assertIn(b"MESSAGES 2", data[0])
        m.select(self.box)
        m.close()
        typ, data = m.status(self.box, "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])

    def test_examine_is_read_only(self):
        m = self.m
        m.append(self.box, None, None, MSG)
        typ, data = m.select(self.box, readonly=True)
        self.assertEqual(typ, "OK")
        typ, data = m.store("1", "+FLAGS", "(\\Seen)")
        self.assertEqual(typ, "NO")
        m.fetch("1", "(BODY[])")
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])

    def test_bad_sequence_numbers(self):
        m = self.m
        m.append(self.box, None, None, MSG)
        m.select(self.box)
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch("5", "(FLAGS)")
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch("0", "(FLAGS)")
        typ, data = m.uid("FETCH", "99", "(FLAGS)")
        self.assertEqual(typ, "OK")


class Quota(unittest.TestCase):
    def test_append_over_quota_refused_and_nothing_stored(self):
        with Server() as srv:
            srv.add_user("small", "pw", blocks=2)
            m = srv.login("small", "pw")
            big = MSG + b"x" * 9000
            typ, data = m.append("INBOX", None, None, big)
            self.assertEqual(typ, "NO")
            self.assertIn(b"OVERQUOTA", data[0])
            typ, data = m.status("INBOX", "(MESSAGES)")
            self.assertIn(b"MESSAGES 0", data[0])
            self.assertEqual(m.append("INBOX", None, None, MSG)[0], "OK")
            m.logout()


class Sessions(ImapBase):
    def test_other_session_sees_exists_fetch_and_expunge(self):
        a = self.login()
        b = self.login()
        a.create("Shared1")
        a.select("Shared1")
        b.select("Shared1")
        a.append("Shared1", None, None, MSG)
        typ, data = b.noop()
        self.assertIn(b"1", untagged(b, "EXISTS"))
        a.noop()
        a.store("1", "+FLAGS", "(\\Flagged)")
        b.noop()
        fetches = b"".join(x for x in untagged(b, "FETCH") if isinstance(x, bytes))
        self.assertIn(b"\\Flagged", fetches)
        a.store("1", "+FLAGS", "(\\Deleted)")
        a.expunge()
        b.noop()
        self.assertIn(b"1", untagged(b, "EXPUNGE"))
        a.logout()
        b.logout()

    def test_expunge_held_back_during_fetch_told_at_noop(self):
        a = self.login()
        b = self.login()
        a.create("Hold")
        for _ in range(3):
            a.append("Hold", None, None, MSG)
        a.select("Hold")
        b.select("Hold")
        b.store("1", "+FLAGS", "(\\Deleted)")
        b.expunge()
        # a plain FETCH may not shift sequence numbers under the client
        a.fetch("1:2", "(FLAGS)")
        self.assertEqual(untagged(a, "EXPUNGE"), [])
        a.noop()
        self.assertIn(b"1", untagged(a, "EXPUNGE"))
        a.logout()
        b.logout()

    def test_idle_hears_new_mail_at_once(self):
        watcher = self.srv.connect()
        watcher.readline()
        watcher.command("l", "LOGIN alice wonderland")
        watcher.command("c", "CREATE IdleBox")
        watcher.command("s", "SELECT IdleBox")
        watcher.send("i IDLE\r\n")
        self.assertTrue(watcher.readline().startswith("+ "))
        m = self.login()
        m.append("IdleBox", None, None, MSG)
        watcher.sock.settimeout(5)
        self.assertEqual(watcher.readline(), "* 1 EXISTS")
        watcher.send("DONE\r\n")
        lines = watcher.until_tagged("i")
        self.assertTrue(lines[-1].startswith("i OK"))
        m.logout()

    def test_users_never_see_each_other(self):
        a = self.login()
        a.create("Private")
        a.append("Private", None, None, MSG)
        b = self.login("bob", "builder")
        typ, data = b.select("Private")
        self.assertEqual(typ, "NO")
        typ, data = b.status("Private", "(MESSAGES)")
        self.assertEqual(typ, "NO")
        typ, data = b.list('""', "*")
        self.assertNotIn(b"Private", b"\n".join(x for x in data if x))
        a.logout()
        b.logout()


class Admin(ImapBase):
    def test_enroll_errors_and_delete(self):
        p = self.srv.vimap("ENROLL", "carol", "50", "3")
        self.assertIn("carol enrolled with 50 blocks in storage group 3", p.stdout)
        p = self.srv.vimap("ENROLL", "carol", check=False)
        self.assertNotEqual(p.returncode, 0)
        p = self.srv.vimap("ENROLL", "bad/user", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a valid user id", p.stderr)
        p = self.srv.vimap("DELETE", "carol", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--yes", p.stderr)
        p = self.srv.vimap("--yes", "DELETE", "carol")
        self.assertIn("carol deleted", p.stdout)

    def test_alert_reaches_connected_client(self):
        m = self.login()
        self.srv.vimap("ALERT", "Maintenance", "at", "noon")
        m.noop()
        alerts = [x for x in m.untagged_responses.get("OK", [])]
        self.assertTrue(any(b"[ALERT] Maintenance at noon" in x for x in alerts), alerts)
        self.srv.vimap("ALERT")
        m.logout()

    def test_stats_and_json(self):
        import json
        p = self.srv.vimap("--json", "STATS")
        data = json.loads(p.stdout)
        self.assertTrue(data["ok"])
        self.assertIn("logins.ok", data["data"])
        self.assertGreaterEqual(data["data"]["connections.total"], 1)

    def test_bulk_enroll_reports_each_failure(self):
        import os
        path = os.path.join(self.srv.dir, "bulk.txt")
        with open(path, "w") as f:
            f.write("# new staff\nbulk1\nbulk2 300 4\nbad/id\nbulk1\n\nbulk3 1 2 3\n")
        p = self.srv.vimap("ENROLL", "--from", path, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("enrolled 2 users, 3 failed", p.stderr)
        self.assertIn("bulk.txt:5: bulk1:", p.stderr)
        self.assertIn("bulk.txt:4: bad/id:", p.stderr)
        self.assertIn("too many fields", p.stderr)
        self.srv.add_user("bulk2", "pw", enroll=False)
        self.srv.login("bulk2", "pw").logout()

    def test_trace_socketio_masks_passwords(self):
        self.srv.vimap("TRACE", "SOCKETIO", "127.0.0.1", "ON")
        try:
            m = self.login("bob", "builder")
            m.noop()
            m.logout()
            log = self.srv.wait_log("LOGIN bob ***")
            self.assertIn("C: ", log)
            self.assertIn("S: ", log)
            self.assertIn("LOGIN bob ***", log)
            self.assertNotIn("builder", log)
        finally:
            self.srv.vimap("TRACE", "SOCKETIO", "OFF")
        p = self.srv.vimap("TRACE", "BOGUS", check=False)
        self.assertEqual(p.returncode, 1)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run as another user")
    def test_non_administrator_is_refused_and_logged(self):
        import subprocess
        from vimaptest import VIMAP
        os.chmod(self.srv.dir, 0o755)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            VIMAP, "--socket", self.srv.admin_socket, "ENROLL", "mallory"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("is not a vimap administrator", p.stderr)
        self.assertIn("refused: not in the administrators list",
                      self.srv.wait_log("not in the administrators list"))
        p = self.srv.vimap("ENROLL", "mallory", check=False)
        self.assertEqual(p.returncode, 0)

    def test_stats_reset_keeps_gauges(self):
        import json
        m = self.login()
        self.srv.vimap("STATS", "RESET")
        data = json.loads(self.srv.vimap("--json", "STATS").stdout)["data"]
        self.assertEqual(data["logins.ok"], 0)
        self.assertGreaterEqual(data["connections.now"], 1)
        m.logout()

    def test_modify_quota(self):
        self.srv.vimap("ENROLL", "quser", "10")
        p = self.srv.vimap("MODIFY", "quser", "+5")
        self.assertIn("may now use 15 blocks", p.stdout)
        p = self.srv.vimap("MODIFY", "quser", "-15", check=False)
        self.assertEqual(p.returncode, 1)
        p = self.srv.vimap("MODIFY", "nobody", "+5", check=False)
        self.assertEqual(p.returncode, 1)
        p = self.srv.vimap("MODIFY", "quser", "5", check=False)
        self.assertIn("usage", p.stderr)

    def test_cp_refused_unless_enabled(self):
        p = self.srv.vimap("CP", "echo", "hi", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("admin_cp: true", p.stderr)

    def test_unknown_command(self):
        p = self.srv.vimap("FROB", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HELP", p.stderr)


if __name__ == "__main__":
    unittest.main()


class Console(unittest.TestCase):
    def test_commands_typed_on_standard_input(self):
        srv = Server(console=True).start()
        try:
            srv.add_user("con", "pw", enroll=False)
            srv.console_command("ENROLL con 150")
            self.assertIn("con enrolled with 150 blocks", srv.wait_log("con enrolled"))
            m = srv.login("con", "pw")
            srv.console_command("ALERT from the console")
            srv.wait_log("alert set")
            m.noop()
            self.assertTrue(any(b"from the console" in x for x in m.untagged_responses.get("OK", [])))
            srv.console_command("NOSUCH")
            self.assertIn("error: unknown command", srv.wait_log("error: unknown command"))
            m.logout()
        finally:
            srv.stop()


class AdminCp(unittest.TestCase):
    def test_cp_runs_the_command_unchanged(self):
        with Server("admin_cp: true\n") as srv:
            p = srv.vimap("CP", "echo", "Mixed", "Case")
            self.assertEqual(p.stdout.strip(), "Mixed Case")
            p = srv.vimap("CP", "echo oops >&2; exit 3", check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("exited with 3: oops", p.stderr)
