"""iamkeys revoke against the emulator: an exposed key deactivated at once, its older
sessions denied and newer ones not, a replacement delivered to a sink, the key deleted;
the timeline of what the key did from CloudTrail, persistence calls flagged first; a
crash after every mutating call continued by a re-run without repeating a step; the
caller's own key refused; dry run; bad input."""
import json
import os
import signal
import tempfile

from tests.cli import safety
from tests.cli.common import CliTestCase, run, tag_of, users_of
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


RESPONDER = key("revoke/responder", 10)


def fixture():
    fx = fixtures.admin_fixture([
        {"name": "alice", "create_date": "-900d", "keys": [LEAK],
         "allow": ["ssm:*", "sts:*", "iam:GetUser"]},
        {"name": "bob", "create_date": "-900d", "keys": [OTHER]},
        # may revoke, may not call cloudtrail:LookupEvents
        {"name": "responder", "create_date": "-900d", "keys": [RESPONDER],
         "allow": ["iam:*", "sts:*"]}])
    fx["accounts"][0]["parameters"] = [{"name": "p", "value": "v"}]
    # the timeline searches every enabled region (ec2:DescribeRegions): one here
    fx["ec2_regions"] = ["us-east-1"]
    return fx


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
    emulator_fixture = fixture

    def setUp(self):
        self.reset_emulator()
        self.dir = self.make_home("iamkeys-revoke-")
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
            # the enabled regions first: the timeline searches every one of them
            ("sts", "GetCallerIdentity"), ("ec2", "DescribeRegions"),
            ("iam", "ListAccessKeys"), ("iam", "ListUserTags"),
            ("iam", "UpdateAccessKey"), ("iam", "TagUser"), ("iam", "ListUserPolicies"),
            ("iam", "PutUserPolicy"), ("iam", "TagUser"),
            # the timeline: the key, then the session key its GetSessionToken made
            ("cloudtrail", "LookupEvents"), ("cloudtrail", "LookupEvents"),
            ("iam", "ListAccessKeys"), ("iam", "CreateAccessKey"), ("sts", "GetCallerIdentity"), ("iam", "TagUser"),
            ("iam", "DeleteAccessKey"), ("iam", "TagUser")])
        # each TagUser records the step and, in the same call, the key change (for audit)
        tags = [c["params"] for c in self.emu.calls() if c["action"] == "TagUser"]
        self.assertEqual([sorted(k for k in p if k.startswith("Tags.")) for p in tags],
                         [["Tags.member.1.Key", "Tags.member.1.Value", "Tags.member.2.Key",
                           "Tags.member.2.Value"]] * 4)
        self.assertEqual({(p["Tags.member.1.Key"], p["Tags.member.2.Key"]) for p in tags},
                         {("iamkeys:revoked", "iamkeys:changed")})
        for p in tags:
            self.assertRegex(p["Tags.member.2.Value"], r"^v=1 t=\d{8}T\d{6}Z$")
        lines = res.out.splitlines()
        self.assertEqual(lines[0].split(), ["STEP", "RESULT", "TIME", "DETAIL"])
        self.assertEqual([ln.split()[:2] for ln in lines[1:5]],
                         [["deactivate", "done"], ["deny-sessions", "done"],
                          ["replace", "done"], ["delete", "done"]])
        self.assertEqual(lines[5], "")
        # the session the test made: GetSessionToken flagged, its GetParameter derived
        self.assertRegex(lines[6], r"^timeline of %s in us-east-1 from \S+Z to \S+Z: 2 events, "
                         r"2 callers, 1 persistence call \(2 LookupEvents calls; management "
                         r"events only\)$" % LEAK["id"])
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

    def test_replace_to_each_sink(self):
        # file:, profile:, secretsmanager:, ssm: and exec:: the new key is what the sink
        # holds, it works, and with --delete it is the user's only key
        for kind in safety.SINK_KINDS:
            with self.subTest(sink=kind):
                self.emu.load(fixture())
                d = tempfile.mkdtemp()
                sink = safety.Sink(kind, d)
                res = self.revoke("--replace", "--to", sink.to(), "--delete", "--apply")
                self.assertRc(res, 0)
                safety.assert_one_working_key_each(self, self.emu, sink, ["alice"], kind)
                held = sink.held(self.emu, "alice")
                self.assertNotEqual(held[0], LEAK["id"])
                self.assertNotIn(held[1], res.out + res.err)
                self.assertIsNone(tag_of(users_of(self.emu)["alice"], "iamkeys:create"))
                r = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                                    "Version": "2011-06-15"},
                                     access_key_id=held[0], secret=held[1])
                self.assertEqual(r.status, 200, kind)

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
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--since", "soon"], "soon"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--since", "91d"],
             "--since must be between 1s and 90d"),
            (["revoke", "--user", "alice", "--key", LEAK["id"], "--since", "0s"],
             "--since must be between 1s and 90d"),
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


ATTACKER = "203.0.113.9"
SESSION = "ASIAATTACKER00000001"


def attacker_events():
    """What the leaked key did: a CreateAccessKey and a ListBuckets from the attacker,
    a GetSessionToken whose session made a user; the owner's own GetParameter; a
    CreateAccessKey of another key (not the leaked one's)."""
    return [
        {"access_key_id": LEAK["id"], "event_name": "GetParameter",
         "event_source": "ssm.amazonaws.com", "region": "us-east-1", "source_ip": "10.0.3.7",
         "user_agent": "aws-sdk-go/1.44", "time": "-3d"},
        {"access_key_id": LEAK["id"], "event_name": "ListBuckets",
         "event_source": "s3.amazonaws.com", "region": "us-east-1", "source_ip": ATTACKER,
         "user_agent": "curl/8.5", "time": "-5h"},
        {"access_key_id": LEAK["id"], "event_name": "CreateAccessKey", "region": "us-east-1",
         "source_ip": ATTACKER, "user_agent": "curl/8.5", "time": "-4h",
         "read_only": False},
        {"access_key_id": LEAK["id"], "event_name": "GetSessionToken",
         "event_source": "sts.amazonaws.com", "region": "us-east-1", "source_ip": ATTACKER,
         "user_agent": "curl/8.5", "time": "-3h",
         "response_elements": {"credentials": {"accessKeyId": SESSION}}},
        {"access_key_id": SESSION, "event_name": "CreateUser", "region": "us-east-1",
         "source_ip": ATTACKER, "user_agent": "curl/8.5", "time": "-2h",
         "error_code": "AccessDenied"},
        {"access_key_id": OTHER["id"], "event_name": "CreateAccessKey", "region": "us-east-1",
         "source_ip": "192.0.2.1", "time": "-1h"},
    ]


class RevokeTimelineTest(RevokeBase):
    """Step 3: what the key did, from CloudTrail, persistence calls flagged first."""

    def setUp(self):
        super().setUp()
        self.emu.cloudtrail_events(attacker_events())
        self.emu.reset_calls()

    def lookups(self):
        return [c for c in self.emu.calls() if c["action"] == "LookupEvents"]

    def test_timeline_in_the_dry_run_flags_persistence_first(self):
        res = self.revoke("-o", "json")
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), [])
        rec = json.loads(res.out)
        tl = rec["Timeline"]
        self.assertIsNone(rec["TimelineError"])
        self.assertEqual((tl["Regions"], tl["Events"], tl["LookupEventsCalls"]),
                         (["us-east-1"], 5, 2))
        self.assertEqual([(p["EventName"], p["SourceIPAddress"], p["UserAgent"], p["Region"],
                           p["ErrorCode"], p["SessionKeyId"]) for p in tl["Persistence"]], [
            ("CreateAccessKey", ATTACKER, "curl/8.5", "us-east-1", None, None),
            ("GetSessionToken", ATTACKER, "curl/8.5", "us-east-1", None, None),
            ("CreateUser", ATTACKER, "curl/8.5", "us-east-1", "AccessDenied", SESSION)])
        times = [p["Time"] for p in tl["Persistence"]]
        self.assertEqual(times, sorted(times))
        self.assertEqual([(c["Source"], c["UserAgent"], c["Derived"], c["Events"],
                           c["Errors"], c["TopEvents"], c["SessionKeyId"])
                          for c in tl["Callers"]], [
            (ATTACKER, "curl/8.5", False, 3, 0,
             ["CreateAccessKey:1", "GetSessionToken:1", "ListBuckets:1"], None),
            (ATTACKER, "curl/8.5", True, 1, 1, ["CreateUser:1"], SESSION),
            ("10.0.3.7", "aws-sdk-go/1.44", False, 1, 0, ["GetParameter:1"], None)])
        # exactly: the key, then the session key, each one page in the command's region
        # over the last 90 days
        got = [(c["region"], c["params"]["LookupAttributes"],
                c["params"]["EndTime"] - c["params"]["StartTime"], c["params"]["MaxResults"])
               for c in self.lookups()]
        self.assertEqual(got, [
            ("us-east-1", [{"AttributeKey": "AccessKeyId", "AttributeValue": LEAK["id"]}],
             90 * 86400, 50),
            ("us-east-1", [{"AttributeKey": "AccessKeyId", "AttributeValue": SESSION}],
             90 * 86400, 50)])
        self.assertEqual([s["Result"] for s in rec["Steps"]], ["planned", "planned"])

    def test_every_enabled_region_is_searched(self):
        # the attacker also worked from eu-west-1: the timeline searches each region the
        # account has enabled (ec2:DescribeRegions), or those --regions names
        self.emu.ec2_regions(["us-east-1", "eu-west-1"])
        self.emu.cloudtrail_events([
            {"access_key_id": LEAK["id"], "event_name": "CreateLoginProfile",
             "region": "eu-west-1", "source_ip": ATTACKER, "user_agent": "curl/8.5",
             "time": "-1h", "read_only": False}])
        self.emu.reset_calls()
        res = self.revoke("-o", "json")
        self.assertRc(res, 0)
        tl = json.loads(res.out)["Timeline"]
        self.assertEqual(tl["Regions"], ["eu-west-1", "us-east-1"])
        self.assertEqual([(p["EventName"], p["Region"]) for p in tl["Persistence"]], [
            ("CreateAccessKey", "us-east-1"), ("GetSessionToken", "us-east-1"),
            ("CreateUser", "us-east-1"), ("CreateLoginProfile", "eu-west-1")])
        self.assertEqual([c["action"] for c in self.emu.calls()
                          if c["action"] == "DescribeRegions"], ["DescribeRegions"])
        self.assertEqual(sorted({c["region"] for c in self.lookups()}),
                         ["eu-west-1", "us-east-1"])
        # --regions: those only, no DescribeRegions
        self.emu.reset_calls()
        res = self.revoke("--regions", "eu-west-1", "-o", "json")
        self.assertRc(res, 0)
        tl = json.loads(res.out)["Timeline"]
        self.assertEqual(tl["Regions"], ["eu-west-1"])
        self.assertEqual([p["EventName"] for p in tl["Persistence"]], ["CreateLoginProfile"])
        self.assertNotIn("DescribeRegions", [c["action"] for c in self.emu.calls()])
        self.assertEqual({c["region"] for c in self.lookups()}, {"eu-west-1"})
        res = self.revoke("--regions", "eu-west-1,moon")
        self.assertRc(res, 2)
        self.assertOneLineError(res, "invalid --regions 'eu-west-1,moon': 'moon' is not a "
                                "region name")

    def test_table_and_since(self):
        res = self.revoke("--since", "210m", "--apply")
        self.assertRc(res, 0)
        lines = res.out.splitlines()
        self.assertEqual([ln.split()[:2] for ln in lines[1:3]],
                         [["deactivate", "done"], ["deny-sessions", "done"]])
        # 3h30m back: the ListBuckets 5h ago and the GetParameter 3d ago are left out
        self.assertRegex(lines[4], r"^timeline of %s in us-east-1 from \S+Z to \S+Z: 2 events, "
                         r"2 callers, 2 persistence calls \(2 LookupEvents calls; "
                         r"management events only\)$" % LEAK["id"])
        self.assertEqual(lines[5], "")
        self.assertEqual(lines[6].split()[:4], ["TIME", "PERSISTENCE", "CALL", "SOURCE"])
        self.assertEqual([ln.split()[1:4] for ln in lines[7:9]],
                         [["GetSessionToken", ATTACKER, "curl/8.5"],
                          ["CreateUser", ATTACKER, "curl/8.5"]])
        self.assertEqual(lines[8].split()[4:], ["us-east-1", "AccessDenied", SESSION])
        self.assertEqual(lines[9], "")
        self.assertEqual(lines[10].split()[:3], ["SOURCE", "USER", "AGENT"])
        self.assertEqual(len(lines), 13)
        starts = [c["params"]["StartTime"] for c in self.lookups()]
        ends = [c["params"]["EndTime"] for c in self.lookups()]
        self.assertEqual([e - s for s, e in zip(starts, ends)], [210 * 60] * 2)

    def test_lookup_denied_is_a_warning(self):
        env = {"access_key_id": RESPONDER["id"], "secret": RESPONDER["secret"]}
        res = self.revoke("--apply", "-o", "json", **env)
        self.assertRc(res, 0)
        # ec2:DescribeRegions is denied too: the partition's regions, with a warning
        err = res.err.splitlines()
        self.assertEqual(len(err), 2, repr(res))
        self.assertIn("ec2:DescribeRegions", err[0])
        self.assertIn("warning: cloudtrail:LookupEvents is denied: no timeline of what %s did"
                      % LEAK["id"], err[1])
        self.assertIn("AccessDenied", err[1])
        rec = json.loads(res.out)
        self.assertIsNone(rec["Timeline"])
        self.assertIn("AccessDenied", rec["TimelineError"])
        self.assertEqual([(s["Step"], s["Result"]) for s in rec["Steps"]],
                         [("deactivate", "done"), ("deny-sessions", "done")])
        self.assertEqual(self.mutating(), ["UpdateAccessKey", "TagUser", "PutUserPolicy",
                                           "TagUser"])
        # the steps after it still run: --delete
        self.emu.reset_calls()
        res = self.revoke("--delete", "--apply", **env)
        self.assertRc(res, 0)
        self.assertEqual(self.mutating(), ["DeleteAccessKey", "TagUser"])
        self.assertIn("warning: cloudtrail:LookupEvents is denied", res.err)


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
