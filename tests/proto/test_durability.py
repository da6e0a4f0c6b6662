"""Nothing acknowledged is lost when vimapd is killed with SIGKILL at any
instant, and nothing half-written shows after the restart."""

import hashlib
import random
import signal
import socket
import threading
import time
import unittest

from vimaptest import Server


def appender(port, user, stop, acked, rng):
    """APPENDs until the connection dies; records (uid, digest) of each OK."""
    try:
        s = socket.create_connection(("127.0.0.1", port), 10)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"l LOGIN %s pw\r\n" % user.encode())
        f.readline()
        n = 0
        while not stop.is_set():
            body = b"Subject: m%d\r\n\r\n" % n + bytes(rng.randrange(97, 123) for _ in range(rng.randrange(10, 20000)))
            s.sendall(b"a%d APPEND INBOX {%d+}\r\n" % (n, len(body)) + body + b"\r\n")
            line = f.readline()
            if not line.startswith(b"a%d OK" % n):
                return
            uid = int(line.split(b"APPENDUID ")[1].split(b"]")[0].split()[1])
            acked.append((uid, hashlib.sha256(body).hexdigest()))
            n += 1
    except OSError:
        return


class KillDuringWrites(unittest.TestCase):
    def test_sigkill_during_appends_loses_nothing_acknowledged(self):
        srv = Server()
        srv.start()
        srv.add_user("d1", "pw")
        srv.add_user("d2", "pw")
        rng = random.Random(7)
        acked = {"d1": [], "d2": []}
        for round_ in range(4):
            stop = threading.Event()
            threads = [threading.Thread(target=appender,
                                        args=(srv.port, u, stop, acked[u], random.Random(round_ * 10 + i)))
                       for i, u in enumerate(acked)]
            for t in threads:
                t.start()
            time.sleep(0.3 + rng.random() * 0.7)
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            stop.set()
            for t in threads:
                t.join(10)
            srv.logf.close()
            srv.start()
        self.assertGreater(sum(len(v) for v in acked.values()), 20)
        for user, items in acked.items():
            m = srv.login(user, "pw")
            m.select("INBOX")
            typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            have = {}
            for item in data:
                if isinstance(item, tuple):
                    uid = int(item[0].split(b"UID ")[1].split()[0])
                    have[uid] = hashlib.sha256(item[1]).hexdigest()
            for uid, digest in items:
                self.assertIn(uid, have, f"{user}: acknowledged UID {uid} lost")
                self.assertEqual(have[uid], digest, f"{user}: UID {uid} corrupted")
            # every message that shows is whole: its size matches its bytes
            typ, data = m.uid("FETCH", "1:*", "(RFC822.SIZE BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple):
                    size = int(item[0].split(b"RFC822.SIZE ")[1].split()[0])
                    self.assertEqual(size, len(item[1]))
            m.logout()
        srv.stop()


class ShutdownDuringAppends(unittest.TestCase):
    def test_admin_shutdown_mid_append_loses_nothing_acknowledged(self):
        srv = Server().start()
        srv.add_user("s1", "pw")
        acked = []
        stop = threading.Event()
        t = threading.Thread(target=appender, args=(srv.port, "s1", stop, acked, random.Random(3)))
        t.start()
        time.sleep(0.7)
        p = srv.vimap("SHUTDOWN")
        self.assertIn("shutting down", p.stdout)
        self.assertEqual(srv.proc.wait(30), 0)
        stop.set()
        t.join(10)
        srv.logf.close()
        self.assertGreater(len(acked), 5)
        srv.start()
        m = srv.login("s1", "pw")
        m.select("INBOX")
        typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
        have = {int(i[0].split(b"UID ")[1].split()[0]): hashlib.sha256(i[1]).hexdigest()
                for i in data if isinstance(i, tuple)}
        for uid, digest in acked:
            self.assertEqual(have.get(uid), digest, f"acknowledged UID {uid}")
        m.logout()
        srv.stop()


if __name__ == "__main__":
    unittest.main()
