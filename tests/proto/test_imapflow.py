"""imapflow (from npm), the IMAP client of many Node.js mail applications,
runs a whole session against a real vimapd (tests/proto/js/
imapflow-session.js).  The package is installed once into the build tree
(BUILDDIR/node-imapflow) from npm's registry; without node/npm or the
registry the test is skipped with the reason."""

import json
import os
import shutil
import subprocess
import unittest

from vimaptest import Server, BUILDDIR

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(BUILDDIR, "node-imapflow")


def imapflow_dir():
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise unittest.SkipTest("node and npm are not installed")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "imapflow")):
        os.makedirs(NODE_DIR, exist_ok=True)
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", NODE_DIR,
                            "imapflow@1"], capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise unittest.SkipTest("npm install imapflow failed: " + p.stderr[-300:])
    return NODE_DIR


class ImapflowTest(unittest.TestCase):
    def test_whole_session(self):
        node_dir = imapflow_dir()
        with Server() as srv:
            srv.add_user("flow", "flowpw")
            env = dict(os.environ, NODE_PATH=os.path.join(node_dir, "node_modules"))
            p = subprocess.run(["node", os.path.join(HERE, "js", "imapflow-session.js"),
                                str(srv.port), "flow", "flowpw"],
                               capture_output=True, text=True, timeout=120, env=env)
            self.assertEqual(p.returncode, 0, p.stderr)
            out = json.loads(p.stdout.strip().splitlines()[-1])
        paths = {b["path"]: b["specialUse"] for b in out["list"]}
        self.assertEqual(paths.get("Sent"), "\\Sent")
        self.assertEqual(paths.get("Trash"), "\\Trash")
        self.assertIn("INBOX", paths)
        self.assertEqual(out["exists"], 1)
        m = out["messages"][0]
        self.assertEqual(m["subject"], "from imapflow")
        self.assertEqual(m["from"], "js@example.org")
        self.assertIn("\\Flagged", m["flags"])
        self.assertEqual(m["source"], "From: js@example.org\r\nSubject: from imapflow\r\n\r\n"
                                      "hello js\r\n")
        self.assertEqual(out["search"], [m["uid"]])
        self.assertEqual(out["seen"], [m["uid"]])
        self.assertTrue(out["moved"], out)
        self.assertEqual(out["trash"], 1)
        self.assertGreaterEqual(out["idleExists"], 1)


if __name__ == "__main__":
    unittest.main()
