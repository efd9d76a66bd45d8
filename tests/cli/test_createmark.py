"""The create mark of `create` (and of `rotate --self`, which shares its path): written
before CreateAccessKey, read back, removed once the secret is delivered; a mark left by a
run that died is recovered by asking the sink which key it holds."""

import hashlib
import json
import os
import re
import signal
import subprocess
import time

from tests.cli.common import BINARY, tag_of
from tests.cli.test_actions import ActionsBase
from tests.emulator.fixtures import key

MARK = "iamkeys:create"
CHANGED = "iamkeys:changed"  # the lasting record written with the mark
WRITES = {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser",
          "CreateSecret", "PutSecretValue", "PutParameter"}
LEASE = 900
MARK_RE = r"^v=1 run=[a-z0-9]{12} t=\d{8}T\d{6}Z sink=[0-9a-f]{16}$"


def sink_hash(target):
    return hashlib.sha256(target.encode()).hexdigest()[:16]


class CreateMarkTest(ActionsBase):
    def setUp(self):
        super().setUp()
        self.emu.set_clock(offset_seconds=0)
        self.addCleanup(self.emu.set_clock, offset_seconds=0)

    def create(self, user, to, *args, **kw):
        return self.iamkeys("create", "--user", user, "--to", to, *args, **kw)

    def writes(self):
        return [c["action"] for c in self.emu.calls() if c["action"] in WRITES]

    def mark(self, name):
        return tag_of(self.live_user(name), MARK)

    def set_mark(self, name, value):
        r = self.emu.iam("TagUser", UserName=name, **{"Tags.member.1.Key": MARK,
                                                      "Tags.member.1.Value": value})
        self.assertEqual(r.status, 200, r)

    def aws_now_compact(self):
        return re.sub(r"[-:]", "", self.emu.clock()["now"])[:15] + "Z"

    def target(self):
        return "file:" + os.path.join(self.tmp, "grace.json")

    def crash_after_the_key(self, to=None):
        """create killed right after CreateAccessKey: the new key's secret is lost."""
        before = set(self.keys("grace"))
        res = self.create("grace", to or self.target(), "--apply",
                          IAMKEYS_TEST_CRASH_AFTER="2")
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        self.assertEqual(self.writes(), ["TagUser", "CreateAccessKey"])
        lost = set(self.keys("grace")) - before
        self.assertEqual(len(lost), 1)
        self.assertRegex(self.mark("grace"), MARK_RE)
        self.emu.reset_calls()
        return lost.pop()

    def test_success_writes_reads_back_and_removes_the_mark(self):
        res = self.create("grace", self.target(), "--apply")
        self.assertRc(res, 0)
        calls = [c["action"] for c in self.emu.calls()]
        self.assertEqual(calls, ["GetCallerIdentity", "ListAccessKeys", "ListUserTags",
                                 "TagUser", "ListUserTags", "CreateAccessKey", "ListUserTags",
                                 "UntagUser"])
        tag = [c for c in self.emu.calls() if c["action"] == "TagUser"][0]
        value = tag["params"]["Tags.member.1.Value"]
        self.assertRegex(value, MARK_RE)
        self.assertIn(" sink=%s" % sink_hash(self.target()), value)
        self.assertLessEqual(len(value), 256)
        # the same call writes the lasting record, at the mark's time; only the mark goes
        t = re.search(r" t=(\S+) ", value).group(1)
        self.assertEqual({k: v for k, v in tag["params"].items() if k.startswith("Tags.")},
                         {"Tags.member.1.Key": MARK, "Tags.member.1.Value": value,
                          "Tags.member.2.Key": CHANGED, "Tags.member.2.Value": "v=1 t=" + t})
        untag = [c for c in self.emu.calls() if c["action"] == "UntagUser"][0]
        self.assertEqual({k: v for k, v in untag["params"].items() if k.startswith("TagKeys")},
                         {"TagKeys.member.1": MARK})
        self.assertIsNone(self.mark("grace"))
        self.assertEqual(tag_of(self.live_user("grace"), CHANGED), "v=1 t=" + t)

    def test_killed_after_the_key_blocks_then_recovers_after_the_lease(self):
        lost = self.crash_after_the_key()
        # at once: the mark may be a live run's
        res = self.create("grace", self.target(), "--apply")
        self.assertRc(res, 3)
        self.assertRegex(res.out, r"^skip creating a key for grace: another run is creating a "
                                  r"key for grace since \d{4}-\d\d-\d\d[^;]*; if it died, the "
                                  r"next create recovers after \d{4}-\d\d-\d\d[^\n]*\n$")
        self.assertEqual(self.writes(), [])
        # after the lease: the sink holds no key, so the lost one is deleted, then a new one
        self.emu.advance_clock(LEASE + 60)
        self.emu.reset_calls()
        res = self.create("grace", self.target(), "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.writes(), ["DeleteAccessKey", "UntagUser", "TagUser",
                                         "CreateAccessKey", "UntagUser"])
        deleted = [c for c in self.emu.calls() if c["action"] == "DeleteAccessKey"][0]
        self.assertEqual(deleted["params"]["AccessKeyId"], lost)
        self.assertIn("deleted %s (created by a create that died before delivering it: its "
                      "secret is lost); secret delivered to %s" % (lost, self.target()),
                      res.out)
        with open(os.path.join(self.tmp, "grace.json")) as f:
            held = json.load(f)["AccessKeyId"]
        self.assertNotIn(lost, self.keys("grace"))
        self.assertEqual(self.keys("grace")[held], "Active")
        self.assertIsNone(self.mark("grace"))

    def test_killed_after_delivery_keeps_the_delivered_key(self):
        res = self.create("grace", self.target(), "--apply",
                          IAMKEYS_TEST_CRASH_AT="create-after-deliver")
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        with open(os.path.join(self.tmp, "grace.json")) as f:
            held = json.load(f)["AccessKeyId"]
        self.assertRegex(self.mark("grace"), MARK_RE)
        self.emu.advance_clock(LEASE + 60)
        self.emu.reset_calls()
        res = self.create("grace", self.target(), "--apply")
        self.assertRc(res, 0)
        # the sink holds the key made after the mark: it is kept, only the mark goes
        self.assertEqual(self.writes(), ["UntagUser"])
        self.assertIn("already holds %s" % held, res.out)
        self.assertEqual(self.keys("grace")[held], "Active")
        self.assertIsNone(self.mark("grace"))

    def test_dry_run_plans_the_recovery_and_changes_nothing(self):
        lost = self.crash_after_the_key()
        self.emu.advance_clock(LEASE + 60)
        self.emu.reset_calls()
        res = self.create("grace", self.target())
        self.assertRc(res, 0)
        self.assertEqual(res.out, "create a new key for grace: would delete %s (created by a "
                                  "create that died before delivering it: its secret is "
                                  "lost); secret to %s\n" % (lost, self.target()))
        self.assertEqual(self.writes(), [])
        self.assertIn(lost, self.keys("grace"))

    def test_mark_of_another_target_is_left_alone(self):
        lost = self.crash_after_the_key()
        self.emu.advance_clock(LEASE + 60)
        self.emu.reset_calls()
        other = "file:" + os.path.join(self.tmp, "other.json")
        res = self.create("grace", other, "--apply")
        self.assertRc(res, 3)
        self.assertRegex(res.out, r"^skip creating a key for grace: a create of grace to "
                                  r"another target died on \d{4}-\d\d-\d\d[^:]*: run it again "
                                  r"with that --to to recover")
        self.assertEqual(self.writes(), [])
        self.assertIn(lost, self.keys("grace"))

    def test_a_sink_that_cannot_tell_deletes_nothing(self):
        lost = self.crash_after_the_key(to="-")
        self.emu.advance_clock(LEASE + 60)
        self.emu.reset_calls()
        res = self.create("grace", "-", "--apply")
        self.assertRc(res, 3)
        # with --to -, stdout is the secret's alone: the report is on stderr
        self.assertEqual(res.out, "")
        self.assertEqual(len(res.err.splitlines()), 1, res)
        self.assertIn("key %s was created by a create of grace that died on " % lost, res.err)
        self.assertIn("and - cannot tell whether it holds it: nothing deleted", res.err)
        self.assertEqual(self.writes(), [])
        self.assertIn(lost, self.keys("grace"))

    def test_malformed_mark_blocks_with_one_line(self):
        self.set_mark("grace", "run=zz t=yesterday")
        self.emu.reset_calls()
        res = self.create("grace", self.target(), "--apply")
        self.assertRc(res, 3)
        self.assertEqual(len(res.out.splitlines()), 1, res)
        self.assertIn("tag iamkeys:create='run=zz t=yesterday' does not parse (", res.out)
        self.assertEqual(self.writes(), [])

    def test_fresh_mark_of_a_live_run_blocks(self):
        self.set_mark("grace", "v=1 run=abcdefgh1234 t=%s sink=%s"
                      % (self.aws_now_compact(), sink_hash(self.target())))
        self.emu.reset_calls()
        res = self.create("grace", self.target(), "--apply")
        self.assertRc(res, 3)
        self.assertIn("another run is creating a key for grace since", res.out)
        self.assertEqual(self.writes(), [])
        self.assertEqual(len(self.keys("grace")), 1)

    def test_fresh_mark_in_aws_time_with_the_local_clock_ahead(self):
        # the lease is judged in AWS's time: a local clock 2 h ahead does not make a live
        # run's mark look stale
        self.set_mark("grace", "v=1 run=abcdefgh1234 t=%s sink=%s"
                      % (self.aws_now_compact(), sink_hash(self.target())))
        self.emu.reset_calls()
        res = self.create("grace", self.target(), "--apply",
                          IAMKEYS_TEST_CLOCK_OFFSET=str(2 * 3600))
        self.assertRc(res, 3)
        self.assertIn("another run is creating a key for grace since", res.out)
        self.assertEqual(self.writes(), [])

    def test_read_back_finds_another_runs_mark(self):
        # the mark is read back after TagUser: when another run wrote its own in between,
        # this run creates nothing
        self.emu.fault(action="ListUserTags", kind="slow", nth=2, delay_ms=2500)
        env = self.emu.env()
        p = subprocess.Popen([BINARY, "create", "--user", "grace", "--to", self.target(),
                              "--apply"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 10
            while time.time() < deadline and "TagUser" not in self.writes():
                time.sleep(0.05)
            other = "v=1 run=otherrun0000 t=%s sink=%s" % (self.aws_now_compact(),
                                                           sink_hash(self.target()))
            self.set_mark("grace", other)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertEqual(p.returncode, 3, out + err)
        self.assertEqual(out, "skip creating a key for grace: another run is creating a key "
                              "for grace (its create mark '%s' replaced this run's): no key "
                              "created\n" % other)
        self.assertEqual(self.writes(), ["TagUser", "TagUser"])
        self.assertEqual(self.mark("grace"), other)  # the other run's: left alone
        self.assertEqual(len(self.keys("grace")), 1)

    def test_rotate_leaves_a_user_with_a_create_mark_alone(self):
        # erin's key is 95 days old: due; a create of erin is under way
        value = "v=1 run=abcdefgh1234 t=%s sink=%s" % (self.aws_now_compact(), "0" * 16)
        self.set_mark("erin", value)
        self.emu.reset_calls()
        res = self.iamkeys("rotate", "--user", "erin", "--to",
                           "file:" + os.path.join(self.tmp, "{user}.json"), "--apply")
        self.assertRc(res, 3)
        self.assertIn("a create of a key for erin is under way or died (tag iamkeys:create="
                      "'%s'): run that create again to finish it, then rotate" % value,
                      res.out)
        self.assertEqual(self.writes(), [])
