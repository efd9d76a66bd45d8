"""rotate --apply --plan FILE: a saved plan restricts what a fresh plan does, never extends it.
Each tampering of a --plan-out file is refused for its user with no mutating call; a
malformed file is refused whole (exit 2) before any AWS call."""
import json
import os

from tests.cli.common import run
from tests.cli.test_rotate import KID, RotateBase, rotation_tag, user, users_of
from tests.emulator import fixtures
from tests.emulator.fixtures import key


class PlanFileTest(RotateBase):
    def setUp(self):
        super().setUp()
        self.emu.load(fixtures.admin_fixture(extra_users=[
            # due; its only key used a minute ago
            user("alice", [key("alice", 120, last_used_days=0)]),
            # blocked: two active keys
            user("bob", [key("bob1", 200, last_used_days=1), key("bob2", 100, last_used_days=1)]),
            # not due
            user("carol", [key("carol", 10, last_used_days=1)])]))
        self.plan = os.path.join(self.dir, "plan.json")
        res = self.rotate("--plan-out", self.plan, "--all")
        self.assertRc(res, 3)  # bob is blocked
        with open(self.plan) as f:
            self.doc = json.load(f)
        self.rows = {u["UserName"]: u for u in self.doc["Users"]}
        self.assertEqual([a["Action"] for a in self.rows["alice"]["Actions"]],
                         ["Tag", "CreateKey"])
        self.emu.reset_calls()

    def write(self, doc=None, text=None):
        path = os.path.join(self.dir, "edited.json")
        with open(path, "w") as f:
            f.write(text if text is not None else json.dumps(doc if doc is not None else self.doc))
        return path

    def calls_for(self, name):
        return [(c["action"], c["params"].get("AccessKeyId")) for c in self.mutating_calls()
                if c["params"].get("UserName") == name]

    def fresh_steps(self):
        old = KID("alice")
        return ("Tag stage=intent old=%s, CreateKey %s to file:%s/alice.json"
                % (old, old, self.dir))

    def test_untouched_plan_is_carried_out(self):
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 3)  # bob: blocked, as without --plan
        self.assertIn("alice [idle] rotated: due: key %s is 120 days old" % KID("alice"), res.out)
        self.assertIn("bob [idle] blocked: two active keys", res.out)
        self.assertEqual([a for a, _ in self.calls_for("alice")],
                         ["TagUser", "CreateAccessKey", "TagUser"])
        self.assertEqual(self.calls_for("bob") + self.calls_for("carol"), [])
        self.assertEqual(self.sink_secret("alice")["UserName"], "alice")

    def test_create_turned_into_delete_is_refused(self):
        row = self.rows["alice"]
        act = dict(row["Actions"][1], Action="DeleteKey", ExpectActive=-1, InUseGuard=False)
        row["Actions"] = [act]
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 3)
        self.assertIn("alice [idle] failed: the plan says DeleteKey %s, a fresh plan says %s: "
                      "refused\n" % (KID("alice"), self.fresh_steps()), res.out)
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual([k["status"] for k in users_of(self.emu)["alice"]["keys"]], ["Active"])

    def test_sink_elsewhere_is_refused(self):
        other = "file:/tmp/elsewhere-%d/alice.json" % os.getpid()
        self.rows["alice"]["Sink"] = other
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 3)
        old = KID("alice")
        self.assertIn("alice [idle] failed: the plan says Tag stage=intent old=%s, CreateKey %s "
                      "to %s, a fresh plan says %s: refused" % (old, old, other,
                                                                self.fresh_steps()), res.out)
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual(os.listdir(self.dir), ["plan.json", "edited.json"])

    def test_plan_applied_with_other_options_is_refused(self):
        # the same plan, applied with a --to that sends the secret elsewhere: refused too
        other = os.path.join(self.dir, "other")
        os.mkdir(other)
        res = run(["rotate", "--to", "file:%s/{user}.json" % other, "--apply", "--plan",
                   self.write()], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("a fresh plan says Tag stage=intent old=%s, CreateKey %s to file:%s/"
                      "alice.json: refused" % (KID("alice"), KID("alice"), other), res.out)
        # and without any sink: the fresh plan is blocked
        res = run(["rotate", "--apply", "--plan", self.write()], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("a fresh plan says blocked (due, but no sink for the new secret", res.out)
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual(os.listdir(other), [])

    def test_other_account_is_refused_whole(self):
        self.doc["Account"] = "222222222222"
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "the plan is for account 222222222222, but these "
                                "credentials are for account 111111111111: refusing the plan")
        self.assertEqual(self.mutating_calls(), [])
        self.assertEqual(res.out, "")

    def test_prefix_of_the_steps_is_refused(self):
        self.rows["alice"]["Actions"] = self.rows["alice"]["Actions"][:1]
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 3)
        self.assertIn("the plan says Tag stage=intent old=%s, a fresh plan says %s: refused"
                      % (KID("alice"), self.fresh_steps()), res.out)
        self.assertEqual(self.mutating_calls(), [])

    def test_nothing_to_do_turned_into_steps_is_refused(self):
        # carol is not due: steps added to her row are not carried out
        act = dict(self.rows["alice"]["Actions"][1], AccessKeyId=KID("carol"))
        tag = dict(self.rows["alice"]["Actions"][0],
                   TagValue="v=1 stage=intent old=%s t=20261128T120000Z" % KID("carol"))
        self.rows["carol"].update(Outcome="act", Actions=[tag, act])
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 3)
        self.assertIn("carol [idle] failed: the plan says Tag stage=intent old=%s, CreateKey %s "
                      "to file:%s/carol.json, a fresh plan says nothing to do (key %s is 10 days "
                      "old; due " % (KID("carol"), KID("carol"), self.dir, KID("carol")), res.out)
        self.assertEqual(self.calls_for("carol"), [])

    def test_blocked_users_exit_3(self):
        self.doc["Users"] = [self.rows["bob"], self.rows["carol"]]
        res = self.rotate("--apply", "--plan", self.write(), "--all")
        self.assertRc(res, 3)
        self.assertIn("bob [idle] blocked: two active keys", res.out)
        self.assertIn("carol [idle] nothing to do", res.out)
        self.assertEqual(self.mutating_calls(), [])
        # without --plan: the same outcome and exit code
        res = self.rotate("--apply", "--user", "bob")
        self.assertRc(res, 3)
        self.assertIn("bob [idle] blocked: two active keys", res.out)

    def test_user_left_out_is_not_touched(self):
        self.doc["Users"] = [self.rows["carol"]]
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 0)
        self.assertEqual(self.mutating_calls(), [])
        self.assertFalse([c for c in self.emu.calls()
                          if c["params"].get("UserName") in ("alice", "bob")])
        self.assertIsNone(rotation_tag(users_of(self.emu)["alice"]))

    def test_guards_come_from_the_live_plan(self):
        # guard fields edited in the file change nothing: the fresh plan's guards apply
        for a in self.rows["alice"]["Actions"]:
            a.update(ExpectActive=0, InUseGuard=True, NotUsedSince=1)
        res = self.rotate("--apply", "--plan", self.write())
        self.assertRc(res, 3)
        self.assertIn("alice [idle] rotated", res.out)
        self.assertEqual([a for a, _ in self.calls_for("alice")],
                         ["TagUser", "CreateAccessKey", "TagUser"])

    def test_malformed_files_are_refused_whole(self):
        good = json.dumps(self.doc)
        extra_row = json.loads(good)
        extra_row["Users"][0]["Note"] = "reviewed"
        extra_action = json.loads(good)
        extra_action["Users"][1]["Actions"][0]["Force"] = True
        missing = json.loads(good)
        del missing["Users"][1]["Keys"]
        cases = (
            ("truncated", good[:len(good) // 2], "cannot read the plan"),
            ("empty", "", "cannot read the plan"),
            ("extra field at the top", json.dumps(dict(self.doc, Approved=True)),
             "the plan has an unknown field 'Approved'"),
            ("extra field in a row", json.dumps(extra_row), "unknown field 'Note'"),
            ("extra field in an action", json.dumps(extra_action), "unknown field 'Force'"),
            ("missing field", json.dumps(missing), "lacks the field 'Keys'"),
            ("version 2", json.dumps(dict(self.doc, Version=2)), "not a version 1 plan"),
            ("duplicate member", good[:-1] + ', "Version": 1}', "duplicate"),
        )
        for name, text, needle in cases:
            with self.subTest(name):
                self.emu.reset_calls()
                res = self.rotate("--apply", "--plan", self.write(text=text))
                self.assertRc(res, 2)
                self.assertOneLineError(res, "cannot read the plan", needle)
                self.assertEqual(self.emu.calls(), [])
                self.assertEqual(res.out, "")

    def test_usage(self):
        for args, needle in ((["--apply", "--plan", self.plan, "--user", "alice"],
                              "--plan takes no --user"),
                             (["--plan", self.plan], "--plan FILE is for --apply")):
            with self.subTest(args=args):
                res = self.rotate(*args)
                self.assertRc(res, 2)
                self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])
