"""iamkeys audit against the emulator (runbook step 2): every finding and exemption
kind, both sources equal, the report's states and reuse, AccessDenied fallback,
pagination, throttling, --fail-on exit codes, bad durations."""
import copy
import datetime
import os
import csv
import io
import json
import shutil
import tempfile

from tests.cli.common import CliTestCase, run, tag_of, users_of
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import Emulator, EmulatorTestCase


def user(name, keys, **kw):
    u = {"name": name, "path": kw.pop("path", "/"), "create_date": "-900d", "keys": keys}
    u.update(kw)
    return u


def audit_fixture(root_key=True):
    users = [
        user("young", [key("young", 10, last_used_days=1)]),
        user("old-used", [key("old-used", 120, last_used_days=2)]),
        user("expiring", [key("expiring", 86, last_used_days=1)]),
        user("unused", [key("unused", 60, last_used_days=50)]),
        user("never", [key("never", 50)]),
        user("never-young", [key("never-young", 20)]),
        user("old-never", [key("old-never", 200)]),
        user("two", [key("two-a", 10, last_used_days=1), key("two-b", 20, last_used_days=1)]),
        user("inactive-old", [key("inactive-old", 40, status="Inactive", last_used_days=35)]),
        user("inactive-young", [key("inactive-young", 10, status="Inactive")]),
        user("tagged", [key("tagged", 200, last_used_days=1)],
             tags={"iamkeys:exempt": "true", "team": "x"}),
        user("tagged-false", [key("tagged-false", 200, last_used_days=1)],
             tags={"iamkeys:exempt": "false"}),
        user("sysuser", [key("sysuser", 200, last_used_days=1)], path="/system/"),
        user("breakglass", [key("breakglass", 200, last_used_days=1)], groups=["Admins"]),
        user("ci-deploy", [key("ci-deploy", 200, last_used_days=1)]),
        user("smith,john", [key("smith", 150, last_used_days=3)]),
        user("nokeys", []),
        # may read everything but the credential report
        user("auditor", [key("auditor", 5, last_used_days=0)],
             allow=["iam:List*", "iam:GetUser", "iam:GetAccessKeyLastUsed",
                    "iam:GetAccountSummary", "sts:GetCallerIdentity"]),
        # may read the report, but not GetAccountAuthorizationDetails
        user("reporter", [key("reporter", 5, last_used_days=0)],
             allow=["iam:List*", "iam:GetUser", "iam:GetAccessKeyLastUsed",
                    "iam:GenerateCredentialReport", "iam:GetCredentialReport"]),
    ]
    f = fixtures.admin_fixture(extra_users=users)
    if root_key:
        f["accounts"][0]["root"]["keys"] = [key("root", 400, last_used_days=100)]
    return f


KID = fixtures.key_id

# (user, key id, findings) of every key with a finding, in output order
EXPECTED = [
    ("<root_account>", None, ["root-key"]),
    ("breakglass", KID("breakglass"), ["old"]),
    ("ci-deploy", KID("ci-deploy"), ["old"]),
    ("expiring", KID("expiring"), ["expiring"]),
    ("inactive-old", KID("inactive-old"), ["inactive-stale"]),
    ("never", KID("never"), ["unused"]),
    ("old-never", KID("old-never"), ["old", "unused"]),
    ("old-used", KID("old-used"), ["old"]),
    ("smith,john", KID("smith"), ["old"]),
    ("sysuser", KID("sysuser"), ["old"]),
    ("tagged", KID("tagged"), ["old"]),
    ("tagged-false", KID("tagged-false"), ["old"]),
    ("two", KID("two-b"), ["two-active"]),  # oldest first
    ("two", KID("two-a"), ["two-active"]),
    ("unused", KID("unused"), ["unused"]),
]


def rows(res):
    doc = json.loads(res.out)
    return [(k["UserName"], k["AccessKeyId"], k["Findings"]) for k in doc["Keys"]], doc


class AuditTest(CliTestCase, EmulatorTestCase):
    @classmethod
    def make_fixture(cls):
        return audit_fixture()

    def setUp(self):
        self.emu.set_clock(offset_seconds=0)  # a test may have moved it
        self.emu.load(audit_fixture())
        self.emu.clear_faults()
        self.emu.reset_calls()

    def audit(self, *args, **env):
        return run(["audit", "--output", "json"] + list(args), self.emu.env(**env))

    def test_api_mode_every_finding(self):
        res = self.audit("--source", "api")
        self.assertRc(res, 3)
        got, doc = rows(res)
        self.assertEqual(got, EXPECTED)
        by_user = {k["UserName"]: k for k in doc["Keys"]}
        self.assertEqual(by_user["tagged"]["Exempt"], "tag iamkeys:exempt=true")
        self.assertIsNone(by_user["tagged-false"]["Exempt"])
        self.assertIsNone(by_user["never"]["LastUsedDate"])
        self.assertEqual(by_user["old-used"]["AgeDays"], 120)
        self.assertEqual(by_user["old-used"]["LastUsedService"], "iam")
        self.assertEqual(by_user["old-used"]["Status"], "Active")
        self.assertEqual(by_user["inactive-old"]["Status"], "Inactive")
        s = doc["Summary"]
        self.assertEqual(s["Source"], "api")
        self.assertEqual(s["UsersScanned"], 20)
        self.assertEqual(s["KeysScanned"], 20)
        # exempt keys are shown but not counted
        self.assertEqual(s["Findings"], {"quarantined": 0, "root-key": 1, "old": 7,
                                         "two-active": 2, "unused": 3, "inactive-stale": 1,
                                         "expiring": 1})
        self.assertEqual(s["Quarantined"], {})
        # tags of the 13 users with a finding: one bulk page, not 13 ListUserTags; the
        # quarantine of every user with keys (not nokeys) from that page too
        self.assertEqual(self.emu.counters(), {
            "iam:GetAccountSummary": 1, "iam:ListUsers": 1, "iam:ListAccessKeys": 20,
            "iam:GetAccessKeyLastUsed": 20, "iam:GetAccountAuthorizationDetails": 1})
        self.assertEqual(s["ApiCalls"], 43)

    def test_report_mode_equals_api_mode(self):
        api = self.audit("--source", "api")
        self.emu.reset_calls()
        rep = self.audit("--source", "report")
        self.assertRc(rep, 3)
        a, adoc = rows(api)
        r, rdoc = rows(rep)
        self.assertEqual(r, a)
        strip = lambda d: [{k: v for k, v in row.items()} for row in d["Keys"]]
        self.assertEqual(strip(rdoc), strip(adoc))
        self.assertEqual(rdoc["Summary"]["Findings"], adoc["Summary"]["Findings"])
        self.assertEqual(rdoc["Summary"]["KeysScanned"], adoc["Summary"]["KeysScanned"])
        self.assertEqual(rdoc["Summary"]["Source"], "report")
        # live re-reads only for the 13 users with a finding (ListAccessKeys); their tags
        # in one GetAccountAuthorizationDetails page; a report made by this run is trusted
        # for last use; never ListUsers; the quarantine of the 19 users whose report row
        # shows a key from that page too
        c = self.emu.counters()
        self.assertEqual(c, {"iam:GenerateCredentialReport": 2, "iam:GetCredentialReport": 1,
                             "iam:GetAccountAuthorizationDetails": 1,
                             "iam:ListAccessKeys": 13})
        users_with_finding, users_without_finding = 13, 6
        self.assertLessEqual(sum(c.values()),
                             4 + 2 * users_with_finding + users_without_finding)
        gaad = [x for x in self.emu.calls() if x["action"] == "GetAccountAuthorizationDetails"]
        self.assertEqual((gaad[0]["params"].get("Filter.member.1"),
                          gaad[0]["params"].get("MaxItems")), ("User", "1000"))

    def test_report_mode_tags_and_groups_in_bulk(self):
        # --exempt-group needs groups too: still one call for everyone, not two per user
        res = self.audit("--exempt-group", "Admins")
        self.assertRc(res, 3)
        got, doc = rows(res)
        ex = {k["UserName"]: k["Exempt"] for k in doc["Keys"]}
        self.assertEqual((ex["breakglass"], ex["tagged"], ex["old-used"]),
                         ("group Admins", "tag iamkeys:exempt=true", None))
        c = self.emu.counters()
        self.assertEqual(c.get("iam:GetAccountAuthorizationDetails"), 1)
        self.assertNotIn("iam:ListUserTags", c)
        self.assertNotIn("iam:ListGroupsForUser", c)
        api = self.audit("--exempt-group", "Admins", "--source", "api")
        self.assertEqual(json.loads(api.out)["Keys"], doc["Keys"])
        # a throttled page is retried
        self.emu.reset_calls()
        self.emu.fault(action="GetAccountAuthorizationDetails", kind="throttle", nth=1)
        again = self.audit("--exempt-group", "Admins")
        self.assertEqual(json.loads(again.out)["Keys"], doc["Keys"])
        self.assertEqual(self.emu.counters().get("iam:GetAccountAuthorizationDetails"), 2)
        # a malformed page fails the audit: one line, exit 1
        self.emu.reset_calls()
        self.emu.clear_faults()
        self.emu.fault(action="GetAccountAuthorizationDetails", kind="malformed", count=5)
        bad = self.audit("--exempt-group", "Admins", AWS_MAX_ATTEMPTS="2")
        self.assertRc(bad, 1)
        self.assertOneLineError(bad, "GetAccountAuthorizationDetails")
        self.assertEqual(bad.out, "")

    def test_report_mode_bulk_read_denied(self):
        env = dict(access_key_id=KID("reporter"), secret=fixtures.secret_for("reporter"))
        res = self.audit(**env)
        self.assertRc(res, 3)
        self.assertEqual(res.err, "")  # no warning: the per-user reads are as good
        got, doc = rows(res)
        self.assertEqual(got, EXPECTED)
        self.assertEqual(doc["Summary"]["Source"], "report")
        c = self.emu.counters()
        # denied once, then ListUserTags for each of the 13 users with a finding
        self.assertEqual(c.get("iam:GetAccountAuthorizationDetails"), 1)
        self.assertEqual(c.get("iam:ListUserTags"), 13)
        denied = [x for x in self.emu.calls() if x["action"] == "GetAccountAuthorizationDetails"]
        self.assertEqual(denied[0]["error_code"], "AccessDenied")

    def test_report_mode_few_candidates_per_user(self):
        # one user with a finding among few: ListUserTags is cheaper than the bulk read
        f = fixtures.admin_fixture(extra_users=[
            user("old", [key("old", 200, last_used_days=1)]),
            user("fine", [key("fine", 10, last_used_days=1)])])
        self.emu.load(f)
        res = self.audit()
        self.assertRc(res, 3)
        c = self.emu.counters()
        # old's tags and the attached policies of the three users with keys (the
        # quarantine): one bulk page is cheaper than four calls one by one
        self.assertEqual(c.get("iam:GetAccountAuthorizationDetails"), 1)
        self.assertNotIn("iam:ListUserTags", c)
        self.assertNotIn("iam:ListAttachedUserPolicies", c)
        # with --exclude covering the only candidate, only the quarantine is read
        self.emu.reset_calls()
        res = self.audit("--exclude", "old")
        self.assertRc(res, 0)
        c = self.emu.counters()
        self.assertNotIn("iam:ListUserTags", c)
        self.assertEqual(c.get("iam:GetAccountAuthorizationDetails"), 1)

    def test_user_deleted_since_the_report(self):
        self.assertRc(self.audit(), 3)
        iam = self.emu.client("iam")
        iam.delete_access_key(UserName="old-used", AccessKeyId=KID("old-used"))
        iam.delete_user(UserName="old-used")
        self.emu.reset_calls()
        res = self.audit()  # the reused report still lists old-used
        self.assertRc(res, 3)
        got, _ = rows(res)
        self.assertEqual(got, [r for r in EXPECTED if r[0] != "old-used"])
        self.assertEqual(self.emu.counters().get("iam:GenerateCredentialReport"), 1)

    def test_user_created_since_a_reused_report_is_read_live(self):
        self.assertRc(self.audit(), 3)
        keys_before = rows(self.audit())[1]["Summary"]["KeysScanned"]
        iam = self.emu.client("iam")
        iam.create_user(UserName="newcomer")
        k1 = iam.create_access_key(UserName="newcomer")["AccessKey"]["AccessKeyId"]
        k2 = iam.create_access_key(UserName="newcomer")["AccessKey"]["AccessKeyId"]
        self.emu.reset_calls()
        res = self.audit()  # the reused report does not list newcomer
        self.assertRc(res, 3)
        self.assertEqual(self.emu.counters().get("iam:GenerateCredentialReport"), 1)  # reused
        # the bulk read of every user's tags lists newcomer: no ListUsers
        self.assertEqual(self.emu.counters().get("iam:GetAccountAuthorizationDetails"), 1)
        self.assertIsNone(self.emu.counters().get("iam:ListUsers"))
        got, doc = rows(res)
        self.assertEqual(sorted((u, k) for u, k, f in got if u == "newcomer"),
                         sorted([("newcomer", k1), ("newcomer", k2)]))
        self.assertTrue(all("two-active" in f for u, _, f in got if u == "newcomer"), got)
        self.assertEqual(doc["Summary"]["KeysScanned"], keys_before + 2)
        # only newcomer is read live beyond the report's candidates
        listed = {c["params"].get("UserName") for c in self.emu.calls()
                  if c["action"] == "ListAccessKeys"}
        self.assertIn("newcomer", listed)
        res = run(["audit"], self.emu.env())
        self.assertIn("reused report generated", res.out)
        self.assertIn(", 1 user newer than the report read live)", res.out)

    def test_list_users_denied_with_a_reused_report_is_a_warning(self):
        f = audit_fixture()
        f["accounts"][0]["users"].append(user(
            "narrow", [key("narrow", 5, last_used_days=0)],
            allow=["iam:ListAccessKeys", "iam:ListUserTags", "iam:ListAttachedUserPolicies",
                   "iam:ListGroupsForUser", "iam:GetUser", "iam:GetAccessKeyLastUsed",
                   "iam:GenerateCredentialReport", "iam:GetCredentialReport"]))
        self.emu.load(f)
        env = dict(access_key_id=KID("narrow"), secret=fixtures.secret_for("narrow"))
        self.assertRc(self.audit(**env), 3)
        self.emu.reset_calls()
        res = self.audit(**env)  # reused: the bulk read and then ListUsers are denied
        self.assertRc(res, 3)
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 2, repr(res))
        for line, words in zip(lines, (
                ("warning", "GetAccountAuthorizationDetails", "AccessDenied",
                 "users whose keys iamkeys changed since the reused report are read from it"),
                ("warning", "ListUsers", "AccessDenied",
                 "users created since the reused report are not read"))):
            for w in words:
                self.assertIn(w, line, repr(res))
        self.assertEqual(rows(res)[0], EXPECTED)
        self.assertEqual(self.emu.counters().get("iam:ListUsers"), 1)

    def test_report_reused_within_four_hours(self):
        self.assertRc(self.audit(), 3)
        self.emu.reset_calls()
        res = run(["audit"], self.emu.env())
        self.assertIn("reused report", res.out)
        self.assertEqual(self.emu.counters().get("iam:GenerateCredentialReport"), 1)

    def test_report_last_use_checked_live_when_stale(self):
        # a report generated by this run is trusted for last use: no re-checks
        res = self.audit()
        self.assertRc(res, 3)
        self.assertNotIn("iam:GetAccessKeyLastUsed", self.emu.counters())
        # 30 minutes later the key of "unused" is used; the reused report does not know
        self.emu.advance_clock(1800)
        import datetime
        now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")
        r = self.emu.request("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                             access_key_id=KID("unused"),
                             secret=fixtures.secret_for("unused"), when=now)
        self.assertEqual(r.status, 200, r)
        self.emu.reset_calls()
        got, doc = rows(self.audit())
        self.assertEqual(self.emu.counters().get("iam:GenerateCredentialReport"), 1)  # reused
        self.assertNotIn(("unused", KID("unused"), ["unused"]), got)
        self.assertGreaterEqual(self.emu.counters().get("iam:GetAccessKeyLastUsed", 0), 1)

    def test_exemption_kinds(self):
        res = self.audit("--exclude", "ci-*", "--exempt-path", "/system/",
                         "--exempt-group", "Admins", "--fail-on", "old")
        got, doc = rows(res)
        ex = {k["UserName"]: k["Exempt"] for k in doc["Keys"]}
        self.assertEqual(ex["ci-deploy"], "excluded by --exclude 'ci-*'")
        self.assertEqual(ex["sysuser"], "path /system/")
        self.assertEqual(ex["breakglass"], "group Admins")
        self.assertEqual(ex["tagged"], "tag iamkeys:exempt=true")
        self.assertIsNone(ex["old-used"])
        self.assertEqual(doc["Summary"]["Findings"]["old"], 4)
        # a custom tag, and turning the tag exemption off
        res = self.audit("--exempt-tag", "team=x")
        ex = {k["UserName"]: k["Exempt"] for k in json.loads(res.out)["Keys"]}
        self.assertEqual(ex["tagged"], "tag team=x")
        res = self.audit("--exempt-tag", "none")
        ex = {k["UserName"]: k["Exempt"] for k in json.loads(res.out)["Keys"]}
        self.assertIsNone(ex["tagged"])

    def test_only_exempt_findings_exit_zero(self):
        f = fixtures.admin_fixture(extra_users=[
            user("tagged", [key("tagged", 200, last_used_days=1)],
                 tags={"iamkeys:exempt": "true"}),
            user("fine", [key("fine", 10, last_used_days=1)])])
        self.emu.load(f)
        res = self.audit()
        self.assertRc(res, 0)
        got, _ = rows(res)
        self.assertEqual(got, [("tagged", KID("tagged"), ["old"])])

    def test_fail_on_exit_codes(self):
        f = fixtures.admin_fixture(extra_users=[
            user("expiring", [key("expiring", 86, last_used_days=1)]),
            user("never", [key("never", 50)])])
        self.emu.load(f)
        self.assertRc(self.audit(), 0)                              # default: old
        self.assertRc(self.audit("--fail-on", "unused"), 3)
        self.assertRc(self.audit("--fail-on", "two-active"), 0)
        self.assertRc(self.audit("--fail-on", "expiring"), 3)
        self.assertRc(self.audit("--fail-on", "any"), 3)
        self.assertRc(self.audit("--fail-on", "none"), 0)
        self.emu.load(audit_fixture())
        self.assertRc(self.audit("--fail-on", "root-key"), 3)
        self.emu.load(audit_fixture(root_key=False))
        res = self.audit("--fail-on", "root-key")
        self.assertRc(res, 0)
        self.assertNotIn("<root_account>", res.out)

    def test_thresholds(self):
        res = self.audit("--max-age", "30d", "--warn", "0d", "--unused", "2w",
                         "--inactive-grace", "5d", "--fail-on", "none", "--source", "api")
        self.assertRc(res, 0)
        got = {(u, tuple(f)) for u, _, f in rows(res)[0]}
        self.assertIn(("unused", ("old", "unused")), got)
        self.assertIn(("inactive-young", ("inactive-stale",)), got)
        self.assertIn(("never-young", ("unused",)), got)
        self.assertNotIn(("young", ()), got)

    def test_one_user(self):
        res = self.audit("--user", "old-never")
        self.assertRc(res, 3)
        self.assertEqual(rows(res)[0], [("old-never", KID("old-never"), ["old", "unused"])])
        c = self.emu.counters()
        self.assertEqual(c, {"iam:GetUser": 1, "iam:ListAccessKeys": 1,
                             "iam:ListAttachedUserPolicies": 1,
                             "iam:GetAccessKeyLastUsed": 1, "iam:ListUserTags": 1})
        res = self.audit("--user", "nobody")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "GetUser", "NoSuchEntity")

    def test_report_denied_falls_back_to_api(self):
        env = dict(access_key_id=KID("auditor"), secret=fixtures.secret_for("auditor"))
        res = self.audit(**env)
        self.assertRc(res, 3)
        self.assertIn("warning", res.err)
        self.assertIn("AccessDenied", res.err)
        self.assertIn("--source api", res.err)
        doc = json.loads(res.out)
        self.assertEqual(doc["Summary"]["Source"], "api")
        api = self.audit("--source", "api")
        self.assertEqual(rows(res)[0], rows(api)[0])

    def test_report_state_polling(self):
        emu = Emulator(fixture=audit_fixture(), report_delay=1.5)
        emu.start()
        try:
            res = run(["audit", "--output", "json"], emu.env())
            self.assertRc(res, 3)
            self.assertEqual(rows(res)[0], EXPECTED)
            gen = [c for c in emu.calls() if c["action"] == "GenerateCredentialReport"]
            self.assertGreaterEqual(len(gen), 2)
        finally:
            emu.stop()

    def test_throttling(self):
        self.emu.fault(action="ListAccessKeys", kind="throttle", probability=0.3)
        self.emu.fault(action="GetAccessKeyLastUsed", kind="throttle", probability=0.3)
        res = self.audit("--source", "api", AWS_MAX_ATTEMPTS="10")
        self.assertRc(res, 3)
        self.assertEqual(rows(res)[0], EXPECTED)
        throttled = [c for c in self.emu.calls() if c["error_code"] == "Throttling"]
        self.assertGreater(len(throttled), 0)

    def test_csv_and_table(self):
        res = run(["audit", "--output", "csv"], self.emu.env())
        self.assertRc(res, 3)
        table = list(csv.reader(io.StringIO(res.out)))
        self.assertEqual(table[0], ["UserName", "AccessKeyId", "Status", "CreateDate", "AgeDays",
                                    "LastUsedDate", "LastUsedService", "LastUsedRegion",
                                    "Exempt", "Findings"])
        self.assertEqual(len(table), 1 + len(EXPECTED))
        self.assertIn(["smith,john", KID("smith")], [r[:2] for r in table])
        self.assertIn("findings:", res.err)
        res = run(["audit"], self.emu.env(NO_COLOR="1"))
        self.assertTrue(res.out.startswith("USER "))
        self.assertIn("keys scanned", res.out.splitlines()[-1])

    def test_all_keys(self):
        res = self.audit("--all")
        got = rows(res)[0]
        self.assertEqual(len(got), 20 + 1)  # every key and the root row
        self.assertIn(("young", KID("young"), []), got)

    def test_bad_arguments(self):
        for args, needle in ((["--max-age", "90x"], "invalid duration '90x'"),
                             (["--unused", "-1d"], "invalid duration '-1d'"),
                             (["--warn", ""], "invalid duration ''"),
                             (["--source", "s3"], "invalid --source 's3'"),
                             (["--fail-on", "bad"], "invalid --fail-on 'bad'"),
                             (["--jobs", "0"], "--jobs"),
                             (["--exempt-tag", "=x"], "--exempt-tag"),
                             (["--warn", "100d"], "--warn")):
            res = run(["audit"] + args, self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])


def reuse_fixture():
    users = [
        user("old", [key("old", 200, last_used_days=1)]),  # a candidate: read live anyway
        user("rotated", [key("rotated", 30, last_used_days=1)]),
        user("created", [key("created", 30, last_used_days=1)]),
        user("marked", [key("marked", 30, last_used_days=1)]),
        user("edge", [key("edge", 30, last_used_days=1)]),
        user("stale", [key("stale", 30, last_used_days=1)]),
        # may read the report and the users, not GetAccountAuthorizationDetails
        user("reporter", [key("reporter", 5, last_used_days=0)],
             allow=["iam:List*", "iam:GetUser", "iam:GetAccessKeyLastUsed",
                    "iam:GenerateCredentialReport", "iam:GetCredentialReport"]),
    ]
    return fixtures.admin_fixture(extra_users=users)


def compact(t):
    return t.strftime("%Y%m%dT%H%M%SZ")


class AuditReusedReportTest(CliTestCase, EmulatorTestCase):
    """A reused credential report is older than what iamkeys changed since: the users whose
    tags record a change (rotation stage, create mark, iamkeys:changed) at or after the
    report's time minus 15 minutes are read live, found in one bulk read of every user's
    tags; the others come from the report as before."""

    @classmethod
    def make_fixture(cls):
        return reuse_fixture()

    def setUp(self):
        self.emu.set_clock(offset_seconds=0)
        self.addCleanup(self.emu.set_clock, offset_seconds=0)
        self.emu.load(reuse_fixture())
        self.emu.clear_faults()
        self.emu.reset_calls()

    def audit(self, *args, **env):
        return run(["audit", "--output", "json"] + list(args), self.emu.env(**env))

    def audit_findings(self, *args):
        """Audits, the call log emptied first; it finds something (rc 3): returns its
        (user, key, findings) rows and its document."""
        self.emu.reset_calls()
        res = self.audit(*args)
        self.assertRc(res, 3)
        return rows(res)

    def fresh_report(self, **env):
        """A first audit generates the report (the next one reuses it); its
        GeneratedTime (AWS's) is returned."""
        res = self.audit(**env)
        self.assertRc(res, 3)
        self.assertEqual(self.emu.counters().get("iam:GenerateCredentialReport"), 2)
        generated = self.emu.client("iam").get_credential_report()["GeneratedTime"]
        self.emu.reset_calls()
        return generated.replace(tzinfo=None), res

    def tag(self, name, **tags):
        params = {}
        for i, (k, v) in enumerate(sorted(tags.items()), 1):
            params["Tags.member.%d.Key" % i] = k.replace("_", ":", 1).replace("_", "-")
            params["Tags.member.%d.Value" % i] = v
        r = self.emu.iam("TagUser", UserName=name, **params)
        self.assertEqual(r.status, 200, r)

    def live_reads(self):
        """(action, user, or key id for GetAccessKeyLastUsed) of each live read, sorted."""
        return sorted((c["action"], c["params"].get("UserName", c["params"].get("AccessKeyId")))
                      for c in self.emu.calls()
                      if c["action"] in ("ListAccessKeys", "GetAccessKeyLastUsed",
                                         "ListUserTags", "ListGroupsForUser",
                                         "ListAttachedUserPolicies"))

    def test_user_rotated_since_the_report_is_read_live(self):
        generated, _ = self.fresh_report()
        # a rotation since: a second key, the rotation tag in stage delivered, now
        iam = self.emu.client("iam")
        new = iam.create_access_key(UserName="rotated")["AccessKey"]["AccessKeyId"]
        now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")
        self.tag("rotated", iamkeys_rotation="v=1 stage=delivered old=%s t=%s"
                 % (KID("rotated"), compact(now)), iamkeys_rotation_new=new)
        got, doc = self.audit_findings("--all")
        # the report knows one key of rotated; the live read both, rotating on schedule
        self.assertEqual([r for r in got if r[0] == "rotated"],
                         [("rotated", KID("rotated"), ["two-active"]),
                          ("rotated", new, ["two-active"])])
        by_key = {k["AccessKeyId"]: k for k in doc["Keys"]}
        self.assertEqual(by_key[new]["Exempt"],
                         "rotating (stage delivered since %s)" % now.strftime("%Y-%m-%d"))
        self.assertEqual(by_key[KID("rotated")]["Exempt"], by_key[new]["Exempt"])
        self.assertEqual(doc["Summary"]["UsersChangedSinceReport"], 1)
        self.assertEqual(doc["Summary"]["UsersNewerThanReport"], 0)
        self.assertEqual(doc["Summary"]["RotatingUsers"], 1)
        self.assertEqual(doc["Summary"]["KeysScanned"], 9)  # rotated's 2 read live
        # without --all: the report's candidate (old), and rotated read live
        got, doc = self.audit_findings()
        self.assertEqual(got, [("old", KID("old"), ["old"]),
                               ("rotated", KID("rotated"), ["two-active"]),
                               ("rotated", new, ["two-active"])])
        self.assertEqual(doc["Summary"]["Findings"]["two-active"], 0)  # exempt: rotating
        self.assertEqual(doc["Summary"]["KeysScanned"], 9)
        # the report (reused), every user and its tags in one page (the users created
        # since: none; no ListUsers); then rotated's keys and their last use live; its tags
        # and old's from that page (no ListUserTags), and so the attached policies of everyone
        self.assertEqual([c["action"] for c in self.emu.calls()][:3],
                         ["GenerateCredentialReport", "GetCredentialReport",
                          "GetAccountAuthorizationDetails"])
        self.assertEqual(self.emu.counters(), {
            "iam:GenerateCredentialReport": 1, "iam:GetCredentialReport": 1,
            "iam:GetAccountAuthorizationDetails": 1,
            "iam:ListAccessKeys": 2, "iam:GetAccessKeyLastUsed": 2})
        self.assertEqual(self.live_reads(), sorted([
            ("GetAccessKeyLastUsed", KID("rotated")), ("GetAccessKeyLastUsed", new),
            ("ListAccessKeys", "old"), ("ListAccessKeys", "rotated")]))
        text = run(["audit"], self.emu.env())
        self.assertRegex(text.out, r", reused report generated \d+s ago, 1 user changed "
                                   r"since the report read live\)")

    def test_create_since_the_report_is_read_live(self):
        self.fresh_report()
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        to = "file:" + os.path.join(tmp, "created.json")
        self.assertRc(run(["create", "--user", "created", "--to", to, "--apply"],
                          self.emu.env()), 0)
        new = [k["id"] for k in users_of(self.emu)["created"]["keys"] if k["id"] != KID("created")]
        self.assertEqual(len(new), 1)
        # the create mark is gone; the record of the change stays
        self.assertIsNone(tag_of(users_of(self.emu)["created"], "iamkeys:create"))
        got, doc = self.audit_findings()
        self.assertEqual(got, [("created", KID("created"), ["two-active"]),
                               ("created", new[0], ["two-active"]),
                               ("old", KID("old"), ["old"])])
        self.assertEqual(doc["Summary"]["UsersChangedSinceReport"], 1)
        self.assertEqual(doc["Summary"]["Findings"]["two-active"], 2)
        self.assertEqual(self.live_reads(), sorted([
            ("GetAccessKeyLastUsed", KID("created")), ("GetAccessKeyLastUsed", new[0]),
            ("ListAccessKeys", "created"), ("ListAccessKeys", "old")]))
        self.assertEqual(self.emu.counters().get("iam:GetAccountAuthorizationDetails"), 1)

    def test_which_tags_mean_a_change(self):
        generated, _ = self.fresh_report()
        at = lambda secs: compact(generated + datetime.timedelta(seconds=secs))
        # a create mark (under way or died): read live, whatever its time
        self.tag("marked", iamkeys_create="v=1 run=abcdefgh1234 t=%s sink=0123456789abcdef"
                 % at(-86400))
        # a rotation stage entered 15 minutes before the report: the report may lag
        self.tag("edge", iamkeys_rotation="v=1 stage=intent old=%s t=%s"
                 % (KID("edge"), at(-900)))
        # one entered before that, and a key change recorded before it: from the report
        self.tag("stale", iamkeys_rotation="v=1 stage=intent old=%s t=%s"
                 % (KID("stale"), at(-901)), iamkeys_changed="v=1 t=%s" % at(-3600))
        # a record that does not parse cannot tell: read live
        self.tag("created", iamkeys_changed="yesterday")
        got, doc = self.audit_findings()
        self.assertEqual(got, [("old", KID("old"), ["old"])])
        self.assertEqual(doc["Summary"]["UsersChangedSinceReport"], 3)
        self.assertEqual(self.live_reads(), sorted([
            ("GetAccessKeyLastUsed", KID("created")), ("GetAccessKeyLastUsed", KID("edge")),
            ("GetAccessKeyLastUsed", KID("marked")),
            ("ListAccessKeys", "created"), ("ListAccessKeys", "edge"),
            ("ListAccessKeys", "marked"), ("ListAccessKeys", "old")]))
        # the stale record alone: not read live
        self.tag("edge", iamkeys_rotation="v=1 stage=intent old=%s t=%s"
                 % (KID("edge"), at(-901)))
        for name in ("marked", "created"):
            self.assertEqual(self.emu.iam("UntagUser", UserName=name, **{
                "TagKeys.member.1": "iamkeys:create",
                "TagKeys.member.2": "iamkeys:changed"}).status, 200)
        self.emu.reset_calls()
        res = self.audit()
        self.assertEqual(rows(res)[1]["Summary"]["UsersChangedSinceReport"], 0)
        self.assertEqual(self.live_reads(), [("ListAccessKeys", "old")])

    def test_bulk_read_denied_is_one_warning(self):
        env = dict(access_key_id=KID("reporter"), secret=fixtures.secret_for("reporter"))
        _, first = self.fresh_report(**env)
        self.assertEqual(first.err, "")  # a fresh report: no bulk read to need
        res = self.audit(**env)
        self.assertRc(res, 3)
        self.assertOneLineError(res, "warning", "GetAccountAuthorizationDetails",
                                "AccessDenied", "users whose keys iamkeys changed since the "
                                "reused report are read from it, not live")
        got, doc = rows(res)
        self.assertEqual(got, rows(first)[0])
        self.assertEqual(doc["Keys"], json.loads(first.out)["Keys"])
        self.assertEqual(doc["Summary"]["UsersChangedSinceReport"], 0)
        # denied once: the exemptions and the quarantine are then read per user
        c = self.emu.counters()
        self.assertEqual(c.get("iam:GetAccountAuthorizationDetails"), 1)
        self.assertEqual(c.get("iam:ListUserTags"), 1)  # old, the only finding

    def test_fresh_report_reads_no_tags_for_this(self):
        # a create mark on a user the fresh report shows without a finding
        self.tag("marked", iamkeys_create="v=1 run=abcdefgh1234 t=20261203T130000Z "
                                          "sink=0123456789abcdef")
        got, doc = self.audit_findings()
        self.assertEqual(got, [("old", KID("old"), ["old"])])
        self.assertEqual(doc["Summary"]["UsersChangedSinceReport"], 0)
        # no ListUsers, the bulk read once, after the keys (old's tags, the quarantine)
        self.assertEqual([c["action"] for c in self.emu.calls()], [
            "GenerateCredentialReport", "GenerateCredentialReport", "GetCredentialReport",
            "ListAccessKeys", "GetAccountAuthorizationDetails"])
        self.assertEqual(self.live_reads(), [("ListAccessKeys", "old")])


QUARANTINE_V2 = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
QUARANTINE_V3 = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
QUARANTINED = [("leaked", KID("leaked"), ["quarantined"]),
               ("leaked-old", KID("leaked-old"), ["quarantined", "old"]),
               ("leaked-old", KID("leaked-old/2"), ["quarantined"])]


def quarantine_fixture():
    f = audit_fixture()
    # a young key in use: no other finding, so the report alone would not re-read it
    f["accounts"][0]["users"].append(user("leaked", [key("leaked", 10, last_used_days=1)],
                                          attached_policies=[QUARANTINE_V2]))
    # an old key (a finding of its own: its policies come with its tags) and a young
    # inactive one (no finding but the quarantine: kept until the policies are read)
    f["accounts"][0]["users"].append(user("leaked-old", [
        key("leaked-old", 120, last_used_days=1),
        key("leaked-old/2", 10, status="Inactive")], attached_policies=[QUARANTINE_V3]))
    # the exemption tag does not hide a quarantine
    tagged = [u for u in f["accounts"][0]["users"] if u["name"] == "tagged"][0]
    tagged["attached_policies"] = [QUARANTINE_V2]
    return f


class AuditQuarantineTest(CliTestCase, EmulatorTestCase):
    """A user AWS quarantined (AWSCompromisedKeyQuarantineV2 attached) is quarantined,
    the most severe finding, in both sources."""

    @classmethod
    def make_fixture(cls):
        return quarantine_fixture()

    def setUp(self):
        self.emu.set_clock(offset_seconds=0)
        self.emu.load(quarantine_fixture())
        self.emu.reset_calls()

    def attached_reads(self):
        return sorted(c["params"]["UserName"] for c in self.emu.calls()
                      if c["action"] == "ListAttachedUserPolicies")

    def with_keys(self):
        return sorted(u["name"] for u in quarantine_fixture()["accounts"][0]["users"]
                      if u["keys"])

    def test_both_sources(self):
        for source in ("api", "report"):
            self.emu.reset_calls()
            res = run(["audit", "--source", source, "-o", "json"], self.emu.env())
            self.assertRc(res, 3)
            got, doc = rows(res)
            at = [r[0] for r in EXPECTED].index("never")  # by user name
            want = EXPECTED[:at] + QUARANTINED + EXPECTED[at:]
            want = [(u, k, ["quarantined"] + f if u == "tagged" else f) for u, k, f in want]
            self.assertEqual(got, want, source)
            tagged = [k for k in doc["Keys"] if k["UserName"] == "tagged"][0]
            self.assertIsNone(tagged["Exempt"])
            s = doc["Summary"]
            self.assertEqual(s["Findings"]["quarantined"], 4, source)
            self.assertEqual(s["ExemptUsers"], 0)
            self.assertEqual(s["Quarantined"], {"leaked": "AWSCompromisedKeyQuarantineV2",
                                                "leaked-old": "AWSCompromisedKeyQuarantineV3",
                                                "tagged": "AWSCompromisedKeyQuarantineV2"})
            # every user with keys from the bulk read of the tags of those with a finding
            # (GetAccountAuthorizationDetails, one page): no ListAttachedUserPolicies
            self.assertEqual(self.attached_reads(), [], source)
            self.assertEqual(self.emu.counters()["iam:GetAccountAuthorizationDetails"], 1)
            if source == "report":
                # leaked's row had no finding: its keys are read because of the quarantine
                reads = sorted(c["params"]["UserName"] for c in self.emu.calls()
                               if c["action"] == "ListAccessKeys")
                self.assertIn("leaked", reads)
                self.assertEqual(len(reads), 15)

    def test_most_severe_table_and_exit(self):
        res = run(["audit", "--fail-on", "root-key"], self.emu.env())
        self.assertRc(res, 3)
        self.assertRegex(res.out, r"\nleaked +%s .* quarantined\n" % KID("leaked"))
        self.assertIn("\nuser leaked is quarantined: AWS has attached "
                      "AWSCompromisedKeyQuarantineV2 (it found a key of the user exposed): "
                      "iamkeys revoke --user leaked --key %s --apply\n" % KID("leaked"),
                      res.out)
        self.assertIn("findings: quarantined=4, root-key=1,", res.out)
        res = run(["audit", "--fail-on", "quarantined", "--user", "young"], self.emu.env())
        self.assertRc(res, 0)
        # exempt by its tag, but quarantined: not exempt, the exit says so
        res = run(["audit", "--fail-on", "quarantined", "--user", "tagged"], self.emu.env())
        self.assertRc(res, 3)
        res = run(["audit", "--fail-on", "quarantined", "--user", "leaked"], self.emu.env())
        self.assertRc(res, 3)
        # one user: its tags and policies read one by one
        self.emu.reset_calls()
        res = run(["audit", "--user", "leaked-old", "-o", "json"], self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(rows(res)[0], QUARANTINED[1:])
        self.assertEqual(self.emu.counters(), {
            "iam:GetUser": 1, "iam:ListAccessKeys": 1, "iam:GetAccessKeyLastUsed": 2,
            "iam:ListUserTags": 1, "iam:ListAttachedUserPolicies": 1})


class AuditPaginationTest(CliTestCase):
    def test_many_users_both_sources(self):
        with Emulator() as emu:
            # many_users has keys exactly on the 83d/45d boundaries of its load time, and
            # both runs must judge them alike: they run in AWS's time, which moves on, so
            # the clock goes 6 hours past the load time, away from every boundary.
            emu.set_clock(now="2026-06-01T12:00:00Z")
            emu.load(fixtures.many_users(1500, seed=3))
            emu.advance_clock(6 * 3600)
            api = run(["audit", "--output", "json", "--source", "api", "--jobs", "8"], emu.env())
            self.assertIn(api.rc, (0, 3), repr(api))
            self.assertEqual(emu.counters().get("iam:ListUsers"), 2)
            adoc = json.loads(api.out)
            self.assertEqual(adoc["Summary"]["UsersScanned"], 1501)
            emu.reset_calls()
            rep = run(["audit", "--output", "json"], emu.env())
            rdoc = json.loads(rep.out)
            # tags of 1,501 users: two pages of GetAccountAuthorizationDetails
            self.assertEqual(emu.counters().get("iam:GetAccountAuthorizationDetails"), 2)
            self.assertNotIn("iam:ListUserTags", emu.counters())
            self.assertEqual(rdoc["Keys"], adoc["Keys"])
            self.assertTrue(any(k["Exempt"] for k in rdoc["Keys"]))
            self.assertEqual(rdoc["Summary"]["KeysScanned"], adoc["Summary"]["KeysScanned"])
            self.assertGreater(len(rdoc["Keys"]), 100)


class AuditRateLimitTest(CliTestCase):
    def test_workers_back_off_under_an_account_rate_limit(self):
        """32 workers against an account that allows 60 requests a second: the pool
        halves its concurrency on throttling, so no call runs out of its 3 attempts."""
        with Emulator(fixture=fixtures.many_users(150, seed=7)) as emu:
            emu.set_clock(now="2026-06-01T12:00:00Z")
            emu.load(fixtures.many_users(150, seed=7))
            emu.advance_clock(6 * 3600)  # AWS's time, away from the fixture's day boundaries
            args = ["audit", "--output", "json", "--source", "api"]
            free = run(args, emu.env())
            self.assertIn(free.rc, (0, 3), repr(free))
            emu.config(latency_ms=25, rate_limit=60, rate_burst=10)
            emu.reset_calls()
            res = run(args + ["--jobs", "32", "--debug"], emu.env())
            self.assertIn(res.rc, (0, 3), res.err[-3000:])
            self.assertEqual(json.loads(res.out)["Keys"], json.loads(free.out)["Keys"])
            throttled = [c for c in emu.calls() if c["error_code"] == "Throttling"]
            self.assertGreater(len(throttled), 0)
            self.assertIn("throttled: 16 concurrent workers", res.err)
            self.assertIn("throttled: 1 concurrent workers", res.err)


class AuditProgressTest(CliTestCase):
    """The progress bar goes to stderr only when stderr is a terminal."""

    def run_with_pty_stderr(self, args, env):
        import pty
        import subprocess
        from tests.cli.common import BINARY
        master, slave = pty.openpty()
        p = subprocess.Popen([BINARY] + args, env=env, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        out = p.stdout.read()
        p.wait()
        os.close(master)
        return p.returncode, out.decode(), b"".join(chunks).decode(errors="replace")

    def test_progress_on_a_terminal_only(self):
        with Emulator(fixture=fixtures.many_users(100, seed=5), latency_ms=20) as emu:
            args = ["audit", "--source", "api", "--jobs", "2", "--output", "json"]
            rc, out, err = self.run_with_pty_stderr(args, emu.env())
            self.assertIn(rc, (0, 3))
            self.assertIn("\rscanning users: ", err)
            self.assertEqual(json.loads(out)["Summary"]["UsersScanned"], 101)
            res = run(args, emu.env())  # stderr is a pipe: no progress
            self.assertNotIn("scanning users", res.err)
            rc, out, err = self.run_with_pty_stderr(args + ["--no-progress"], emu.env())
            self.assertNotIn("scanning users", err)
