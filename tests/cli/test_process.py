"""The iamkeys process (docs/safety.md, "Locking and process hardening"): no core dumps
and not dumpable, every descriptor close-on-exec, credential_process children without
inherited descriptors, and SIGINT/SIGTERM stopping a rotation between steps with the
output of every finished user already out."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from tests.cli.common import BINARY, CliTestCase, due_users, rotation_tag, run, users_of
from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

DAY = 86400
O_CLOEXEC = 0o2000000
NOBODY = 65534


class ProcessBase(CliTestCase, EmulatorTestCase):
    N = 10

    @classmethod
    def make_fixture(cls):
        return fixtures.admin_fixture(extra_users=due_users(cls.N))

    def setUp(self):
        self.emu.clear_faults()
        self.emu.set_clock(offset_seconds=0)
        self.emu.config(latency_ms=0)
        self.emu.load(fixtures.admin_fixture(extra_users=due_users(self.N)))
        self.emu.reset_calls()
        self.dir = tempfile.mkdtemp()
        self.to = "file:%s/{user}.json" % self.dir

    def popen(self, args, **kw):
        p = subprocess.Popen([BINARY] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, **kw)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.communicate()))
        return p


def binary_for_nobody():
    """A copy of the binary that NOBODY may run: the checkout may sit in a directory
    only its owner can enter (a fresh CI clone in a 0700 mktemp directory)."""
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    copy = os.path.join(d, "iamkeys")
    shutil.copy2(BINARY, copy)
    os.chmod(copy, 0o755)
    return d, copy


class HardeningTest(ProcessBase):
    def test_not_dumpable_no_core_and_every_descriptor_close_on_exec(self):
        # a run as an ordinary user, caught while it waits for a slow ListUsers
        home = tempfile.mkdtemp()
        os.chmod(home, 0o755)
        self.emu.fault("ListUsers", kind="slow", delay_ms=3000, count=1)
        bindir, copy = binary_for_nobody()
        self.addCleanup(shutil.rmtree, bindir, True)
        p = subprocess.Popen([copy, "users"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=self.emu.env(home=home), user=NOBODY, group=NOBODY,
                             extra_groups=[])
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.communicate()))
        time.sleep(1.0)
        self.assertIsNone(p.poll())
        proc = "/proc/%d" % p.pid
        with open(proc + "/limits") as f:
            core = [line for line in f if line.startswith("Max core file size")]
        self.assertEqual(core[0].split()[4:6], ["0", "0"], core)
        # not dumpable: its /proc files belong to root, so processes of the same user
        # cannot read its memory or environment (it is NOBODY's process)
        with open(proc + "/status") as f:
            self.assertIn("Uid:\t%d\t%d" % (NOBODY, NOBODY), f.read())
        self.assertEqual(os.stat(proc + "/environ").st_uid, 0)
        self.assertEqual(os.stat(proc + "/mem").st_uid, 0)
        fds = sorted(int(n) for n in os.listdir(proc + "/fd") if int(n) > 2)
        kinds = {n: os.readlink("%s/fd/%d" % (proc, n)) for n in fds}
        self.assertTrue(any(k.startswith("socket:") for k in kinds.values()), kinds)
        for n in fds:
            with open("%s/fdinfo/%d" % (proc, n)) as f:
                flags = int(re.search(r"^flags:\s+([0-7]+)$", f.read(), re.M).group(1), 8)
            self.assertTrue(flags & O_CLOEXEC, "fd %d (%s) is inherited by children"
                            % (n, kinds[n]))
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("admin", out)

    def test_credential_process_inherits_no_descriptor(self):
        home = tempfile.mkdtemp()
        seen = os.path.join(home, "fds")
        script = os.path.join(home, "creds.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nls /proc/$$/fd > %s\n"
                    "printf '{\"Version\": 1, \"AccessKeyId\": \"%s\", "
                    "\"SecretAccessKey\": \"%s\"}'\n"
                    % (seen, fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))
        os.chmod(script, 0o700)
        os.makedirs(os.path.join(home, ".aws"))
        with open(os.path.join(home, ".aws", "config"), "w") as f:
            f.write("[default]\ncredential_process = %s\n" % script)
        # iamkeys is started with descriptor 42 open (as a careless parent would)
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 42, inheritable=True)
        os.close(fd)
        self.addCleanup(os.close, 42)
        env = self.emu.env(home=home, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
        p = subprocess.run([BINARY, "users"], env=env, pass_fds=(42,), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(seen) as f:
            fds = sorted(int(x) for x in f.read().split())
        self.assertNotIn(42, fds)
        self.assertEqual([x for x in fds if x < 3], [0, 1, 2])


class InterruptTest(ProcessBase):
    """SIGTERM / SIGINT during rotate --apply with emulator latency."""

    def read_until_rotated(self, p, count):
        lines = []
        while sum(1 for x in lines if " rotated: " in x) < count:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
        return lines

    def check_no_half_done_step(self, names):
        """Each user is untouched, marked (intent, no new key) or delivered (in its sink)."""
        for name in names:
            u = users_of(self.emu)[name]
            tag = rotation_tag(u)
            ids = [k["id"] for k in u["keys"]]
            if tag is None or "stage=intent" in tag:
                self.assertEqual(ids, [fixtures.key_id(name)], (name, u))
                continue
            self.assertIn("stage=delivered", tag, name)
            new = re.search(r"new=(\w+)", tag).group(1)
            with open(os.path.join(self.dir, name + ".json")) as f:
                self.assertEqual(json.load(f)["AccessKeyId"], new, name)

    def test_sigterm_stops_between_steps_and_the_next_run_finishes(self):
        names = ["u%02d" % i for i in range(self.N)]
        self.emu.config(latency_ms=40)
        p = self.popen(["rotate", "--to", self.to, "--apply"], env=self.emu.env())
        before = self.read_until_rotated(p, 2)
        p.send_signal(signal.SIGTERM)
        # (not communicate(): it would skip what readline() has buffered already)
        out = "".join(before) + p.stdout.read()
        err = p.stderr.read()
        p.wait(timeout=60)
        self.assertEqual(p.returncode, 143, out + err)
        # the users done before the signal were printed as they finished
        done = re.findall(r"^(u\d\d) \[idle\] rotated: ", out, re.M)
        self.assertGreaterEqual(len(done), 2, out)
        self.assertLess(len(done), self.N, out)
        for name in done:
            self.assertRegex(out, r"(?m)^  2\. create a new key, verify it, deliver to "
                                  r"file:%s/%s\.json -> done: created \w+$"
                                  % (re.escape(self.dir), name))
        lines = err.splitlines()
        self.assertEqual(len(lines), 1, err)
        m = re.match(r"^iamkeys: error: interrupted by SIGTERM: stopped before the next step"
                     r"(?:; (u\d\d) stopped in stage (idle|intent|delivered))?; (\d+) users? "
                     r"not started; run 'rotate --apply' again to go on$", lines[0])
        self.assertTrue(m, err)
        stopped = m.group(1)
        self.assertEqual(len(done) + (1 if stopped else 0) + int(m.group(3)), self.N, out)
        if stopped:
            self.assertRegex(out, r"(?m)^%s \[%s\] stopped: " % (stopped, m.group(2)))
            self.assertIn("-> skipped: not started: the run was stopped", out)
        self.assertRegex(out, r"(?m)^%d users: %d acted on, 0 blocked, 0 failed, 0 exempt, 1 "
                              r"with nothing to do, %d stopped, %s not started$"
                         % (len(done) + 1 + (1 if stopped else 0), len(done),
                            1 if stopped else 0, m.group(3)))
        self.check_no_half_done_step(names)
        for name in done:
            self.assertIn("stage=delivered", rotation_tag(users_of(self.emu)[name]))
        # the next run goes on from there, then the later stages finish the rotation
        self.emu.config(latency_ms=0)
        res = run(["rotate", "--to", self.to, "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.check_no_half_done_step(names)
        for name in names:
            self.assertIn("stage=delivered", rotation_tag(users_of(self.emu)[name]), name)
        for _ in range(2):
            self.emu.advance_clock(8 * DAY)
            self.assertRc(run(["rotate", "--to", self.to, "--apply"], self.emu.env()), 0)
        for name in names:
            u = users_of(self.emu)[name]
            self.assertEqual([k["status"] for k in u["keys"]], ["Active"], u)
            self.assertIsNone(rotation_tag(u))
            with open(os.path.join(self.dir, name + ".json")) as f:
                doc = json.load(f)
            self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"]),
                             (u["keys"][0]["id"], u["keys"][0]["secret"]))

    def test_sigint_exits_130(self):
        self.emu.config(latency_ms=40)
        p = self.popen(["rotate", "--to", self.to, "--apply"], env=self.emu.env())
        self.read_until_rotated(p, 1)
        p.send_signal(signal.SIGINT)
        p.stdout.read()
        err = p.stderr.read()
        p.wait(timeout=60)
        self.assertEqual(p.returncode, 130, err)
        self.assertRegex(err, r"^iamkeys: error: interrupted by SIGINT: stopped before the "
                              r"next step")

    def test_sigterm_while_waiting_for_the_lock(self):
        self.emu.fault("ListUsers", kind="slow", delay_ms=3000, count=1)
        first = self.popen(["rotate", "--to", self.to, "--apply"], env=self.emu.env())
        path = os.path.join(self.emu.lock_dir, "account-%s.lock" % fixtures.ACCOUNT_ID)
        t0 = time.time()
        while time.time() - t0 < 10:
            if os.path.exists(path) and ("pid=%d " % first.pid) in open(path).read():
                break
            time.sleep(0.02)
        second = self.popen(["rotate", "--to", self.to, "--apply", "--lock-wait", "1m"],
                            env=self.emu.env())
        time.sleep(0.5)
        second.send_signal(signal.SIGTERM)
        out, err = second.communicate(timeout=30)
        self.assertEqual(second.returncode, 143, err)
        self.assertEqual(err, "iamkeys: error: interrupted while waiting for the lock of "
                              "account %s: nothing was changed\n" % fixtures.ACCOUNT_ID)
        self.assertEqual(out, "")
        first.communicate(timeout=30)
        self.assertEqual(first.returncode, 0)
