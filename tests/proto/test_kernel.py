"""The kernel against a real vimapd over TCP: greeting, CAPABILITY, NOOP,
LOGOUT, BAD for malformed and unknown commands, literals, the idle timeout,
clean shutdown on SIGTERM, SIGHUP, and start-up refusals."""

import imaplib
import os
import signal
import socket
import time
import unittest

from vimaptest import FIXTURE_DIR, Server


class Basics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_greeting_carries_capabilities(self):
        c = self.srv.connect()
        line = c.readline()
        self.assertRegex(line, r"^\* OK \[CAPABILITY IMAP4rev1( [^\]]*)?\] ")
        c.close()

    def test_imaplib_capability_noop_logout(self):
        m = imaplib.IMAP4("127.0.0.1", self.srv.port)
        self.assertIn("IMAP4REV1", m.capabilities)
        typ, data = m.capability()
        self.assertEqual(typ, "OK")
        self.assertIn(b"IMAP4rev1", data[0])
        self.assertEqual(m.noop()[0], "OK")
        typ, data = m.logout()
        self.assertEqual(typ, "BYE")

    def test_logout_closes_after_bye_and_ok(self):
        c = self.srv.connect()
        c.readline()
        lines = c.command("z1", "LOGOUT")
        self.assertEqual(lines, ["* BYE Logging out.", "z1 OK Logout completed."])
        self.assertTrue(c.at_eof())

    def test_command_names_are_case_insensitive(self):
        c = self.srv.connect()
        c.readline()
        lines = c.command("a", "capability")
        self.assertTrue(lines[0].startswith("* CAPABILITY IMAP4rev1"))
        self.assertEqual(lines[-1], "a OK Capability completed.")

    def test_unknown_and_malformed_get_bad_and_connection_goes_on(self):
        c = self.srv.connect()
        c.readline()
        cases = [
            ("t1 FROBNICATE\r\n", "t1 BAD "),
            ("t2 NOOP extra\r\n", "t2 BAD "),
            ("t3  NOOP\r\n", "t3 BAD "),
            ("t4\r\n", "t4 BAD "),
            ("t5 X (unclosed\r\n", "t5 BAD "),
            ("t6 X \"unterminated\r\n", "t6 BAD "),
            ("+tag NOOP\r\n", "* BAD "),
            ("t7 X \x01\x02\x7f\r\n", "t7 BAD "),
        ]
        for sent, expected in cases:
            c.send(sent)
            line = c.readline()
            self.assertTrue(line.startswith(expected), (sent, line))
        self.assertEqual(c.command("ok", "NOOP"), ["ok OK NOOP completed."])

    def test_pipelined_commands_answer_in_order(self):
        c = self.srv.connect()
        c.readline()
        c.send("p1 NOOP\r\np2 BOGUS\r\np3 CAPABILITY\r\n")
        self.assertEqual(c.readline(), "p1 OK NOOP completed.")
        self.assertTrue(c.readline().startswith("p2 BAD"))
        self.assertTrue(c.readline().startswith("* CAPABILITY"))
        self.assertEqual(c.readline(), "p3 OK Capability completed.")

    def test_synchronising_literal_gets_continuation(self):
        c = self.srv.connect()
        c.readline()
        c.send("l1 NOOP {3}\r\n")
        self.assertTrue(c.readline().startswith("+ "))
        c.send("abc\r\n")
        self.assertTrue(c.readline().startswith("l1 BAD"))

    def test_huge_literal_refused_before_any_byte(self):
        c = self.srv.connect()
        c.readline()
        c.send("big APPEND INBOX {99999999999}\r\n")
        line = c.readline()
        self.assertTrue(line.startswith("big NO [TOOBIG]"), line)
        self.assertEqual(c.command("n", "NOOP"), ["n OK NOOP completed."])

    def test_huge_nonsync_literal_swallowed_then_refused(self):
        c = self.srv.connect()
        c.readline()
        body = b"x" * (70 * 1024 * 1024)  # over the 64 MiB default limit
        c.send(b"big APPEND INBOX {%d+}\r\n" % len(body))
        c.send(body)
        c.send(b"\r\n")
        line = c.readline()
        self.assertTrue(line.startswith("big BAD [TOOBIG]"), line)
        self.assertEqual(c.command("n", "NOOP"), ["n OK NOOP completed."])

    def test_overlong_line_refused(self):
        c = self.srv.connect()
        c.readline()
        c.send("long NOOP " + "a" * (200 * 1024) + "\r\n")
        line = c.readline()
        self.assertTrue(line.startswith("long BAD [TOOBIG]"), line)
        self.assertEqual(c.command("n", "NOOP"), ["n OK NOOP completed."])

    def test_random_binary_never_kills_the_server(self):
        import random
        rnd = random.Random(1)
        for _ in range(20):
            c = self.srv.connect()
            c.readline()
            c.send(bytes(rnd.randrange(256) for _ in range(4000)) + b"\r\n")
            c.close()
        c = self.srv.connect()
        self.assertTrue(c.readline().startswith("* OK"))
        self.assertEqual(c.command("n", "NOOP"), ["n OK NOOP completed."])

    def test_many_connections_on_few_threads(self):
        conns = []
        for _ in range(300):
            conns.append(self.srv.connect())
        for c in conns:
            self.assertTrue(c.readline().startswith("* OK"))
        for i, c in enumerate(conns):
            self.assertEqual(c.command(f"m{i}", "NOOP"), [f"m{i} OK NOOP completed."])
        for c in conns:
            c.close()


class IdleTimeout(unittest.TestCase):
    def test_idle_unauthenticated_connection_gets_bye(self):
        with Server("idletimeout:\n  unauthenticated: 2\n") as srv:
            c = srv.connect()
            c.readline()
            # Activity keeps it open past the timeout...
            for i in range(4):
                time.sleep(1)
                self.assertEqual(c.command(f"k{i}", "NOOP"), [f"k{i} OK NOOP completed."])
            # ...silence closes it with a BYE.
            c.sock.settimeout(10)
            self.assertEqual(c.readline(), "* BYE Idle timeout, closing connection.")
            self.assertTrue(c.at_eof())
            self.assertIn("idle timeout", srv.wait_log("idle timeout"))


class Signals(unittest.TestCase):
    def test_sigterm_sends_bye_to_every_client_and_exits_0(self):
        srv = Server().start()
        conns = [srv.connect() for _ in range(5)]
        for c in conns:
            c.readline()
        srv.signal(signal.SIGTERM)
        for c in conns:
            self.assertEqual(c.readline(), "* BYE Server shutting down.")
            self.assertTrue(c.at_eof())
        self.assertEqual(srv.proc.wait(15), 0)
        self.assertIn("SIGTERM received", srv.wait_log("SIGTERM received"))

    def test_sighup_is_logged_and_service_goes_on(self):
        with Server() as srv:
            srv.signal(signal.SIGHUP)
            self.assertIn("SIGHUP received", srv.wait_log("SIGHUP received"))
            c = srv.connect()
            self.assertTrue(c.readline().startswith("* OK"))


class StartupRefusals(unittest.TestCase):
    def refused(self, config):
        srv = Server(config=config)
        rc, log = srv.run_to_exit()
        self.assertEqual(rc, 1, log)
        return log

    def test_missing_filepoolid_and_badfileid_are_named(self):
        log = self.refused("port: 1143\n")
        self.assertIn("filepoolid", log)
        self.assertIn("badfileid", log)

    def test_unknown_key_has_file_line_column(self):
        log = self.refused("filepoolid: /tmp/s\nbadfileid: /tmp/b\nprot: 1143\n")
        self.assertRegex(log, r"vimap\.yaml:3:1: .*prot")

    def test_short_authenticated_timeout_cites_rfc(self):
        log = self.refused("filepoolid: /tmp/s\nbadfileid: /tmp/b\n"
                           "idletimeout:\n  authenticated: 1799\n")
        self.assertIn("RFC 3501", log)
        self.assertIn("1800", log)

    def test_plugin_of_another_abi_stops_startup_with_one_line(self):
        srv = Server("authenticate: fixmajor\n", plugin_dir=FIXTURE_DIR)
        rc, log = srv.run_to_exit()
        self.assertEqual(rc, 1)
        lines = [l for l in log.splitlines() if "fixmajor" in l]
        self.assertEqual(len(lines), 1, log)
        self.assertIn("fixmajor.so", lines[0])
        self.assertRegex(lines[0], r"plugin ABI 2\.\d+, kernel ABI 1\.\d+: rebuild")

    def test_missing_plugin_stops_startup(self):
        srv = Server("authenticate: nosuchexit\n")
        rc, log = srv.run_to_exit()
        self.assertEqual(rc, 1)
        self.assertIn("nosuchexit", log)

    def test_check_config(self):
        srv = Server()
        import subprocess
        from vimaptest import VIMAPD
        out = subprocess.run([VIMAPD, "--config", srv.config_path, "--check-config"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("is valid", out.stdout)

    def test_port_in_use_is_reported(self):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            rc, log = Server(port=port).run_to_exit()
            self.assertEqual(rc, 1)
            self.assertIn(f"port {port}", log)
            self.assertIn("Address already in use", log)


if __name__ == "__main__":
    unittest.main()
