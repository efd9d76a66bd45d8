"""delete --root: root access keys of member accounts through centralized root access
(AssumeRoot with the audit task policy to read, the delete task policy to act), the
preconditions (one line each), one line per account, exit 4 when some accounts fail, and
the usage errors that change nothing."""
import copy
import json

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.fixtures import key, key_id, member_account_id as M
from tests.emulator.harness import EmulatorTestCase

MGMT = fixtures.ACCOUNT_ID
NOW = "2026-06-01T12:00:00Z"
AUDIT = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
DELETE = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
K1, K2, K4, K5 = (key_id("root-%d" % i) for i in (1, 2, 4, 5))
MEMBERS = [M(i) for i in range(1, 6)]

SKIPPED = ("%s: skipped: the caller's own account (AssumeRoot reaches the other accounts; its "
           "root keys are in its credential report)" % MGMT)
BLOCKED_1 = ("%s: blocked %s (Active, last used 7 hours ago (iam)): used 7 hours ago, within "
             "--in-use-window 24h (use --force to override)" % (M(1), K1))
DENIED_4 = ("iamkeys: error: account %s: AssumeRoot (IAMAuditRootUserCredentials): "
            "AccessDenied: User: arn:aws:iam::%s:user/admin is not authorized to perform: "
            "sts:AssumeRoot on resource: arn:aws:iam::%s:root (request id " % (M(4), MGMT, M(4)))


def per_account_calls(calls):
    """{account: [(action, detail)]}: AssumeRoot by its target (detail: the task policy),
    IAM calls by the account they ran in (detail: the key id, and the status set)."""
    out = {}
    for c in calls:
        p = c.get("params") or {}
        if c["action"] == "AssumeRoot":
            out.setdefault(p.get("TargetPrincipal"), []).append(
                ("AssumeRoot", p.get("TaskPolicyArn.arn").rsplit("/", 1)[1], c["http_status"]))
        elif c["service"] == "iam" and c["account"] != MGMT:
            detail = p.get("AccessKeyId")
            if "Status" in p:
                detail += " " + p["Status"]
            out.setdefault(c["account"], []).append((c["action"], detail, c["http_status"]))
    return out


def root_keys(state):
    return {a["id"]: [(k["id"], k["status"]) for k in a["root"]["keys"]]
            for a in state["accounts"]}


READS = {
    M(1): [("AssumeRoot", "IAMAuditRootUserCredentials", 200), ("ListAccessKeys", None, 200),
           ("GetAccessKeyLastUsed", K1, 200)],
    M(2): [("AssumeRoot", "IAMAuditRootUserCredentials", 200), ("ListAccessKeys", None, 200),
           ("GetAccessKeyLastUsed", K2, 200)],
    M(3): [("AssumeRoot", "IAMAuditRootUserCredentials", 200), ("ListAccessKeys", None, 200)],
    M(4): [("AssumeRoot", "IAMAuditRootUserCredentials", 403)],
    M(5): [("AssumeRoot", "IAMAuditRootUserCredentials", 200), ("ListAccessKeys", None, 200),
           ("GetAccessKeyLastUsed", K5, 200)],
}


class RootEmulatorCase(CliTestCase, EmulatorTestCase):
    fixture = staticmethod(fixtures.root_access_organization)

    @classmethod
    def make_fixture(cls):
        return cls.fixture()

    def setUp(self):
        self.load(self.fixture())

    def load(self, fx):
        self.emu.set_clock(now=NOW)
        self.emu.load(fx)
        self.emu.advance_clock(6 * 3600)  # AWS's time: 6 hours after the fixture's dates
        self.emu.reset_calls()

    def delete_root(self, args, rc, lines, **env):
        """Runs iamkeys delete --root ARGS (the emulator's env(**ENV)): it exits RC with LINES
        on stdout; returns the run."""
        res = run(["delete", "--root"] + args, self.emu.env(**env))
        self.assertRc(res, rc)
        self.assertEqual(res.out.splitlines(), lines)
        return res

    def assertNoSessionSecrets(self, res):
        secrets = [s["secret"] for s in self.emu.state()["sessions"]]
        secrets += [s["token"] for s in self.emu.state()["sessions"]]
        self.assertTrue(secrets)
        self.assertNoSecrets(res, secrets)


class RootDeleteTest(RootEmulatorCase):
    """Members: 1 a root key in use, 2 an idle one, 3 none, 4 AssumeRoot denied, 5 an
    Inactive never-used one; the management account is the caller's."""

    def test_plan_changes_nothing(self):
        before = root_keys(self.emu.state())
        res = self.delete_root(["--org"], 4, [
            SKIPPED,
            BLOCKED_1,
            "%s: would deactivate and delete %s (Active, last used 200 days ago (iam))"
            % (M(2), K2),
            "%s: no root access key" % M(3),
            "%s: would delete %s (Inactive, never used)" % (M(5), K5),
            "5 accounts (1 failed)"])
        err = res.err.splitlines()
        self.assertEqual(len(err), 2, repr(res))
        self.assertTrue(err[0].startswith(DENIED_4), repr(res))
        self.assertEqual(err[1], "iamkeys: plan only, nothing was changed: run again with "
                                 "--apply to make these 2 changes")
        calls = self.emu.calls()
        self.assertEqual(per_account_calls(calls), READS)
        self.assertEqual([c["action"] for c in calls if c["account"] == MGMT and
                          c["action"] != "AssumeRoot"],
                         ["GetCallerIdentity", "ListOrganizationsFeatures", "ListAccounts"])
        self.assertEqual(root_keys(self.emu.state()), before)
        self.assertNoSessionSecrets(res)

    def test_apply_deactivates_then_deletes(self):
        before = root_keys(self.emu.state())
        res = self.delete_root(["--org", "--apply"], 4, [
            SKIPPED,
            BLOCKED_1,
            "%s: deleted %s (last used 200 days ago (iam))" % (M(2), K2),
            "%s: no root access key" % M(3),
            "%s: deleted %s (never used)" % (M(5), K5),
            "5 accounts (1 failed)"])
        self.assertEqual(len(res.err.splitlines()), 1, repr(res))
        self.assertTrue(res.err.startswith(DENIED_4), repr(res))
        want = copy.deepcopy(READS)
        want[M(2)] += [("AssumeRoot", "IAMDeleteRootUserCredentials", 200),
                       ("UpdateAccessKey", K2 + " Inactive", 200),
                       ("DeleteAccessKey", K2, 200)]
        want[M(5)] += [("AssumeRoot", "IAMDeleteRootUserCredentials", 200),
                       ("DeleteAccessKey", K5, 200)]
        self.assertEqual(per_account_calls(self.emu.calls()), want)
        after = root_keys(self.emu.state())
        before[M(2)] = []
        before[M(5)] = []
        self.assertEqual(after, before)
        self.assertEqual(after[M(1)], [(K1, "Active")])
        self.assertEqual(after[M(4)], [(K4, "Active")])
        self.assertNoSessionSecrets(res)

        # again: nothing left but the key in use
        self.emu.reset_calls()
        # rc 3: a key was refused by the guard
        res = self.delete_root(["--accounts", ",".join([M(1), M(2), M(3)]), "--apply"], 3, [
            BLOCKED_1, "%s: no root access key" % M(2), "%s: no root access key" % M(3),
            "3 accounts"])
        self.assertEqual(res.err, "")
        self.assertFalse([c for c in self.emu.calls() if c["action"] in
                          ("UpdateAccessKey", "DeleteAccessKey")])

    def test_force_deletes_the_key_in_use(self):
        res = self.delete_root(["--accounts", M(1), "--apply", "--force"], 0, [
            "%s: deleted %s (last used 7 hours ago (iam)): --force: used 7 hours ago, within "
            "--in-use-window 24h" % (M(1), K1), "1 account"])
        self.assertEqual(res.err, "")
        self.assertEqual(per_account_calls(self.emu.calls()), {M(1): READS[M(1)] + [
            ("AssumeRoot", "IAMDeleteRootUserCredentials", 200),
            ("UpdateAccessKey", K1 + " Inactive", 200), ("DeleteAccessKey", K1, 200)]})
        self.assertEqual(root_keys(self.emu.state())[M(1)], [])

    def test_in_use_window(self):
        self.delete_root(["--accounts", M(1), "--in-use-window", "6h"], 0, [
            "%s: would deactivate and delete %s (Active, last used 7 hours ago (iam))"
            % (M(1), K1), "1 account"])

    def test_json(self):
        res = run(["delete", "--root", "--accounts", ",".join(MEMBERS), "--output", "json"],
                  self.emu.env())
        self.assertRc(res, 4)
        doc = json.loads(res.out)
        self.assertEqual([(r["AccountId"], r["AccessKeyId"], r["Status"], r["Result"])
                          for r in doc], [
            (M(1), K1, "Active", "skipped"),
            (M(2), K2, "Active", "planned"),
            (M(3), None, None, "nothing-to-do"),
            (M(4), None, None, "failed"),
            (M(5), K5, "Inactive", "planned")])
        self.assertEqual(doc[0]["LastUsedDate"], "2026-06-01T11:00:00Z")
        self.assertEqual(doc[0]["LastUsedService"], "iam")
        self.assertTrue(doc[3]["Reason"].startswith(
            "AssumeRoot (IAMAuditRootUserCredentials): AccessDenied: "))
        self.assertEqual(doc[4]["LastUsedDate"], None)


class RootPreconditionsTest(RootEmulatorCase):
    def check_refused(self, res, lines):
        self.assertRc(res, 1)
        self.assertEqual(res.out, "")
        self.assertEqual(res.err.splitlines(), lines)
        calls = self.emu.calls()
        self.assertFalse([c for c in calls if c["action"] in
                          ("AssumeRoot", "ListAccounts", "ListAccessKeys", "UpdateAccessKey",
                           "DeleteAccessKey")], calls)

    def test_centralized_root_access_not_enabled(self):
        self.load(fixtures.root_access_organization(features=None))
        res = run(["delete", "--root", "--org", "--apply"], self.emu.env())
        self.check_refused(res, [
            "iamkeys: error: centralized root access is not enabled: IAM's trusted access in "
            "AWS Organizations is off (enable it with 'aws iam "
            "enable-organizations-root-credentials-management')"])
        self.load(fixtures.root_access_organization(features=["RootSessions"]))
        res = run(["delete", "--root", "--org"], self.emu.env())
        self.check_refused(res, [
            "iamkeys: error: centralized root access is not enabled in %s: "
            "RootCredentialsManagement is off (enable it with 'aws iam "
            "enable-organizations-root-credentials-management')" % fixtures.ORG_ID])

    def test_global_sts_endpoint(self):
        env = self.emu.env(AWS_ENDPOINT_URL_STS="https://sts.amazonaws.com")
        res = run(["delete", "--root", "--org"], env)
        self.check_refused(res, [
            "iamkeys: error: the STS endpoint https://sts.amazonaws.com is the global one: "
            "AssumeRoot needs a regional endpoint (set --region or AWS_REGION to a region, "
            "e.g. us-east-1, and no global AWS_ENDPOINT_URL_STS)"])
        self.assertEqual([c["action"] for c in self.emu.calls()],
                         ["ListOrganizationsFeatures"])

    def test_caller_in_a_member_account(self):
        fx = fixtures.root_access_organization()
        u = {"name": "ops", "path": "/", "allow": ["*"], "keys": [key("ops-3", 10)]}
        next(a for a in fx["accounts"] if a["id"] == M(3))["users"] = [u]
        self.load(fx)
        res = run(["delete", "--root", "--accounts", M(1)],
                  self.emu.env(access_key_id=key_id("ops-3"),
                               secret=fixtures.secret_for("ops-3")))
        self.check_refused(res, [
            "iamkeys: error: account %s is neither the management account nor the delegated "
            "administrator for centralized root access: run from one of them" % M(3),
            "iamkeys: error: cannot tell whether centralized root access is enabled: only the "
            "management or delegated-admin account may ask"])

    def test_root_caller(self):
        fx = fixtures.root_access_organization()
        mgmt = next(a for a in fx["accounts"] if a["id"] == MGMT)
        mgmt["root"]["keys"] = [key("root-mgmt", 30)]
        self.load(fx)
        res = run(["delete", "--root", "--accounts", M(2), "--apply"],
                  self.emu.env(access_key_id=key_id("root-mgmt"),
                               secret=fixtures.secret_for("root-mgmt")))
        self.check_refused(res, [
            "iamkeys: error: the caller is the root user of %s: AssumeRoot needs an IAM user "
            "or role of the management or delegated-admin account" % MGMT])
        self.assertEqual(root_keys(self.emu.state())[M(2)], [(K2, "Active")])

    def test_delegated_administrator(self):
        fx = fixtures.root_access_organization(delegated_admin=M(3))
        u = {"name": "ops", "path": "/", "allow": ["*"], "keys": [key("ops-3", 10)]}
        next(a for a in fx["accounts"] if a["id"] == M(3))["users"] = [u]
        self.load(fx)
        self.delete_root(["--accounts", ",".join([M(2), M(3)]), "--apply"], 0, [
            "%s: deleted %s (last used 200 days ago (iam))" % (M(2), K2),
            "%s: skipped: the caller's own account (AssumeRoot reaches the other accounts; "
            "its root keys are in its credential report)" % M(3),
            "2 accounts"], access_key_id=key_id("ops-3"), secret=fixtures.secret_for("ops-3"))
        self.assertEqual(root_keys(self.emu.state())[M(2)], [])


class RootUsageTest(RootEmulatorCase):
    def test_bad_input_is_one_line_and_changes_nothing(self):
        cases = [
            (["--root"], "--root needs --org, --accounts or --accounts-file"),
            (["--root", "--org", "--user", "bob"], "--user does not go with --root"),
            (["--root", "--org", "--key", K2], "--key does not go with --root"),
            (["--root", "--org", "--older-than", "30d"], "--older-than does not go with --root"),
            (["--root", "--org", "--role-name", "Audit"], "--role-name does not go with --root"),
            (["--root", "--org", "--accounts", M(1)], "do not go together"),
            (["--root", "--accounts", "12345"], "12345"),
            (["--root", "--org", "--in-use-window", "soon"], "soon"),
            (["--root=yes", "--org"], "--root"),
        ]
        before = self.emu.state()
        for args, needle in cases:
            res = run(["delete"] + args + ["--apply"], self.emu.env())
            self.assertRc(res, 2)
            self.assertEqual(res.out, "", args)
            self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])
        self.assertEqual(root_keys(self.emu.state()), root_keys(before))


def no_report_org(**kw):
    """root_access_organization whose member roles may not read the credential report."""
    fx = fixtures.root_access_organization(**kw)
    for a in fx["accounts"]:
        for r in a.get("roles", []):
            if r["name"] == fixtures.ORG_ROLE:
                r["allow"] = ["iam:List*", "iam:GetUser", "iam:GetAccessKeyLastUsed",
                              "iam:GetAccountSummary"]
    return fx


class RootAuditTest(RootEmulatorCase):
    """audit --org: root keys from each credential report, or with --root-via assume-root
    from a root session (audit task policy) when the report is not available."""
    fixture = staticmethod(no_report_org)

    def root_rows(self, doc):
        return [(k["AccountId"], k["AccessKeyId"], k["Status"], k["LastUsedDate"],
                 k["Findings"]) for k in doc["Keys"] if k["UserName"] == "<root_account>"]

    def test_report_as_before(self):
        self.load(fixtures.root_access_organization())
        res = run(["audit", "--org", "--output", "json"], self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(self.root_rows(json.loads(res.out)), [
            (M(i), None, "Active", None, ["root-key"]) for i in (1, 2, 4)])
        self.assertFalse([c for c in self.emu.calls() if c["action"] == "AssumeRoot"])

    def test_assume_root_without_the_report(self):
        res = run(["audit", "--org", "--root-via", "assume-root", "--all", "--output", "json"],
                  self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(self.root_rows(json.loads(res.out)), [
            (M(1), K1, "Active", "2026-06-01T11:00:00Z", ["root-key"]),
            (M(2), K2, "Active", "2025-11-13T12:00:00Z", ["root-key"]),
            (M(4), None, "Active", None, ["root-key"]),  # AssumeRoot denied: the summary
            (M(5), K5, "Inactive", None, [])])
        err = [l for l in res.err.splitlines() if "credential report was denied" not in l]
        self.assertEqual(len(err), 1, repr(res))
        self.assertTrue(err[0].startswith(
            "iamkeys: warning: account %s: root keys not read with AssumeRoot (AssumeRoot "
            "(IAMAuditRootUserCredentials): AccessDenied: " % M(4)), repr(res))
        calls = self.emu.calls()
        root_calls = {a: [c for c in cs if c[0] in ("AssumeRoot", "ListAccessKeys",
                                                    "GetAccessKeyLastUsed")]
                      for a, cs in per_account_calls(calls).items()}
        self.assertEqual(root_calls, READS)
        # the summary only where AssumeRoot was denied, and for the caller's own account
        self.assertEqual(sorted(c["account"] for c in calls
                                if c["action"] == "GetAccountSummary"), [M(4)])
        self.assertFalse([c for c in calls if c["action"] in ("UpdateAccessKey",
                                                              "DeleteAccessKey")])
        self.assertNoSessionSecrets(res)

    def test_summary_without_assume_root(self):
        res = run(["audit", "--org", "--output", "json"], self.emu.env())
        self.assertRc(res, 3)
        # GetAccountSummary counts the Inactive key of member 5 too, and names no key
        self.assertEqual(self.root_rows(json.loads(res.out)), [
            (M(i), None, "Active", None, ["root-key"]) for i in (1, 2, 4, 5)])

    def test_preconditions_and_usage(self):
        self.load(no_report_org(features=None))
        res = run(["audit", "--org", "--root-via", "assume-root"], self.emu.env())
        self.assertRc(res, 1)
        self.assertEqual(res.out, "")
        self.assertOneLineError(res, "centralized root access is not enabled")
        self.assertEqual([c["action"] for c in self.emu.calls()],
                         ["GetCallerIdentity", "ListOrganizationsFeatures"])
        self.emu.reset_calls()
        for args, needle in ((["--root-via", "assume-root"], "--root-via assume-root needs "
                                                             "--org, --accounts"),
                             (["--org", "--root-via", "sts"], "invalid --root-via 'sts'")):
            res = run(["audit"] + args, self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])
