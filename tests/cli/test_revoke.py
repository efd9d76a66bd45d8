"""iamkeys revoke against the emulator: an exposed key deactivated at once, its older
sessions denied and newer ones not, a replacement delivered to a sink, the key deleted;
a crash after every mutating call continued by a re-run without repeating a step; the
caller's own key refused; dry run; bad input."""
import json
import os
import signal
import tempfile

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

KID = fixtures.key_id
LEAK = key("revoke/alice", 30, last_used_days=1)
OTHER = key("revoke/bob", 40, last_used_days=2)
MUTATING = ("iam:TagUser", "iam:UntagUser", "iam:CreateAccessKey", "iam:UpdateAccessKey",
            "iam:DeleteAccessKey", "iam:PutUserPolicy", "iam:DeleteUserPolicy")
CLEAN = ["UpdateAccessKey", "TagUser", "PutUserPolicy", "TagUser", "CreateAccessKey",
         "TagUser", "DeleteAccessKey", "TagUser"]


def fixture():
    fx = fixtures.admin_fixture([
        {"name": "alice", "create_date": "-900d", "keys": [LEAK],
         "allow": ["ssm:*", "sts:*", "iam:GetUser"]},
        {"name": "bob", "create_date": "-900d", "keys": [OTHER]}])
    fx["accounts"][0]["parameters"] = [{"name": "p", "value": "v"}]
    return fx


def users_of(emu):
    return {u["name"]: u for u in emu.state()["accounts"][0]["users"]}


def policies_of(emu, name):
    for p in emu.state()["accounts"][0]["user_policies"]:
        if p["user"] == name:
            return p["inline_policies"]
    return {}


def revoked_tag(u):
    for t in u["tags"]:
        if t["Key"] == "iamkeys:revoked":
            return t["Value"]
    return None


class RevokeBase(CliTestCase, EmulatorTestCase):
    @classmethod
    def make_fixture(cls):
        return fixture()

    def setUp(self):
        self.emu.clear_faults()
        self.emu.set_clock(offset_seconds=0)
        self.emu.load(fixture())
        self.emu.reset_calls()
        self.dir = tempfile.mkdtemp()
        self.to = "file:%s/alice.json" % self.dir

    def revoke(self, *args, **env):
        return run(["revoke", "--user", "alice", "--key", LEAK["id"]] + list(args),
                   self.emu.env(**env))

    def mutating(self):
        return [c["action"] for c in self.emu.calls()
                if "%s:%s" % (c["service"], c["action"]) in MUTATING]

    def sink_doc(self):
        with open(os.path.join(self.dir, "alice.json")) as f:
            return json.load(f)

    def session(self, key_id, secret):
        sts = self.emu.client("sts", key_id, secret)
        c = sts.get_session_token(DurationSeconds=3600)["Credentials"]
        return self.emu.client("ssm", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


class RevokeTest(RevokeBase):
    def test_revoke_denies_older_sessions_and_replaces_the_key(self):
        old = self.session(LEAK["id"], LEAK["secret"])
        self.assertEqual(old.get_parameter(Name="p")["Parameter"]["Value"], "v")
        self.emu.advance_clock(2)
        self.emu.reset_calls()
        res = self.revoke("--replace", "--to", self.to, "--delete", "--apply")
        self.assertRc(res, 0)
        self.assertEqual([(c["service"], c["action"]) for c in self.emu.calls()], [
            ("sts", "GetCallerIdentity"), ("iam", "ListAccessKeys"), ("iam", "ListUserTags"),
            ("iam", "UpdateAccessKey"), ("iam", "TagUser"), ("iam", "ListUserPolicies"),
            ("iam", "PutUserPolicy"), ("iam", "TagUser"), ("iam", "ListAccessKeys"),
            ("iam", "CreateAccessKey"), ("sts", "GetCallerIdentity"), ("iam", "TagUser"),
            ("iam", "DeleteAccessKey"), ("iam", "TagUser")])
        lines = res.out.splitlines()
        self.assertEqual(lines[0].split(), ["STEP", "RESULT", "TIME", "DETAIL"])
        self.assertEqual([ln.split()[:2] for ln in lines[1:]],
                         [["deactivate", "done"], ["deny-sessions", "done"],
                          ["replace", "done"], ["delete", "done"]])
        doc = self.sink_doc()
        a = users_of(self.emu)["alice"]
        self.assertEqual([(k["id"], k["status"]) for k in a["keys"]], [(doc["AccessKeyId"],
                                                                         "Active")])
        self.assertEqual(doc["SecretAccessKey"], a["keys"][0]["secret"])
        self.assertNotIn(doc["SecretAccessKey"], res.out + res.err)
        pols = policies_of(self.emu, "alice")
        self.assertEqual(len(pols), 1)
        name, pol = next(iter(pols.items()))
        self.assertRegex(name, r"^iamkeys-revoke-\d{8}T\d{6}Z$")
        st = pol["Statement"][0]
        self.assertEqual((st["Effect"], st["Action"], st["Resource"]), ("Deny", "*", "*"))
        when = st["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        self.assertEqual(name, "iamkeys-revoke-" + when.replace("-", "").replace(":", ""))
        self.assertRegex(revoked_tag(a), r"^v=1 key=%s at=\d{8}T\d{6}Z "
                         r"done=deactivate\+deny\+replace\+delete policy=%s$"
                         % (LEAK["id"], name[len("iamkeys-revoke-"):]))
        # the session made before the revoke is denied; one made after works
        with self.assertRaises(old.exceptions.ClientError) as cm:
            old.get_parameter(Name="p")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.emu.advance_clock(2)
        new = self.session(doc["AccessKeyId"], doc["SecretAccessKey"])
        self.assertEqual(new.get_parameter(Name="p")["Parameter"]["Value"], "v")
        # bob untouched
        self.assertEqual(users_of(self.emu)["bob"]["keys"][0]["status"], "Active")
        self.assertEqual(policies_of(self.emu, "bob"), {})
        # a repeated run changes nothing and says so
        self.emu.reset_calls()
        res = self.revoke("--replace", "--to", self.to, "--delete", "--apply", "-o", "json")
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), [])
        rec = json.loads(res.out)
        self.assertEqual(rec["Outcome"], "done")
        self.assertEqual(rec["DenyPolicy"], name)
        self.assertEqual([(s["Step"], s["Result"]) for s in rec["Steps"]],
                         [("deactivate", "already-done"), ("deny-sessions", "already-done"),
                          ("replace", "already-done"), ("delete", "already-done")])

    def test_dry_run_changes_nothing(self):
        def state():
            acc = self.emu.state()["accounts"][0]
            return ([u for u in acc["users"] if u["name"] != "admin"], acc["user_policies"])
        before = state()
        res = self.revoke("--replace", "--to", self.to, "--delete", "-o", "json")
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), [])
        self.assertEqual(state(), before)
        self.assertEqual(os.listdir(self.dir), [])
        rec = json.loads(res.out)
        self.assertEqual(rec["Outcome"], "planned")
        self.assertFalse(rec["Apply"])
        self.assertEqual([(s["Step"], s["Result"]) for s in rec["Steps"]],
                         [("deactivate", "planned"), ("deny-sessions", "planned"),
                          ("replace", "planned"), ("delete", "planned")])
        self.assertIn("plan only, nothing was changed", res.err)

    def test_own_key_refused(self):
        res = run(["revoke", "--user", "admin", "--key", fixtures.ADMIN_KEY_ID, "--apply"],
                  self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(self.mutating(), [])
        self.assertIn("is the key iamkeys runs with: revoke it from another principal",
                      res.out)
        self.assertEqual(users_of(self.emu)["admin"]["keys"][0]["status"], "Active")

    def test_profile_sink(self):
        creds = os.path.join(self.dir, "credentials")
        with open(creds, "w") as f:
            f.write("[alice]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (LEAK["id"], LEAK["secret"]))
        os.chmod(creds, 0o600)
        res = self.revoke("--replace", "--to", "profile:alice@" + creds, "--apply")
        self.assertRc(res, 0)
        a = users_of(self.emu)["alice"]
        new = [k for k in a["keys"] if k["id"] != LEAK["id"]][0]
        with open(creds) as f:
            text = f.read()
        self.assertIn("aws_access_key_id = %s\n" % new["id"], text)
        self.assertIn("aws_secret_access_key = %s\n" % new["secret"], text)
        self.assertNotIn(LEAK["id"], text)
        self.assertEqual({k["id"]: k["status"] for k in a["keys"]},
                         {LEAK["id"]: "Inactive", new["id"]: "Active"})

    def test_replace_refused_for_a_user_with_two_keys(self):
        fx = fixture()
        fx["accounts"][0]["users"][1]["keys"].append(key("revoke/alice2", 3))
        self.emu.load(fx)
        self.emu.reset_calls()
        res = self.revoke("--replace", "--to", self.to, "--delete", "--apply")
        self.assertRc(res, 3)
        self.assertEqual(self.mutating(), ["UpdateAccessKey", "TagUser", "PutUserPolicy",
                                           "TagUser"])
        self.assertIn("delete", res.out)
        self.assertIn("kept: step replace is not done", res.out)

    def test_cleanup_after(self):
        self.assertRc(self.revoke("--apply"), 0)
        name = next(iter(policies_of(self.emu, "alice")))
        self.emu.reset_calls()
        res = self.revoke("--cleanup-after", "36h", "--apply")
        self.assertRc(res, 3)
        self.assertEqual(self.mutating(), [])
        self.assertIn("%s stays until" % name, res.out)
        self.emu.advance_clock(36 * 3600 + 5)
        self.emu.reset_calls()
        res = self.revoke("--cleanup-after", "36h", "--apply")
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), ["DeleteUserPolicy"])
        self.assertIn("removed %s" % name, res.out)
        self.assertEqual(policies_of(self.emu, "alice"), {})

    def test_bad_input_one_line_exit_2(self):
        cases = [
            (["revoke", "--key", LEAK["id"]], "--user is required"),
            (["revoke", "--user", "alice"], "--key is required"),
            (["revoke", "--user", "alice", "--key", "nope"], "invalid --key 'nope'"),
            (["revoke", "--user", "alice", "--key", "ASIA" + LEAK["id"][4:]],
             "session credentials cannot be deactivated"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--replace"],
             "--replace needs --to"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--to", self.to],
             "--to is for --replace"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--replace", "--to", "-"],
             "--to -"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--replace", "--to", "ftp:x"],
             "invalid --to"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--cleanup-after", "soon"],
             "soon"),
        ]
        for args, needle in cases:
            res = run(args, self.emu.env())
            self.assertRc(res, 2)
            self.assertEqual(len(res.err.splitlines()[:1]), 1, repr(res))
            self.assertIn(needle, res.err.splitlines()[0], repr(res))
            self.assertNotIn("\n", res.err.splitlines()[0])
        self.assertEqual(self.emu.calls(), [])

    def test_unknown_key_or_user_is_an_error(self):
        res = run(["revoke", "--user", "bob", "--key", LEAK["id"], "--apply"], self.emu.env())
        self.assertRc(res, 1)
        self.assertOneLineError(res, "user bob has no access key %s" % LEAK["id"])
        res = run(["revoke", "--user", "nobody", "--key", LEAK["id"], "--apply"],
                  self.emu.env())
        self.assertRc(res, 1)
        self.assertOneLineError(res, "there is no user nobody")
        self.assertEqual(self.mutating(), [])


class RevokeCrashTest(RevokeBase):
    def test_crash_after_each_mutating_call_then_rerun(self):
        self.assertRc(self.revoke("--replace", "--to", self.to, "--delete", "--apply"), 0)
        self.assertEqual(self.mutating(), CLEAN)
        for k in range(1, len(CLEAN) + 1):
            self.emu.set_clock(offset_seconds=0)
            self.emu.load(fixture())
            for f in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, f))
            self.emu.reset_calls()
            res = self.revoke("--replace", "--to", self.to, "--delete", "--apply",
                              IAMKEYS_TEST_CRASH_AFTER=str(k))
            self.assertEqual(res.rc, -signal.SIGKILL, "k=%d %r" % (k, res))
            self.assertEqual(self.mutating(), CLEAN[:k], "k=%d" % k)
            self.emu.advance_clock(2)
            self.emu.reset_calls()
            res = self.revoke("--replace", "--to", self.to, "--delete", "--apply")
            self.assertRc(res, 0)
            # CreateAccessKey killed before delivery: that key's secret is lost, so it is
            # deleted and made again; every other step is done once
            want = (["DeleteAccessKey"] + CLEAN[4:]) if k == 5 else CLEAN[k:]
            self.assertEqual(self.mutating(), want, "k=%d %s" % (k, res.out))
            a = users_of(self.emu)["alice"]
            doc = self.sink_doc()
            self.assertEqual([(x["id"], x["status"]) for x in a["keys"]],
                             [(doc["AccessKeyId"], "Active")], "k=%d" % k)
            self.assertEqual(len(policies_of(self.emu, "alice")), 1, "k=%d" % k)
            self.assertIn("done=deactivate+deny+replace+delete", revoked_tag(a))
