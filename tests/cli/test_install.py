"""make install / make uninstall (GNU conventions) into a DESTDIR: exactly the expected
tree, with the expected modes; uninstall removes every file install put there. The
systemd units pass `systemd-analyze verify`."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from tests.cli.common import BINARY, BUILD, ROOT, CliTestCase

UNITS = ["iamkeys-audit.service", "iamkeys-audit.timer", "iamkeys-rotate.service",
         "iamkeys-rotate.timer"]
EXAMPLES = ["cron.d-iamkeys", "environment", "rotate.conf"]


def commands():
    p = subprocess.run([BINARY, "--dump-options"], stdout=subprocess.PIPE, text=True,
                       check=True)
    return [c["name"] for c in json.loads(p.stdout)["commands"]]


def tree(root):
    """{relative path: mode} of every file and directory below root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = stat.S_IMODE(os.lstat(p).st_mode) | (
                0o40000 if os.path.isdir(p) else 0)
    return out


class Install(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="iamkeys-install-")
        cls.dest = os.path.join(cls.tmp, "root")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def make(self, *args):
        p = subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD, "DESTDIR=" + self.dest]
                           + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stdout)
        return p.stdout

    def expected_files(self):
        files = {"usr/bin/iamkeys": 0o755,
                 "usr/share/bash-completion/completions/iamkeys": 0o644,
                 "usr/share/zsh/site-functions/_iamkeys": 0o644,
                 "usr/share/fish/vendor_completions.d/iamkeys.fish": 0o644}
        for c in ["iamkeys"] + ["iamkeys-" + c for c in commands()]:
            files["usr/share/man/man1/%s.1" % c] = 0o644
        for u in UNITS:
            files["usr/lib/systemd/system/" + u] = 0o644
        for e in EXAMPLES:
            files["usr/share/doc/iamkeys/examples/" + e] = 0o644
        return files

    def test_install_then_uninstall(self):
        self.make("install", "PREFIX=/usr")
        got = tree(self.dest)
        files = {p: m for p, m in got.items() if not m & 0o40000}
        self.assertEqual(files, self.expected_files())
        dirs = set(p for p, m in got.items() if m & 0o40000)
        want_dirs = set()
        for f in files:
            d = os.path.dirname(f)
            while d:
                want_dirs.add(d)
                d = os.path.dirname(d)
        self.assertEqual(dirs, want_dirs)
        with open(os.path.join(self.dest, "usr/lib/systemd/system/iamkeys-rotate.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=/usr/bin/iamkeys rotate --apply\n", unit)
        self.assertNotIn("@BINDIR@", unit)
        # the installed binary is the release build: it runs, and no test knob
        # (IAMKEYS_TEST_NOW, _CRASH_AFTER, ...) is compiled into it
        installed = os.path.join(self.dest, "usr/bin/iamkeys")
        p = subprocess.run([installed, "--version"], stdout=subprocess.PIPE, text=True)
        self.assertRegex(p.stdout, r"^iamkeys \d+\.\d+\.\d+\n$")
        with open(installed, "rb") as f:
            self.assertNotIn(b"IAMKEYS_TEST_", f.read())
        with open(BINARY, "rb") as f:
            self.assertIn(b"IAMKEYS_TEST_", f.read())  # the test build has them

        self.make("uninstall", "PREFIX=/usr")
        left = tree(self.dest)
        self.assertEqual([p for p, m in left.items() if not m & 0o40000], [])
        # iamkeys' own directory goes; the shared ones (usr/bin, ...) stay
        self.assertNotIn("usr/share/doc/iamkeys", left)
        self.assertIn("usr/bin", left)
        shutil.rmtree(self.dest)

    def test_directories_can_be_overridden(self):
        self.make("install", "PREFIX=/opt/ik", "BINDIR=/opt/ik/sbin", "MANDIR=/opt/man",
                  "ZSHCOMPDIR=/usr/share/zsh/vendor-completions")
        got = tree(self.dest)
        self.assertIn("opt/ik/sbin/iamkeys", got)
        self.assertIn("opt/man/man1/iamkeys-audit.1", got)
        self.assertIn("usr/share/zsh/vendor-completions/_iamkeys", got)
        self.assertIn("opt/ik/lib/systemd/system/iamkeys-audit.service", got)
        with open(os.path.join(self.dest, "opt/ik/lib/systemd/system/iamkeys-audit.service")) as f:
            self.assertIn("\nExecStart=/opt/ik/sbin/iamkeys audit", f.read())
        self.make("uninstall", "PREFIX=/opt/ik", "BINDIR=/opt/ik/sbin", "MANDIR=/opt/man",
                  "ZSHCOMPDIR=/usr/share/zsh/vendor-completions")
        self.assertEqual([p for p, m in tree(self.dest).items() if not m & 0o40000], [])
        shutil.rmtree(self.dest)


@unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
class SystemdUnits(CliTestCase):
    def test_verify_is_clean(self):
        tmp = tempfile.mkdtemp(prefix="iamkeys-units-")
        try:
            man1 = os.path.join(tmp, "man", "man1")
            os.makedirs(man1)
            subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gendoc.py"),
                            "--binary", BINARY, "--date", "2026-01-01", "man", man1],
                           check=True)
            for u in UNITS:
                with open(os.path.join(ROOT, "dist", "systemd", u)) as f:
                    text = f.read().replace("@BINDIR@", os.path.dirname(BINARY))
                with open(os.path.join(tmp, u), "w") as f:
                    f.write(text)
            env = dict(os.environ, MANPATH=os.path.join(tmp, "man"), SYSTEMD_LOG_LEVEL="notice")
            p = subprocess.run(["systemd-analyze", "verify"] + [os.path.join(tmp, u)
                                                                for u in UNITS],
                               capture_output=True, text=True, env=env)
            self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_hardening_and_not_enabled(self):
        for u in UNITS:
            with open(os.path.join(ROOT, "dist", "systemd", u)) as f:
                text = f.read()
            if u.endswith(".service"):
                for line in ("Type=oneshot", "NoNewPrivileges=yes", "ProtectSystem=strict",
                             "PrivateTmp=yes", "EnvironmentFile=-/etc/iamkeys/environment"):
                    self.assertIn("\n%s\n" % line, text, u)
                self.assertNotIn("[Install]", text)
            else:
                self.assertIn("\nWantedBy=timers.target\n", text)
        with open(os.path.join(ROOT, "dist", "systemd", "iamkeys-audit.service")) as f:
            self.assertNotIn("ReadWritePaths", f.read())  # the audit writes nothing


if __name__ == "__main__":
    unittest.main()
