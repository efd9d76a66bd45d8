"""Decisions in AWS's time. With the local clock 1 hour or 8 days ahead of or behind the
emulator's, rotate (every stage, the clean-up after a crash and after a failed verify),
deactivate / delete (the in-use window, --older-than, --unused) and audit (ages and
findings) decide exactly as with a right clock, and say once that the clocks differ."""
import datetime
import json
import os
import signal
import tempfile

from tests.cli.common import CliTestCase, rotation_tag, run
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import Emulator, EmulatorTestCase

HOUR = 3600
DAY = 86400
KID = fixtures.key_id
# the local clock minus AWS's
SKEWS = (HOUR, -HOUR, 8 * DAY, -8 * DAY)
MUTATING = {"TagUser", "UntagUser", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"}


def user(name, keys, **kw):
    u = {"name": name, "path": "/", "create_date": "-900d", "keys": keys}
    u.update(kw)
    return u


def warning(skew):
    a = abs(skew)
    d = "%dd 0h" % (a // DAY) if a >= DAY else "%dh 0m" % (a // HOUR)
    return ("iamkeys: warning: local clock is %s %s AWS; decisions use AWS time"
            % (d, "ahead of" if skew > 0 else "behind"))


def tag_of(u):
    """The logical rotation value (iamkeys:rotation with iamkeys:rotation-new put back)."""
    return rotation_tag(u)


def tag_time(tag):
    t = [f for f in tag.split() if f.startswith("t=")][0][2:]
    return datetime.datetime.strptime(t, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class ClockBase(CliTestCase, EmulatorTestCase):
    def reset(self, extra_users):
        self.emu.clear_faults()
        self.emu.config(propagation_delay=0)
        self.emu.set_clock(offset_seconds=0)
        self.emu.load(fixtures.admin_fixture(extra_users=extra_users))
        self.emu.reset_calls()
        self.dir = tempfile.mkdtemp()

    def iamkeys(self, skew, *args, **env):
        """iamkeys with the local clock skew seconds off the emulator's."""
        env["IAMKEYS_TEST_CLOCK_OFFSET"] = str(self.emu.clock_offset() + skew)
        return run(list(args), self.emu.env(**env))

    def rotate(self, skew, *args, **env):
        return self.iamkeys(skew, "rotate", "--to", "file:%s/{user}.json" % self.dir,
                            *args, **env)

    def aws_now(self):
        return datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ") \
            .replace(tzinfo=datetime.timezone.utc)

    def users(self):
        return {u["name"]: u for u in self.emu.state()["accounts"][0]["users"]}

    def status(self, name):
        return {k["id"]: k["status"] for k in self.users()[name]["keys"]}

    def mutating(self, users=None):
        return [(c["action"], c["params"].get("UserName"), c["params"].get("AccessKeyId"))
                for c in self.emu.calls() if c["action"] in MUTATING
                and (users is None or c["params"].get("UserName") in users)]

    def use_key(self, key_id, secret):
        """An application signs a request with the key at the emulator's time."""
        r = self.emu.request("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                             access_key_id=key_id, secret=secret, when=self.aws_now())
        self.assertEqual(r.status, 200, r)

    def assertWarnedOnce(self, res, skew):
        self.assertEqual([l for l in res.err.splitlines() if "clock" in l], [warning(skew)],
                         repr(res))

    def each_skew(self, fn):
        for skew in SKEWS:
            with self.subTest(skew=skew):
                fn(skew)


class RotateClockTest(ClockBase):
    def test_every_stage_in_aws_time(self):
        self.each_skew(self.stages)

    def stages(self, skew):
        self.reset([
            # due in AWS time (87 days old to a clock 8 days behind)
            user("due", [key("due", 95, last_used_days=1)]),
            # not due (93 days old to a clock 8 days ahead)
            user("young", [key("young", 85, last_used_days=1)]),
            # due; its application keeps using the old key after delivery
            user("busy", [key("busy", 120, last_used_days=1)])])
        res = self.rotate(skew, "--apply")
        self.assertRc(res, 0)
        self.assertWarnedOnce(res, skew)
        got = self.mutating()
        self.assertEqual([(a, u) for a, u, _ in got],
                         [("TagUser", "busy"), ("CreateAccessKey", "busy"), ("TagUser", "busy"),
                          ("TagUser", "due"), ("CreateAccessKey", "due"), ("TagUser", "due")])
        users = self.users()
        self.assertIsNone(tag_of(users["young"]))
        self.assertEqual(self.status("young"), {KID("young"): "Active"})
        now = self.aws_now().timestamp()
        new = {}
        for name in ("due", "busy"):
            tag = tag_of(users[name])
            self.assertIn("stage=delivered", tag)
            self.assertLess(abs(tag_time(tag) - now), 120, tag)  # AWS's time, not ours
            new[name] = [k["id"] for k in users[name]["keys"] if k["id"] != KID(name)][0]
            with open(os.path.join(self.dir, name + ".json")) as f:
                self.assertEqual(json.load(f)["AccessKeyId"], new[name])

        # at once again: nothing (to a clock 8 days ahead the new key looks 8 days old)
        self.emu.reset_calls()
        res = self.rotate(skew, "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), [])

        # busy's application uses the old key 30 minutes after delivery (AWS time)
        self.emu.advance_clock(30 * 60)
        self.use_key(KID("busy"), fixtures.secret_for("busy"))
        self.emu.advance_clock(8 * DAY)
        self.emu.reset_calls()
        res = self.rotate(skew, "--apply")
        self.assertRc(res, 3)
        self.assertIn("busy [delivered] blocked: old key %s is still in use since delivery"
                      % KID("busy"), res.out)
        self.assertEqual(self.mutating(("due", "busy")),
                         [("UpdateAccessKey", "due", KID("due")), ("TagUser", "due", None)])
        self.assertEqual(self.status("busy"), {KID("busy"): "Active", new["busy"]: "Active"})
        self.assertEqual(self.status("due"), {KID("due"): "Inactive", new["due"]: "Active"})
        tag = tag_of(self.users()["due"])
        self.assertIn("stage=deactivated", tag)
        self.assertLess(abs(tag_time(tag) - self.aws_now().timestamp()), 120, tag)

        # not yet past --delete-after (7 days) in AWS time: nothing
        self.emu.advance_clock(6 * DAY)
        self.emu.reset_calls()
        self.assertRc(self.rotate(skew, "--apply"), 3)
        self.assertEqual(self.mutating(("due", "busy")), [])
        # past it: the old key is deleted and the rotation ends
        self.emu.advance_clock(2 * DAY)
        self.emu.reset_calls()
        res = self.rotate(skew, "--apply")
        self.assertRc(res, 3)  # busy is still blocked
        self.assertEqual(self.mutating(("due", "busy")),
                         [("DeleteAccessKey", "due", KID("due")), ("UntagUser", "due", None)])
        self.assertEqual(self.status("due"), {new["due"]: "Active"})
        self.assertIsNone(tag_of(self.users()["due"]))

    def test_rollback_in_aws_time(self):
        self.each_skew(self.rollback)

    def rollback(self, skew):
        self.reset([user("due", [key("due", 95, last_used_days=1)])])
        self.assertRc(self.rotate(skew, "--apply"), 0)
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate(skew, "--apply"), 0)
        self.assertIn("stage=deactivated", tag_of(self.users()["due"]))
        res = self.iamkeys(skew, "rollback", "--user", "due", "--apply", "--output", "json")
        self.assertRc(res, 0)
        self.assertWarnedOnce(res, skew)
        doc = json.loads(res.out)
        gen = datetime.datetime.strptime(doc["GeneratedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        self.assertLess(abs((gen - self.aws_now()).total_seconds()), 120, doc["GeneratedAt"])
        self.assertEqual(set(self.status("due").values()), {"Active"})
        tag = tag_of(self.users()["due"])
        self.assertIn("stage=rolled-back", tag)  # paused until --resume or --abort
        self.assertLess(abs(tag_time(tag) - self.aws_now().timestamp()), 120, tag)

    def test_crash_after_create_recovers(self):
        self.each_skew(self.crash_after_create)

    def crash_after_create(self, skew):
        self.reset([user("due", [key("due", 95, last_used_days=1)])])
        # TagUser (intent), CreateAccessKey, then SIGKILL: the new key's secret is lost
        res = self.rotate(skew, "--apply", IAMKEYS_TEST_CRASH_AFTER="2")
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        u = self.users()["due"]
        self.assertIn("stage=intent", tag_of(u))
        orphan = [k["id"] for k in u["keys"] if k["id"] != KID("due")][0]
        # within the mark's lease (900 s + 300 s of allowed skew, in AWS's time) the run
        # may still be alive: the user is left alone; after it, recovery
        self.emu.reset_calls()
        self.assertRc(self.rotate(skew, "--apply"), 3)
        self.assertEqual(self.mutating(), [])
        self.emu.advance_clock(1201)
        self.emu.reset_calls()
        res = self.rotate(skew, "--apply")
        self.assertRc(res, 0)
        self.assertNotIn("created before the rotation started", res.out)
        got = self.mutating()
        self.assertEqual([(a, k) for a, _, k in got],
                         [("DeleteAccessKey", orphan), ("TagUser", None),
                          ("CreateAccessKey", None), ("TagUser", None)])
        u = self.users()["due"]
        fresh = [k for k in u["keys"] if k["id"] != KID("due")]
        self.assertEqual(len(fresh), 1)
        self.assertNotEqual(fresh[0]["id"], orphan)
        self.assertRegex(tag_of(u), r"stage=delivered run=[a-z0-9]{12} old=%s new=%s "
                         % (KID("due"), fresh[0]["id"]))
        with open(os.path.join(self.dir, "due.json")) as f:
            doc = json.load(f)
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"]),
                         (fresh[0]["id"], fresh[0]["secret"]))

    def test_failed_verify_deletes_the_new_key(self):
        self.each_skew(self.failed_verify)

    def failed_verify(self, skew):
        self.reset([user("due", [key("due", 95, last_used_days=1)])])
        self.emu.config(propagation_delay=30)  # the new key never works within --verify-timeout
        try:
            res = self.rotate(skew, "--apply", "--verify-timeout", "1s")
        finally:
            self.emu.config(propagation_delay=0)
        self.assertRc(res, 3)
        self.assertIn("did not work", res.out)
        got = self.mutating()
        self.assertEqual([a for a, _, _ in got],
                         ["TagUser", "CreateAccessKey", "DeleteAccessKey", "UntagUser"])
        self.assertIn("deleted the new key %s" % got[2][2], res.out)
        self.assertEqual(self.status("due"), {KID("due"): "Active"})  # no orphan
        self.assertIsNone(tag_of(self.users()["due"]))
        self.assertEqual(os.listdir(self.dir), [])


def actions_users():
    return [
        # used 2 hours ago: in use (24h window); to a clock 8 days ahead, 8 days ago
        user("busy", [key("busy/old", 100, last_used_days="-2h"),
                      key("busy/new", 5, last_used_days=1)]),
        # used 3 days ago: not in use; to a clock 8 days behind, in the future
        user("idle", [key("idle/old", 100, last_used_days=3),
                      key("idle/new", 5, last_used_days=1)]),
        # 85 days old, used 25 days ago: neither --older-than 90d nor --unused 30d
        user("aging", [key("aging/old", 85, last_used_days=25),
                       key("aging/new", 5, last_used_days=1)]),
        # 95 days old, used 35 days ago: both
        user("ancient", [key("ancient/old", 95, last_used_days=35),
                         key("ancient/new", 5, last_used_days=1)]),
        # Inactive keys 35 and 25 days old: delete's selector (30d) takes the first only
        user("retired", [key("retired/a", 35, status="Inactive", last_used_days=34),
                         key("retired/b", 25, status="Inactive", last_used_days=24)]),
    ]


class ActionsClockTest(ClockBase):
    def test_in_use_window_in_aws_time(self):
        self.each_skew(self.in_use_window)

    def in_use_window(self, skew):
        self.reset(actions_users())
        res = self.iamkeys(skew, "deactivate", "--user", "busy", "--key", KID("busy/old"),
                           "--apply")
        self.assertRc(res, 3)
        self.assertIn("skip %s of busy: used 2 hours ago, within --in-use-window 24h"
                      % KID("busy/old"), res.out)
        self.assertWarnedOnce(res, skew)
        res = self.iamkeys(skew, "delete", "--user", "busy", "--key", KID("busy/old"),
                           "--force", "--in-use-window", "1d")
        self.assertIn("--force: it is Active; used 2 hours ago, within --in-use-window 24h",
                      res.out)
        res = self.iamkeys(skew, "deactivate", "--user", "idle", "--key", KID("idle/old"),
                           "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), [("UpdateAccessKey", "idle", KID("idle/old"))])
        self.assertEqual(self.status("busy")[KID("busy/old")], "Active")
        self.assertEqual(self.status("idle")[KID("idle/old")], "Inactive")

    def test_selectors_in_aws_time(self):
        self.each_skew(self.selectors)

    def selectors(self, skew):
        self.reset(actions_users())
        res = self.iamkeys(skew, "deactivate", "--older-than", "90d", "--output", "json")
        got = {(r["AccessKeyId"], r["Result"]) for r in json.loads(res.out)}
        self.assertEqual(got, {(KID("busy/old"), "skipped"), (KID("idle/old"), "planned"),
                               (KID("ancient/old"), "planned")}, repr(res))
        reasons = {r["AccessKeyId"]: r["Reason"] for r in json.loads(res.out)}
        self.assertTrue(reasons[KID("ancient/old")].startswith("old (95 days)"), reasons)
        self.assertWarnedOnce(res, skew)
        res = self.iamkeys(skew, "deactivate", "--unused", "30d", "--output", "json")
        got = {(r["AccessKeyId"], r["Result"]) for r in json.loads(res.out)}
        self.assertEqual(got, {(KID("ancient/old"), "planned")}, repr(res))
        res = self.iamkeys(skew, "delete", "--older-than", "30d", "--output", "json")
        got = {(r["AccessKeyId"], r["Result"]) for r in json.loads(res.out)}
        self.assertEqual(got, {(KID("retired/a"), "planned")}, repr(res))
        self.assertEqual(self.mutating(), [])


class AuditClockTest(ClockBase):
    def test_ages_and_findings_in_aws_time(self):
        self.each_skew(self.audit)

    def audit(self, skew):
        self.reset(actions_users())
        for source in ("api", "report"):
            res = self.iamkeys(skew, "audit", "--all", "--source", source, "--output", "json")
            self.assertIn(res.rc, (0, 3), repr(res))
            self.assertWarnedOnce(res, skew)
            keys = {k["AccessKeyId"]: k for k in json.loads(res.out)["Keys"]
                    if k["AccessKeyId"]}
            ages = {k: v["AgeDays"] for k, v in keys.items()}
            self.assertEqual(ages, {
                fixtures.ADMIN_KEY_ID: 30,
                KID("busy/old"): 100, KID("busy/new"): 5,
                KID("idle/old"): 100, KID("idle/new"): 5,
                KID("aging/old"): 85, KID("aging/new"): 5,
                KID("ancient/old"): 95, KID("ancient/new"): 5,
                KID("retired/a"): 35, KID("retired/b"): 25}, source)
            self.assertEqual(keys[KID("aging/old")]["Findings"], ["two-active", "expiring"],
                             source)
            self.assertEqual(keys[KID("ancient/old")]["Findings"], ["old", "two-active"],
                             source)
            self.assertEqual(keys[KID("retired/a")]["Findings"], ["inactive-stale"], source)
            self.assertEqual(keys[KID("retired/b")]["Findings"], [], source)


class ClockWarningTest(ClockBase):
    def test_small_skew_no_warning(self):
        self.reset([])
        res = self.iamkeys(30, "audit", "--source", "api")
        self.assertRc(res, 0)
        self.assertNotIn("clock", res.err)
        res = self.iamkeys(-3 * HOUR - 20, "audit", "--source", "api")
        self.assertWarnedOnce(res, -3 * HOUR)
        self.assertIn("local clock is 3h 0m behind AWS", res.err)

    def test_debug_says_the_offset(self):
        self.reset([])
        res = self.iamkeys(HOUR, "users", "--debug")
        self.assertRc(res, 0)
        self.assertRegex(res.err, r"iamkeys: debug: AWS's clock is -(3599|3600|3601)s from "
                                  r"ours \(Date: \w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT\)\n")
        self.assertEqual([l for l in res.err.splitlines() if "warning" in l], [warning(HOUR)])


class OrgClockTest(CliTestCase):
    """--org: every account's client learns AWS's time; role sessions are not re-assumed
    at each call because the local clock thinks they expired."""

    def test_org_audit_in_aws_time(self):
        with Emulator(fixture=fixtures.organization(3, 4)) as emu:
            state = emu.state()
            for skew in SKEWS:
                with self.subTest(skew=skew):
                    emu.reset_calls()
                    res = run(["audit", "--org", "--all", "--output", "json"],
                              emu.env(IAMKEYS_TEST_CLOCK_OFFSET=str(skew)))
                    self.assertIn(res.rc, (0, 3), repr(res))
                    self.assertEqual([l for l in res.err.splitlines() if "clock" in l],
                                     [warning(skew)])
                    now = datetime.datetime.strptime(emu.clock()["now"],
                                                     "%Y-%m-%dT%H:%M:%SZ").replace(
                        tzinfo=datetime.timezone.utc).timestamp()
                    want = {}
                    for acc in state["accounts"]:
                        for u in acc["users"]:
                            for k in u["keys"]:
                                created = datetime.datetime.fromisoformat(
                                    k["create_date"].replace("Z", "+00:00")).timestamp()
                                want[(acc["id"], k["id"])] = int((now - created) // DAY)
                    got = {(k["AccountId"], k["AccessKeyId"]): k["AgeDays"]
                           for k in json.loads(res.out)["Keys"] if k["AccessKeyId"]}
                    self.assertEqual(got, want)
                    ok = [c for c in emu.calls()
                          if c["action"] == "AssumeRole" and c["http_status"] == 200]
                    self.assertEqual(len(ok), 2)  # one session per member account


class TraceClockTest(ClockBase):
    """trace: the LookupEvents window ends at AWS's now, learnt with GetCallerIdentity
    before the first lookup when no other reply has told the clock."""

    def test_window_in_aws_time(self):
        self.each_skew(self.window)

    def window(self, skew):
        import time
        time.sleep(0.6)  # CloudTrail's 2 per second per region
        self.reset([])
        leaked = "AKIALEAKED0000000001"
        self.emu.cloudtrail_events([
            {"access_key_id": leaked, "region": "us-east-1", "source_ip": "10.0.3.7",
             "time": t} for t in ("-1h", "-3h")])
        self.emu.reset_calls()
        res = self.iamkeys(skew, "trace", "--key", leaked, "--since", "2h",
                           "--regions", "us-east-1", "--output", "json")
        self.assertRc(res, 0)
        self.assertWarnedOnce(res, skew)
        self.assertEqual(json.loads(res.out)["Summary"]["Events"], 1)
        calls = [c for c in self.emu.calls() if c["http_status"] == 200]
        self.assertEqual([c["action"] for c in calls], ["GetCallerIdentity", "LookupEvents"],
                         [(c["action"], c["http_status"]) for c in self.emu.calls()])
        p = calls[1]["params"]
        self.assertLessEqual(abs(p["EndTime"] - self.aws_now().timestamp()), 5)
        self.assertEqual(p["EndTime"] - p["StartTime"], 2 * HOUR)
