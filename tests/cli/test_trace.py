"""iamkeys trace: who calls with an access key, from CloudTrail's LookupEvents (the
emulator records every request and takes injected events)."""
import csv
import datetime
import io
import json
import os
import time

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

LEAKED = "AKIALEAKED0000000001"
DERIVED = "ASIADERIVED000000001"
JAVA = "aws-sdk-java/2.20.1 Linux/5.10 OpenJDK_64-Bit_Server_VM/17"


# the least gap between two paced LookupEvents of a region as the emulator receives them
# (the binary starts them 0.5 s apart; the receive times jitter under load)
PACED = 0.35


def events():
    """Three callers in two regions: 120 events from 10.0.3.7 in eu-west-1 (3 pages),
    30 from 10.0.9.1 in us-east-1, a GetSessionToken from 203.0.113.9 whose session
    then calls CreateUser; and noise signed with another key."""
    ev = [{"access_key_id": LEAKED, "event_name": "ListBuckets" if i % 3 else "GetObject",
           "event_source": "s3.amazonaws.com", "region": "eu-west-1", "source_ip": "10.0.3.7",
           "user_agent": JAVA, "time": "-%dh" % (i + 1)} for i in range(120)]
    ev += [{"access_key_id": LEAKED, "event_name": "GetUser", "region": "us-east-1",
            "source_ip": "10.0.9.1", "user_agent": "Boto3/1.34 Python/3.11",
            "time": "-%dm" % (i + 5)} for i in range(30)]
    ev += [{"access_key_id": LEAKED, "event_name": "GetSessionToken",
            "event_source": "sts.amazonaws.com", "region": "us-east-1",
            "source_ip": "203.0.113.9", "user_agent": "curl/8.5", "time": "-3h",
            "response_elements": {"credentials": {"accessKeyId": DERIVED}}},
           {"access_key_id": DERIVED, "event_name": "CreateUser", "region": "us-east-1",
            "source_ip": "203.0.113.9", "user_agent": "curl/8.5", "time": "-2h"},
           {"access_key_id": "AKIAOTHER00000000001", "region": "eu-west-1",
            "source_ip": "192.0.2.1"}]
    return ev


def reader_fixture():
    return fixtures.admin_fixture(extra_users=[
        {"name": "ct-reader", "keys": [fixtures.key("ct-reader", 10)],
         "allow": ["iam:*", "sts:*"]},
        {"name": "ct-noec2", "keys": [fixtures.key("ct-noec2", 10)],
         "allow": ["iam:*", "sts:*", "cloudtrail:LookupEvents"]}])


# the regions every account has: --regions all without ec2:DescribeRegions
PARTITION = ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
             "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1",
             "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
             "us-west-1", "us-west-2"]


class TraceTest(CliTestCase, EmulatorTestCase):
    test_cost = 40  # seconds, roughly: tests/run.py starts the slow classes first
    emulator_fixture = staticmethod(reader_fixture)

    def setUp(self):
        time.sleep(1.0)  # CloudTrail's 2 per second per region, refilled after the last test
        self.reset_emulator()  # a fixture load starts with no CloudTrail events
        self.emu.cloudtrail_events(events())
        self.emu.reset_calls()

    def trace(self, *args, **env):
        return run(["trace"] + list(args), self.emu.env(**env))

    def lookups(self):
        return [c for c in self.emu.calls() if c["action"] == "LookupEvents"]

    def test_callers_in_two_regions_over_pages(self):
        res = self.trace("--key", LEAKED, "--regions", "us-east-1,eu-west-1", "--output", "json")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        got = [(c["Source"], c["UserAgent"], c["Derived"], c["Regions"], c["Events"])
               for c in doc["Callers"]]
        self.assertEqual(got, [
            ("10.0.3.7", JAVA, False, ["eu-west-1"], 120),
            ("10.0.9.1", "Boto3/1.34 Python/3.11", False, ["us-east-1"], 30),
            ("203.0.113.9", "curl/8.5", True, ["us-east-1"], 1),
            ("203.0.113.9", "curl/8.5", False, ["us-east-1"], 1)])
        self.assertEqual(doc["Callers"][0]["TopEvents"], ["ListBuckets:80", "GetObject:40"])
        self.assertEqual(doc["Callers"][2]["TopEvents"], ["CreateUser:1"])
        # pages: eu-west-1 3 (50+50+20), us-east-1 1; then the derived key: 1 per region
        # (a throttled attempt, left over from the test before, is retried: not counted)
        calls = [c for c in self.lookups() if c["http_status"] == 200]
        per = {}
        for c in calls:
            attr = c["params"]["LookupAttributes"][0]["AttributeValue"]
            per[(c["region"], attr)] = per.get((c["region"], attr), 0) + 1
            self.assertEqual(c["params"]["MaxResults"], 50)
        self.assertEqual(per, {("eu-west-1", LEAKED): 3, ("us-east-1", LEAKED): 1,
                               ("eu-west-1", DERIVED): 1, ("us-east-1", DERIVED): 1})
        s = doc["Summary"]
        self.assertEqual((s["Callers"], s["Events"], s["Regions"]), (4, 152, 2))
        self.assertGreaterEqual(s["LookupEventsCalls"], 6)
        # the table: the user agent shortened, the summary says what it cannot see
        res = self.trace("--key", LEAKED, "--regions", "us-east-1,eu-west-1")
        self.assertRc(res, 0)
        self.assertIn(" aws-sdk-java/2.20.1… ", res.out)
        self.assertNotIn("OpenJDK", res.out)
        self.assertIn("4 callers, 152 events of 1 key in 2 regions (us-east-1,eu-west-1)",
                      res.out)
        self.assertIn("data events (S3 object reads and writes, Lambda invocations) are not "
                      "in it", res.out)

    def test_derived_keys_of_every_sts_call(self):
        """GetSessionToken, AssumeRole and GetFederationToken of the key: each issued key
        id is followed, its calls are marked derived with their SessionKeyId."""
        issued = {"GetSessionToken": DERIVED, "AssumeRole": "ASIAROLE000000000001",
                  "GetFederationToken": "ASIAFED0000000000001"}
        ev = []
        for i, (name, kid) in enumerate(sorted(issued.items())):
            ev.append({"access_key_id": LEAKED, "event_name": name,
                       "event_source": "sts.amazonaws.com", "region": "us-east-1",
                       "source_ip": "198.51.100.%d" % (i + 1), "user_agent": "curl/8.5",
                       "time": "-%dh" % (5 + i),
                       "response_elements": {"credentials": {"accessKeyId": kid}}})
            ev.append({"access_key_id": kid, "event_name": "ListUsers", "region": "us-east-1",
                       "source_ip": "198.51.100.%d" % (i + 1), "user_agent": "curl/8.5",
                       "time": "-%dh" % (1 + i)})
        self.reset_emulator()
        self.emu.cloudtrail_events(ev)
        self.emu.reset_calls()
        res = self.trace("--key", LEAKED, "--regions", "us-east-1", "--output", "json")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        got = sorted((c["Source"], c["Derived"], c["SessionKeyId"], c["TopEvents"])
                     for c in doc["Callers"])
        self.assertEqual(got, [
            ("198.51.100.1", False, None, ["AssumeRole:1"]),
            ("198.51.100.1", True, "ASIAROLE000000000001", ["ListUsers:1"]),
            ("198.51.100.2", False, None, ["GetFederationToken:1"]),
            ("198.51.100.2", True, "ASIAFED0000000000001", ["ListUsers:1"]),
            ("198.51.100.3", False, None, ["GetSessionToken:1"]),
            ("198.51.100.3", True, DERIVED, ["ListUsers:1"])])
        attrs = sorted(c["params"]["LookupAttributes"][0]["AttributeValue"]
                       for c in self.lookups() if c["http_status"] == 200)
        self.assertEqual(attrs, sorted([LEAKED] + list(issued.values())))
        res = self.trace("--key", LEAKED, "--regions", "us-east-1", "--output", "csv")
        self.assertRc(res, 0)
        self.assertIn("SessionKeyId", res.out.splitlines()[0])

    def test_csv_has_a_row_per_caller(self):
        """csv: a header, then one row per caller with every column (the user agent in
        full, the lists joined), most events first; the summary on stderr."""
        res = self.trace("--key", LEAKED, "--regions", "us-east-1", "--output", "csv")
        self.assertRc(res, 0)
        stored = self.emu.cloudtrail_events()

        def span(ip, name):
            # first and last seen: the stored events' own times (they were made
            # relative to the emulator's clock when setUp loaded them)
            t = sorted(e["eventTime"] for e in stored
                       if e["sourceIPAddress"] == ip and e["eventName"] == name)
            self.assertTrue(t, (ip, name))
            return t[0], t[-1]
        self.maxDiff = None
        self.assertEqual(res.out.splitlines(), [
            "AccessKeyId,Source,UserAgent,Derived,Regions,EventSources,TopEvents,Events,"
            "Errors,FirstSeen,LastSeen,SessionKeyId",
            "%s,10.0.9.1,Boto3/1.34 Python/3.11,no,us-east-1,iam.amazonaws.com,GetUser:30,"
            "30,0,%s,%s," % ((LEAKED,) + span("10.0.9.1", "GetUser")),
            "%s,203.0.113.9,curl/8.5,yes,us-east-1,iam.amazonaws.com,CreateUser:1,1,0,%s,%s,%s"
            % ((LEAKED,) + span("203.0.113.9", "CreateUser") + (DERIVED,)),
            "%s,203.0.113.9,curl/8.5,no,us-east-1,sts.amazonaws.com,GetSessionToken:1,1,0,"
            "%s,%s," % ((LEAKED,) + span("203.0.113.9", "GetSessionToken"))])
        self.assertIn("3 callers, 32 events of 1 key in 1 region (us-east-1)", res.err)

    def test_a_real_session_token_is_followed(self):
        """Without injection: the emulator's CloudTrail event of GetSessionToken carries the
        issued key id, and the session's own calls are found under it."""
        kid = fixtures.key("ct-reader", 10)["id"]
        secret = fixtures.key("ct-reader", 10)["secret"]
        self.reset_emulator()
        r = self.emu.request("sts", params={"Action": "GetSessionToken",
                                            "Version": "2011-06-15"},
                             access_key_id=kid, secret=secret)
        self.assertEqual(r.status, 200, r)
        text = r.body.decode()
        asia = text.split("<AccessKeyId>")[1].split("<")[0]
        skey = text.split("<SecretAccessKey>")[1].split("<")[0]
        token = text.split("<SessionToken>")[1].split("<")[0]
        r = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                            "Version": "2011-06-15"},
                             access_key_id=asia, secret=skey, session_token=token)
        self.assertEqual(r.status, 200, r)
        self.emu.reset_calls()
        time.sleep(0.6)
        res = self.trace("--key", kid, "--regions", "us-east-1", "--output", "json")
        self.assertRc(res, 0)
        got = [(c["TopEvents"], c["Derived"], c["SessionKeyId"])
               for c in json.loads(res.out)["Callers"]]
        self.assertEqual(got, [(["GetSessionToken:1"], False, None),
                               (["GetCallerIdentity:1"], True, asia)])

    def test_two_requests_per_second_per_region(self):
        # every region's requests at least half a second apart, none throttled
        res = self.trace("--key", LEAKED, "--regions", "eu-west-1")
        self.assertRc(res, 0)
        times = [c["real_time"] for c in self.lookups()]
        self.assertEqual(len(times), 3)  # 50 + 50 + 20 events
        gaps = [b - a for a, b in zip(times, times[1:])]
        # (paced at 0.5 s; the emulator's receive times jitter under load, and requests
        # that were not paced would be milliseconds apart)
        self.assertTrue(all(g >= PACED for g in gaps), gaps)
        self.assertEqual([c["error_code"] for c in self.lookups()], [None] * 3)

    def test_throttled_by_another_client_waits(self):
        self.emu.fault("LookupEvents", kind="throttle", count=4)
        res = self.trace("--key", LEAKED, "--regions", "us-east-1", "--output", "json")
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out)["Summary"]["Events"], 32)

    def test_a_key_with_no_events(self):
        res = self.trace("--key", "AKIANOTHING000000001", "--regions", "us-east-1")
        self.assertRc(res, 0)
        self.assertIn("no event signed with AKIANOTHING000000001\n", res.out)
        self.assertIn("0 callers, 0 events of 1 key in 1 region (us-east-1)", res.out)

    def test_every_enabled_region_by_default(self):
        """No --regions, or --regions all: EC2 DescribeRegions, then LookupEvents in each
        enabled region (an opted-in one too), and only those."""
        self.emu.ec2_regions(["us-east-1", "eu-west-1", "af-south-1"])
        for extra in ([], ["--regions", "all"]):
            self.emu.reset_calls()
            time.sleep(1.0)
            res = self.trace("--key", LEAKED, "--output", "json", *extra)
            self.assertRc(res, 0)
            self.assertEqual(res.err, "")
            calls = [c for c in self.emu.calls() if c["http_status"] == 200]
            self.assertEqual(calls[0]["service"], "ec2")
            self.assertEqual(calls[0]["action"], "DescribeRegions")
            self.assertEqual(calls[0]["params"], {})
            self.assertEqual(calls[0]["region"], "us-east-1")
            per = {}
            for c in calls[1:]:
                if c["action"] != "LookupEvents":
                    continue
                attr = c["params"]["LookupAttributes"][0]["AttributeValue"]
                per[(c["region"], attr)] = per.get((c["region"], attr), 0) + 1
            self.assertEqual(per, {("eu-west-1", LEAKED): 3, ("us-east-1", LEAKED): 1,
                                   ("af-south-1", LEAKED): 1, ("eu-west-1", DERIVED): 1,
                                   ("us-east-1", DERIVED): 1, ("af-south-1", DERIVED): 1})
            # DescribeRegions' reply told AWS's clock: no GetCallerIdentity for it
            self.assertEqual([c["action"] for c in calls if c["action"] not in
                              ("LookupEvents", "DescribeRegions")], [])
            s = json.loads(res.out)["Summary"]
            self.assertEqual((s["Events"], s["Regions"]), (152, 3))
        res = self.trace("--key", LEAKED)
        self.assertRc(res, 0)
        self.assertIn("4 callers, 152 events of 1 key in 3 regions "
                      "(af-south-1,eu-west-1,us-east-1) from ", res.out)

    def test_describe_regions_denied_falls_back(self):
        """Without ec2:DescribeRegions: one warning naming it, then the partition's 17
        regions that need no opt-in."""
        k = fixtures.key("ct-noec2", 10)
        res = self.trace("--key", LEAKED, "--output", "json", AWS_ACCESS_KEY_ID=k["id"],
                         AWS_SECRET_ACCESS_KEY=fixtures.secret_for("ct-noec2"))
        self.assertRc(res, 0)
        self.assertEqual(res.err, "iamkeys: warning: ec2:DescribeRegions is denied "
                         "(UnauthorizedOperation): searching the 17 regions of partition aws "
                         "that need no opt-in\n")
        denied = [c for c in self.emu.calls() if c["action"] == "DescribeRegions"]
        self.assertEqual([(c["http_status"], c["error_code"]) for c in denied],
                         [(403, "UnauthorizedOperation")])
        regions = sorted(set(c["region"] for c in self.lookups() if c["http_status"] == 200))
        self.assertEqual(regions, PARTITION)
        self.assertEqual(json.loads(res.out)["Summary"]["Regions"], 17)
        self.assertEqual(json.loads(res.out)["Summary"]["Events"], 152)

    def test_since_bounds(self):
        res = self.trace("--key", LEAKED, "--regions", "eu-west-1", "--since", "630m",
                         "--output", "json")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(doc["Summary"]["Events"], 10)  # 1h .. 10h ago
        start = self.lookups()[0]["params"]["StartTime"]
        end = self.lookups()[0]["params"]["EndTime"]
        self.assertEqual(end - start, 630 * 60)

    def test_a_user_s_keys(self):
        res = self.trace("--user", "ct-reader", "--output", "json")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(doc["Callers"], [])
        self.assertEqual([c["action"] for c in self.emu.calls()][:2],
                         ["DescribeRegions", "ListAccessKeys"])
        got = sorted((c["region"], c["params"]["LookupAttributes"][0]["AttributeValue"])
                     for c in self.lookups())
        self.assertEqual(got, [(r, fixtures.key("ct-reader", 10)["id"]) for r in PARTITION])

    def test_several_keys_share_the_pacers(self):
        """--key is repeatable, and --user adds that user's keys (each key once): one run,
        one pacer per region for them all."""
        reader = fixtures.key("ct-reader", 10)["id"]
        res = self.trace("--key", LEAKED, "--key", reader, "--user", "ct-reader",
                         "--regions", "eu-west-1", "--output", "json")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(sorted(set(c["AccessKeyId"] for c in doc["Callers"])), [LEAKED])
        calls = [c for c in self.lookups() if c["http_status"] == 200]
        self.assertEqual([c["params"]["LookupAttributes"][0]["AttributeValue"] for c in calls],
                         [LEAKED] * 3 + [reader])  # its GetSessionToken is in us-east-1
        t = [c["real_time"] for c in calls]
        self.assertTrue(all(b - a >= PACED for a, b in zip(t, t[1:])), t)
        self.assertIn("of 2 keys in 1 region", self.trace("--key", LEAKED, "--key", reader,
                                                          "--regions", "eu-west-1").out)

    def test_malformed_event(self):
        self.emu.cloudtrail_events([{"access_key_id": LEAKED, "region": "us-east-1",
                                     "cloudtrail_event": "{\"eventTime\": \n"}])
        res = self.trace("--key", LEAKED, "--output", "json", "--regions", "us-east-1")
        self.assertRc(res, 0)
        self.assertOneLineError(res, "1 event whose CloudTrailEvent does not parse is left out")
        self.assertEqual(json.loads(res.out)["Summary"]["Events"], 32)

    def test_denied(self):
        k = fixtures.key("ct-reader", 10)
        res = self.trace("--key", LEAKED, "--regions", "eu-west-1", AWS_ACCESS_KEY_ID=k["id"],
                         AWS_SECRET_ACCESS_KEY=fixtures.secret_for("ct-reader"))
        self.assertRc(res, 1)
        self.assertOneLineError(res, "may not call cloudtrail:LookupEvents", "AccessDenied")
        self.assertEqual(res.out, "")

    def test_bad_input(self):
        for args, msg in [
            ([], "say which key to trace: --key AKIA... or --user NAME"),
            (["--key", "AKIA-bad"], "invalid --key 'AKIA-bad'"),
            (["--key", LEAKED, "--since", "91d"], "--since must be between 1s and 90d"),
            (["--key", LEAKED, "--since", "soon"], "--since"),
            (["--key", LEAKED, "--regions", "eu-west-1,moon"], "'moon' is not a region name"),
            (["--key", LEAKED, "--regions", ","], "invalid --regions"),
            (["--key", LEAKED, "--regions", "eu-west-1,all"],
             "invalid --regions 'eu-west-1,all': 'all' is not a region name"),
            (["--key", LEAKED, "--regions", "ALL"], "'ALL' is not a region name"),
            (["--key", LEAKED, "--regions", ""], "option '--regions' is empty"),
        ]:
            res = self.trace(*args)
            self.assertRc(res, 2)
            self.assertOneLineError(res, msg)
        self.assertEqual(self.lookups(), [])
        self.assertEqual([c for c in self.emu.calls() if c["action"] == "DescribeRegions"], [])


def due_fixture():
    users = [{"name": n, "path": "/", "create_date": "-900d",
              "keys": [fixtures.key(n, 100, last_used_days=50)]} for n in ("erin", "frank")]
    users.append({"name": "ct-denied", "keys": [fixtures.key("ct-denied", 10)],
                  "allow": ["iam:*", "sts:*", "ec2:DescribeRegions"]})
    return fixtures.admin_fixture(extra_users=users)


class RotateTraceGateTest(CliTestCase, EmulatorTestCase):
    """rotate --trace-gate: an old key that CloudTrail saw in use since delivery is not
    deactivated, even when GetAccessKeyLastUsed has not caught up."""
    test_cost = 30  # seconds, roughly: tests/run.py starts the slow classes first
    emulator_fixture = staticmethod(due_fixture)

    def setUp(self):
        import shutil
        import tempfile
        time.sleep(1.0)
        self.reset_emulator()
        # the regions enabled for the account: the gate asks each of them by default
        self.emu.ec2_regions(["us-east-1", "eu-west-1"])
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.to = "file:%s/{user}.json" % self.dir
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to], self.emu.env())
        self.assertRc(res, 0)
        self.old = fixtures.key("erin", 100)["id"]
        self.emu.advance_clock(8 * 86400)  # past --deactivate-after
        self.emu.reset_calls()

    def erin_keys(self):
        u = [u for u in self.emu.state()["accounts"][0]["users"] if u["name"] == "erin"][0]
        return {k["id"]: k["status"] for k in u["keys"]}

    def test_cloudtrail_use_blocks_the_deactivation(self):
        self.emu.cloudtrail_events([{"access_key_id": self.old, "event_name": "GetObject",
                                     "event_source": "s3.amazonaws.com", "region": "us-east-1",
                                     "source_ip": "10.0.3.7", "user_agent": "aws-sdk-java/2.20 x",
                                     "time": "-1h"}])
        seen = [e["eventTime"] for e in self.emu.cloudtrail_events()
                if e["sourceIPAddress"] == "10.0.3.7"][0]
        blocked = ("erin [delivered] blocked: old key %s is still in use since delivery per "
                   "CloudTrail (1 event): 10.0.3.7 aws-sdk-java/2.20 last %s" % (self.old, seen))
        # the witness is asked when the user is planned: the dry run says what --apply does
        res = run(["rotate", "--user", "erin", "--to", self.to, "--trace-gate"], self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(res.out.splitlines()[0], blocked)
        self.assertIn("1 user: 0 with a plan, 1 blocked, 0 failed,", res.out)
        time.sleep(1.0)
        # --apply: a blocked user (not a failed step), and the owner hears "blocked"
        log = os.path.join(self.dir, "events.log")
        script = os.path.join(self.dir, "hook.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\ncat >> %s\necho >> %s\n' % (log, log))
        os.chmod(script, 0o700)
        self.emu.reset_calls()
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--trace-gate",
                   "--notify", "exec:" + script], self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(res.out.splitlines()[0], blocked)
        self.assertIn("1 user: 0 acted on, 1 blocked, 0 failed,", res.out)
        with open(log) as f:
            evs = [json.loads(x) for x in f if x.strip()]
        # (setUp's delivery had no --notify: its event is still owed, and sent first)
        self.assertEqual([(e["event"], e["user"]) for e in evs],
                         [("delivered", "erin"), ("blocked", "erin")])
        self.assertIn("10.0.3.7 aws-sdk-java/2.20", json.dumps(evs[1]))
        self.assertEqual(self.erin_keys()[self.old], "Active")
        self.assertNotIn("UpdateAccessKey", [c["action"] for c in self.emu.calls()])
        # one LookupEvents per region: the plan's, not asked again before the step
        self.assertEqual(sorted(c["region"] for c in self.emu.calls()
                                if c["action"] == "LookupEvents"), ["eu-west-1", "us-east-1"])
        time.sleep(1.0)
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--trace-gate",
                   "--output", "json"], self.emu.env())
        self.assertRc(res, 3)
        callers = json.loads(res.out)["Users"][0]["Callers"]
        self.assertEqual([(c["Source"], c["UserAgent"], c["Events"]) for c in callers],
                         [("10.0.3.7", "aws-sdk-java/2.20 x", 1)])
        # without the gate, GetAccessKeyLastUsed alone decides
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--no-trace-gate"],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(self.erin_keys()[self.old], "Inactive")

    def test_blocked_line_names_the_callers(self):
        """Stage 2 blocked by GetAccessKeyLastUsed: with the gate on, the line and the json
        name the top 3 callers since delivery (CloudTrail), most events first."""
        now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")
        r = self.emu.request("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                             access_key_id=self.old, secret=fixtures.secret_for("erin"),
                             when=now)
        self.assertEqual(r.status, 200, r)
        ev = [{"access_key_id": self.old, "event_name": "GetObject",
               "event_source": "s3.amazonaws.com", "region": "us-east-1",
               "source_ip": "10.0.3.7", "user_agent": JAVA, "time": "-%dm" % (10 + i)}
              for i in range(3)]
        ev += [{"access_key_id": self.old, "event_name": "ListBuckets", "region": "us-east-1",
                "source_ip": "10.0.9.1", "user_agent": "Boto3/1.34 Python/3.11",
                "time": "-2h"} for _ in range(2)]
        ev += [{"access_key_id": self.old, "region": "us-east-1", "source_ip": "192.0.2.7",
                "user_agent": "curl/8.5", "time": "-9d"}]  # before delivery: not counted
        self.emu.cloudtrail_events(ev)
        self.emu.reset_calls()
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--trace-gate"],
                  self.emu.env())
        self.assertRc(res, 3)
        line = [x for x in res.out.splitlines() if x.startswith("erin ")][0]
        # the times as the emulator stored them (its clock runs on while the test sets up)
        stored = {}
        for e in self.emu.cloudtrail_events():
            if e["userIdentity"].get("accessKeyId") == self.old:
                ip = e["sourceIPAddress"]
                stored[ip] = max(stored.get(ip, ""), e["eventTime"])

        def at(delta):
            return {0: stored["127.0.0.1"], 600: stored["10.0.3.7"],
                    7200: stored["10.0.9.1"]}[delta]
        self.assertEqual(line, "erin [delivered] blocked: old key %s is still in use since "
                         "delivery: last used %s (iam, us-east-1); callers per CloudTrail "
                         "(6 events): 10.0.3.7 aws-sdk-java/2.20.1 last %s; 10.0.9.1 Boto3/1.34 "
                         "last %s; 127.0.0.1 - last %s"
                         % (self.old, at(0), at(600), at(7200), at(0)))
        self.assertEqual(self.erin_keys()[self.old], "Active")
        lookups = [c for c in self.emu.calls() if c["action"] == "LookupEvents"]
        self.assertEqual(sorted((c["region"],
                                 c["params"]["LookupAttributes"][0]["AttributeValue"])
                                for c in lookups), [("eu-west-1", self.old),
                                                    ("us-east-1", self.old)])
        self.assertNotIn("UpdateAccessKey", [c["action"] for c in self.emu.calls()])
        time.sleep(1.0)
        res = run(["rotate", "--user", "erin", "--to", self.to, "--trace-gate", "--output",
                   "json"], self.emu.env())
        self.assertRc(res, 3)
        u = json.loads(res.out)["Users"][0]
        self.assertEqual(u["Outcome"], "blocked")
        self.assertEqual(u["Callers"], [
            {"Source": "10.0.3.7", "UserAgent": JAVA, "LastSeen": at(600), "Events": 3,
             "Derived": False},
            {"Source": "10.0.9.1", "UserAgent": "Boto3/1.34 Python/3.11", "LastSeen": at(7200),
             "Events": 2, "Derived": False},
            {"Source": "127.0.0.1", "UserAgent": "", "LastSeen": at(0), "Events": 1,
             "Derived": False}])
        # without the gate: GetAccessKeyLastUsed alone, no CloudTrail call
        self.emu.reset_calls()
        res = run(["rotate", "--user", "erin", "--to", self.to, "--no-trace-gate"],
                  self.emu.env())
        self.assertRc(res, 3)
        self.assertNotIn("CloudTrail", res.out)
        self.assertEqual([c for c in self.emu.calls() if c["action"] == "LookupEvents"], [])

    def test_no_event_deactivates(self):
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--trace-gate",
                   "--trace-regions", "us-east-1,eu-west-1"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(self.erin_keys()[self.old], "Inactive")
        regions = sorted(c["region"] for c in self.emu.calls() if c["action"] == "LookupEvents"
                         and c["http_status"] == 200)
        self.assertEqual(regions, ["eu-west-1", "us-east-1"])

    def test_every_enabled_region(self):
        """--trace-regions all: EC2 DescribeRegions, then the gate asks each enabled region
        (and finds the event in eu-west-1)."""
        self.emu.ec2_regions(["us-east-1", "eu-west-1", "ap-south-1"])
        self.emu.cloudtrail_events([{"access_key_id": self.old, "region": "eu-west-1",
                                     "source_ip": "10.0.3.7", "user_agent": "curl/8.5",
                                     "time": "-1h"}])
        self.emu.reset_calls()
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--trace-gate",
                   "--trace-regions", "all"], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("per CloudTrail (1 event): 10.0.3.7 curl/8.5 last ", res.out)
        calls = [c for c in self.emu.calls() if c["service"] in ("ec2", "cloudtrail")]
        self.assertEqual(calls[0]["action"], "DescribeRegions")
        self.assertEqual(sorted(c["region"] for c in calls[1:]),
                         ["ap-south-1", "eu-west-1", "us-east-1"])
        self.assertEqual(self.erin_keys()[self.old], "Active")

    def test_denied_falls_back_with_a_warning(self):
        # a principal that may rotate but not call cloudtrail:LookupEvents
        k = fixtures.key("ct-denied", 10)
        env = self.emu.env(AWS_ACCESS_KEY_ID=k["id"],
                           AWS_SECRET_ACCESS_KEY=fixtures.secret_for("ct-denied"))
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--trace-gate"], env)
        self.assertRc(res, 0)
        self.assertIn("warning: cloudtrail:LookupEvents is denied: old keys were checked with "
                      "GetAccessKeyLastUsed alone", res.err)
        self.assertEqual(self.erin_keys()[self.old], "Inactive")

    def old_event(self, region="us-east-1"):
        self.emu.cloudtrail_events([{"access_key_id": self.old, "event_name": "GetObject",
                                     "event_source": "s3.amazonaws.com", "region": region,
                                     "source_ip": "10.0.3.7", "user_agent": "aws-sdk-java/2.20 x",
                                     "time": "-1h"}])

    def test_on_by_default(self):
        """Without --trace-gate, stage 2 asks CloudTrail all the same: EC2 DescribeRegions
        once, then one LookupEvents for the old key in each enabled region, and a caller
        seen since delivery (here in eu-west-1, not the command's region) blocks."""
        self.old_event("eu-west-1")
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("key %s is still in use since delivery per CloudTrail (1 event): "
                      "10.0.3.7 aws-sdk-java/2.20 last " % self.old, res.out)
        calls = [c for c in self.emu.calls() if c["service"] in ("ec2", "cloudtrail")]
        self.assertEqual(calls[0]["action"], "DescribeRegions")
        self.assertEqual(sorted((c["action"], c["region"], c["params"]["LookupAttributes"])
                                for c in calls[1:]),
                         [("LookupEvents", r, [{"AttributeKey": "AccessKeyId",
                                                "AttributeValue": self.old}])
                          for r in ("eu-west-1", "us-east-1")])
        self.assertNotIn("UpdateAccessKey", [c["action"] for c in self.emu.calls()])
        self.assertEqual(self.erin_keys()[self.old], "Active")
        time.sleep(1.0)
        res = run(["rotate", "--user", "erin", "--to", self.to, "--output", "json"],
                  self.emu.env())
        self.assertEqual(json.loads(res.out)["DeactivateGate"],
                         "last-used+cloudtrail")

    def test_no_trace_gate(self):
        """--no-trace-gate: no CloudTrail call, GetAccessKeyLastUsed alone decides."""
        self.old_event()
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to, "--no-trace-gate",
                   "--output", "json"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out)["DeactivateGate"], "last-used")
        self.assertEqual([c for c in self.emu.calls() if c["service"] in ("cloudtrail", "ec2")],
                         [])
        self.assertEqual(self.erin_keys()[self.old], "Inactive")

    def test_default_denied_warns_once(self):
        """The default gate without cloudtrail:LookupEvents: two users deactivated on
        GetAccessKeyLastUsed alone, one warning for the run, and the json says so."""
        res = run(["rotate", "--apply", "--user", "frank", "--to", self.to], self.emu.env())
        self.assertRc(res, 0)
        self.emu.advance_clock(8 * 86400)
        k = fixtures.key("ct-denied", 10)
        env = self.emu.env(AWS_ACCESS_KEY_ID=k["id"],
                           AWS_SECRET_ACCESS_KEY=fixtures.secret_for("ct-denied"))
        self.emu.reset_calls()
        res = run(["rotate", "--apply", "--user", "erin", "--user", "frank", "--to", self.to,
                   "--output", "json"], env)
        self.assertRc(res, 0)
        self.assertEqual(res.err.splitlines(), [
            "iamkeys: warning: cloudtrail:LookupEvents is denied: old keys were checked with "
            "GetAccessKeyLastUsed alone before deactivation (it can lag by hours)"])
        doc = json.loads(res.out)
        self.assertEqual(doc["DeactivateGate"], "last-used")
        self.assertEqual(self.erin_keys()[self.old], "Inactive")
        lookups = [c for c in self.emu.calls() if c["action"] == "LookupEvents"]
        self.assertEqual(len(lookups), 4)  # 2 users, 2 regions
        self.assertEqual(len([c for c in self.emu.calls()
                              if c["action"] == "UpdateAccessKey"]), 2)

    def test_failing_region_stays_blocked(self):
        """CloudTrail that does not answer (server errors after the retries) fails closed:
        the old key stays Active, the line says why."""
        self.emu.fault("LookupEvents", kind="server_error", probability=1.0)
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to,
                   "--trace-regions", "us-east-1,eu-west-1"], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("cannot ask CloudTrail whether key %s is still used: " % self.old,
                      res.out)
        self.assertEqual(self.erin_keys()[self.old], "Active")
        self.assertNotIn("UpdateAccessKey", [c["action"] for c in self.emu.calls()])

    def test_unreadable_regions_stay_blocked(self):
        """The enabled regions cannot be read (DescribeRegions fails after its retries):
        the gate cannot ask CloudTrail, so the old key stays Active."""
        self.emu.fault("DescribeRegions", kind="server_error", probability=1.0)
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("cannot ask CloudTrail whether key %s is still used: cannot read the "
                      "enabled regions: " % self.old, res.out)
        self.assertEqual([c for c in self.emu.calls() if c["action"] == "LookupEvents"], [])
        self.assertNotIn("UpdateAccessKey", [c["action"] for c in self.emu.calls()])
        self.assertEqual(self.erin_keys()[self.old], "Active")
        self.emu.clear_faults()

    def test_throttling_backs_off(self):
        """Throttled LookupEvents are retried; the gate decides on the answer (an event:
        blocked), and throttling that does not end keeps the key blocked."""
        self.old_event()
        self.emu.fault("LookupEvents", kind="throttle", count=2)
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("per CloudTrail (1 event): 10.0.3.7", res.out)
        # two throttled answers, then one answer per region
        self.assertEqual(sorted(c["http_status"] for c in self.emu.calls()
                                if c["action"] == "LookupEvents"), [200, 200, 400, 400])
        self.emu.clear_faults()
        self.emu.clear_cloudtrail()
        self.emu.fault("LookupEvents", kind="throttle", probability=1.0)
        res = run(["rotate", "--apply", "--user", "erin", "--to", self.to], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn("cannot ask CloudTrail whether key %s is still used: " % self.old,
                      res.out)
        self.assertEqual(self.erin_keys()[self.old], "Active")
        self.emu.clear_faults()

    def test_usage(self):
        res = run(["rotate", "--to", self.to, "--no-trace-gate", "--trace-regions",
                   "us-east-1"], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--trace-regions is for the trace gate (drop "
                                "--no-trace-gate)")
        res = run(["rotate", "--to", self.to, "--trace-gate", "--no-trace-gate"],
                  self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--trace-gate and --no-trace-gate do not go together")
        res = run(["rotate", "--to", self.to, "--trace-gate", "--trace-regions", "all,x1"],
                  self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "invalid --trace-regions 'all,x1': 'all' is not a region")


def audit_fixture():
    users = [{"name": "erin", "keys": [fixtures.key("a-erin", 100, last_used_days=1)]},
             {"name": "frank", "keys": [fixtures.key("a-frank", 120, last_used_days=2)]},
             {"name": "gina", "keys": [fixtures.key("a-gina", 10, last_used_days=1)]},
             {"name": "ct-denied", "keys": [fixtures.key("a-ct-denied", 10)],
              "allow": ["iam:*", "sts:*", "ec2:DescribeRegions"]}]
    return fixtures.admin_fixture(extra_users=users)


class AuditTraceTest(CliTestCase, EmulatorTestCase):
    """audit --trace: the top 3 callers of every key with a finding, in every enabled
    region, all keys sharing one pacer per region."""
    emulator_fixture = staticmethod(audit_fixture)

    def setUp(self):
        time.sleep(1.0)
        self.reset_emulator()
        self.emu.ec2_regions(["us-east-1", "eu-west-1"])
        self.erin = fixtures.key("a-erin", 100)["id"]
        self.frank = fixtures.key("a-frank", 120)["id"]
        ev = [{"access_key_id": self.erin, "event_name": "GetObject",
               "event_source": "s3.amazonaws.com", "region": "eu-west-1",
               "source_ip": "10.0.3.7", "user_agent": JAVA, "time": "-%dh" % (i + 1)}
              for i in range(3)]
        ev += [{"access_key_id": self.erin, "event_name": "GetUser", "region": "us-east-1",
                "source_ip": "10.0.9.1", "user_agent": "Boto3/1.34 Python/3.11",
                "time": "-2d"},
               {"access_key_id": self.erin, "event_name": "GetUser", "region": "us-east-1",
                "source_ip": "198.51.100.4", "user_agent": "", "time": "-40d"}]  # too old
        self.emu.cloudtrail_events(ev)
        self.emu.reset_calls()
        self.now = datetime.datetime.strptime(self.emu.clock()["now"], "%Y-%m-%dT%H:%M:%SZ")

    def at(self, seconds):
        return (self.now - datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def audit(self, *args, **env):
        return run(["audit", "--user", "erin", "--user", "frank", "--user", "gina",
                    "--trace"] + list(args), self.emu.env(**env))

    def test_callers_of_keys_with_a_finding(self):
        res = self.audit()
        self.assertRc(res, 3)  # the old keys
        self.assertEqual(res.err, "")
        lines = res.out.splitlines()
        i = [n for n, x in enumerate(lines) if x.startswith("erin ")][0]
        self.assertEqual(lines[i + 1], "  callers per CloudTrail (4 events): 10.0.3.7 "
                         "aws-sdk-java/2.20.1 last %s; 10.0.9.1 Boto3/1.34 last %s"
                         % (self.at(3600), self.at(2 * 86400)))
        self.assertTrue(lines[i + 2].startswith("frank "), lines)
        self.assertEqual(lines[i + 3], "  callers per CloudTrail: none")
        self.assertNotIn("gina", res.out)  # no finding: not listed, not traced
        self.assertIn("; callers of 2 keys from CloudTrail in 2 regions (4 LookupEvents "
                      "calls; management events only)", lines[-1])
        # exactly: DescribeRegions, then one page per key and region, erin's first
        calls = [c for c in self.emu.calls() if c["service"] in ("ec2", "cloudtrail")]
        self.assertEqual(calls[0]["action"], "DescribeRegions")
        got = [(c["params"]["LookupAttributes"][0]["AttributeValue"], c["region"])
               for c in calls[1:]]
        self.assertEqual(sorted(got[:2]), [(self.erin, "eu-west-1"), (self.erin, "us-east-1")])
        self.assertEqual(sorted(got[2:]), [(self.frank, "eu-west-1"),
                                           (self.frank, "us-east-1")])
        self.assertTrue(all(c["http_status"] == 200 for c in calls), calls)
        # one pacer per region across keys: a region's two requests half a second apart
        for region in ("eu-west-1", "us-east-1"):
            t = [c["real_time"] for c in calls[1:] if c["region"] == region]
            self.assertGreaterEqual(t[1] - t[0], PACED)
        span = calls[1]["params"]["EndTime"] - calls[1]["params"]["StartTime"]
        self.assertEqual(span, 30 * 86400)

    def test_json(self):
        res = self.audit("--output", "json")
        self.assertRc(res, 3)
        doc = json.loads(res.out)
        keys = {k["UserName"]: k for k in doc["Keys"]}
        self.assertEqual(keys["erin"]["Callers"], [
            {"Source": "10.0.3.7", "UserAgent": JAVA, "LastSeen": self.at(3600), "Events": 3,
             "Derived": False},
            {"Source": "10.0.9.1", "UserAgent": "Boto3/1.34 Python/3.11",
             "LastSeen": self.at(2 * 86400), "Events": 1, "Derived": False}])
        self.assertEqual(keys["frank"]["Callers"], [])
        t = doc["Summary"]["Trace"]
        self.assertEqual((t["Keys"], t["Regions"], t["LookupEventsCalls"], t["Denied"]),
                         (2, 2, 4, False))
        # without --trace: no CloudTrail call, no Callers member
        self.emu.reset_calls()
        res = run(["audit", "--user", "erin", "--output", "json"], self.emu.env())
        self.assertRc(res, 3)
        self.assertNotIn("Callers", json.loads(res.out)["Keys"][0])
        self.assertNotIn("Trace", json.loads(res.out)["Summary"])
        self.assertEqual([c for c in self.emu.calls() if c["service"] in ("ec2", "cloudtrail")],
                         [])

    def test_lookup_events_denied_warns(self):
        k = fixtures.key("a-ct-denied", 10)
        res = self.audit("--output", "json", AWS_ACCESS_KEY_ID=k["id"],
                         AWS_SECRET_ACCESS_KEY=fixtures.secret_for("a-ct-denied"))
        self.assertRc(res, 3)
        self.assertEqual(res.err, "iamkeys: warning: cloudtrail:LookupEvents is denied: no "
                         "callers; the last use shown is GetAccessKeyLastUsed's\n")
        doc = json.loads(res.out)
        self.assertEqual([k.get("Callers") for k in doc["Keys"]], [None, None])
        self.assertTrue(doc["Summary"]["Trace"]["Denied"])

    def test_csv(self):
        """csv: the key's columns, then CallerEvents and Callers (top 3) of a traced key."""
        res = self.audit("--output", "csv")
        self.assertRc(res, 3)
        rows = list(csv.reader(io.StringIO(res.out)))
        self.assertEqual(rows[0][-3:], ["Findings", "CallerEvents", "Callers"])
        got = {r[0]: r[-2:] for r in rows[1:]}
        self.assertEqual(got, {
            "erin": ["4", "10.0.3.7 aws-sdk-java/2.20.1 last %s; 10.0.9.1 Boto3/1.34 last %s"
                     % (self.at(3600), self.at(2 * 86400))],
            "frank": ["0", ""]})
        # without --trace, the columns are audit's
        res = run(["audit", "--user", "erin", "--output", "csv"], self.emu.env())
        self.assertEqual(res.out.splitlines()[0].split(",")[-1], "Findings")

    def test_trace_since(self):
        """--trace-since 45d: the window is 45 days, and the caller of 40 days ago is in."""
        res = self.audit("--trace-since", "45d")
        self.assertRc(res, 3)
        lines = res.out.splitlines()
        i = [n for n, x in enumerate(lines) if x.startswith("erin ")][0]
        self.assertEqual(lines[i + 1], "  callers per CloudTrail (5 events): 10.0.3.7 "
                         "aws-sdk-java/2.20.1 last %s; 10.0.9.1 Boto3/1.34 last %s; "
                         "198.51.100.4 - last %s"
                         % (self.at(3600), self.at(2 * 86400), self.at(40 * 86400)))
        calls = [c for c in self.emu.calls() if c["action"] == "LookupEvents"]
        self.assertEqual(len(calls), 4)
        for c in calls:
            self.assertEqual(c["params"]["EndTime"] - c["params"]["StartTime"], 45 * 86400)

    def test_usage(self):
        res = run(["audit", "--trace", "--accounts", "222222222222"], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--trace is for one account (no --org or --accounts)")
        self.assertEqual(self.emu.calls(), [])
        for args, msg in [
            (["--trace", "--trace-since", "91d"], "--trace-since must be between 1s and 90d: "
             "CloudTrail keeps 90 days of events"),
            (["--trace", "--trace-since", "0"], "--trace-since must be between 1s and 90d"),
            (["--trace", "--trace-since", "soon"], "option '--trace-since': "),
            (["--trace-since", "7d"], "--trace-since is for --trace"),
        ]:
            res = run(["audit", "--user", "erin"] + args, self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, msg)
        self.assertEqual(self.emu.calls(), [])
