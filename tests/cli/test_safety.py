"""Rotation safety under every fault we can cause: the crash matrix over every sink kind,
command and clock skew, and --verify-timeout's bound. Each case ends with the one shared
invariant (tests/cli/safety.py): every user has exactly one working key, the one its sink
holds; no orphan key; no lost secret.

The default run (make check) takes a slice: every sink kind, right clock, the first and
last crash point, the crash between delivery and the delivered tag. IAMKEYS_TEST_SAFETY=1
(make check-safety) runs the whole matrix: every crash point, every lost reply, clock
skews of +-1 h and +-8 days."""
import datetime
import json
import os
import signal
import tempfile
import unittest

from tests.cli import safety
from tests.cli.common import class_variants, CliTestCase, credentials_text, run, tag_of
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

DAY = 86400
HOUR = 3600
KID = fixtures.key_id
FULL = os.environ.get("IAMKEYS_TEST_SAFETY") == "1"
SKEWS = (0, HOUR, -HOUR, 8 * DAY, -8 * DAY) if FULL else (0,)
MUTATING = ("iam:TagUser", "iam:UntagUser", "iam:CreateAccessKey", "iam:UpdateAccessKey",
            "iam:DeleteAccessKey", "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue", "ssm:PutParameter")
NAMES = ["s0", "s1", "s2"]


def user(name, keys):
    return {"name": name, "path": "/", "create_date": "-900d", "keys": keys}


def fixture():
    """Two users due with one key; s2 due with an old Inactive second key (make room)."""
    return fixtures.admin_fixture(extra_users=[
        user("s0", [key("s0", 100, last_used_days=1)]),
        user("s1", [key("s1", 120, last_used_days=1)]),
        user("s2", [key("s2", 100, last_used_days=1),
                    key("s2-old", 300, status="Inactive", last_used_days=100)])])


class SafetyBase(CliTestCase, EmulatorTestCase):
    # not a test of CloudTrail's rate: LookupEvents paced at 1,000 a second (emulator and binary)
    emulator_options = {"cloudtrail_tps": 1000}

    def setUp(self):
        self.emu.clear_faults()
        self.emu.set_clock(offset_seconds=0)
        self.dirs = {}

    def sink(self, kind):
        if kind not in self.dirs:
            self.dirs[kind] = safety.Sink(kind, tempfile.mkdtemp())
        return self.dirs[kind]

    def iamkeys(self, skew, *args, **env):
        env["IAMKEYS_TEST_CLOCK_OFFSET"] = str(self.emu.clock_offset() + skew)
        return run(list(args), self.emu.env(**env))

    def mutating(self):
        return [c for c in self.emu.calls()
                if "%s:%s" % (c["service"], c["action"]) in MUTATING
                and c.get("http_status") == 200]

    def fresh(self, sink, fx):
        self.emu.clear_faults()
        self.emu.set_clock(offset_seconds=0)
        self.emu.load(fx)
        self.emu.reset_calls()
        sink.reset()

    def authenticate(self, key_id, secret):
        now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")
        r = self.emu.request("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                             access_key_id=key_id, secret=secret, when=now)
        self.assertEqual(r.status, 200, r)

    def rotate(self, sink, skew, *args, **env):
        return self.iamkeys(skew, "rotate", "--to", sink.to(), *args, **env)

    def complete_rotation(self, sink, skew, msg, strict=True):
        """Run every stage to the end (past any dead run's lease). Returns the users left
        blocked because an exec: sink cannot say which key it holds (nothing deleted);
        any other block or failure fails the test."""
        cannot_tell = set()
        for step in (30 * 60, 0, 8 * DAY, 8 * DAY):
            self.emu.advance_clock(step)
            res = self.rotate(sink, skew, "--apply")
            blocked = {line.split()[0] for line in res.out.splitlines()
                       if "blocked: key" in line and "the sink cannot tell" in line
                       and "nothing deleted" in line}
            if strict and sink.kind == safety.EXEC and blocked and res.rc == 3:
                cannot_tell |= blocked
                continue
            if strict:
                self.assertEqual(res.rc, 0, "%s: %r" % (msg, res))
        return cannot_tell

    def check_invariant(self, sink, names, msg, cannot_tell=(), **kw):
        """The invariant; for a user an exec: sink left blocked, that nothing is lost."""
        safety.assert_one_working_key_each(self, self.emu, sink,
                                           [n for n in names if n not in cannot_tell], msg,
                                           **kw)
        safety.assert_nothing_lost(self, self.emu, sink, sorted(cannot_tell), msg)


class RotateCrashMatrixTest(SafetyBase):
    """rotate --apply over three due users (one with two keys), for every sink kind and
    clock skew: killed after each mutating call of every stage, killed between delivery
    and the delivered tag, and with each mutating call's reply lost; then runs to
    completion. The invariant holds after each."""
    test_cost = 45  # seconds, roughly: tests/run.py starts the slow classes first
    kinds = (safety.FILE,)  # and one class for each other kind, below

    def stage_passes(self, sink, skew):
        """The mutating calls of each stage of a clean rotation."""
        self.fresh(sink, fixture())
        counts = []
        for step in (0, 8 * DAY, 8 * DAY):
            self.emu.advance_clock(step)
            self.emu.reset_calls()
            self.assertRc(self.rotate(sink, skew, "--apply"), 0)
            counts.append(self.mutating())
        safety.assert_one_working_key_each(self, self.emu, sink, NAMES, "clean run")
        return counts

    def crash_points(self, sink, skew):
        passes = self.stage_passes(sink, skew)
        points = []
        for stage, calls in enumerate(passes):
            ks = range(1, len(calls) + 1)
            if not FULL:
                ks = sorted({1, len(calls)}) if stage == 0 else []
            points += [(stage, k) for k in ks]
        return passes, points

    def each(self, fn):
        for kind in self.kinds:
            for skew in SKEWS:
                with self.subTest(sink=kind, skew=skew):
                    fn(self.sink(kind), skew)

    def test_killed_after_every_mutating_call(self):
        def case(sink, skew):
            _, points = self.crash_points(sink, skew)
            for stage, k in points:
                msg = "%s skew %d: stage %d killed after call %d" % (sink.kind, skew, stage, k)
                self.fresh(sink, fixture())
                for _ in range(stage):  # earlier stages complete
                    self.assertRc(self.rotate(sink, skew, "--apply"), 0)
                    self.emu.advance_clock(8 * DAY)
                res = self.rotate(sink, skew, "--apply", IAMKEYS_TEST_CRASH_AFTER=str(k))
                self.assertEqual(res.rc, -signal.SIGKILL, "%s: %r" % (msg, res))
                self.check_invariant(sink, NAMES, msg, self.complete_rotation(sink, skew, msg))
        self.each(case)

    def test_killed_between_delivery_and_the_delivered_tag(self):
        def case(sink, skew):
            msg = "%s skew %d: killed after delivery" % (sink.kind, skew)
            self.fresh(sink, fixture())
            res = self.rotate(sink, skew, "--apply", IAMKEYS_TEST_CRASH_AT="after-deliver")
            self.assertEqual(res.rc, -signal.SIGKILL, "%s: %r" % (msg, res))
            blocked = self.complete_rotation(sink, skew, msg)
            # only an exec: sink cannot say it holds the delivered key
            self.assertEqual(sorted(blocked), ["s0"] if sink.kind == safety.EXEC else [], msg)
            self.check_invariant(sink, NAMES, msg, blocked, authenticate=self.authenticate)
        self.each(case)

    def test_reply_of_each_mutating_call_lost(self):
        def case(sink, skew):
            passes = self.stage_passes(sink, skew)
            actions = sorted({"%s:%s" % (c["service"], c["action"])
                              for calls in passes for c in calls})
            if not FULL:
                actions = [a for a in actions if a in ("iam:CreateAccessKey",
                                                       "iam:TagUser")]
            for action in actions:
                msg = "%s skew %d: %s reply lost" % (sink.kind, skew, action)
                self.fresh(sink, fixture())
                self.emu.fault(action, kind="reset", nth=1)
                self.complete_rotation(sink, skew, msg, strict=False)
                self.emu.clear_faults()
                self.check_invariant(sink, NAMES, msg, self.complete_rotation(sink, skew, msg))
        self.each(case)


def per_sink_kind(cls, kinds):
    """A subclass of cls for each of kinds (RotateCrashMatrixProfileTest, ...): one class
    per sink kind, which tests/run.py runs in parallel."""
    class_variants(cls, [(cls.__name__.replace("Test", "%sTest" % kind.capitalize()),
                          {"kinds": (kind,), "__doc__": "%s, sink kind %s." % (cls.__name__,
                                                                              kind)})
                         for kind in kinds], globals())


per_sink_kind(RotateCrashMatrixTest, safety.SINK_KINDS[1:])


class VerifyTimeoutTest(SafetyBase):
    """A new key is verified and delivered within 600 s of its intent mark or deleted, so a
    wait for it longer than 540 s (a minute left for the delivery) is refused before any
    call."""

    def test_above_540_seconds_is_a_usage_error(self):
        self.emu.load(fixture())
        sink = self.sink(safety.FILE)
        for value in ("541s", "10m", "1h"):
            self.emu.reset_calls()
            res = self.iamkeys(0, "rotate", "--to", sink.to(), "--verify-timeout", value,
                               "--apply")
            self.assertRc(res, 2)
            self.assertOneLineError(res, "--verify-timeout must be between 1s and 540s: a new "
                                    "key is verified and delivered within 600s of the intent "
                                    "mark, or deleted")
            self.assertEqual(self.emu.calls(), [])
        for extra in (["--self"], ["--plan-out", os.path.join(sink.d, "p.json")]):
            res = self.iamkeys(0, "rotate", "--verify-timeout", "541s", *extra)
            self.assertRc(res, 2)
        self.assertEqual(self.emu.calls(), [])
        # 540 s itself is accepted
        res = self.iamkeys(0, "rotate", "--to", sink.to(), "--verify-timeout", "540s",
                           "--apply")
        self.assertRc(res, 0)
        users = {u["name"]: u for u in self.emu.state()["accounts"][0]["users"]}
        for name in NAMES:
            held = sink.held(self.emu, name)
            self.assertIn(held[0], [k["id"] for k in users[name]["keys"]], name)


class CommandsCrashTest(SafetyBase):
    """The other commands that change keys, killed after each of their mutating calls or
    with each call's reply lost, then run again: create, deactivate / delete, rollback,
    rotate --abort and a saved plan applied (--plan-out, then --apply --plan)."""
    test_cost = 60  # seconds, roughly: tests/run.py starts the slow classes first
    kinds = (safety.FILE,)  # and one class for each other kind, below

    def each(self, fn):
        for kind in self.kinds:
            for skew in SKEWS:
                with self.subTest(sink=kind, skew=skew):
                    fn(self.sink(kind), skew)

    def faults(self, calls):
        """(label, env, fault) for every crash point and every lost reply of calls."""
        out = [("killed after call %d" % k, {"IAMKEYS_TEST_CRASH_AFTER": str(k)}, None)
               for k in range(1, len(calls) + 1)]
        out += [("%s reply lost" % a, {}, a)
                for a in sorted({"%s:%s" % (c["service"], c["action"]) for c in calls})]
        return out

    def faulted(self, skew, args, env, fault):
        if fault:
            self.emu.fault(fault, kind="reset", nth=1)
        res = self.iamkeys(skew, *args, **env)
        self.emu.clear_faults()
        if env:
            self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        return res

    def rotation(self, sink, skew, *args, **env):
        return self.iamkeys(skew, "rotate", "--to", sink.to(), *args, **env)

    def complete(self, sink, skew, msg):
        for step in (30 * 60, 8 * DAY, 8 * DAY):
            self.emu.advance_clock(step)
            res = self.rotation(sink, skew, "--apply")
            self.assertEqual(res.rc, 0, "%s: %r" % (msg, res))

    def test_create(self):
        names = ["n0"]
        fx = fixtures.admin_fixture(extra_users=[user("n0", [])])

        def case(sink, skew):
            args = ["create", "--user", "n0", "--to", sink.to(), "--apply"]
            self.fresh(sink, fx)
            self.assertRc(self.iamkeys(skew, *args), 0)
            calls = self.mutating()
            self.assertEqual(calls[0]["action"], "TagUser")  # the create mark, first
            for label, env, fault in self.faults(calls):
                msg = "%s skew %d: create %s" % (sink.kind, skew, label)
                self.fresh(sink, fx)
                res = self.faulted(skew, args, env, fault)
                if sink.kind == safety.EXEC and (
                        res.rc == 0 or env.get("IAMKEYS_TEST_CRASH_AFTER") == str(len(calls))):
                    # the create finished; a hook cannot say it holds the key, so a second
                    # create would make a second key, as asked
                    safety.assert_one_working_key_each(self, self.emu, sink, names, msg)
                    continue
                self.emu.advance_clock(30 * 60)
                res = self.iamkeys(skew, *args)
                if sink.kind == safety.EXEC and env.get("IAMKEYS_TEST_CRASH_AFTER") == "2":
                    # killed after CreateAccessKey: an exec: hook cannot say whether it got
                    # the key, so nothing is deleted and the user stays blocked by the mark
                    self.assertEqual(res.rc, 3, "%s: %r" % (msg, res))
                    self.assertIn("cannot tell whether it holds it: nothing deleted", res.out)
                    u = [x for x in self.emu.state()["accounts"][0]["users"]
                         if x["name"] == "n0"][0]
                    self.assertEqual([k["status"] for k in u["keys"]], ["Active"], msg)
                    self.assertIsNotNone(tag_of(u, "iamkeys:create"), msg)
                    continue
                self.assertIn(res.rc, (0,), "%s: %r" % (msg, res))
                safety.assert_one_working_key_each(self, self.emu, sink, names, msg)
        self.each(case)


    def test_create_killed_after_the_key(self):
        # killed after CreateAccessKey, before delivery: the create mark stays, and the next
        # create (after the lease) deletes the key whose secret is lost, then makes one
        fx = fixtures.admin_fixture(extra_users=[user("n0", [])])
        sink = self.sink(safety.FILE)
        args = ["create", "--user", "n0", "--to", sink.to(), "--apply"]
        self.fresh(sink, fx)
        res = self.iamkeys(0, *args, IAMKEYS_TEST_CRASH_AFTER="2")
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        self.emu.advance_clock(30 * 60)
        self.assertRc(self.iamkeys(0, *args), 0)
        safety.assert_one_working_key_each(self, self.emu, sink, ["n0"], "create k=2")

    def test_deactivate_and_delete(self):
        def case(sink, skew):
            for verb in ("deactivate", "delete"):
                self.fresh(sink, fixture())
                self.assertRc(self.rotation(sink, skew, "--apply"), 0)
                self.emu.advance_clock(8 * DAY)
                args = [verb, "--user", "s0", "--key", KID("s0"), "--apply"]
                if verb == "delete":
                    args.append("--force")
                self.emu.reset_calls()
                self.assertRc(self.iamkeys(skew, *args), 0)
                calls = self.mutating()
                self.assertEqual(len(calls), 1, calls)
                for label, env, fault in self.faults(calls):
                    msg = "%s skew %d: %s %s" % (sink.kind, skew, verb, label)
                    self.fresh(sink, fixture())
                    self.assertRc(self.rotation(sink, skew, "--apply"), 0)
                    self.emu.advance_clock(8 * DAY)
                    self.faulted(skew, args, env, fault)
                    res = self.iamkeys(skew, *args)
                    self.assertIn(res.rc, (0,), "%s: %r" % (msg, res))
                    self.complete(sink, skew, msg)
                    safety.assert_one_working_key_each(self, self.emu, sink, NAMES, msg)
        self.each(case)

    def rolled_back(self, sink, skew):
        """Every user rotated, its old key deactivated; then s0 rolled back."""
        self.fresh(sink, fixture())
        self.assertRc(self.rotation(sink, skew, "--apply"), 0)
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotation(sink, skew, "--apply"), 0)

    def test_rollback_then_resume(self):
        def case(sink, skew):
            args = ["rollback", "--user", "s0", "--apply"]
            self.rolled_back(sink, skew)
            self.emu.reset_calls()
            self.assertRc(self.iamkeys(skew, *args), 0)
            for label, env, fault in self.faults(self.mutating()):
                msg = "%s skew %d: rollback %s" % (sink.kind, skew, label)
                self.rolled_back(sink, skew)
                self.faulted(skew, args, env, fault)
                res = self.iamkeys(skew, *args)
                self.assertEqual(res.rc, 0, "%s: %r" % (msg, res))
                res = self.rotation(sink, skew, "--resume", "--user", "s0", "--apply")
                self.assertEqual(res.rc, 0, "%s: %r" % (msg, res))
                self.complete(sink, skew, msg)
                safety.assert_one_working_key_each(self, self.emu, sink, NAMES, msg)
        self.each(case)

    def test_abort_of_a_stuck_intent(self):
        def stuck(sink, skew):
            # a run killed right after CreateAccessKey (before delivery): s0's intent mark
            # and a key whose secret is lost; past the lease
            self.fresh(sink, fixtures.admin_fixture(extra_users=[
                user("s0", [key("s0", 100, last_used_days=1)])]))
            res = self.rotation(sink, skew, "--apply", IAMKEYS_TEST_CRASH_AFTER="2")
            self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
            self.emu.advance_clock(30 * 60)

        def case(sink, skew):
            if sink.kind == safety.EXEC:
                return  # an exec: sink cannot say it does not hold the key: abort refuses
            args = ["rotate", "--to", sink.to(), "--user", "s0", "--abort", "--apply"]
            stuck(sink, skew)
            self.emu.reset_calls()
            self.assertRc(self.iamkeys(skew, *args), 0)
            for label, env, fault in self.faults(self.mutating()):
                msg = "%s skew %d: abort %s" % (sink.kind, skew, label)
                stuck(sink, skew)
                self.faulted(skew, args, env, fault)
                res = self.iamkeys(skew, *args)
                self.assertEqual(res.rc, 0, "%s: %r" % (msg, res))
                # the old key alone, Active, no mark; the sink never got a key
                u = {u["name"]: u for u in self.emu.state()["accounts"][0]["users"]}["s0"]
                self.assertEqual([(k["id"], k["status"]) for k in u["keys"]],
                                 [(KID("s0"), "Active")], msg)
                self.assertEqual(u["tags"], [] if isinstance(u["tags"], list) else {}, msg)
                self.assertIsNone(sink.held(self.emu, "s0"), msg)
                # and the next rotation goes through
                self.complete(sink, skew, msg)
                safety.assert_one_working_key_each(self, self.emu, sink, ["s0"], msg)
        self.each(case)

    def test_saved_plan_applied(self):
        def case(sink, skew):
            plan = os.path.join(tempfile.mkdtemp(), "plan.json")

            def planned():
                self.fresh(sink, fixture())
                if os.path.exists(plan):
                    os.unlink(plan)
                self.assertRc(self.rotation(sink, skew, "--plan-out", plan), 0)
                self.emu.reset_calls()
            planned()
            self.assertRc(self.rotation(sink, skew, "--apply", "--plan", plan), 0)
            for label, env, fault in self.faults(self.mutating()):
                msg = "%s skew %d: plan apply %s" % (sink.kind, skew, label)
                planned()
                if fault:
                    self.emu.fault(fault, kind="reset", nth=1)
                res = self.rotation(sink, skew, "--apply", "--plan", plan, **env)
                self.emu.clear_faults()
                if env:
                    self.assertEqual(res.rc, -signal.SIGKILL, "%s: %r" % (msg, res))
                # an exec: hook cannot say which key it got: such a user stays blocked
                self.check_invariant(sink, NAMES, msg, self.complete_rotation(sink, skew, msg))
        self.each(case)


per_sink_kind(CommandsCrashTest, [k for k in safety.SINK_KINDS[1:]
                                  if FULL or k == safety.SECRETSMANAGER])


class SelfCrashTest(SafetyBase):
    """rotate --self --apply (the caller's own key in its credentials profile), killed
    after each mutating call or with each reply lost, then run again: the caller has one
    key, the one in its profile, and it works."""

    def home(self):
        return self.credentials_home(
            credentials_text("default", fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))[0]

    def self_rotate(self, home, skew, **env):
        env["IAMKEYS_TEST_CLOCK_OFFSET"] = str(self.emu.clock_offset() + skew)
        return run(["rotate", "--self", "--apply"],
                   self.emu.env(home=home, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                                **env))

    def check(self, home, msg):
        sink = safety.Sink(safety.PROFILE, os.path.join(home, ".aws"))
        held = sink.held(self.emu, "default")
        u = {u["name"]: u for u in self.emu.state()["accounts"][0]["users"]}[
            fixtures.ADMIN_USER]
        self.assertEqual([(k["id"], k["status"], k["secret"]) for k in u["keys"]],
                         [(held[0], "Active", held[1])], msg)
        self.authenticate(*held)

    def case(self, skew, env, fault, msg):
        self.emu.clear_faults()
        self.emu.load(fixtures.admin_fixture())
        home = self.home()
        if fault:
            self.emu.fault(fault, kind="reset", nth=1)
        res = self.self_rotate(home, skew, **env)
        self.emu.clear_faults()
        if env:
            self.assertEqual(res.rc, -signal.SIGKILL, "%s: %r" % (msg, res))
        self.emu.advance_clock(30 * 60)
        res = self.self_rotate(home, skew)
        self.assertEqual(res.rc, 0, "%s: %r" % (msg, res))
        self.check(home, msg)

    def test_killed_after_the_old_key_is_deleted_and_lost_replies(self):
        for skew in SKEWS:
            self.case(skew, {"IAMKEYS_TEST_CRASH_AFTER": "3"}, None, "killed after call 3")
            for action in ("iam:CreateAccessKey", "iam:DeleteAccessKey"):
                self.case(skew, {}, action, "%s reply lost" % action)


    def test_killed_after_the_key(self):
        # killed after CreateAccessKey (call 2; call 1 is the create mark), before the
        # profile is written: the next run deletes the key whose secret is lost
        self.case(0, {"IAMKEYS_TEST_CRASH_AFTER": "2"}, None, "killed after call 2")

    def test_killed_after_every_mutating_call(self):
        # TagUser (the mark), CreateAccessKey, DeleteAccessKey of the old key, UntagUser;
        # and between the profile's write and the old key's deletion
        for skew in SKEWS:
            for k in range(1, 5):
                self.case(skew, {"IAMKEYS_TEST_CRASH_AFTER": str(k)}, None,
                          "killed after call %d" % k)
            self.case(skew, {"IAMKEYS_TEST_CRASH_AT": "create-after-deliver"}, None,
                      "killed after the profile is written")
