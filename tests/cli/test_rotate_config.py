"""The default configuration of rotate for unattended runs: without --config and --to,
$XDG_CONFIG_HOME/iamkeys/rotate.conf (default ~/.config/iamkeys/rotate.conf) if it
exists, else /etc/iamkeys/rotate.conf (IAMKEYS_SYSTEM_CONFIG_DIR in these tests); the
per-user file wins and the two are not merged; a bad file is one line and exit 2."""
import os
import shutil
import tempfile

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import shared_emulator


def fixture():
    return fixtures.admin_fixture(extra_users=[
        {"name": "due", "keys": [fixtures.key("rotconf/due", 120, last_used_days=3)]}])


class DefaultConfig(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = shared_emulator("rotate-config", fixture())

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="iamkeys-rotconf-")
        self.home = os.path.join(self.tmp, "home")
        self.xdg = os.path.join(self.tmp, "xdg")
        self.sys = os.path.join(self.tmp, "etc-iamkeys")
        for d in (self.home, self.xdg, self.sys):
            os.makedirs(d)
        self.emu.reset_calls()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, d, text):
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "rotate.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def conf(self, where):
        # the sink's directory exists: a missing one blocks the user (preflight)
        os.makedirs(os.path.join(self.tmp, where), exist_ok=True)
        return "[default]\nto = file:%s/{user}.json\n" % os.path.join(self.tmp, where)

    def rotate(self, *args, xdg=True):
        env = self.emu.env(home=self.home, IAMKEYS_SYSTEM_CONFIG_DIR=self.sys,
                           XDG_CONFIG_HOME=self.xdg if xdg is True else xdg)
        return run(["rotate", "--user", "due"] + list(args), env=env)

    def assertSink(self, res, where):
        self.assertRc(res, 0)
        self.assertIn("deliver to file:%s/due.json" % os.path.join(self.tmp, where), res.out)

    def test_the_per_user_file_wins(self):
        self.write(os.path.join(self.xdg, "iamkeys"), self.conf("user"))
        self.write(self.sys, self.conf("system"))
        self.assertSink(self.rotate(), "user")

    def test_the_system_file_without_a_per_user_one(self):
        self.write(self.sys, self.conf("system") + "rotate_after = 200d\n")
        res = self.rotate()
        self.assertRc(res, 0)
        self.assertIn("nothing to do", res.out)  # its rotate_after applies: not due yet
        os.unlink(os.path.join(self.sys, "rotate.conf"))
        self.write(self.sys, self.conf("system"))
        self.assertSink(self.rotate(), "system")

    def test_home_config_when_xdg_config_home_is_unset_or_relative(self):
        self.write(os.path.join(self.home, ".config", "iamkeys"), self.conf("home"))
        self.write(self.sys, self.conf("system"))
        self.assertSink(self.rotate(xdg=None), "home")
        self.assertSink(self.rotate(xdg="relative/dir"), "home")

    def test_not_merged(self):
        """The per-user file has no 'to': the system file's is not used."""
        self.write(os.path.join(self.xdg, "iamkeys"), "[default]\nrotate_after = 30d\n")
        self.write(self.sys, self.conf("system"))
        res = self.rotate()
        self.assertNotIn("system", res.out + res.err)

    def test_config_and_to_skip_the_default_files(self):
        self.write(os.path.join(self.xdg, "iamkeys"), "[default\n")  # bad: never read
        other = self.write(os.path.join(self.tmp, "other"), self.conf("explicit"))
        self.assertSink(self.rotate("--config", other), "explicit")
        os.makedirs(os.path.join(self.tmp, "cli"))
        self.assertSink(self.rotate("--to", "file:%s/cli/{user}.json" % self.tmp), "cli")

    def test_a_bad_file_is_one_line_and_exit_2(self):
        path = self.write(os.path.join(self.xdg, "iamkeys"), "[default]\nrotate_after = soon\n")
        res = self.rotate("--apply")
        self.assertRc(res, 2)
        self.assertOneLineError(res, path)
        self.assertEqual(res.out, "")
        self.assertEqual(self.emu.calls(), [])  # nothing read, nothing changed

    def test_a_directory_is_not_a_file(self):
        os.makedirs(os.path.join(self.xdg, "iamkeys", "rotate.conf"))
        self.write(self.sys, self.conf("system"))
        self.assertSink(self.rotate(), "system")
