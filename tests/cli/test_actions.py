"""iamkeys deactivate / create / update / delete against the emulator (runbook steps
2.1-2.4): every guard, plan output without --apply (no mutating call), the exact state and
API calls after --apply, idempotency, every sink read back and authenticated with, a
failing sink and CreateAccessKey's OutcomeUnknown with their clean-up, and no secret in
any output unless --to - is given."""
import json
import os
import stat

from tests.cli.common import CliTestCase, run, tag_of
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

KID = fixtures.key_id
ADMIN = fixtures.ADMIN_KEY_ID
MUTATING = {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "CreateSecret",
            "PutSecretValue", "PutParameter"}
READS = {"sts:GetCallerIdentity": 1, "iam:ListAccessKeys": 1, "iam:GetAccessKeyLastUsed": 1}
HERE = os.path.dirname(os.path.abspath(__file__))


def user(name, keys, **kw):
    u = {"name": name, "path": kw.pop("path", "/"), "create_date": "-900d", "keys": keys}
    u.update(kw)
    return u


def actions_fixture():
    users = [
        # an old key next to a young active one: deactivatable
        user("alice", [key("alice/old", 120, last_used_days=10),
                       key("alice/new", 5, last_used_days=1)]),
        # an old key used 3 hours ago (the in-use guard), and a young one
        user("bob", [key("bob/old", 100, last_used_days="-3h"),
                     key("bob/new", 5, last_used_days=2)]),
        # an Inactive key, long unused: the delete selector's
        user("carol", [key("carol", 200, status="Inactive", last_used_days=100)]),
        # old and unused, next to a young key
        user("dave", [key("dave/old", 150, last_used_days=60),
                      key("dave/new", 10, last_used_days=2)]),
        # an old key that is the user's only one (the last-working-key guard)
        user("erin", [key("erin", 95, last_used_days=30)]),
        # Inactive, but used 3 hours ago: delete's in-use guard
        user("frank", [key("frank/old", 300, status="Inactive", last_used_days="-3h"),
                       key("frank/new", 3, last_used_days=2)]),
        # one young key: create's target
        user("grace", [key("grace", 10, last_used_days=2)]),
        # no keys at all
        user("heidi", []),
        # two keys: create refuses
        user("ivan", [key("ivan/1", 10, last_used_days=2),
                      key("ivan/2", 40, status="Inactive")]),
        # exempt by tag, old and unused
        user("mallory", [key("mallory", 300, last_used_days=50),
                         key("mallory/2", 3, last_used_days=1)],
             tags={"iamkeys:exempt": "true"}),
        # may do anything in IAM and STS, but not write to Secrets Manager or SSM
        user("operator", [key("operator", 10, last_used_days=0)],
             allow=["iam:*", "sts:*", "secretsmanager:GetSecretValue", "ssm:GetParameter"]),
    ]
    return fixtures.admin_fixture(extra_users=users)


class ActionsBase(CliTestCase, EmulatorTestCase):
    emulator_fixture = actions_fixture

    def setUp(self):
        self.reset_emulator()
        self.tmp = self.make_home("iamkeys-actions-")

    def iamkeys(self, *args, env=None, **kw):
        res = run(list(args), env or self.emu.env(**kw))
        if "-" not in args:  # only --to - may print a secret
            self.assertNoSecrets(res, self.all_secrets() + [fixtures.ADMIN_SECRET])
        return res

    def keys(self, name):
        """{key id: status} of a user, live."""
        for a in self.emu.state()["accounts"]:
            for u in a["users"]:
                if u["name"] == name:
                    return {k["id"]: k["status"] for k in u["keys"]}
        raise KeyError(name)

    def live_user(self, name):
        """The emulator's state dump of a user."""
        for a in self.emu.state()["accounts"]:
            for u in a["users"]:
                if u["name"] == name:
                    return u
        raise KeyError(name)

    def last_used(self, name, kid):
        """The day a key was last used, as the emulator has it."""
        for a in self.emu.state()["accounts"]:
            for u in a["users"]:
                for k in u["keys"]:
                    if u["name"] == name and k["id"] == kid:
                        return k["last_used"]["date"][:10]
        raise KeyError(kid)

    def all_keys(self):
        return {u["name"]: {k["id"]: k["status"] for k in u["keys"]}
                for a in self.emu.state()["accounts"] for u in a["users"]}

    def all_secrets(self):
        return [k["secret"] for a in self.emu.state()["accounts"] for u in a["users"]
                for k in u["keys"]]

    def mutations(self):
        return [c for c in self.emu.calls() if c["action"] in MUTATING]

    def assertNoMutation(self):
        self.assertEqual(self.mutations(), [])

    def assertLines(self, res, lines):
        self.assertEqual(res.out.splitlines(), lines, repr(res))

    def whoami(self, key_id, secret):
        """GetCallerIdentity signed with a key: the ARN it authenticates as."""
        r = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                            "Version": "2011-06-15"},
                             access_key_id=key_id, secret=secret)
        self.assertEqual(r.status, 200, r)
        return r.find("Arn")


class DeactivateTest(ActionsBase):
    def test_plan_changes_nothing(self):
        before = self.all_keys()
        res = self.iamkeys("deactivate", "--older-than", "90d")
        self.assertRc(res, 3)  # bob and erin are refused
        self.assertLines(res, [
            "deactivate %s of alice: old (120 days), last used %s (iam, us-east-1)"
            % (KID("alice/old"), self.last_used("alice", KID("alice/old"))),
            "skip %s of bob: used 3 hours ago, within --in-use-window 24h "
            "(use --force to override)" % KID("bob/old"),
            "deactivate %s of dave: old (150 days), last used %s (iam, us-east-1)"
            % (KID("dave/old"), self.last_used("dave", KID("dave/old"))),
            "skip %s of erin: it is the only Active key of erin, who would be left without "
            "a working key (create a new key first, or use --force)" % KID("erin"),
            "exempt %s of mallory: tag iamkeys:exempt=true" % KID("mallory"),
        ])
        self.assertIn("plan only, nothing was changed", res.err)
        self.assertIn("--apply", res.err)
        self.assertNoMutation()
        self.assertEqual(self.all_keys(), before)

    def test_apply_exact_state_and_calls(self):
        res = self.iamkeys("deactivate", "--older-than", "90d", "--apply")
        self.assertRc(res, 3)
        self.assertIn("deactivated %s of alice" % KID("alice/old"), res.out.splitlines())
        self.assertIn("deactivated %s of dave" % KID("dave/old"), res.out.splitlines())
        self.assertNotIn("plan only", res.err)
        after = self.all_keys()
        self.assertEqual(after["alice"], {KID("alice/old"): "Inactive",
                                          KID("alice/new"): "Active"})
        self.assertEqual(after["dave"], {KID("dave/old"): "Inactive", KID("dave/new"): "Active"})
        self.assertEqual(after["bob"][KID("bob/old")], "Active")
        self.assertEqual(after["erin"][KID("erin")], "Active")
        self.assertEqual(after["mallory"][KID("mallory")], "Active")
        upd = [(c["params"]["UserName"], c["params"]["AccessKeyId"], c["params"]["Status"])
               for c in self.mutations()]
        self.assertEqual(upd, [("alice", KID("alice/old"), "Inactive"),
                               ("dave", KID("dave/old"), "Inactive")])
        # every selected key was re-read live right before its change
        calls = [c["action"] for c in self.emu.calls()]
        i = calls.index("UpdateAccessKey")
        self.assertEqual(calls[i - 2:i], ["ListAccessKeys", "GetAccessKeyLastUsed"])

    def test_one_key_plan_apply_idempotent(self):
        k = KID("alice/old")
        res = self.iamkeys("deactivate", "--user", "alice", "--key", k)
        self.assertRc(res, 0)
        self.assertRegex(res.out, r"^deactivate %s of alice: 120 days old, last used "
                                  r"\d{4}-\d\d-\d\d \(iam, us-east-1\)\n$" % k)
        self.assertEqual(self.emu.counters(), READS)
        self.emu.reset_calls()
        res = self.iamkeys("deactivate", "--user", "alice", "--key", k, "--apply")
        self.assertRc(res, 0)
        self.assertLines(res, ["deactivated %s of alice" % k])
        self.assertEqual(self.emu.counters(), dict(READS, **{"iam:UpdateAccessKey": 1}))
        self.assertEqual(self.keys("alice")[k], "Inactive")
        self.emu.reset_calls()
        res = self.iamkeys("deactivate", "--user", "alice", "--key", k, "--apply")
        self.assertRc(res, 0)
        self.assertLines(res, ["nothing to do for %s of alice: already Inactive" % k])
        self.assertEqual(self.emu.counters(), {"sts:GetCallerIdentity": 1,
                                               "iam:ListAccessKeys": 1})

    def test_bulk_rerun_does_nothing(self):
        self.assertRc(self.iamkeys("deactivate", "--user", "dave", "--older-than", "90d",
                                   "--apply"), 0)
        self.emu.reset_calls()
        res = self.iamkeys("deactivate", "--user", "dave", "--older-than", "90d", "--apply")
        self.assertRc(res, 0)
        self.assertLines(res, ["nothing to do: no key matches"])
        self.assertNoMutation()

    def test_in_use_guard_window_and_force(self):
        k = KID("bob/old")
        res = self.iamkeys("deactivate", "--user", "bob", "--key", k, "--apply")
        self.assertRc(res, 3)
        self.assertLines(res, ["skip %s of bob: used 3 hours ago, within --in-use-window 24h "
                               "(use --force to override)" % k])
        self.assertNoMutation()
        # AWS records last use at about 15 minutes: 170m + 15m still covers 3 hours ago
        res = self.iamkeys("deactivate", "--user", "bob", "--key", k, "--in-use-window", "170m")
        self.assertRc(res, 3)
        self.assertIn("within --in-use-window 2h50m", res.out)
        res = self.iamkeys("deactivate", "--user", "bob", "--key", k, "--in-use-window", "2h")
        self.assertRc(res, 0)
        self.assertTrue(res.out.startswith("deactivate %s of bob: " % k), res.out)
        res = self.iamkeys("deactivate", "--user", "bob", "--key", k, "--in-use-window", "0")
        self.assertRc(res, 0)
        self.assertNoMutation()
        res = self.iamkeys("deactivate", "--user", "bob", "--key", k, "--force", "--apply",
                           "--output", "json")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(len(doc), 1)
        self.assertEqual(doc[0]["Result"], "done")
        self.assertIn("--force: used 3 hours ago, within --in-use-window 24h",
                      doc[0]["Reason"])
        self.assertEqual(self.keys("bob")[k], "Inactive")

    def test_last_working_key_guard(self):
        k = KID("erin")
        res = self.iamkeys("deactivate", "--user", "erin", "--key", k, "--apply")
        self.assertRc(res, 3)
        self.assertIn("it is the only Active key of erin", res.out)
        self.assertIn("use --force", res.out)
        self.assertNoMutation()
        # both of alice's keys: the second would leave her with none, also in the plan
        res = self.iamkeys("deactivate", "--user", "alice", "--key", KID("alice/old"),
                           "--key", KID("alice/new"), "--in-use-window", "1h")
        self.assertRc(res, 3)
        lines = res.out.splitlines()
        self.assertTrue(lines[0].startswith("deactivate %s" % KID("alice/old")), lines)
        self.assertTrue(lines[1].startswith("skip %s of alice: it is the only Active key"
                                            % KID("alice/new")), lines)
        res = self.iamkeys("deactivate", "--user", "erin", "--key", k, "--force", "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.keys("erin"), {k: "Inactive"})

    def test_own_key_is_refused_even_with_force(self):
        for extra in ([], ["--force"]):
            res = self.iamkeys("deactivate", "--user", "admin", "--key", ADMIN, "--apply",
                               *extra)
            self.assertRc(res, 3)
            self.assertLines(res, [
                "skip %s of admin: it is the key this command runs with; refusing to "
                "deactivate it (run with other credentials, or rotate your own key with "
                "'iamkeys rotate')" % ADMIN])
        # also when a selector picks it
        res = self.iamkeys("deactivate", "--user", "admin", "--older-than", "7d", "--force",
                           "--apply")
        self.assertRc(res, 3)
        self.assertIn("it is the key this command runs with", res.out)
        self.assertNoMutation()
        self.assertEqual(self.keys("admin"), {ADMIN: "Active"})

    def test_unused_selector_and_exemptions(self):
        res = self.iamkeys("deactivate", "--unused", "45d", "--output", "json")
        self.assertRc(res, 0)
        got = [(r["Action"], r["UserName"], r["AccessKeyId"], r["Result"])
               for r in json.loads(res.out)]
        self.assertEqual(got, [("deactivate", "dave", KID("dave/old"), "planned"),
                               ("deactivate", "mallory", KID("mallory"), "exempt")])
        doc = json.loads(res.out)
        self.assertEqual(doc[0]["Reason"][:19], "unused for 60 days,")
        self.assertEqual(doc[1]["Reason"], "tag iamkeys:exempt=true")
        res = self.iamkeys("deactivate", "--unused", "45d", "--exempt-tag", "none",
                           "--exclude", "da*", "--output", "json")
        got = [(r["UserName"], r["Result"], r["Reason"]) for r in json.loads(res.out)]
        self.assertEqual(got[0], ("dave", "exempt", "excluded by --exclude 'da*'"))
        self.assertEqual(got[1][:2], ("mallory", "planned"))
        self.assertNoMutation()

    def test_missing_key_and_user(self):
        k = KID("nobody")
        res = self.iamkeys("deactivate", "--user", "alice", "--key", k)
        self.assertRc(res, 1)
        self.assertLines(res, ["failed to deactivate %s of alice: user alice has no access "
                               "key %s" % (k, k)])
        res = self.iamkeys("deactivate", "--user", "nobody", "--key", k)
        self.assertRc(res, 1)
        self.assertIn("NoSuchEntity", res.out)

    def test_csv_output(self):
        res = self.iamkeys("deactivate", "--user", "alice", "--key", KID("alice/old"),
                           "--output", "csv")
        self.assertRc(res, 0)
        lines = res.out.splitlines()
        self.assertEqual(lines[0], "Action,UserName,AccessKeyId,Reason,Result")
        self.assertTrue(lines[1].startswith("deactivate,alice,%s," % KID("alice/old")))
        self.assertTrue(lines[1].endswith(",planned"))


class UpdateTest(ActionsBase):
    def test_inactive_goes_through_the_guards(self):
        k = KID("bob/old")
        res = self.iamkeys("update", "--user", "bob", "--key", k, "--status", "Inactive",
                           "--apply")
        self.assertRc(res, 3)
        self.assertIn("used 3 hours ago, within --in-use-window 24h", res.out)
        res = self.iamkeys("update", "--user", "admin", "--key", ADMIN, "--status", "Inactive",
                           "--apply", "--force")
        self.assertRc(res, 3)
        self.assertNoMutation()
        res = self.iamkeys("update", "--user", "bob", "--key", k, "--status", "Inactive",
                           "--apply", "--force")
        self.assertRc(res, 0)
        self.assertLines(res, ["deactivated %s of bob" % k])
        self.assertEqual(self.keys("bob")[k], "Inactive")

    def test_active_is_the_rollback_without_in_use_guard(self):
        k = KID("frank/old")  # Inactive, used 3 hours ago
        res = self.iamkeys("update", "--user", "frank", "--key", k, "--status", "Active")
        self.assertRc(res, 0)
        self.assertLines(res, ["activate %s of frank: 300 days old" % k])
        self.assertNoMutation()
        self.assertEqual(self.emu.counters(), {"sts:GetCallerIdentity": 1,
                                               "iam:ListAccessKeys": 1})
        res = self.iamkeys("update", "--user", "frank", "--key", k, "--status", "active",
                           "--apply")
        self.assertRc(res, 0)
        self.assertLines(res, ["activated %s of frank" % k])
        self.assertEqual(self.keys("frank")[k], "Active")
        upd = [(c["params"]["AccessKeyId"], c["params"]["Status"]) for c in self.mutations()]
        self.assertEqual(upd, [(k, "Active")])
        self.emu.reset_calls()
        res = self.iamkeys("update", "--user", "frank", "--key", k, "--status", "Active",
                           "--apply")
        self.assertRc(res, 0)
        self.assertLines(res, ["nothing to do for %s of frank: already Active" % k])
        self.assertNoMutation()

    def test_usage(self):
        for args, needle in ((["--user", "bob", "--key", KID("bob/old")], "--status"),
                             (["--user", "bob", "--key", KID("bob/old"), "--status", "On"],
                              "invalid --status 'On'"),
                             (["--user", "bob", "--status", "Active"], "--key"),
                             (["--key", KID("bob/old"), "--status", "Active"], "--user"),
                             (["--user", "bob", "--key", "AKIA123", "--status", "Active"],
                              "invalid access key id 'AKIA123'")):
            res = self.iamkeys("update", *args)
            self.assertRc(res, 2)
            self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])


class DeleteTest(ActionsBase):
    def test_bulk_inactive_only(self):
        res = self.iamkeys("delete")
        self.assertRc(res, 3)  # frank's was used 3 hours ago
        lines = res.out.splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[0].startswith("delete %s of carol: Inactive, 200 days old, "
                                            "last used " % KID("carol")), lines)
        self.assertEqual(lines[1], "skip %s of frank: used 3 hours ago, within "
                                   "--in-use-window 24h (use --force to override)"
                         % KID("frank/old"))
        self.assertTrue(lines[2].startswith("delete %s of ivan: Inactive, 40 days old, "
                                            "never used" % KID("ivan/2")), lines)
        self.assertNoMutation()
        # the threshold
        res = self.iamkeys("delete", "--older-than", "250d", "--in-use-window", "1h")
        self.assertRc(res, 0)
        self.assertEqual([l.split(":")[0] for l in res.out.splitlines()],
                         ["delete %s of frank" % KID("frank/old")])
        res = self.iamkeys("delete", "--older-than", "500d")
        self.assertRc(res, 0)
        self.assertLines(res, ["nothing to do: no key matches"])

    def test_apply_and_rerun(self):
        before = self.all_keys()
        res = self.iamkeys("delete", "--apply")
        self.assertRc(res, 3)
        self.assertIn("deleted %s of carol" % KID("carol"), res.out.splitlines())
        self.assertIn("deleted %s of ivan" % KID("ivan/2"), res.out.splitlines())
        after = self.all_keys()
        self.assertEqual(after["carol"], {})
        self.assertEqual(after["ivan"], {KID("ivan/1"): "Active"})
        before["carol"] = {}
        del before["ivan"][KID("ivan/2")]
        self.assertEqual(after, before)
        self.assertEqual(sorted((c["action"], c["params"]["AccessKeyId"])
                                for c in self.mutations()),
                         sorted([("DeleteAccessKey", KID("carol")),
                                 ("DeleteAccessKey", KID("ivan/2"))]))
        self.emu.reset_calls()
        res = self.iamkeys("delete", "--apply", "--user", "carol")
        self.assertRc(res, 0)
        self.assertLines(res, ["nothing to do: no key matches"])
        res = self.iamkeys("delete", "--apply", "--user", "carol", "--key", KID("carol"))
        self.assertRc(res, 0)
        self.assertLines(res, ["nothing to do for %s of carol: no such key (already "
                               "deleted?)" % KID("carol")])
        self.assertNoMutation()

    def test_one_key_exact_calls(self):
        res = self.iamkeys("delete", "--user", "carol", "--key", KID("carol"), "--apply")
        self.assertRc(res, 0)
        self.assertLines(res, ["deleted %s of carol" % KID("carol")])
        self.assertEqual(self.emu.counters(), dict(READS, **{"iam:DeleteAccessKey": 1}))

    def test_active_key_needs_force(self):
        k = KID("dave/old")  # Active, unused for 60 days, dave has another key
        res = self.iamkeys("delete", "--user", "dave", "--key", k, "--apply")
        self.assertRc(res, 3)
        self.assertLines(res, ["skip %s of dave: it is Active; deactivate it first (iamkeys "
                               "deactivate --user dave --key %s), or use --force" % (k, k)])
        self.assertNoMutation()
        res = self.iamkeys("delete", "--user", "dave", "--key", k, "--apply", "--force",
                           "--output", "json")
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out)[0]["Result"], "done")
        self.assertIn("--force: it is Active", json.loads(res.out)[0]["Reason"])
        self.assertEqual(self.keys("dave"), {KID("dave/new"): "Active"})

    def test_last_working_key_and_own_key(self):
        res = self.iamkeys("delete", "--user", "erin", "--key", KID("erin"), "--force")
        self.assertRc(res, 0)  # forced: Active and the last one, noted
        self.assertIn("--force: it is Active; the only Active key of erin", res.out)
        res = self.iamkeys("delete", "--user", "admin", "--key", ADMIN, "--force", "--apply")
        self.assertRc(res, 3)
        self.assertIn("it is the key this command runs with; refusing to delete it", res.out)
        self.assertNoMutation()

    def test_in_use_inactive_key(self):
        k = KID("frank/old")
        res = self.iamkeys("delete", "--user", "frank", "--key", k, "--apply")
        self.assertRc(res, 3)
        self.assertNoMutation()
        res = self.iamkeys("delete", "--user", "frank", "--key", k, "--apply", "--force")
        self.assertRc(res, 0)
        self.assertEqual(self.keys("frank"), {KID("frank/new"): "Active"})


class ActionsUsageTest(ActionsBase):
    def test_usage_errors_make_no_call(self):
        cases = (
            (["deactivate"], "say which keys to deactivate"),
            (["deactivate", "--user", "alice"], "say which keys to deactivate"),
            (["deactivate", "--key", KID("alice/old")], "--key needs --user"),
            (["deactivate", "--user", "alice", "--key", "akia0000000000000000"],
             "invalid access key id"),
            (["deactivate", "--user", "alice", "--key", "AKIA00000000000000"],
             "invalid access key id"),
            (["deactivate", "--user", "alice", "--key", KID("alice/old"), "--older-than",
              "90d"], "cannot be combined"),
            (["deactivate", "--user", "alice", "--key", KID("alice/old"), "--exclude", "x"],
             "exemptions"),
            (["deactivate", "--older-than", "90x"], "invalid duration '90x'"),
            (["deactivate", "--older-than", "9d", "--exempt-path", "sys"], "--exempt-path"),
            (["deactivate", "--older-than", "9d", "--in-use-window", "-1h"], "invalid duration"),
            (["delete", "--user", "carol", "--key", "SECRET0000000000000000"],
             "invalid access key id"),
            (["delete", "--unused", "30d"], "unknown option '--unused'"),
            (["create"], "--user is required"),
            (["create", "--user", "grace"], "--to is required"),
            (["create", "--user", "grace", "--to", "s3:bucket"], "unknown sink"),
            (["create", "--user", "grace", "--to", "file:/tmp/{usr}.json"], "{usr}"),
            (["deactivate", "--older-than", "9d", "extra"], "unexpected argument 'extra'"),
        )
        for args, needle in cases:
            res = self.iamkeys(*args)
            self.assertRc(res, 2)
            self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])

    def test_help(self):
        for cmd, opts in (("deactivate", ("--older-than", "--unused", "--key", "--force",
                                          "--in-use-window", "--apply", "--exempt-tag")),
                          ("delete", ("--older-than", "--key", "--force", "--apply")),
                          ("update", ("--status", "--key", "--user", "--apply")),
                          ("create", ("--to", "--overwrite", "--max-age", "--apply"))):
            res = self.iamkeys(cmd, "--help")
            self.assertRc(res, 0)
            self.assertTrue(res.out.startswith("usage: iamkeys %s" % cmd), res.out)
            for o in opts:
                self.assertIn(o, res.out)
        res = self.iamkeys("--help")
        for cmd in ("deactivate", "create", "update", "delete"):
            self.assertIn("  %s " % cmd, res.out)


class CreateTest(ActionsBase):
    def create(self, user, to, *args, **kw):
        return self.iamkeys("create", "--user", user, "--to", to, *args, **kw)

    def new_key(self, name, before):
        new = set(self.keys(name)) - set(before)
        self.assertEqual(len(new), 1, self.keys(name))
        kid = new.pop()
        return kid, self.emu.secret_of(kid)

    def assertClean(self, *results):
        secrets = self.all_secrets()
        for r in results:
            self.assertNoSecrets(r, secrets)

    def assertWorksAndStays(self, res, user, kid, secret, to):
        """The new key kid (of the create res) signs in as user, and a second create to the
        sink to changes nothing: the sink already holds it."""
        self.assertEqual(self.whoami(kid, secret),
                         "arn:aws:iam::%s:user/%s" % (fixtures.ACCOUNT_ID, user))
        self.emu.reset_calls()
        res2 = self.create(user, to, "--apply")
        self.assertRc(res2, 0)
        self.assertIn("already holds %s" % kid, res2.out)
        self.assertNoMutation()
        self.assertClean(res, res2)

    def test_plan_only(self):
        path = os.path.join(self.tmp, "{user}.json")
        res = self.create("grace", "file:" + path)
        self.assertRc(res, 0)
        self.assertLines(res, ["create a new key for grace: secret to file:%s"
                               % os.path.join(self.tmp, "grace.json")])
        self.assertIn("plan only", res.err)
        self.assertNoMutation()
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "grace.json")))
        # ListUserTags: is a create mark of a run that died there to recover?
        self.assertEqual(self.emu.counters(), {"sts:GetCallerIdentity": 1,
                                               "iam:ListAccessKeys": 1,
                                               "iam:ListUserTags": 1})

    def test_file_sink_read_back_and_rerun(self):
        before = self.keys("grace")
        tmpl = os.path.join(self.tmp, "{account}-{user}.json")
        path = os.path.join(self.tmp, "%s-grace.json" % fixtures.ACCOUNT_ID)
        res = self.create("grace", "file:" + tmpl, "--apply", "--debug")
        self.assertRc(res, 0)
        kid, secret = self.new_key("grace", before)
        self.assertEqual(res.out, "created %s for grace: secret delivered to file:%s\n"
                         % (kid, path))
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(set(doc), {"AccessKeyId", "SecretAccessKey", "UserName", "CreateDate"})
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"], doc["UserName"]),
                         (kid, secret, "grace"))
        self.assertRegex(doc["CreateDate"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(self.keys("grace"), dict(before, **{kid: "Active"}))
        self.assertEqual(self.whoami(kid, doc["SecretAccessKey"]),
                         "arn:aws:iam::%s:user/grace" % fixtures.ACCOUNT_ID)
        c = self.emu.counters()
        self.assertEqual(c.get("iam:CreateAccessKey"), 1)
        self.assertNotIn("iam:DeleteAccessKey", c)
        # re-running: the file holds a current key of grace
        self.emu.reset_calls()
        res2 = self.create("grace", "file:" + tmpl, "--apply")
        self.assertRc(res2, 0)
        self.assertTrue(res2.out.startswith("nothing to do for grace: file:%s already holds %s"
                                            % (path, kid)), res2.out)
        self.assertNoMutation()
        self.assertClean(res, res2)

    def test_file_exists_is_refused_before_create(self):
        path = os.path.join(self.tmp, "grace.json")
        with open(path, "w") as f:
            f.write("keep me\n")
        res = self.create("grace", "file:" + path, "--apply")
        self.assertRc(res, 3)
        self.assertLines(res, ["skip creating a key for grace: file:%s: already exists (use "
                               "--overwrite to replace it)" % path])
        self.assertNoMutation()
        with open(path) as f:
            self.assertEqual(f.read(), "keep me\n")
        res = self.create("grace", "file:" + os.path.join(self.tmp, "no", "dir.json"),
                          "--apply")
        self.assertRc(res, 3)
        self.assertIn("does not exist", res.out)
        self.assertNoMutation()
        before = self.keys("grace")
        res = self.create("grace", "file:" + path, "--apply", "--overwrite")
        self.assertRc(res, 0)
        kid, secret = self.new_key("grace", before)
        with open(path) as f:
            self.assertEqual(json.load(f)["SecretAccessKey"], secret)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertClean(res)

    def test_two_keys_refused_before_create(self):
        res = self.create("ivan", "file:" + os.path.join(self.tmp, "ivan.json"), "--apply")
        self.assertRc(res, 3)
        # oldest first; the Inactive one is the one to delete
        self.assertRegex(res.out, (r"^skip creating a key for ivan: ivan already has 2 access "
                                   r"keys: %s \(Inactive, created \d{4}-\d\d-\d\d\), %s "
                                   r"\(Active, created \d{4}-\d\d-\d\d\); delete one first "
                                   r"\(iamkeys delete --user ivan --key %s\)\n$")
                         % (KID("ivan/2"), KID("ivan/1"), KID("ivan/2")))
        self.assertNoMutation()
        self.assertEqual(self.emu.counters(), {"sts:GetCallerIdentity": 1,
                                               "iam:ListAccessKeys": 1,
                                               "iam:ListUserTags": 1})

    def test_profile_sink_keeps_the_file_and_awscli_reads_it(self):
        path = os.path.join(self.tmp, "credentials")
        original = (
            "# shared credentials\n"
            "[default]\n"
            "aws_access_key_id = AKIAOTHER00000000000\n"
            "aws_secret_access_key = other/secret  ; inline comment\n"
            "\n"
            "; a comment between profiles\n"
            "[grace]\n"
            "aws_access_key_id=AKIAOLD0000000000000\n"
            "aws_secret_access_key=oldsecret\n"
            "aws_session_token=stale\n"
            "region = eu-west-1\n"
            "\n"
            "[zeta]   \n"
            "aws_access_key_id = AKIAZETA000000000000\n"
            "aws_secret_access_key = zeta\n")
        with open(path, "w") as f:
            f.write(original)
        os.chmod(path, 0o644)
        before = self.keys("grace")
        res = self.create("grace", "profile:{user}@" + path, "--apply")
        self.assertRc(res, 0)
        kid, secret = self.new_key("grace", before)
        self.assertLines(res, ["created %s for grace: secret delivered to profile:grace@%s"
                               % (kid, path)])
        with open(path) as f:
            edited = f.read()
        self.assertEqual(edited, original.replace("AKIAOLD0000000000000", kid)
                         .replace("=oldsecret", "=" + secret).replace("aws_session_token=stale\n",
                                                                      ""))
        # an existing file keeps its mode (a new one is 0600)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o644)
        with open(path + ".iamkeys.bak") as f:
            self.assertEqual(f.read(), original)
        # Debian's awscli authenticates with the new profile
        env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                           AWS_SHARED_CREDENTIALS_FILE=path,
                           AWS_CONFIG_FILE=os.path.join(self.tmp, "no-config"))
        r = self.emu.aws("sts", "get-caller-identity", "--profile", "grace", env=env)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json["Arn"], "arn:aws:iam::%s:user/grace" % fixtures.ACCOUNT_ID)
        # re-running: the profile holds a current key of grace
        self.emu.reset_calls()
        res2 = self.create("grace", "profile:grace@" + path, "--apply")
        self.assertRc(res2, 0)
        self.assertIn("nothing to do for grace: profile:grace@%s already holds %s"
                      % (path, kid), res2.out)
        self.assertNoMutation()
        self.assertClean(res, res2)

    def test_secretsmanager_sink(self):
        before = self.keys("heidi")
        res = self.create("heidi", "secretsmanager:iamkeys/{user}", "--apply")
        self.assertRc(res, 0)
        kid, secret = self.new_key("heidi", before)
        self.assertLines(res, ["created %s for heidi: secret delivered to "
                               "secretsmanager:iamkeys/heidi" % kid])
        r = self.emu.request("secretsmanager", target="secretsmanager.GetSecretValue",
                             json_body={"SecretId": "iamkeys/heidi"})
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.json()["SecretString"])
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"], doc["UserName"]),
                         (kid, secret, "heidi"))
        self.assertWorksAndStays(res, "heidi", kid, secret, "secretsmanager:iamkeys/{user}")

    def test_ssm_sink(self):
        before = self.keys("grace")
        res = self.create("grace", "ssm:/iamkeys/{user}", "--apply")
        self.assertRc(res, 0)
        kid, secret = self.new_key("grace", before)
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter",
                             json_body={"Name": "/iamkeys/grace", "WithDecryption": True})
        self.assertEqual(r.status, 200, r)
        p = r.json()["Parameter"]
        self.assertEqual(p["Type"], "SecureString")
        doc = json.loads(p["Value"])
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"]), (kid, secret))
        self.assertWorksAndStays(res, "grace", kid, secret, "ssm:/iamkeys/grace")

    def test_region_of_the_secret_stores(self):
        before = self.keys("grace")
        res = self.create("grace", "ssm:/iamkeys/{user}", "--apply", "--region", "eu-west-1")
        self.assertRc(res, 0)
        kid, secret = self.new_key("grace", before)
        body = {"Name": "/iamkeys/grace", "WithDecryption": True}
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter", json_body=body,
                             region="eu-west-1")
        self.assertEqual(json.loads(r.json()["Parameter"]["Value"])["AccessKeyId"], kid)
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter", json_body=body)
        self.assertEqual(r.error_code, "ParameterNotFound")
        put = [c for c in self.emu.calls() if c["action"] == "PutParameter"]
        self.assertEqual([c["region"] for c in put], ["eu-west-1"])

    def write_script(self, body):
        path = os.path.join(self.tmp, "deliver.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o700)
        return path

    def test_exec_sink(self):
        out = os.path.join(self.tmp, "stdin.json")
        envf = os.path.join(self.tmp, "env.txt")
        script = self.write_script('cat > "$1"\nenv > "$2"\necho delivered for $IAMKEYS_USER\n')
        before = self.keys("heidi")
        res = self.create("heidi", "exec:%s %s %s" % (script, out, envf), "--apply")
        self.assertRc(res, 0)
        kid, secret = self.new_key("heidi", before)
        self.assertLines(res, ["created %s for heidi: secret delivered to exec:%s %s %s"
                               % (kid, script, out, envf)])
        self.assertIn("delivered for heidi", res.err)  # the command's output goes to stderr
        with open(out) as f:
            doc = json.load(f)
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"], doc["UserName"]),
                         (kid, secret, "heidi"))
        with open(envf) as f:
            env = f.read()
        self.assertIn("IAMKEYS_USER=heidi\n", env)
        self.assertIn("IAMKEYS_ACCESS_KEY_ID=%s\n" % kid, env)
        self.assertIn("IAMKEYS_ACCOUNT=%s\n" % fixtures.ACCOUNT_ID, env)
        self.assertNotIn(secret, env)
        self.assertNotIn(fixtures.ADMIN_SECRET, env)
        self.assertEqual(self.whoami(kid, secret),
                         "arn:aws:iam::%s:user/heidi" % fixtures.ACCOUNT_ID)
        self.assertClean(res)

    def test_stdout_only_when_asked(self):
        before = self.keys("heidi")
        res = self.create("heidi", "-", "--apply")
        self.assertRc(res, 0)
        kid, secret = self.new_key("heidi", before)
        # standard output carries the secret document alone; the report is on stderr
        doc = json.loads(res.out)
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"]), (kid, secret))
        self.assertEqual(res.err.splitlines(), ["created %s for heidi: secret delivered to -"
                                                % kid])
        self.assertNotIn(secret, res.err)


class CreateFailureTest(ActionsBase):
    def create(self, user, to, *args, **kw):
        return self.iamkeys("create", "--user", user, "--to", to, *args, **kw)

    def test_failing_exec_deletes_the_new_key(self):
        script = os.path.join(self.tmp, "fail.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\ncat > /dev/null\nexit 1\n")
        os.chmod(script, 0o700)
        before = self.all_keys()
        res = self.create("grace", "exec:" + script, "--apply")
        self.assertRc(res, 1)
        line = res.out.splitlines()
        self.assertEqual(len(line), 1, res)
        self.assertRegex(line[0], r"^failed to create a key for grace: delivery failed: "
                                  r"exec:%s: exited with status 1; deleted the new key "
                                  r"(AKIA[A-Z0-9]{16}) \(its secret was not delivered\)$"
                         % script)
        self.assertEqual(self.all_keys(), before)
        muts = self.mutations()
        self.assertEqual([c["action"] for c in muts], ["CreateAccessKey", "DeleteAccessKey"])
        new_id = line[0].split("deleted the new key ")[1][:20]
        self.assertEqual(muts[1]["params"], {"UserName": "grace", "AccessKeyId": new_id})
        self.assertNoSecrets(res, self.all_secrets())

    def test_missing_command_refused_before_create(self):
        res = self.create("grace", "exec:/nonexistent/deliver --now", "--apply")
        self.assertRc(res, 3)
        self.assertIn("cannot run '/nonexistent/deliver'", res.out)
        self.assertNoMutation()

    def test_secretsmanager_access_denied_deletes_the_new_key(self):
        before = self.all_keys()
        env = self.emu.env(access_key_id=KID("operator"),
                           secret=fixtures.secret_for("operator"))
        res = self.create("grace", "secretsmanager:iamkeys/{user}", "--apply", env=env)
        self.assertRc(res, 1)
        self.assertIn("delivery failed: secretsmanager:iamkeys/grace: CreateSecret: "
                      "AccessDeniedException", res.out)
        self.assertIn("; deleted the new key AKIA", res.out)
        self.assertEqual(self.all_keys(), before)
        self.assertEqual([c["action"] for c in self.mutations()],
                         ["CreateAccessKey", "CreateSecret", "DeleteAccessKey"])
        self.assertNoSecrets(res, self.all_secrets())

    def create_with_lost_reply(self, kind, name):
        """create --apply for name with CreateAccessKey's reply lost (fault kind) after the
        key was made: it fails, says the lost key was deleted, and the keys are as before."""
        self.emu.fault(action="CreateAccessKey", kind=kind)
        before = self.all_keys()
        res = self.create(name, "file:" + os.path.join(self.tmp, name[0] + ".json"), "--apply")
        self.assertRc(res, 1)
        self.assertRegex(res.out, self.LOST_KEY_DELETED)
        self.assertEqual(self.all_keys(), before)
        return res

    def test_outcome_unknown_finds_and_deletes_the_key(self):
        # the key is created, then the reply is cut short
        res = self.create_with_lost_reply("truncate", "grace")
        self.assertIn("failed to create a key for grace: CreateAccessKey", res.out)
        self.assertLostKeyCalls(self.emu)
        self.assertIsNone(tag_of(self.live_user("grace"), "iamkeys:create"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "g.json")))

    def test_outcome_unknown_reset_after_the_key_was_made(self):
        # the key is created, then the connection is reset: never re-sent (libcurl would
        # silently re-send a request on a reused connection that died)
        res = self.create_with_lost_reply("reset", "heidi")
        self.assertIn("outcome unknown", res.out)
        self.assertEqual([c["action"] for c in self.mutations()],
                         ["CreateAccessKey", "DeleteAccessKey"])

    def test_outcome_unknown_without_a_new_key(self):
        # the connection is reset before the action is performed
        self.emu.fault(action="CreateAccessKey", kind="reset", before=True)
        before = self.all_keys()
        res = self.create("grace", "file:" + os.path.join(self.tmp, "g.json"), "--apply")
        self.assertRc(res, 1)
        self.assertIn("no new key was created (the keys of grace are unchanged)", res.out)
        self.assertEqual(self.all_keys(), before)
        acts = [c["action"] for c in self.mutations()]
        self.assertEqual(acts, ["CreateAccessKey"])
