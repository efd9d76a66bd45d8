"""iamkeys rotate / rollback against the emulator: the whole workflow across clock
jumps, the crash matrix, propagation delay, an old key still in use, a failing sink,
users starting with two keys, plan files, config files, self-rotation read by awscli."""
import datetime
import json
import os
import signal
import subprocess
import tempfile

from tests.cli import safety
from tests.cli.common import (BINARY, CliTestCase, credentials_text, due_users, rotation_tag, run,
                              SAFETY, shard_class, Sharded, tag_of, users_of)
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

DAY = 86400
KID = fixtures.key_id
MUTATING = ("iam:TagUser", "iam:UntagUser", "iam:CreateAccessKey", "iam:UpdateAccessKey",
            "iam:DeleteAccessKey", "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue", "ssm:PutParameter")


def user(name, keys, **kw):
    u = {"name": name, "path": kw.pop("path", "/"), "create_date": "-900d", "keys": keys}
    u.update(kw)
    return u


class RotateBase(CliTestCase, EmulatorTestCase):
    fixture = None

    def setUp(self):
        self.emu.clear_faults()
        self.emu.set_clock(offset_seconds=0)
        self.dir = tempfile.mkdtemp()
        self.to = "file:%s/{user}.json" % self.dir

    def rotate(self, *args, **env):
        return run(["rotate", "--to", self.to] + list(args), self.emu.env(**env))

    def load_users(self, **ages):
        """The admin fixture with, for each name=age, a user of that name with one key age
        days old, used yesterday."""
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user(name, [key(name, age, last_used_days=1)]) for name, age in ages.items()]))

    def sink_secret(self, name):
        with open(os.path.join(self.dir, name + ".json")) as f:
            return json.load(f)

    def signed(self, service, **kw):
        """A request signed at the emulator's (possibly advanced) clock."""
        now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")
        kw.setdefault("access_key_id", fixtures.ADMIN_KEY_ID)
        kw.setdefault("secret", fixtures.ADMIN_SECRET)
        return self.emu.request(service, when=now, **kw)

    def assert_authenticates(self, key_id, secret):
        r = self.signed("sts", params={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
                        access_key_id=key_id, secret=secret)
        self.assertEqual(r.status, 200, r)

    def mutating_calls(self):
        return [c for c in self.emu.calls()
                if "%s:%s" % (c["service"], c["action"]) in MUTATING]


class RotateWorkflowTest(RotateBase):
    def test_whole_rotation_across_clock_jumps(self):
        self.load_users(alice=120, bob=20)
        old = KID("alice")
        # dry run: a plan, and no change at all
        self.emu.reset_calls()
        res = self.rotate()
        self.assertRc(res, 0)
        self.assertIn("alice [idle] plan: due: key %s is 120 days old" % old, res.out)
        self.assertIn("create a new key, verify it, deliver to file:%s/alice.json" % self.dir,
                      res.out)
        self.assertIn("dry run", res.out)
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual(os.listdir(self.dir), [])

        # stage 1: create, verify, deliver, record
        self.emu.reset_calls()
        res = self.rotate("--apply")
        self.assertRc(res, 0)
        self.assertEqual([c["action"] for c in self.mutating_calls()],
                         ["TagUser", "CreateAccessKey", "TagUser"])
        a = users_of(self.emu)["alice"]
        self.assertEqual(len(a["keys"]), 2)
        new = [k for k in a["keys"] if k["id"] != old][0]
        self.assertEqual({k["status"] for k in a["keys"]}, {"Active"})
        self.assertRegex(rotation_tag(a), r"^v=1 stage=delivered run=[a-z0-9]{12} old=%s new=%s t=\d{8}T\d{6}Z$"
                         % (old, new["id"]))
        doc = self.sink_secret("alice")
        self.assertEqual(doc["AccessKeyId"], new["id"])
        self.assertEqual(doc["SecretAccessKey"], new["secret"])
        self.assertEqual(doc["UserName"], "alice")
        self.assertEqual(os.stat(os.path.join(self.dir, "alice.json")).st_mode & 0o777, 0o600)
        self.assert_authenticates(doc["AccessKeyId"], doc["SecretAccessKey"])
        self.assertNotIn(new["secret"], res.out + res.err)
        self.assertEqual(rotation_tag(users_of(self.emu)["bob"]), None)

        # idempotent: nothing more to do now
        self.emu.reset_calls()
        self.assertRc(self.rotate("--apply"), 0)
        self.assertEqual(self.mutating_calls(), [])

        # stage 2 after 8 days: the old key is unused since delivery → deactivated
        self.emu.advance_clock(8 * DAY)
        res = self.rotate("--apply")
        self.assertRc(res, 0)
        a = users_of(self.emu)["alice"]
        status = {k["id"]: k["status"] for k in a["keys"]}
        self.assertEqual(status, {old: "Inactive", new["id"]: "Active"})
        self.assertRegex(rotation_tag(a), r"^v=1 stage=deactivated run=[a-z0-9]{12} old=%s new=%s "
                         % (old, new["id"]))

        # stage 3 after 8 more days: deleted, tag removed
        self.emu.advance_clock(8 * DAY)
        res = self.rotate("--apply")
        self.assertRc(res, 0)
        a = users_of(self.emu)["alice"]
        self.assertEqual([k["id"] for k in a["keys"]], [new["id"]])
        self.assertIsNone(rotation_tag(a))
        res = run(["audit", "--output", "json", "--user", "alice"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out)["Keys"], [])

    def test_old_key_still_in_use_is_blocked(self):
        self.load_users(carol=150)
        old = KID("carol")
        self.assertRc(self.rotate("--apply"), 0)
        # an application still uses the old key after delivery
        self.emu.advance_clock(2 * DAY)
        r = self.signed("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                        access_key_id=old, secret=fixtures.secret_for("carol"))
        self.assertEqual(r.status, 200)
        self.emu.advance_clock(6 * DAY)
        self.emu.reset_calls()
        res = self.rotate("--apply")
        self.assertRc(res, 3)
        self.assertIn("carol [delivered] blocked: old key %s is still in use since delivery"
                      % old, res.out)
        self.assertIn("(iam, us-east-1)", res.out)
        self.assertEqual(self.mutating_calls(), [])
        # --max-grace deactivates anyway once it has passed
        res = self.rotate("--apply", "--max-grace", "5d")
        self.assertRc(res, 0)
        st = {k["id"]: k["status"] for k in users_of(self.emu)["carol"]["keys"]}
        self.assertEqual(st[old], "Inactive")

    def test_failing_sink_cleans_up(self):
        self.load_users(dave=100)
        self.to = "exec:/bin/false"
        res = self.rotate("--apply")
        self.assertRc(res, 3)
        self.assertIn("delivery failed", res.out)
        self.assertIn("deleted the new key", res.out)
        d = users_of(self.emu)["dave"]
        self.assertEqual([k["id"] for k in d["keys"]], [KID("dave")])
        self.assertEqual(d["keys"][0]["status"], "Active")
        self.assertIsNone(rotation_tag(d))
        for k in self.emu.state()["accounts"][0]["users"]:
            for kk in k["keys"]:
                self.assertNotIn(kk["secret"], res.out + res.err)

    def test_propagation_delay(self):
        self.load_users(erin=100)
        self.emu.config(propagation_delay=3)
        try:
            self.emu.reset_calls()
            res = self.rotate("--apply")
            self.assertRc(res, 0)
            sts = [c for c in self.emu.calls() if c["action"] == "GetCallerIdentity"
                   and c["access_key_id"] != fixtures.ADMIN_KEY_ID]
            self.assertGreater(len(sts), 1)  # retried until IAM propagated the key
            self.assertEqual(sts[-1]["http_status"], 200)
            self.assertEqual({c["http_status"] for c in sts[:-1]}, {403})
            self.assertIn("stage=delivered", rotation_tag(users_of(self.emu)["erin"]))
            # a verify timeout shorter than the delay: the new key is deleted, not delivered
            os.unlink(os.path.join(self.dir, "erin.json"))
            self.load_users(erin=100)
            res = self.rotate("--apply", "--verify-timeout", "1s")
            self.assertRc(res, 3)
            self.assertIn("did not work", res.out)
            self.assertEqual(os.listdir(self.dir), [])
            self.assertEqual([k["id"] for k in users_of(self.emu)["erin"]["keys"]],
                             [KID("erin")])
        finally:
            self.emu.config(propagation_delay=0)

    def test_users_starting_with_two_keys(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("two-active", [key("ta1", 200, last_used_days=1),
                                key("ta2", 100, last_used_days=1)]),
            user("old-inactive", [key("oi1", 200, last_used_days=1),
                                  key("oi2", 300, status="Inactive", last_used_days=100)]),
            user("young-inactive", [key("yi1", 200, last_used_days=1),
                                    key("yi2", 3, status="Inactive")])]))
        res = self.rotate("--apply")
        self.assertRc(res, 3)
        self.assertIn("two-active [idle] blocked: two active keys", res.out)
        self.assertIn("young-inactive [idle] blocked: no room for a new key", res.out)
        u = users_of(self.emu)
        self.assertEqual(len(u["two-active"]["keys"]), 2)
        self.assertEqual(len(u["young-inactive"]["keys"]), 2)
        oi = u["old-inactive"]
        ids = {k["id"] for k in oi["keys"]}
        self.assertNotIn(KID("oi2"), ids)
        self.assertIn(KID("oi1"), ids)
        self.assertEqual(len(ids), 2)
        self.assertIn("stage=delivered", rotation_tag(oi))

    def test_plan_file_and_changed_state(self):
        self.load_users(frank=100, grace=100)
        plan = os.path.join(self.dir, "plan.json")
        res = self.rotate("--plan-out", plan)
        self.assertRc(res, 0)
        with open(plan) as f:
            doc = json.load(f)
        self.assertEqual(doc["Version"], 1)
        acts = {u["UserName"]: [a["Action"] for a in u["Actions"]] for u in doc["Users"]}
        self.assertEqual(acts["frank"], ["Tag", "CreateKey"])
        # grace's key changes between plan and apply: her steps are refused
        self.emu.iam("UpdateAccessKey", UserName="grace", AccessKeyId=KID("grace"),
                     Status="Inactive")
        res = self.rotate("--apply", "--plan", plan)
        self.assertRc(res, 3)
        self.assertIn("grace [idle] failed: live state changed since the plan (it saw keys "
                      "%s:Active, tag absent; now keys %s:Inactive, tag absent): refused"
                      % (KID("grace"), KID("grace")), res.out)
        u = users_of(self.emu)
        self.assertIn("stage=delivered", rotation_tag(u["frank"]))
        self.assertIsNone(rotation_tag(u["grace"]))
        self.assertEqual(len(u["grace"]["keys"]), 1)
        # usage errors
        self.assertRc(run(["rotate", "--plan", plan], self.emu.env()), 2)
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            f.write("{not json")
        res = run(["rotate", "--apply", "--plan", bad], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "cannot read the plan")

    def test_rollback(self):
        self.load_users(heidi=100)
        old = KID("heidi")
        self.assertRc(self.rotate("--apply"), 0)
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate("--apply"), 0)
        res = run(["rollback", "--user", "heidi"], self.emu.env())
        self.assertRc(res, 0)
        self.assertIn("reactivate %s" % old, res.out)
        st = {k["id"]: k["status"] for k in users_of(self.emu)["heidi"]["keys"]}
        self.assertEqual(st[old], "Inactive")  # dry run
        res = run(["rollback", "--user", "heidi", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        h = users_of(self.emu)["heidi"]
        self.assertEqual({k["status"] for k in h["keys"]}, {"Active"})
        self.assertIn("stage=rolled-back", rotation_tag(h))
        res = run(["rollback", "--user", "heidi"], self.emu.env())
        self.assertRc(res, 0)
        self.assertIn("nothing to do: already rolled back", res.out)
        self.assertRc(run(["rollback"], self.emu.env()), 2)

    def test_config_file_overrides_and_exemptions(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("ivan", [key("ivan", 40, last_used_days=1)], tags={"team": "payments"}),
            user("judy", [key("judy", 100, last_used_days=1)]),
            user("mallory", [key("mallory", 300, last_used_days=1)]),
            user("tagged", [key("tagged", 300, last_used_days=1)],
                 tags={"iamkeys:exempt": "true"})]))
        other = tempfile.mkdtemp()
        conf = os.path.join(self.dir, "rotate.ini")
        with open(conf, "w") as f:
            f.write("# iamkeys rotate config\n[default]\nto = file:%s/{user}.json\n"
                    "[tag team=payments]\nrotate_after = 30d\nto = file:%s/pay-{user}.json\n"
                    "[user mallory]\nexempt = true\n" % (self.dir, other))
        res = run(["rotate", "--config", conf, "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.assertTrue(os.path.exists(os.path.join(other, "pay-ivan.json")))
        self.assertTrue(os.path.exists(os.path.join(self.dir, "judy.json")))
        u = users_of(self.emu)
        self.assertEqual(len(u["mallory"]["keys"]), 1)
        self.assertEqual(len(u["tagged"]["keys"]), 1)
        res = run(["rotate", "--config", conf, "--all"], self.emu.env())
        self.assertIn("mallory [idle] nothing to do: exempt: exempt = true in the config", res.out)
        self.assertIn("tagged [idle] nothing to do: exempt: tag iamkeys:exempt=true", res.out)
        with open(conf, "w") as f:
            f.write("[default]\nrotate_after = soon\n")
        res = run(["rotate", "--config", conf], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "line 2", "rotate_after")

    def test_no_sink_and_bad_arguments(self):
        self.load_users(kim=100)
        # no sink at all: one usage error, not "blocked: no sink" per due user
        self.emu.reset_calls()
        res = run(["rotate", "--apply"], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "say where new secrets go")
        self.assertEqual(self.emu.calls(), [])
        self.assertEqual(len(users_of(self.emu)["kim"]["keys"]), 1)
        for args, needle in ((["--rotate-after", "ninety"], "invalid duration"),
                             (["--to", "file:/x/{usr}.json"], "--to"),
                             (["--output", "csv"], "csv"),
                             (["--self", "--user", "x"], "--self")):
            res = run(["rotate"] + args, self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, needle)

    def test_own_key_is_not_rotated(self):
        f = fixtures.admin_fixture()
        f["accounts"][0]["users"][0]["keys"][0]["create_date"] = "-200d"
        self.emu.load(f)
        res = self.rotate("--apply")
        self.assertRc(res, 3)
        self.assertIn("is the key this command runs with", res.out)
        self.assertEqual(len(users_of(self.emu)["admin"]["keys"]), 1)

    def test_128_character_key_ids(self):
        long_id = "AKIA" + "L" * 120 + "0001"
        k = key("longid", 120, last_used_days=1)
        k["id"] = long_id
        self.emu.load(fixtures.admin_fixture(extra_users=[user("lorna", [k])]))
        self.assertRc(self.rotate("--apply"), 0)
        u = users_of(self.emu)["lorna"]
        self.assertIn("old=%s " % long_id, rotation_tag(u))
        self.assertLessEqual(len(tag_of(u, "iamkeys:rotation")), 256)
        new = self.sink_secret("lorna")["AccessKeyId"]
        self.assertEqual(tag_of(u, "iamkeys:rotation-new"), new)
        # 8 days on: the old key is found by its full id and deactivated, not "already gone"
        self.emu.advance_clock(8 * DAY)
        res = self.rotate("--apply")
        self.assertRc(res, 0)
        self.assertIn("deactivate %s" % long_id, res.out)
        st = {kk["id"]: kk["status"] for kk in users_of(self.emu)["lorna"]["keys"]}
        self.assertEqual(st, {long_id: "Inactive", new: "Active"})
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate("--apply"), 0)
        u = users_of(self.emu)["lorna"]
        self.assertEqual([kk["id"] for kk in u["keys"]], [new])
        self.assertIsNone(rotation_tag(u))

    def test_delivered_but_not_recorded_is_adopted(self):
        self.load_users(nora=100, otto=100)
        # the TagUser that records "delivered" fails (every retry): nora's, the 2nd TagUser
        self.emu.fault("iam:TagUser", kind="server_error", nth=2, count=20)
        res = self.rotate("--apply", "--user", "nora")
        self.assertRc(res, 3)
        self.assertIn("but could not record it", res.out)
        self.emu.clear_faults()
        new = self.sink_secret("nora")["AccessKeyId"]
        self.assertIn("stage=intent", rotation_tag(users_of(self.emu)["nora"]))
        # within the lease the mark is left alone; after it, the sink is asked: adopted
        res = self.rotate("--apply", "--user", "nora")
        self.assertRc(res, 3)
        self.assertIn("another run (run ", res.out)
        self.emu.advance_clock(30 * 60)
        self.emu.reset_calls()
        res = self.rotate("--apply", "--user", "nora")
        self.assertRc(res, 0)
        self.assertIn("the sink holds the new key %s" % new, res.out)
        self.assertEqual([c["action"] for c in self.mutating_calls()], ["TagUser"])
        u = users_of(self.emu)["nora"]
        self.assertEqual({k["id"]: k["status"] for k in u["keys"]},
                         {KID("nora"): "Active", new: "Active"})
        self.assertRegex(rotation_tag(u), r"stage=delivered run=[a-z0-9]{12} old=%s new=%s "
                         % (KID("nora"), new))
        # an exec sink cannot say what it holds: nothing is deleted, the user is blocked
        self.emu.fault("iam:TagUser", kind="server_error", nth=2, count=20)
        self.to = "exec:/bin/sh -c 'cat > %s/otto.json'" % self.dir
        res = self.rotate("--apply", "--user", "otto")
        self.assertRc(res, 3)
        self.emu.clear_faults()
        self.emu.advance_clock(30 * 60)
        self.emu.reset_calls()
        res = self.rotate("--apply", "--user", "otto")
        self.assertRc(res, 3)
        self.assertIn("cannot say which key it holds", res.out)
        self.assertIn("nothing deleted", res.out)
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual(len(users_of(self.emu)["otto"]["keys"]), 2)

    def test_secretsmanager_sink(self):
        self.load_users(lena=100)
        self.to = "secretsmanager:iamkeys/{account}/{user}"
        res = self.rotate("--apply")
        self.assertRc(res, 0)
        r = self.signed("secretsmanager", target="secretsmanager.GetSecretValue",
                             json_body={"SecretId": "iamkeys/111111111111/lena"})
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.json()["SecretString"])
        new = [k for k in users_of(self.emu)["lena"]["keys"] if k["id"] != KID("lena")][0]
        self.assertEqual(doc["AccessKeyId"], new["id"])
        self.assert_authenticates(doc["AccessKeyId"], doc["SecretAccessKey"])


class RotateQuarantinedTest(RotateBase):
    """A user AWS quarantined (AWSCompromisedKeyQuarantineV2 attached after it found a
    key exposed) is not rotated: blocked, pointing to revoke, never CreateAccessKey."""

    def test_quarantined_user_is_blocked(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("alice", [key("alice", 120, last_used_days=1)]),
            user("bob", [key("bob", 20, last_used_days=1)]),
            user("leaked", [key("leaked", 120, last_used_days=1)], attached_policies=[
                "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"])]))
        self.emu.reset_calls()
        res = self.rotate("--apply")
        self.assertRc(res, 3)
        lines = [ln for ln in res.out.splitlines() if ln.startswith("leaked ")]
        self.assertEqual(lines, [
            "leaked [idle] blocked: AWS has attached AWSCompromisedKeyQuarantineV2: revoke the "
            "key with iamkeys revoke --user leaked --key %s --apply" % KID("leaked")])

        def calls_of(name):
            return [c["action"] for c in self.emu.calls()
                    if c["params"].get("UserName") == name]
        # the live state, then the quarantine; nothing else, no CreateAccessKey
        self.assertEqual(calls_of("leaked"), ["ListAccessKeys", "ListUserTags",
                                              "ListAttachedUserPolicies"])
        self.assertEqual([k["id"] for k in users_of(self.emu)["leaked"]["keys"]],
                         [KID("leaked")])
        self.assertIsNone(tag_of(users_of(self.emu)["leaked"], "iamkeys:rotation"))
        # alice (due) is rotated, after the same check; bob (nothing to do) costs no call
        self.assertEqual(calls_of("alice")[:3], ["ListAccessKeys", "ListUserTags",
                                                 "ListAttachedUserPolicies"])
        self.assertIn("CreateAccessKey", calls_of("alice"))
        self.assertEqual(calls_of("bob"), ["ListAccessKeys", "ListUserTags"])
        # the dry run says the same and changes nothing
        self.emu.reset_calls()
        res = self.rotate()
        self.assertRc(res, 3)
        self.assertIn("leaked [idle] blocked: AWS has attached AWSCompromisedKeyQuarantineV2",
                      res.out)
        self.assertEqual(self.mutating_calls(), [])


class RotateSelfTest(RotateBase):
    def test_quarantined_principal_is_told_why(self):
        # AWS found the key exposed and attached its quarantine policy: CreateAccessKey
        # is denied, and the error says so and how to go on; nothing changes
        ops = user("ops", [key("ops", 100, last_used_days=1)], allow=["*"])
        ops["attached_policies"] = ["arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"]
        self.emu.load(fixtures.admin_fixture(extra_users=[ops]))
        before = credentials_text("ops", KID("ops"), fixtures.secret_for("ops"))
        home, cred = self.credentials_home(before)
        os.chmod(cred, 0o600)
        env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=home)
        self.emu.reset_calls()
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 1)
        self.assertOneLineError(
            res, "AccessDenied",
            "; AWS has attached AWSCompromisedKeyQuarantineV2 to ops: it found a key of the "
            "user exposed, and that policy denies creating keys. Revoke %s from another "
            "principal: iamkeys revoke --user ops --key %s --apply" % (KID("ops"), KID("ops")))
        self.assertEqual([c["action"] for c in self.emu.calls() if c["action"] in (
            "CreateAccessKey", "ListAttachedUserPolicies", "DeleteAccessKey",
            "UpdateAccessKey")], ["CreateAccessKey", "ListAttachedUserPolicies"])
        self.assertEqual([k["id"] for k in users_of(self.emu)["ops"]["keys"]], [KID("ops")])
        with open(cred) as f:
            self.assertEqual(f.read(), before)

        # denied for another reason: no quarantine sentence
        ops["attached_policies"] = []
        ops["allow"] = ["iam:List*", "iam:Get*", "sts:*"]
        self.emu.load(fixtures.admin_fixture(extra_users=[ops]))
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 1)
        self.assertOneLineError(res, "AccessDenied")
        self.assertNotIn("AWSCompromisedKeyQuarantine", res.err)

    def test_self_rotation_read_back_by_awscli(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("ops", [key("ops", 100, last_used_days=1)], allow=["*"])]))
        before = ("# managed by hand\n[default]\nregion_hint = x\n\n"
                  + credentials_text("ops", KID("ops"), fixtures.secret_for("ops")) + "\n"
                  + credentials_text("other", "AKIAOTHER00000000000", "keepme"))
        home, cred = self.credentials_home(before)
        os.chmod(cred, 0o640)
        env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=home)
        res = run(["rotate", "--self", "--profile", "ops"], env)
        self.assertRc(res, 0)
        self.assertIn("dry run", res.out)
        with open(cred) as f:
            self.assertEqual(f.read(), before)
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 0)
        ops = users_of(self.emu)["ops"]
        self.assertEqual(len(ops["keys"]), 1)
        new = ops["keys"][0]
        self.assertNotEqual(new["id"], KID("ops"))
        with open(cred) as f:
            after = f.read()
        self.assertIn("aws_access_key_id = %s" % new["id"], after)
        self.assertIn("# managed by hand\n[default]\nregion_hint = x\n", after)
        self.assertIn("[other]\naws_access_key_id = AKIAOTHER00000000000\n"
                      "aws_secret_access_key = keepme\n", after)
        self.assertEqual(os.stat(cred).st_mode & 0o777, 0o640)  # its mode is kept
        self.assertNotIn(new["secret"], res.out + res.err)
        # the create mark is gone, the record of the change (written with it) stays
        self.assertIsNone(tag_of(ops, "iamkeys:create"))
        self.assertRegex(tag_of(ops, "iamkeys:changed") or "", r"^v=1 t=\d{8}T\d{6}Z$")
        # Debian's awscli reads the new profile
        aws = self.emu.aws("sts", "get-caller-identity", "--profile", "ops", env=env)
        self.assertEqual(aws.rc, 0, aws)
        self.assertTrue(aws.json["Arn"].endswith(":user/ops"), aws)


    def self_setup(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("ops", [key("ops", 100, last_used_days=1)], allow=["*"])]))
        self.emu.reset_calls()
        before = credentials_text("ops", KID("ops"), fixtures.secret_for("ops"))
        home, cred = self.credentials_home(before)
        env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=home)
        return env, cred, before

    def test_self_outcome_unknown_deletes_the_lost_key(self):
        # CreateAccessKey is carried out, then the reply is lost: the key whose secret is
        # lost is found and deleted, the profile and the old key are untouched
        env, cred, before = self.self_setup()
        self.emu.fault(action="CreateAccessKey", kind="truncate")
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 1)
        self.assertEqual(len(res.err.splitlines()), 1, res)
        self.assertRegex(res.err, r"^iamkeys: error: CreateAccessKey.*" + self.LOST_KEY_DELETED)
        ops = users_of(self.emu)["ops"]
        self.assertEqual([(k["id"], k["status"]) for k in ops["keys"]], [(KID("ops"), "Active")])
        with open(cred) as f:
            self.assertEqual(f.read(), before)
        self.assertLostKeyCalls(self.emu)
        self.assertIsNone(tag_of(ops, "iamkeys:create"))

    def test_self_killed_after_the_profile_write_is_finished_later(self):
        # killed after the profile holds the new key, before the old key is deleted: the
        # create mark stays; at once the next run is blocked (the mark may be a live run's),
        # after the lease it deletes the old key with the new one and removes the mark
        env, cred, before = self.self_setup()
        res = run(["rotate", "--self", "--profile", "ops", "--apply"],
                  dict(env, IAMKEYS_TEST_CRASH_AT="create-after-deliver"))
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        new = [k for k in users_of(self.emu)["ops"]["keys"] if k["id"] != KID("ops")][0]
        self.assertIn("aws_access_key_id = %s" % new["id"], open(cred).read())
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 3)
        self.assertIn("another run is creating a key for ops since", res.err)
        self.emu.advance_clock(16 * 60)
        self.addCleanup(self.emu.set_clock, offset_seconds=0)
        res = run(["rotate", "--self", "--profile", "ops"], env)
        self.assertRc(res, 0)
        target = "profile:ops@%s" % cred
        self.assertEqual(res.out, "ops: finish an interrupted rotation of own key: %s holds the "
                                  "new key %s; delete %s with it\ndry run: nothing changed; "
                                  "add --apply\n" % (target, new["id"], KID("ops")))
        self.emu.reset_calls()
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 0)
        self.assertEqual(res.out, "ops: finish an interrupted rotation of own key: %s holds the "
                                  "new key %s; delete %s with it\nops: finished the interrupted "
                                  "rotation: %s in %s; old key deleted\n"
                                  % (target, new["id"], KID("ops"), new["id"], target))
        writes = [(c["action"], c["params"].get("AccessKeyId")) for c in self.emu.calls()
                  if c["action"] in ("CreateAccessKey", "DeleteAccessKey", "UntagUser")]
        self.assertEqual(writes, [("DeleteAccessKey", KID("ops")), ("UntagUser", None)])
        ops = users_of(self.emu)["ops"]
        self.assertEqual([(k["id"], k["status"]) for k in ops["keys"]], [(new["id"], "Active")])
        self.assertIsNone(tag_of(ops, "iamkeys:create"))

    def test_self_with_two_keys_is_blocked(self):
        env, cred, before = self.self_setup()
        self.emu.iam("CreateAccessKey", UserName="ops")
        self.emu.reset_calls()
        res = run(["rotate", "--self", "--profile", "ops", "--apply"], env)
        self.assertRc(res, 3)
        self.assertEqual(res.out, "")
        self.assertEqual(len(res.err.splitlines()), 1, res)
        # the key the profile holds is never the one suggested for deletion
        self.assertIn("ops already has 2 access keys: ", res.err)
        self.assertNotIn("--key %s)" % KID("ops"), res.err)
        self.assertEqual([c for c in self.emu.calls() if c["action"] == "CreateAccessKey"], [])
        with open(cred) as f:
            self.assertEqual(f.read(), before)

    def test_self_json(self):
        # one JSON document for the dry run, the rotation and a refusal; nothing else on stdout
        env, cred, before = self.self_setup()
        res = run(["rotate", "--self", "--profile", "ops", "--output", "json"], env)
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(doc, {"User": "ops", "OldKey": KID("ops"), "NewKey": None,
                               "Target": doc["Target"], "Outcome": "planned", "Error": None})
        self.assertTrue(doc["Target"].startswith("profile:ops@"), doc)
        res = run(["rotate", "--self", "--profile", "ops", "--apply", "--output", "json"], env)
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        new = users_of(self.emu)["ops"]["keys"][0]
        self.assertEqual((doc["Outcome"], doc["OldKey"], doc["NewKey"], doc["Error"]),
                         ("done", KID("ops"), new["id"], None))
        self.assertNotIn(new["secret"], res.out + res.err)
        # two keys: blocked, exit 3, the reason in Error
        self.emu.iam("CreateAccessKey", UserName="ops")
        res = run(["rotate", "--self", "--profile", "ops", "--apply", "--output", "json"], env)
        self.assertRc(res, 3)
        doc = json.loads(res.out)
        self.assertEqual(doc["Outcome"], "blocked")
        self.assertIn("ops already has 2 access keys", doc["Error"])


class CrashMatrixBase(RotateBase):
    """rotate --apply on 20 users, SIGKILLed right after the k-th mutating call, for every
    k; then re-run to completion. Every user ends with exactly one Active key, the one in
    its sink, which authenticates; no orphan key; no lost secret."""
    # not a test of CloudTrail's rate: LookupEvents paced at 1,000 a second (emulator and binary)
    emulator_options = {"cloudtrail_tps": 1000}
    N = 20

    def fixture20(self):
        return fixtures.admin_fixture(extra_users=due_users(self.N, "u"))

    def complete(self, strict=True):
        # a mark left by the killed run is another run's until its lease has passed
        def go():
            res = self.rotate("--apply")
            if strict:
                self.assertRc(res, 0)
        self.emu.advance_clock(30 * 60)
        for _ in range(2):
            go()
        self.emu.advance_clock(8 * DAY)
        go()
        self.emu.advance_clock(8 * DAY)
        go()

    def check_final(self, k):
        names = ["u%02d" % i for i in range(self.N)]
        safety.assert_one_working_key_each(self, self.emu, safety.Sink(safety.FILE, self.dir),
                                           names, "k=%s" % (k,))
        users = users_of(self.emu)
        for name in names:
            self.assertNotEqual(users[name]["keys"][0]["id"], KID(name), "k=%s" % (k,))

    def crash_at_each(self, points):
        for k in points:
            self.emu.set_clock(offset_seconds=0)
            self.emu.load(self.fixture20())
            for f in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, f))
            res = self.rotate("--apply", IAMKEYS_TEST_CRASH_AFTER=str(k))
            self.assertEqual(res.rc, -signal.SIGKILL, "k=%d %r" % (k, res))
            self.complete()
            self.check_final(k)
        # one sample pick authenticates (checking all would only repeat it)
        doc = self.sink_secret("u07")
        self.assert_authenticates(doc["AccessKeyId"], doc["SecretAccessKey"])


class CrashMatrixPointsTest(Sharded, CrashMatrixBase):
    """Every crash point k = 1 .. (the mutating calls of a clean first pass), shared out
    over this class and CrashMatrixPointsTestShard{1..5} (shard_class, below)."""
    test_cost = 60

    def test_crash_matrix(self):
        self.emu.load(self.fixture20())
        self.emu.reset_calls()
        self.assertRc(self.rotate("--apply"), 0)
        total = len(self.mutating_calls())
        self.assertEqual(total, 3 * self.N)
        self.crash_at_each([k for k in range(1, total + 1) if self.shard(k)])


shard_class(CrashMatrixPointsTest, 6, globals())


class CrashMatrixTest(CrashMatrixBase):
    test_cost = 60

    def test_crash_after_delivery_and_lost_replies(self):
        # killed between delivery and the "delivered" tag: the sink's key is adopted
        self.emu.load(self.fixture20())
        res = self.rotate("--apply", IAMKEYS_TEST_CRASH_AT="after-deliver")
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        self.assertEqual(len(users_of(self.emu)["u00"]["keys"]), 2)
        self.complete()
        self.check_final(0)
        # the reply of each mutating call lost (the call is carried out)
        for action in ("TagUser", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
                       "UntagUser"):
            self.emu.set_clock(offset_seconds=0)
            self.emu.load(self.fixture20())
            for f in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, f))
            self.emu.fault("iam:" + action, kind="reset", nth=1)
            self.complete(strict=False)
            self.emu.clear_faults()
            self.complete()
            self.check_final(action)

    def test_crash_in_later_stages(self):
        self.emu.load(self.fixture20())
        self.assertRc(self.rotate("--apply"), 0)
        self.emu.advance_clock(8 * DAY)
        for k in (1, 2, 7, 20):  # cumulative: 30 of the 40 mutating calls
            res = self.rotate("--apply", IAMKEYS_TEST_CRASH_AFTER=str(k))
            self.assertEqual(res.rc, -signal.SIGKILL, "k=%d %r" % (k, res))
        self.assertRc(self.rotate("--apply"), 0)
        self.emu.advance_clock(8 * DAY)
        for k in (1, 2, 15, 11):
            res = self.rotate("--apply", IAMKEYS_TEST_CRASH_AFTER=str(k))
            self.assertEqual(res.rc, -signal.SIGKILL, "k=%d %r" % (k, res))
        self.assertRc(self.rotate("--apply"), 0)
        self.check_final(0)


class ConcurrentRunsTest(Sharded, RotateBase):
    """2 and 4 `rotate --apply` processes at once over 20 due users, with no lock: the run
    id in the intent mark (read back after TagUser), the lease of a young mark and the
    clean-up that deletes only the run's own key keep every user with a working key equal
    to its sink's. IAMKEYS_TEST_SAFETY=1 (make check-safety) runs 20 trials of each instead of 3."""
    test_cost = 60  # seconds, roughly: tests/run.py starts the slow classes first
    # not a test of CloudTrail's rate: LookupEvents paced at 1,000 a second (emulator and binary)
    emulator_options = {"cloudtrail_tps": 1000}
    N = 20

    def fixture20(self):
        return fixtures.admin_fixture(extra_users=due_users(self.N, "c"))

    def check_users(self, msg, after_completion=False):
        deleted = []
        users = users_of(self.emu)
        for i in range(self.N):
            name = "c%02d" % i
            u = users[name]
            keys = {k["id"]: k for k in u["keys"]}
            path = os.path.join(self.dir, name + ".json")
            m = "%s user %s: keys %s tag %s" % (msg, name, sorted(keys), rotation_tag(u))
            if not os.path.exists(path):
                # not rotated by anyone: still exactly the old key, no tag, no orphan
                self.assertEqual(list(keys), [KID(name)], m)
                self.assertEqual(keys[KID(name)]["status"], "Active", m)
                self.assertIsNone(rotation_tag(u), m)
                continue
            doc = self.sink_secret(name)
            if doc["AccessKeyId"] not in keys:
                deleted.append(name)
                continue
            held = keys[doc["AccessKeyId"]]
            self.assertEqual(held["status"], "Active", m)
            self.assertEqual(held["secret"], doc["SecretAccessKey"], m)
            # the old key and the delivered one: no orphan
            self.assertEqual(set(keys), {KID(name), doc["AccessKeyId"]}, m)
            tag = rotation_tag(u) or ""
            if after_completion or "stage=intent" not in tag:
                self.assertRegex(tag, r"stage=delivered (run=[a-z0-9]{12} )?old=%s new=%s " %
                                 (KID(name), doc["AccessKeyId"]), m)
            else:
                # without a lock, a run whose tag read and TagUser straddle another run's
                # whole rotation of the user replaces the delivered record with its own
                # intent mark; it creates nothing (the user has two keys) and deletes
                # nothing, and the next run adopts the key the sink holds (checked below)
                self.assertRegex(tag, r"^v=1 stage=intent run=[a-z0-9]{12} old=%s t=" % KID(name),
                                 m)
        self.assertEqual(deleted, [], "%s: the sink holds a deleted key" % msg)

    def trials(self, procs):
        n = 20 if "1" in (os.environ.get("IAMKEYS_TEST_SLOW"),
                          os.environ.get("IAMKEYS_TEST_SAFETY")) else 3
        for trial in range(n):
            if not self.shard(trial):
                continue
            self.emu.load(self.fixture20())
            for f in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, f))
            # one lock directory each, as on different hosts without a shared lease: the
            # rotation tags alone must keep the runs apart (the lock is tested in test_lock.py)
            ps = [subprocess.Popen([BINARY, "rotate", "--to", self.to, "--apply"],
                                   env=self.emu.env(IAMKEYS_LOCK_DIR=tempfile.mkdtemp()),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(procs)]
            outs = [p.communicate(timeout=300) for p in ps]
            for p, (out, err) in zip(ps, outs):
                self.assertIn(p.returncode, (0, 3), out + err)
            self.check_users("%d processes, trial %d" % (procs, trial))
            # one more run finishes what the losers left (after any lease): all rotated
            self.emu.advance_clock(30 * 60)
            self.assertRc(self.rotate("--apply"), 0)
            self.check_users("%d processes, trial %d, after a run to completion" % (procs, trial),
                             after_completion=True)
            for i in range(self.N):
                self.assertTrue(os.path.exists(os.path.join(self.dir, "c%02d.json" % i)))
            # the later stages: one working key each, the sink's (tests/cli/safety.py)
            for _ in range(2):
                self.emu.advance_clock(8 * DAY)
                self.assertRc(self.rotate("--apply"), 0)
            safety.assert_one_working_key_each(
                self, self.emu, safety.Sink(safety.FILE, self.dir),
                ["c%02d" % i for i in range(self.N)], "%d processes, trial %d" % (procs, trial))
            self.emu.set_clock(offset_seconds=0)

    def test_two_runs_at_once(self):
        self.trials(2)

    def test_four_runs_at_once(self):
        self.trials(4)


shard_class(ConcurrentRunsTest, 4 if SAFETY else 1, globals())
