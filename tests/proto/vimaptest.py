"""Test harness: starts a real vimapd from the build tree on a free loopback
port with a throw-away configuration, store and user directory, and talks
to it over TCP.  Used by every protocol test (tests/proto/test_*.py)."""

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILDDIR = os.environ.get("VIMAP_BUILDDIR", os.getcwd())
SRCDIR = os.environ.get("VIMAP_SRCDIR", os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
VIMAPD = os.path.join(BUILDDIR, "vimapd")
VIMAP = os.path.join(BUILDDIR, "vimap")
PLUGIN_DIR = os.path.join(BUILDDIR, ".plugins")
FIXTURE_DIR = os.path.join(BUILDDIR, "tests", "fixtures", ".libs")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One vimapd process.  `extra` is YAML appended to the configuration;
    `config` replaces the whole file when given."""

    def __init__(self, extra="", config=None, users="", args=(),
                 plugin_dir=PLUGIN_DIR, port=None, console=False):
        self.dir = tempfile.mkdtemp(prefix="vimap-test-")
        self.port = port if port is not None else free_port()
        self.plugin_dir = plugin_dir
        self.console = console
        self.store = os.path.join(self.dir, "store")
        self.users_file = os.path.join(self.dir, "users")
        self.admin_socket = os.path.join(self.dir, "admin.sock")
        with open(self.users_file, "w") as f:
            f.write(users)
        self.config_path = os.path.join(self.dir, "vimap.yaml")
        if config is None:
            config = self.default_config() + extra
        with open(self.config_path, "w") as f:
            f.write(config)
        self.log_path = os.path.join(self.dir, "vimapd.log")
        self.args = list(args)
        self.proc = None

    def default_config(self):
        return (
            f"filepoolid: {self.store}\n"
            f"badfileid: {self.dir}/bad\n"
            f"port: {self.port}\n"
            "listen_address: 127.0.0.1\n"
            f"plugin_dir: {self.plugin_dir}\n"
            "io_threads: 2\n"
            f"admin_socket: {self.admin_socket}\n"
            f"administrators: [{getpass.getuser()}]\n"
            "worker_threads: 4\n"
            "plugins:\n"
            f"  cp:\n    directory: {self.users_file}\n"
        )

    def start(self, wait=True):
        self.logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [VIMAPD, "--config", self.config_path] + self.args,
            stdin=subprocess.PIPE if self.console else subprocess.DEVNULL,
            stdout=self.logf, stderr=subprocess.STDOUT)
        if wait:
            self.wait_listening()
        return self

    def wait_listening(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vimapd exited with %d: %s"
                                   % (self.proc.returncode, self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                    s.recv(200)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("vimapd did not listen: " + self.log())

    def run_to_exit(self, timeout=15):
        """Starts vimapd and waits for it to exit: for refusals at start-up."""
        self.start(wait=False)
        rc = self.proc.wait(timeout)
        self.logf.close()
        return rc, self.log()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def console_command(self, line):
        """Types a command on vimapd's console (a Server made with console=True)."""
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def wait_log(self, text, timeout=10):
        """The log once it holds `text` (lines may trail the client's view)."""
        deadline = time.time() + timeout
        while True:
            log = self.log()
            if text in log or time.time() > deadline:
                return log
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def stop(self, timeout=15):
        """Stops vimapd; raises when a sanitizer reported anything, and
        removes the test directory otherwise (VIMAP_KEEP_TEST_DIRS keeps it)."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        if not self.logf.closed:
            self.logf.close()
        log = self.log()
        found = [m for m in self.SANITIZER_MARKS if m in log]
        if found:
            raise AssertionError("vimapd sanitizer report (%s) in %s:\n%s"
                                 % (", ".join(found), self.log_path, log[-4000:]))
        if not os.environ.get("VIMAP_KEEP_TEST_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def connect(self):
        return Conn(self.port)

    def vimap(self, *args, stdin=None, check=True, timeout=60):
        """Runs the `vimap` command against this server's admin socket."""
        proc = subprocess.run([VIMAP, "--socket", self.admin_socket] + list(args),
                              input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError("vimap %s failed: %s" % (" ".join(args), proc.stderr))
        return proc

    def add_user(self, user, password, enroll=True, blocks=None):
        """Writes the user's password hash and (by default) enrols them."""
        proc = subprocess.run([VIMAP, "--file", self.users_file, "passwd", user],
                              input=password + "\n", capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("vimap passwd failed: " + proc.stderr)
        if enroll:
            args = ["ENROLL", user] + ([str(blocks)] if blocks else [])
            self.vimap(*args)

    def login(self, user, password):
        import imaplib
        m = imaplib.IMAP4("127.0.0.1", self.port)
        m.login(user, password)
        return m

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Conn:
    """A raw IMAP connection: send lines, read lines, with timeouts."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def until_tagged(self, tag):
        """Reads lines up to and including the tagged response."""
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def command(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until_tagged(tag)

    def at_eof(self, timeout=5):
        """True when the server closes the connection within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()
