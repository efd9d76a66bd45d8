"""iamkeys policy, proven against the emulator's per-principal allow-lists.

For every command (and the secretsmanager:/ssm: sinks, and --org) the scenarios below
run as a principal allowed exactly the actions `iamkeys policy` prints: they must
succeed, and together they must call every printed action (so the table lists nothing
the code does not call, and the code calls nothing the table does not list: that call
would be denied). Then, for each printed action, a scenario that calls it runs again
without it: it fails with AccessDenied, or, for the actions the table marks optional,
succeeds the way the README says (the credential report falls back to the API source,
GetAccountAuthorizationDetails to per-user reads)."""
import json
import os
import shutil
import tempfile

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import shared_emulator

ACCOUNT = fixtures.ACCOUNT_ID
OPERATOR = "operator"
OPERATOR_KEY = "AKIAOPERATOR00000001"
OPERATOR_SECRET = "operator/secret/0000000000000000000000001"[:40]
S = "policy/"


def kid(name):
    return fixtures.key_id(S + name)


def users():
    k = fixtures.key
    return [
        {"name": OPERATOR, "path": "/", "allow": [], "create_date": "-500d",
         "keys": [{"id": OPERATOR_KEY, "secret": OPERATOR_SECRET, "status": "Active",
                   "create_date": "-10d",
                   "last_used": {"date": "-1h", "service": "iam", "region": "us-east-1"}}]},
        # two active keys: the old one can go, the user keeps the other
        {"name": "twokeys", "keys": [k(S + "twokeys/1", 200, last_used_days=100),
                                     k(S + "twokeys/2", 10, last_used_days=1)]},
        {"name": "stale", "keys": [k(S + "stale", 300, status="Inactive")]},
        {"name": "due", "keys": [k(S + "due", 120, last_used_days=200)]},
        {"name": "grouped", "groups": ["Developers"], "keys": [k(S + "grouped", 150)]},
        {"name": "tagged", "tags": {"iamkeys:exempt": "true"}, "keys": [k(S + "tagged", 150)]},
        {"name": "young", "keys": [k(S + "young", 5, last_used_days=1)]},
    ]


# the sink fails after CreateAccessKey: the new key is deleted again
FAILED_DELIVERY = [("op", ["create", "--user", "young", "--to", "exec:/bin/false", "--apply"], 1),
                   ("keys", "young", 1)]


def fixture():
    return fixtures.admin_fixture(extra_users=users())


def org_fixture():
    fx = fixtures.organization(3, 2)
    fx["accounts"][0]["users"].append(users()[0])
    return fx


class PolicyTestCase(CliTestCase):
    fixture_fn = staticmethod(fixture)
    name = "policy"

    @classmethod
    def setUpClass(cls):
        cls.emu = shared_emulator(cls.name, cls.fixture_fn())
        cls.tmp = tempfile.mkdtemp(prefix="iamkeys-policy-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def reset(self, allow):
        self.emu.clear_faults()
        self.emu.set_clock(0)
        fx = self.fixture_fn()
        for a in fx["accounts"]:
            for u in a["users"]:
                if u["name"] == OPERATOR:
                    u["allow"] = sorted(allow)
        self.emu.load(fx)
        self.emu.reset_calls()
        for f in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, f))

    def policy(self, *args):
        res = run(["policy"] + list(args), env=self.emu.env())
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(doc["Version"], "2012-10-17")
        actions = set()
        for s in doc["Statement"]:
            self.assertEqual(s["Effect"], "Allow")
            self.assertEqual(s["Action"], sorted(s["Action"]))
            actions |= set(s["Action"])
        return actions, doc

    def as_operator(self, args):
        env = self.emu.env(access_key_id=OPERATOR_KEY, secret=OPERATOR_SECRET)
        return run([a.replace("{tmp}", self.tmp) for a in args], env=env)

    def as_admin(self, args):
        return run([a.replace("{tmp}", self.tmp) for a in args], env=self.emu.env())

    def play(self, steps):
        """Runs the steps: ("op", args, rc) as the operator, ("admin", args) as the
        admin, ("advance", seconds). Returns (last operator result, rc ok?, actions the
        operator called)."""
        ok, last = True, None
        for st in steps:
            if st[0] == "advance":
                self.emu.advance_clock(st[1])
                self.emu.propagate_keys()
            elif st[0] == "keys":
                n = len(self.emu.iam("ListAccessKeys", UserName=st[1]).findall("AccessKeyId"))
                if n != st[2]:
                    ok = False
                    break
            elif st[0] == "admin":
                r = self.as_admin(st[1])
                self.assertIn(r.rc, (0, 3), repr(r))
                self.emu.propagate_keys()
            else:
                last = self.as_operator(st[1])
                self.emu.propagate_keys()
                if last.rc != st[2]:
                    ok = False
                    break
        called = set("%s:%s" % (c["service"], c["action"]) for c in self.emu.calls()
                     if c["access_key_id"] == OPERATOR_KEY)
        called.discard("sts:GetCallerIdentity")
        return last, ok, called

    def check(self, policy_args, scenarios, fallback=(), fallback_check=None, only_after=None):
        """scenarios: lists of steps (see play). fallback: the optional actions.
        only_after: {action: optional action} for the actions called only when the
        optional one is denied (ListGroupsForUser below 1,000 users, for instance):
        they are taken away together with it."""
        actions, _ = self.policy(*policy_args)
        only_after = only_after or {}
        # the actions the table (and so the README) calls optional are exactly these
        dump = json.loads(run(["--dump-options"], env=self.emu.env()).out)
        scopes = {policy_args[0], "org"} | set("sink:" + a.split(":")[0] for a in policy_args
                                                if ":" in a)
        if "--trace" in policy_args:
            scopes.add("cloudtrail")
        optional = set(p["action"] for p in dump["permissions"]
                       if p["fallback"] and p["scope"] in scopes) & actions
        self.assertEqual(optional, set(fallback))
        used = {}
        for i, steps in enumerate(scenarios):
            self.reset(actions)
            last, ok, called = self.play(steps)
            self.assertTrue(ok, "scenario %d with exactly the policy: %r" % (i, last))
            self.assertLessEqual(called, actions)
            for a in called:
                used.setdefault(a, i)
        for action, first in only_after.items():
            self.assertNotIn(action, used)
            self.reset(actions - {first})
            last, ok, called = self.play(scenarios[used[first]])
            self.assertTrue(ok, "without %s: %r" % (first, last))
            self.assertIn(action, called)
            used[action] = used[first]
        self.assertEqual(set(used), actions, "printed but never called: %s" %
                         sorted(actions - set(used)))
        for action in sorted(actions):
            with self.subTest(without=action):
                denied = {action} | ({only_after[action]} if action in only_after else set())
                self.reset(actions - denied)
                last, ok, called = self.play(scenarios[used[action]])
                if action in fallback:
                    self.assertTrue(ok, "without optional %s: %r" % (action, last))
                    if fallback_check:
                        fallback_check(action, last, called)
                else:
                    self.assertFalse(ok, "still succeeds without %s" % action)
                    self.assertIn("AccessDenied", last.out + last.err)
                    self.assertIn(action.split(":")[1], last.out + last.err)


class Commands(PolicyTestCase):
    test_cost = 33  # seconds, roughly: tests/run.py starts the slow classes first

    def test_users(self):
        self.check(["users"], [[("op", ["users"], 0)]])

    def test_audit(self):
        def fell_back(action, res, called):
            if action in ("iam:GenerateCredentialReport", "iam:GetCredentialReport"):
                self.assertIn("warning", res.err)
                self.assertIn("iam:ListUsers", called)
            else:  # GetAccountAuthorizationDetails: per-user reads
                self.assertIn("iam:ListUserTags", called)
                self.assertIn("iam:ListGroupsForUser", called)
            # the exemptions still come out right
            self.assertRegex(res.out, r"\ntagged .* tag iamkeys:exempt=true ")
            self.assertRegex(res.out, r"\ngrouped .* group Developers ")
            self.assertRegex(res.out, r"\ndue .* no +old,unused\n")
        f = ["--fail-on", "none"]
        self.check(["audit"], [
            [("op", ["audit", "--exempt-group", "Developers"] + f, 0)],
            [("op", ["audit", "--source", "api"] + f, 0)],
            [("op", ["audit", "--user", "due"] + f, 0)],
        ], fallback={"iam:GenerateCredentialReport", "iam:GetCredentialReport",
                     "iam:GetAccountAuthorizationDetails"}, fallback_check=fell_back,
           only_after={"iam:ListGroupsForUser": "iam:GetAccountAuthorizationDetails"})

    def test_audit_trace(self):
        """audit --trace: the keys with a finding traced in every enabled region; both
        CloudTrail calls optional (a warning each when denied)."""
        f = ["--fail-on", "none", "--trace"]

        def fell_back(action, last, called):
            if action.startswith(("cloudtrail:", "ec2:")):
                self.assertIn("warning: %s is denied" % action, last.err)
        self.check(["audit", "--trace"], [
            [("op", ["audit", "--user", "due"] + f, 0)],
            [("op", ["audit", "--source", "api", "--exempt-group", "Developers"] + f, 0)],
            [("op", ["audit"] + f, 0)],
        ], fallback={"iam:GenerateCredentialReport", "iam:GetCredentialReport",
                     "iam:GetAccountAuthorizationDetails", "cloudtrail:LookupEvents",
                     "ec2:DescribeRegions"}, fallback_check=fell_back,
           only_after={"iam:ListGroupsForUser": "iam:GetAccountAuthorizationDetails"})

    def test_deactivate(self):
        sel = ["--exclude", "due", "--exclude", "grouped", "--exempt-group", "Developers"]
        self.check(["deactivate"], [
            [("op", ["deactivate", "--user", "twokeys", "--key", kid("twokeys/1"), "--apply"], 0)],
            [("op", ["deactivate", "--older-than", "90d", "--apply"] + sel, 0)],
            [("op", ["deactivate", "--user", "twokeys", "--older-than", "90d", "--apply"], 0)],
        ], fallback={"iam:GetAccountAuthorizationDetails"},
           only_after={"iam:ListGroupsForUser": "iam:GetAccountAuthorizationDetails"})

    def test_trace(self):
        self.check(["trace"], [
            [("op", ["trace", "--key", kid("twokeys/1")], 0)],
            [("op", ["trace", "--user", "twokeys"], 0)],
        ], fallback={"ec2:DescribeRegions"})

    def test_update(self):
        self.check(["update"], [
            [("op", ["update", "--user", "twokeys", "--key", kid("twokeys/1"), "--status",
                     "Inactive", "--apply"], 0)],
            [("op", ["update", "--user", "stale", "--key", kid("stale"), "--status", "Active",
                     "--apply"], 0)],
        ])

    def test_delete(self):
        self.check(["delete"], [
            [("op", ["delete", "--user", "stale", "--key", kid("stale"), "--apply"], 0)],
            [("op", ["delete", "--older-than", "30d", "--exempt-group", "Developers",
                     "--apply"], 0)],
            [("op", ["delete", "--user", "stale", "--older-than", "30d", "--apply"], 0)],
        ], fallback={"iam:GetAccountAuthorizationDetails"},
           only_after={"iam:ListGroupsForUser": "iam:GetAccountAuthorizationDetails"})

    def test_create(self):
        self.check(["create"], [
            [("op", ["create", "--user", "young", "--to", "file:{tmp}/{user}.json",
                     "--apply"], 0)],
            FAILED_DELIVERY,
        ])

    def test_revoke(self):
        self.check(["revoke"], [
            [("op", ["revoke", "--user", "young", "--key", kid("young"), "--replace", "--to",
                     "file:{tmp}/{user}.json", "--delete", "--apply"], 0),
             ("keys", "young", 1),
             ("advance", 40 * 3600),
             ("op", ["revoke", "--user", "young", "--key", kid("young"), "--cleanup-after",
                     "36h", "--apply"], 0)],
        ], fallback={"cloudtrail:LookupEvents", "ec2:DescribeRegions"},
           fallback_check=self.revoke_fallback)

    def revoke_fallback(self, action, res, called):
        if action == "cloudtrail:LookupEvents":
            self.assertIn("warning: cloudtrail:LookupEvents is denied: no timeline", res.err)
        else:  # the partition's regions instead of the enabled ones, with a warning
            self.assertIn("ec2:DescribeRegions", res.err)
            self.assertIn("cloudtrail:LookupEvents", called)

    def test_create_secretsmanager(self):
        self.check(["create", "--to", "secretsmanager:iamkeys/{user}"], [
            [("op", ["create", "--user", "young", "--to", "secretsmanager:iamkeys/{user}",
                     "--apply"], 0), ("keys", "young", 2)],
            [("admin", ["create", "--user", "due", "--to", "secretsmanager:iamkeys/{user}",
                        "--max-age", "0", "--apply"]),
             ("admin", ["delete", "--user", "due", "--key", kid("due"), "--force", "--apply"]),
             ("op", ["create", "--user", "due", "--to", "secretsmanager:iamkeys/{user}",
                     "--max-age", "0", "--apply"], 0)],
            FAILED_DELIVERY,
        ], fallback={"secretsmanager:GetSecretValue"})

    def test_create_ssm(self):
        self.check(["create", "--to", "ssm:/iamkeys/{user}"], [
            [("op", ["create", "--user", "young", "--to", "ssm:/iamkeys/{user}", "--apply"], 0)],
            FAILED_DELIVERY,
        ], fallback={"ssm:GetParameter"})

    def rotation(self, who):
        """A whole rotation of 'due' over three runs, as who, to a file sink."""
        to = ["--to", "file:{tmp}/{user}.json"]
        return [(who, ["rotate", "--user", "due", "--apply"] + to, 0), ("advance", 8 * 86400),
                (who, ["rotate", "--user", "due", "--apply"] + to, 0), ("advance", 8 * 86400),
                (who, ["rotate", "--user", "due", "--apply"] + to, 0)]

    def test_rotate(self):
        """The trace gate is on by default: rotate's policy has LookupEvents and (for
        --trace-regions all) DescribeRegions, both optional (a warning each when denied)."""
        gate = ["--trace-regions", "all"]

        def fell_back(action, last, called):
            self.assertIn("warning: %s is denied" % action, last.err)
        self.check(["rotate"], [
            # up to the deactivation, the step the gate guards (it ends the scenario, so
            # that its warning is the last run's)
            [(s[0], s[1] + gate, s[2]) if s[0] == "op" else s
             for s in self.rotation("op")[:3]],
            self.rotation("op"),
            [("op", ["rotate", "--exclude", "twokeys", "--to", "file:{tmp}/{user}.json"], 0)],
            [("op", ["rotate", "--user", "grouped", "--to", "file:{tmp}/{user}.json",
                     "--exempt-group", "Developers", "--apply"], 0)],
        ], fallback={"cloudtrail:LookupEvents", "ec2:DescribeRegions"},
           fallback_check=fell_back)

    def test_rotate_trace(self):
        """policy rotate --trace adds nothing: rotate's policy has the trace gate's calls."""
        self.assertEqual(self.policy("rotate", "--trace")[1], self.policy("rotate")[1])

    def test_rollback(self):
        to = ["--to", "file:{tmp}/{user}.json"]
        steps = [s if s[0] != "op" else ("admin", s[1]) for s in self.rotation("op")[:3]]
        self.check(["rollback"], [steps + [("op", ["rollback", "--user", "due", "--apply"], 0)]])


class Org(PolicyTestCase):
    fixture_fn = staticmethod(org_fixture)
    name = "policy-org"

    def test_users_org(self):
        self.check(["users", "--org"], [[("op", ["users", "--org"], 0)]])


def root_fixture():
    fx = fixtures.root_access_organization()
    fx["accounts"][0]["users"].append(users()[0])
    return fx


class RootPolicy(PolicyTestCase):
    """delete --root calls AssumeRoot and ListOrganizationsFeatures (ListAccounts with
    --org) and nothing else with the caller's credentials: the root sessions' calls are
    allowed by the task policies."""
    fixture_fn = staticmethod(root_fixture)
    name = "policy-root"

    def test_delete_root(self):
        accounts = ",".join(fixtures.member_account_id(i) for i in (2, 5))
        self.check(["delete", "--root", "--org"], [
            [("op", ["delete", "--root", "--accounts", accounts, "--apply"], 0)],
            [("op", ["delete", "--root", "--org"], 4)]])


class Output(CliTestCase):
    def test_document_with_a_sink(self):
        res = run(["policy", "create", "--to", "secretsmanager:iamkeys/{account}/{user}"],
                  env=dict(os.environ))
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out), {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow",
                 "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
                            "iam:ListUserTags", "iam:TagUser", "iam:UntagUser"],
                 "Resource": "arn:aws:iam::*:user/*"},
                {"Effect": "Allow",
                 "Action": ["secretsmanager:CreateSecret", "secretsmanager:GetSecretValue",
                            "secretsmanager:PutSecretValue"],
                 "Resource": "arn:aws:secretsmanager:*:*:secret:iamkeys/*/*-??????"}]})

    def test_secret_given_by_arn(self):
        arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys/{user}-AbCdEf"
        res = run(["policy", "create", "--to", "secretsmanager:" + arn], env=dict(os.environ))
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out)["Statement"][1], {
            "Effect": "Allow",
            "Action": ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
                       "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
            "Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys/*-AbCdEf"})

    def test_ssm_parameter_arn_and_org(self):
        res = run(["policy", "rotate", "--to", "ssm:app/{user}", "--org"], env=dict(os.environ))
        self.assertRc(res, 0)
        by_resource = {s["Resource"]: s["Action"] for s in json.loads(res.out)["Statement"]}
        self.assertEqual(by_resource["arn:aws:ssm:*:*:parameter/app/*"],
                         ["ssm:GetParameter", "ssm:PutParameter"])
        self.assertEqual(by_resource["arn:aws:iam::*:role/OrganizationAccountAccessRole"],
                         ["sts:AssumeRole"])
        self.assertEqual(by_resource["*"], ["cloudtrail:LookupEvents", "ec2:DescribeRegions",
                                            "iam:ListUsers", "organizations:ListAccounts"])

    def test_a_local_sink_adds_nothing(self):
        a = run(["policy", "create"], env=dict(os.environ))
        b = run(["policy", "create", "--to", "file:/tmp/{user}.json"], env=dict(os.environ))
        self.assertRc(b, 0)
        self.assertEqual(a.out, b.out)

    def test_every_command(self):
        res = run(["policy"], env=dict(os.environ))
        self.assertRc(res, 0)
        actions = set(a for s in json.loads(res.out)["Statement"] for a in s["Action"])
        self.assertIn("iam:GenerateCredentialReport", actions)
        self.assertIn("iam:UntagUser", actions)
        self.assertNotIn("organizations:ListAccounts", actions)
        self.assertFalse(any(a.startswith("secretsmanager:") for a in actions))

    def test_bad_input(self):
        for args, needle in ((["bogus"], "unknown command 'bogus'"),
                             (["users", "--to", "file:x"], "'users' takes no sink"),
                             (["create", "--to", "nope"], "unknown sink 'nope'"),
                             (["create", "--to", "ssm:"], "ssm:: empty target"),
                             (["audit", "rotate"], "unexpected argument 'rotate'")):
            res = run(["policy"] + args, env=dict(os.environ))
            self.assertRc(res, 2)
            self.assertEqual(res.out, "")
            self.assertOneLineError(res, needle)

    def test_every_command_that_calls_aws_is_in_the_table(self):
        dump = json.loads(run(["--dump-options"], env=dict(os.environ)).out)
        scopes = set(p["scope"] for p in dump["permissions"])
        for c in dump["commands"]:
            if "needs-creds" in c["flags"]:
                self.assertIn(c["name"], scopes)
                # and this file proves its policy
                self.assertTrue(hasattr(Commands, "test_" + c["name"]), c["name"])
