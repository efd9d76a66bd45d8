"""rollback, rotate --resume and rotate --abort against the emulator: a rollback is
idempotent and pauses the rotation (stage rolled-back) until --resume or --abort; --abort
deletes the new key only when no application used it and the sink does not hold it (or
--force), and clears a stuck intent mark."""
import datetime
import json
import os

from tests.cli.common import run
from tests.cli.test_rotate import DAY, KID, RotateBase, rotation_tag, user, users_of
from tests.emulator import fixtures
from tests.emulator.fixtures import key


class RollbackAbortTest(RotateBase):
    def setUp(self):
        super().setUp()
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("heidi", [key("heidi", 100, last_used_days=1)])]))
        self.old = KID("heidi")

    def fix(self, *args):
        return run(["rotate", "--user", "heidi"] + list(args), self.emu.env())

    def keys(self):
        return {k["id"]: k["status"] for k in users_of(self.emu)["heidi"]["keys"]}

    def tag(self):
        return rotation_tag(users_of(self.emu)["heidi"])

    def calls(self):
        return [(c["action"], c["params"].get("AccessKeyId")) for c in self.mutating_calls()]

    def deliver(self):
        """heidi rotated: stage delivered; returns the new key."""
        self.assertRc(self.rotate("--apply"), 0)
        new = [k for k in self.keys() if k != self.old][0]
        self.assertEqual(self.sink_secret("heidi")["AccessKeyId"], new)
        return new

    def put_old_key_back_in_the_sink(self):
        with open(os.path.join(self.dir, "heidi.json"), "w") as f:
            json.dump({"AccessKeyId": self.old, "SecretAccessKey": fixtures.secret_for("heidi"),
                       "UserName": "heidi"}, f)

    def test_rollback_is_idempotent_and_pauses_until_resume(self):
        new = self.deliver()
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate("--apply"), 0)
        self.assertEqual(self.keys(), {self.old: "Inactive", new: "Active"})

        self.emu.reset_calls()
        res = run(["rollback", "--user", "heidi", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("UpdateAccessKey", self.old), ("TagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Active", new: "Active"})
        self.assertRegex(self.tag(), r"^v=1 stage=rolled-back run=[a-z0-9]{12} old=%s new=%s t=\d{8}T\d{6}Z$"
                         % (self.old, new))
        # a second rollback: nothing to do, exit 0
        self.emu.reset_calls()
        for args in ([], ["--apply"]):
            res = run(["rollback", "--user", "heidi"] + args, self.emu.env())
            self.assertRc(res, 0)
            self.assertIn("heidi [rolled-back] nothing to do: already rolled back: old key %s "
                          "is Active" % self.old, res.out)
        self.assertEqual(self.calls(), [])

        # rotate leaves a paused rotation alone, however long it waits (reported blocked)
        for _ in range(2):
            res = self.rotate("--apply", "--user", "heidi")
            self.assertRc(res, 3)
            self.assertIn("heidi [rolled-back] blocked: rotation paused by a rollback on ", res.out)
            self.assertIn("'iamkeys rotate --resume --user heidi' continues it", res.out)
            self.emu.advance_clock(30 * DAY)
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.keys(), {self.old: "Active", new: "Active"})

        # --resume: a dry run first, then back to delivered
        res = self.fix("--resume")
        self.assertRc(res, 0)
        self.assertIn("1. tag stage=delivered", res.out)
        self.assertIn("dry run", res.out)
        self.assertEqual(self.calls(), [])
        res = self.fix("--resume", "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("TagUser", None)])
        self.assertRegex(self.tag(), r"^v=1 stage=delivered run=[a-z0-9]{12} old=%s new=%s t=\d{8}T\d{6}Z$"
                         % (self.old, new))
        self.emu.reset_calls()
        res = self.fix("--resume", "--apply")
        self.assertRc(res, 0)
        self.assertIn("nothing to do: not paused by a rollback (stage delivered)", res.out)
        # the old key gets the whole --deactivate-after again, counted from the resume
        self.assertRc(self.rotate("--apply", "--user", "heidi"), 0)
        self.assertEqual(self.calls(), [])
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate("--apply", "--user", "heidi"), 0)
        self.assertEqual(self.calls(), [("UpdateAccessKey", self.old), ("TagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Inactive", new: "Active"})

    def test_abort_unused_key_once_the_sink_no_longer_holds_it(self):
        new = self.deliver()
        self.emu.reset_calls()
        # no sink given: iamkeys cannot prove the sink does not hold the new key
        res = self.fix("--abort", "--apply")
        self.assertRc(res, 3)
        self.assertIn("heidi [delivered] blocked: no sink given: iamkeys cannot check", res.out)
        # the sink holds the new key: deleting it would leave the sink with a dead key
        res = run(["rotate", "--user", "heidi", "--abort", "--apply", "--to", self.to],
                  self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("blocked: file:%s/heidi.json holds %s: after the abort it would hold a "
                      "deleted key" % (self.dir, new), res.out)
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.keys(), {self.old: "Active", new: "Active"})

        # the old key's secret put back into the sink by hand: abort goes ahead
        self.put_old_key_back_in_the_sink()
        res = run(["rotate", "--user", "heidi", "--abort", "--to", self.to], self.emu.env())
        self.assertRc(res, 0)
        self.assertIn("1. delete %s" % new, res.out)
        self.assertIn("2. remove tag iamkeys:rotation", res.out)
        self.assertEqual(self.calls(), [])  # a dry run
        res = run(["rotate", "--user", "heidi", "--abort", "--apply", "--to", self.to],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("DeleteAccessKey", new), ("UntagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Active"})
        self.assertIsNone(self.tag())
        # again: nothing to do
        self.emu.reset_calls()
        res = run(["rotate", "--user", "heidi", "--abort", "--apply", "--to", self.to],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertIn("heidi [idle] nothing to do: no rotation in progress", res.out)
        self.assertEqual(self.calls(), [])

    def test_abort_of_a_used_key_needs_force(self):
        new = self.deliver()
        doc = self.sink_secret("heidi")
        self.emu.advance_clock(3600)
        r = self.signed("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                        access_key_id=new, secret=doc["SecretAccessKey"])
        self.assertEqual(r.status, 200)
        self.put_old_key_back_in_the_sink()
        self.emu.reset_calls()
        res = run(["rotate", "--user", "heidi", "--abort", "--apply", "--to", self.to],
                  self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("blocked: key %s was used on " % new, res.out)
        self.assertIn("(iam, us-east-1), after its creation and verification", res.out)
        self.assertEqual(self.calls(), [])
        res = self.fix("--abort", "--force", "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("DeleteAccessKey", new), ("UntagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Active"})

    def test_abort_with_force_even_if_the_sink_holds_it(self):
        new = self.deliver()
        self.emu.reset_calls()
        res = self.fix("--abort", "--force", "--apply")
        self.assertRc(res, 0)
        self.assertIn("(--force: even if used or held by the sink)", res.out)
        self.assertEqual(self.calls(), [("DeleteAccessKey", new), ("UntagUser", None)])

    def test_abort_after_deactivation_reactivates_first(self):
        new = self.deliver()
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate("--apply"), 0)
        self.put_old_key_back_in_the_sink()
        self.emu.reset_calls()
        res = run(["rotate", "--user", "heidi", "--abort", "--apply", "--to", self.to],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("UpdateAccessKey", self.old), ("DeleteAccessKey", new),
                                        ("UntagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Active"})
        self.assertIsNone(self.tag())

    def stuck_intent(self):
        now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")
        value = "v=1 stage=intent old=%s t=%s" % (self.old, now.strftime("%Y%m%dT%H%M%SZ"))
        r = self.emu.iam("TagUser", UserName="heidi", **{"Tags.member.1.Key": "iamkeys:rotation",
                                                         "Tags.member.1.Value": value})
        self.assertEqual(r.status, 200, r)

    def test_abort_clears_a_stuck_intent(self):
        self.stuck_intent()
        self.emu.reset_calls()
        res = self.fix("--abort")
        self.assertRc(res, 0)
        self.assertIn("heidi [intent] plan: abort the rotation in stage intent", res.out)
        self.assertEqual(self.calls(), [])
        res = self.fix("--abort", "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("UntagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Active"})
        self.assertIsNone(self.tag())

    def test_abort_of_an_intent_with_an_orphan_key(self):
        self.stuck_intent()
        r = self.emu.iam("CreateAccessKey", UserName="heidi")
        self.assertEqual(r.status, 200, r)
        orphan = [k for k in self.keys() if k != self.old][0]
        self.emu.reset_calls()
        res = self.fix("--abort", "--apply")
        self.assertRc(res, 3)
        self.assertIn("no sink given", res.out)
        self.assertEqual(self.calls(), [])
        # the sink holds nothing: the orphan goes
        res = run(["rotate", "--user", "heidi", "--abort", "--apply", "--to", self.to],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(self.calls(), [("DeleteAccessKey", orphan), ("UntagUser", None)])
        self.assertEqual(self.keys(), {self.old: "Active"})

    def test_bad_combinations_are_usage_errors(self):
        self.emu.reset_calls()
        for args, needle in (
                (["rotate", "--abort"], "--abort needs one --user NAME"),
                (["rotate", "--resume"], "--resume needs one --user NAME"),
                (["rotate", "--abort", "--user", "a", "--user", "b"], "--abort needs one --user"),
                (["rotate", "--abort", "--resume", "--user", "heidi"],
                 "--abort and --resume do not go together"),
                (["rotate", "--force", "--user", "heidi"], "--force is for --abort"),
                (["rotate", "--abort", "--user", "heidi", "--plan-out", "/tmp/x"],
                 "no --self or plan files"),
                (["rotate", "--resume", "--user", "heidi", "--org"], "--org")):
            with self.subTest(args=args):
                res = run(args, self.emu.env())
                self.assertRc(res, 2)
                self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])
