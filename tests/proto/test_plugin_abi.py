"""A plugin built out of tree, with nothing but the installed headers and
pkg-config file, loads into vimapd and works (the plugin ABI as a site
meets it)."""

import imaplib
import os
import shutil
import subprocess
import tempfile
import unittest

from vimaptest import BUILDDIR, PLUGIN_DIR, SRCDIR, Server


class OutOfTreePlugin(unittest.TestCase):
    def test_site_plugin_built_from_installed_headers(self):
        root = tempfile.mkdtemp(prefix="vimap-install-")
        try:
            subprocess.run(["make", "-C", BUILDDIR, "install", f"DESTDIR={root}"],
                           check=True, capture_output=True)
            pcdir = subprocess.run(["find", root, "-name", "vimap.pc"], capture_output=True,
                                   text=True).stdout.split()[0]
            env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcdir),
                       PKG_CONFIG_SYSROOT_DIR=root)
            cflags = subprocess.run(["pkg-config", "--cflags", "vimap"], env=env, check=True,
                                    capture_output=True, text=True).stdout.split()
            plugins = os.path.join(root, "plugins")
            os.mkdir(plugins)
            subprocess.run(["cc", "-shared", "-fPIC", "-Wall", "-Werror"] + cflags +
                           ["-o", os.path.join(plugins, "hello.so"),
                            os.path.join(SRCDIR, "tests", "out-of-tree", "hello-auth.c")],
                           check=True)
            os.symlink(os.path.join(PLUGIN_DIR, "localfs.so"), os.path.join(plugins, "localfs.so"))
            exported = subprocess.run(["nm", "-D", "--defined-only", os.path.join(plugins, "hello.so")],
                                      capture_output=True, text=True).stdout
            self.assertEqual([l.split()[-1] for l in exported.splitlines()], ["vimap_plugin"])
            with Server("authenticate: hello\n", plugin_dir=plugins) as srv:
                srv.vimap("ENROLL", "site")
                m = imaplib.IMAP4("127.0.0.1", srv.port)
                m.login("site", "hello-site")
                m.logout()
                m = imaplib.IMAP4("127.0.0.1", srv.port)
                with self.assertRaises(imaplib.IMAP4.error):
                    m.login("site", "wrong")
                self.assertIn("hello: ready, greeting 'hello'", srv.log())
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
