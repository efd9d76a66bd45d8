"""Many accounts in one run (docs/scale.md): --org, --accounts, --accounts-file, --shard,
roles per account, one account's failure (exit 4), throttling in one account only,
rotate with {account} sinks, and the usage errors that make no AWS call."""
import datetime
import json
import os
import stat
import tempfile

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.fixtures import key, member_account_id
from tests.emulator.harness import Emulator, EmulatorTestCase

MGMT = fixtures.ACCOUNT_ID
NOW = "2026-06-01T12:00:00Z"
DAY = 86400
SEVERITY = ["root-key", "old", "two-active", "unused", "inactive-stale", "expiring"]


def ts(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def key_findings(k, active_keys, now):
    """core/policy.c with the default policy (90d / 7d / 45d / 30d)."""
    age = now - ts(k["create_date"])
    f = set()
    if k["status"] != "Active":
        if age > 30 * DAY:
            f.add("inactive-stale")
        return f
    if age > 90 * DAY:
        f.add("old")
    elif age > 83 * DAY:
        f.add("expiring")
    lu = k.get("last_used")
    if lu:
        if now - ts(lu["date"]) > 45 * DAY:
            f.add("unused")
    elif age > 45 * DAY:
        f.add("unused")
    if active_keys >= 2:
        f.add("two-active")
    return f


def expected_rows(state, now, accounts=None):
    """{(account, user, key id): (findings in output order, exempt)} of every key with a
    finding, from the emulator's state."""
    rows = {}
    for acc in state["accounts"]:
        if accounts is not None and acc["id"] not in accounts:
            continue
        if any(k["status"] == "Active" for k in acc.get("root", {}).get("keys", [])):
            rows[(acc["id"], "<root_account>", None)] = (["root-key"], False)
        for u in acc["users"]:
            active = sum(1 for k in u["keys"] if k["status"] == "Active")
            tags = {t["Key"]: t["Value"] for t in u.get("tags", [])} \
                if isinstance(u.get("tags"), list) else dict(u.get("tags") or {})
            exempt = tags.get("iamkeys:exempt", "").lower() == "true"
            for k in u["keys"]:
                f = key_findings(k, active, now)
                if f:
                    rows[(acc["id"], u["name"], k["id"])] = (
                        [x for x in SEVERITY if x in f], exempt)
    return rows


def got_rows(doc):
    return {(k["AccountId"], k["UserName"], k["AccessKeyId"]): (k["Findings"],
                                                                k["Exempt"] is not None)
            for k in doc["Keys"]}


def role_arn(account, name=fixtures.ORG_ROLE):
    return "arn:aws:iam::%s:role/%s" % (account, name)


class OrgAuditScaleTest(CliTestCase):
    """The issue's scale test: 50 accounts x 100 users audited in one run."""

    def test_fifty_accounts_in_one_run(self):
        with Emulator() as emu:
            # dates relative to NOW; the audit runs in AWS's time, 6 hours on (away from
            # the fixture's day boundaries)
            emu.set_clock(now=NOW)
            emu.load(fixtures.organization(50, 100))
            emu.advance_clock(6 * 3600)
            res = run(["audit", "--org", "--output", "json"], emu.env())
            self.assertIn(res.rc, (0, 3), repr(res))
            self.assertEqual(res.err, "")
            doc = json.loads(res.out)
            state = emu.state()
            want = expected_rows(state, ts(NOW) + 6 * 3600)
            got = got_rows(doc)
            self.assertEqual(len(got), len(doc["Keys"]))  # no row twice
            self.assertEqual(got, want)
            self.assertGreater(len({a for a, _, _ in got}), 45)
            # rows sorted by account, then as audit sorts them
            self.assertEqual([k["AccountId"] for k in doc["Keys"]],
                             sorted(k["AccountId"] for k in doc["Keys"]))
            self.assertEqual(list(doc["Keys"][0])[0], "AccountId")

            s = doc["Summary"]
            ids = [a["id"] for a in state["accounts"]]
            self.assertEqual(s["AccountsScanned"], 50)
            self.assertEqual(s["FailedAccounts"], [])
            self.assertEqual([a["AccountId"] for a in s["Accounts"]], sorted(ids))
            per = {a["AccountId"]: a for a in s["Accounts"]}
            self.assertEqual(per[MGMT]["UsersScanned"], 101)  # admin + 100
            for aid in ids[1:]:
                self.assertEqual(per[aid]["UsersScanned"], 100)
                self.assertEqual(per[aid]["KeysScanned"], 100)
                n = sum(1 for (a, _, _), (_, ex) in want.items() if a == aid)
                self.assertGreaterEqual(n, 1)
            self.assertEqual(s["UsersScanned"], 5001)
            total_old = sum(1 for f, ex in want.values() if "old" in f and not ex)
            self.assertEqual(s["Findings"]["old"], total_old)
            self.assertEqual(sum(a["Findings"]["old"] for a in s["Accounts"]), total_old)

            calls = emu.calls()
            self.assertEqual(emu.counters().get("organizations:ListAccounts"), 3)  # 20 a page
            assumed = sorted(c["params"]["RoleArn"] for c in calls
                             if c["action"] == "AssumeRole" and c["http_status"] == 200)
            self.assertEqual(assumed, sorted(role_arn(a) for a in ids[1:]))
            self.assertTrue(all(c["params"]["RoleSessionName"] == "iamkeys"
                                for c in calls if c["action"] == "AssumeRole"))
            iam = [c for c in calls if c["service"] == "iam"]
            self.assertEqual({c["account"] for c in iam}, set(ids))
            for c in iam:
                if c["account"] == MGMT:
                    self.assertEqual(c["access_key_id"], fixtures.ADMIN_KEY_ID)
                else:
                    self.assertTrue(c["access_key_id"].startswith("ASIA"), c)
                self.assertEqual(c["http_status"], 200, c)
            # report mode per account: 4 calls + 2 per user with a finding (+ last use
            # where the report cannot settle it), + ListAttachedUserPolicies (the
            # quarantined finding) per user with keys when nothing is read in bulk
            for acc in state["accounts"][1:]:
                aid = acc["id"]
                n = sum(1 for c in calls if c["account"] == aid)
                flagged = {u for (a, u, _) in want if a == aid}
                with_keys = {u["name"] for u in acc["users"] if u["keys"]}
                read = [c["params"]["UserName"] for c in calls if c["account"] == aid and
                        c["action"] == "ListAttachedUserPolicies"]
                self.assertLessEqual(n, 3 + 3 * len(flagged) + len(with_keys), aid)
                self.assertEqual(len(read), len(set(read)), aid)
                # from the bulk read of the tags when there is one, else one by one
                bulk = [c for c in calls if c["account"] == aid and
                        c["action"] == "GetAccountAuthorizationDetails"]
                if bulk:
                    self.assertEqual(read, [], aid)
                else:
                    self.assertEqual(set(read), with_keys, aid)


def org_role(fx, account):
    """The role the management account assumes in account, in the fixture fx."""
    acc = next(a for a in fx["accounts"] if a["id"] == account)
    return next(r for r in acc["roles"] if r["name"] == fixtures.ORG_ROLE)


def small_org(n_accounts=6, users=2, suspended=1):
    fx = fixtures.organization(n_accounts, users, suspended=suspended)
    org_role(fx, member_account_id(2))["external_id"] = "ext-0002"  # wants an ExternalId
    return fx


class OrgSelectionTest(CliTestCase, EmulatorTestCase):
    """users --org / --accounts / --accounts-file, shards and usage errors."""

    emulator_fixture = staticmethod(small_org)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def setUp(self):
        self.emu.load(small_org())
        self.emu.clear_faults()
        self.emu.reset_calls()

    def users(self, *args, **env):
        return run(["users", "--output", "json"] + list(args), self.emu.env(**env))

    def pairs(self, res):
        return {(u["AccountId"], u["UserName"]) for u in json.loads(res.out)}

    def test_accounts_list_rows_carry_their_account(self):
        a1, a3 = member_account_id(1), member_account_id(3)
        res = self.users("--accounts", "%s, %s,%s" % (a3, a1, a3))
        self.assertRc(res, 0)
        rows = json.loads(res.out)
        self.assertEqual([(u["AccountId"], u["UserName"]) for u in rows],
                         [(a1, "user00000"), (a1, "user00001"),
                          (a3, "user00000"), (a3, "user00001")])
        for u in rows:
            self.assertEqual(list(u)[0], "AccountId")
            self.assertIn(":%s:" % u["AccountId"], u["Arn"])
        table = run(["users", "--accounts", a1], self.emu.env())
        self.assertTrue(table.out.startswith("ACCOUNT "), table.out)
        csv = run(["users", "--accounts", a1, "-o", "csv"], self.emu.env())
        self.assertTrue(csv.out.startswith("AccountId,UserName,"), csv.out)
        # no --org: no ListAccounts, and the caller's own account needs no role
        mine = self.users("--accounts", MGMT)
        self.assertRc(mine, 0)
        self.assertIn((MGMT, "admin"), self.pairs(mine))
        c = self.emu.counters()
        self.assertNotIn("organizations:ListAccounts", c)
        assumed = [x["params"]["RoleArn"] for x in self.emu.calls() if x["action"] == "AssumeRole"]
        self.assertNotIn(role_arn(MGMT), assumed)

    def test_accounts_file(self):
        a1, a4 = member_account_id(1), member_account_id(4)
        path = os.path.join(self.tmp.name, "accounts.txt")
        with open(path, "w") as f:
            f.write("# prod\n%s\r\n\n   %s   # payments\n" % (a4, a1))
        res = self.users("--accounts-file", path)
        self.assertRc(res, 0)
        self.assertEqual({a for a, _ in self.pairs(res)}, {a1, a4})

    def test_org_lists_active_accounts_only(self):
        # 6 accounts: the management account and 5 members, the last one SUSPENDED;
        # member 2's role wants an ExternalId
        res = self.users("--org")
        self.assertRc(res, 4)
        self.assertOneLineError(res, "account %s: AssumeRole: AccessDenied" % member_account_id(2))
        active = {MGMT} | {member_account_id(i) for i in (1, 3, 4)}
        self.assertEqual({a for a, _ in self.pairs(res)}, active)
        res = self.users("--org", "--external-id", "ext-0002")
        self.assertRc(res, 0)
        self.assertEqual({a for a, _ in self.pairs(res)}, active | {member_account_id(2)})
        self.assertEqual(self.emu.counters().get("organizations:ListAccounts"), 2)

    def test_shards_partition_the_accounts(self):
        sel = ["--org", "--external-id", "ext-0002"]
        ids = [MGMT] + [member_account_id(i) for i in (1, 2, 3, 4)]
        whole = self.users(*sel)
        self.assertRc(whole, 0)
        all_pairs = self.pairs(whole)
        self.assertEqual({a for a, _ in all_pairs}, set(ids))
        one = self.users(*sel, "--shard", "0/1")
        self.assertRc(one, 0)
        self.assertEqual(self.pairs(one), all_pairs)
        seen = set()
        for i in range(3):
            part = self.users(*sel, "--shard", "%d/3" % i)
            self.assertRc(part, 0)
            got = self.pairs(part)
            self.assertEqual(seen & got, set())  # disjoint
            seen |= got
            # the documented hash: FNV-1a 64 of the id, mod N
            self.assertEqual({a for a, _ in got}, {a for a in ids if fnv1a64(a) % 3 == i})
        self.assertEqual(seen, all_pairs)

    def test_empty_shard_is_not_an_error(self):
        a1 = member_account_id(1)
        other = "%d/2" % (1 - fnv1a64(a1) % 2)
        res = self.users("--accounts", a1, "--shard", other)
        self.assertRc(res, 0)
        self.assertEqual(json.loads(res.out), [])
        self.assertOneLineError(res, "warning: shard %s has none of the 1 selected" % other)

    def test_usage_errors_make_no_call(self):
        path = os.path.join(self.tmp.name, "bad.txt")
        with open(path, "w") as f:
            f.write("111111111111\n22222222222\n")
        empty = os.path.join(self.tmp.name, "empty.txt")
        with open(empty, "w") as f:
            f.write("# nothing yet\n")
        cases = [
            (["--org", "--accounts", MGMT], "do not go together"),
            (["--accounts", MGMT, "--accounts-file", path], "do not go together"),
            (["--accounts", "1111"], "invalid account id '1111'"),
            (["--accounts", "111111111111,abcdefghijkl"], "invalid account id"),
            (["--accounts-file", os.path.join(self.tmp.name, "missing")],
             "cannot read the accounts file"),
            (["--accounts-file", path], "line 2: invalid account id '22222222222'"),
            (["--accounts-file", empty], "lists no account"),
            (["--shard", "0/2"], "--shard needs --org"),
            (["--role-name", "X"], "--role-name needs --org"),
            (["--org", "--role-name", "A", "--role-arn", "arn:aws:iam::{account}:role/A"],
             "do not go together"),
            (["--org", "--role-arn", "arn:aws:iam::111111111111:role/A"], "{account}"),
            (["--org", "--role-arn", "arn:aws:iam::{account}:role/{user}"], "placeholder"),
            (["--org", "--role-name", "bad name"], "invalid --role-name"),
        ]
        for bad in ("3/3", "1", "a/3", "-1/3", "0/0", "1/x", "2/1"):
            cases.append((["--org", "--shard", bad], "invalid --shard"))
        cases.append((["--org", "--shard", ""], "option '--shard' is empty"))
        for args, needle in cases:
            with self.subTest(args=args):
                res = run(["users"] + args, self.emu.env())
                self.assertRc(res, 2)
                self.assertOneLineError(res, needle)
                self.assertEqual(res.out, "")
        res = run(["audit", "--account-jobs", "2"], self.emu.env())
        self.assertRc(res, 2)
        res = run(["rotate", "--org", "--to", "file:%s/{user}.json" % self.tmp.name],
                  self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "needs {account}")
        res = run(["rotate", "--org", "--self"], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "take no --self")
        self.assertEqual(self.emu.calls(), [])

    def test_external_id_and_role_arn_template(self):
        a1, a2 = member_account_id(1), member_account_id(2)
        res = self.users("--accounts", a2)
        self.assertRc(res, 1)  # the only account failed
        self.assertOneLineError(res, "account %s: AssumeRole: AccessDenied" % a2)
        res = self.users("--accounts", a2, "--external-id", "ext-0002")
        self.assertRc(res, 0)
        self.emu.reset_calls()
        res = self.users("--accounts", "%s,%s" % (a1, MGMT), "--role-arn",
                         "arn:aws:iam::{account}:role/" + fixtures.AUDITOR_ROLE)
        self.assertRc(res, 0)
        self.assertEqual({a for a, _ in self.pairs(res)}, {a1, MGMT})
        assumed = [c["params"]["RoleArn"] for c in self.emu.calls()
                   if c["action"] == "AssumeRole"]
        self.assertEqual(assumed, [role_arn(a1, fixtures.AUDITOR_ROLE)])

    def test_user_missing_in_some_accounts(self):
        sel = ["--accounts", "%s,%s" % (MGMT, member_account_id(1)), "--user", "admin"]
        res = run(["audit", "--all", "--output", "json"] + sel, self.emu.env())
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual([(k["AccountId"], k["UserName"]) for k in doc["Keys"]],
                         [(MGMT, "admin")])
        self.assertEqual(doc["Summary"]["AccountsScanned"], 2)
        res = run(["rotate", "--output", "json", "--to", "secretsmanager:iamkeys/{account}/{user}"]
                  + sel, self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual([(u["AccountId"], u["UserName"]) for u in json.loads(res.out)["Users"]],
                         [(MGMT, "admin")])

    def test_every_account_failing_is_exit_1(self):
        a1, a3 = member_account_id(1), member_account_id(3)
        res = self.users("--accounts", "%s,%s" % (a1, a3), "--role-name", "NoSuchRole")
        self.assertRc(res, 1)
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 2, res.err)
        self.assertTrue(lines[0].startswith("iamkeys: error: account %s: AssumeRole: " % a1))
        self.assertTrue(lines[1].startswith("iamkeys: error: account %s: AssumeRole: " % a3))
        self.assertEqual(json.loads(res.out), [])


def denied_org():
    fx = fixtures.organization(5, 10)
    # no longer trusts the management account
    org_role(fx, member_account_id(2))["trust"] = ["333333333333"]
    return fx


class OrgFailureTest(CliTestCase, EmulatorTestCase):
    """One account denying AssumeRole; throttling in one account only."""

    emulator_fixture = staticmethod(denied_org)

    def setUp(self):
        self.emu.clear_faults()
        self.load()
        self.emu.reset_calls()

    def load(self):
        self.emu.set_clock(now=NOW)
        self.emu.load(denied_org())
        self.emu.advance_clock(6 * 3600)  # AWS's time, away from the fixture's day boundaries

    def test_one_account_denies_assume_role(self):
        denied = member_account_id(2)
        res = run(["audit", "--org", "--output", "json"], self.emu.env())
        self.assertRc(res, 4)
        self.assertOneLineError(res, "iamkeys: error: account %s: AssumeRole: AccessDenied: "
                                     % denied, "is not authorized to perform: sts:AssumeRole",
                                "(request id ")
        doc = json.loads(res.out)
        ok = {a["id"] for a in self.emu.state()["accounts"]} - {denied}
        want = expected_rows(self.emu.state(), ts(NOW) + 6 * 3600, accounts=ok)
        self.assertEqual(got_rows(doc), want)
        s = doc["Summary"]
        self.assertEqual(s["AccountsScanned"], 4)
        self.assertEqual([a["AccountId"] for a in s["Accounts"]], sorted(ok))
        self.assertEqual(len(s["FailedAccounts"]), 1)
        self.assertEqual(s["FailedAccounts"][0]["AccountId"], denied)
        self.assertTrue(s["FailedAccounts"][0]["Error"].startswith("AssumeRole: AccessDenied"))
        self.assertFalse([c for c in self.emu.calls() if c["account"] == denied])
        # partial failure wins over findings, and the table says so too
        res = run(["audit", "--org"], self.emu.env())
        self.assertRc(res, 4)
        self.assertIn("4 accounts (1 failed), ", res.out)

    def test_throttling_in_one_account_only(self):
        slow = member_account_id(1)
        others = {MGMT} | {member_account_id(i) for i in (3, 4)}
        sel = ["audit", "--accounts", ",".join(sorted(others | {slow})), "--output", "json",
               "--jobs", "4", "--account-jobs", "2"]
        env = self.emu.env(AWS_MAX_ATTEMPTS="10")
        base = run(sel, env)
        self.assertIn(base.rc, (0, 3), repr(base))
        base_calls = self.emu.calls()
        per_account = {a: sum(1 for c in base_calls if c["account"] == a) for a in others}

        self.load()  # a fresh credential report, as in the first run
        self.emu.reset_calls()
        self.emu.fault(account=slow, service="iam", kind="throttle", probability=0.3, seed=5)
        self.emu.fault(account=slow, service="iam", kind="slow", delay_ms=150)
        res = run(sel, env)
        self.assertIn(res.rc, (0, 3), repr(res))
        self.assertEqual(res.err, "")
        self.assertEqual(json.loads(res.out)["Keys"], json.loads(base.out)["Keys"])
        calls = self.emu.calls()
        mine = [c for c in calls if c["account"] == slow]
        self.assertTrue(any(c["error_code"] == "Throttling" for c in mine))
        for a in others:
            theirs = [c for c in calls if c["account"] == a]
            # not one retry, and exactly the calls of the unthrottled run
            self.assertTrue(all(c["http_status"] == 200 for c in theirs), a)
            self.assertEqual(len(theirs), per_account[a], a)
        # the others ran while the throttled account was still busy
        first, last = min(c["real_time"] for c in mine), max(c["real_time"] for c in mine)
        during = {c["account"] for c in calls
                  if c["account"] in others and first < c["real_time"] < last}
        self.assertGreaterEqual(len(during), 2, during)


def rotate_org():
    fx = fixtures.organization(3, 3)
    for acc in fx["accounts"]:
        for u in acc["users"]:
            seed = "%s/%s" % (acc["id"], u["name"])
            if u["name"] == "user00000":
                u["keys"] = [key(seed, 120, last_used_days=1)]  # due
            elif u["name"] == "user00001":
                u["keys"] = [key(seed, 10, last_used_days=1)]   # not due
            elif u["name"] == "user00002":
                u["keys"] = [key(seed, 200, last_used_days=3)]  # due
    return fx


class OrgRotateTest(CliTestCase):
    def test_trace_regions_all_per_account(self):
        """--org --trace-regions all: each account's enabled regions, read with that
        account's credentials (one DescribeRegions per account), and the gate asks each
        account's own regions."""
        fx = rotate_org()
        a1, a2 = member_account_id(1), member_account_id(2)
        own = {MGMT: ["us-east-1"], a1: ["us-east-1", "eu-west-1"],
               a2: ["us-east-1", "ap-south-1"]}
        for acc in fx["accounts"]:
            acc["ec2_regions"] = own[acc["id"]]
        with Emulator(fixture=fx) as emu, tempfile.TemporaryDirectory() as d:
            to = "file:%s/{account}-{user}.json" % d
            res = run(["rotate", "--org", "--to", to, "--apply"], emu.env())
            self.assertRc(res, 0)
            emu.advance_clock(8 * 86400)
            old = key("%s/user00000" % a2, 120)["id"]
            emu.cloudtrail_events([{"access_key_id": old, "account": a2,
                                    "region": "ap-south-1", "source_ip": "10.0.3.7",
                                    "user_agent": "curl/8.5", "time": "-1h"}])
            emu.reset_calls()
            res = run(["rotate", "--org", "--to", to, "--apply", "--trace-regions", "all"],
                      emu.env())
            self.assertRc(res, 3)
            self.assertIn("per CloudTrail (1 event): 10.0.3.7 curl/8.5 last ", res.out)
            calls = emu.calls()
            dr = [c for c in calls if c["action"] == "DescribeRegions"]
            self.assertEqual(sorted(c["account"] for c in dr), sorted(own))
            # each signed by the account's own (assumed) credentials, not the caller's
            for c in dr:
                if c["account"] != MGMT:
                    self.assertTrue(c["access_key_id"].startswith("ASIA"), c)
            got = sorted((c["account"], c["region"]) for c in calls
                         if c["action"] == "LookupEvents" and c["http_status"] == 200)
            self.assertEqual(got, sorted((a, r) for a in own for r in own[a]
                                         for _ in ("user00000", "user00002")))
            state = {a["id"]: {u["name"]: u for u in a["users"]}
                     for a in emu.state()["accounts"]}
            status = {k["id"]: k["status"] for k in state[a2]["user00000"]["keys"]}
            self.assertEqual(status[old], "Active")
            self.assertEqual(len([c for c in calls if c["action"] == "UpdateAccessKey"]), 5)
            res = run(["rotate", "--org", "--to", to, "--trace-regions", "all", "--output",
                       "json"], emu.env())
            self.assertEqual(json.loads(res.out)["DeactivateGate"], "last-used+cloudtrail")

    def test_rotate_org_files_per_account(self):
        with Emulator(fixture=rotate_org()) as emu, tempfile.TemporaryDirectory() as d:
            to = "file:%s/{account}-{user}.json" % d
            plan = run(["rotate", "--org", "--to", to, "--output", "json"], emu.env())
            self.assertRc(plan, 0)
            doc = json.loads(plan.out)
            acts = {(u["AccountId"], u["UserName"]) for u in doc["Users"]
                    if u["Outcome"] == "act"}
            accounts = [MGMT, member_account_id(1), member_account_id(2)]
            due = {(a, u) for a in accounts for u in ("user00000", "user00002")}
            self.assertEqual(acts, due)
            self.assertEqual(doc["FailedAccounts"], [])
            self.assertEqual(os.listdir(d), [])
            # a config whose local sink lacks {account}: the users that are due are blocked
            conf = os.path.join(d, "rotate.ini")
            with open(conf, "w") as f:
                f.write("[default]\nto = file:%s/{user}.json\n" % d)
            res = run(["rotate", "--org", "--config", conf, "--apply"], emu.env())
            self.assertRc(res, 3)
            self.assertEqual(res.out.count(
                "blocked: due, but sink 'file:%s/{user}.json' has no {account}: with several "
                "accounts, users of the same name would share it\n" % d), 6, res.out)
            self.assertEqual(os.listdir(d), ["rotate.ini"])
            os.unlink(conf)

            res = run(["rotate", "--org", "--to", to, "--apply"], emu.env())
            self.assertRc(res, 0)
            self.assertIn("3 accounts, 10 users: 6 acted on", res.out)
            self.assertIn("%s user00002 [idle] rotated" % member_account_id(2), res.out)
            want = sorted("%s-%s.json" % p for p in due)
            self.assertEqual(sorted(os.listdir(d)), want)
            state = {a["id"]: {u["name"]: u for u in a["users"]}
                     for a in emu.state()["accounts"]}
            for a, u in due:
                path = os.path.join(d, "%s-%s.json" % (a, u))
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
                with open(path) as f:
                    got = json.load(f)
                self.assertEqual(got["UserName"], u)
                live = state[a][u]
                self.assertIn(got["AccessKeyId"], [k["id"] for k in live["keys"]])
                tags = {t["Key"]: t["Value"] for t in live["tags"]}
                self.assertIn("stage=delivered", tags["iamkeys:rotation"])
            # the new keys were created in their own accounts, with the role's session
            created = [c for c in emu.calls() if c["action"] == "CreateAccessKey"]
            self.assertEqual(sorted((c["account"], c["params"]["UserName"]) for c in created),
                             sorted(due))
            for c in created:
                if c["account"] != MGMT:
                    self.assertTrue(c["access_key_id"].startswith("ASIA"))


def apply_plan_doc(emu, path, doc, to):
    """Writes the plan doc to path and runs rotate --org --apply --plan with it, on a fresh
    call log; the result."""
    with open(path, "w") as f:
        json.dump(doc, f)
    emu.reset_calls()
    return run(["rotate", "--org", "--to", to, "--apply", "--plan", path], emu.env())


class OrgRotatePlanTest(CliTestCase):
    def test_plan_out_then_plan_across_accounts(self):
        a1, a2 = member_account_id(1), member_account_id(2)
        with Emulator(fixture=rotate_org()) as emu, tempfile.TemporaryDirectory() as d:
            to = "file:%s/{account}-{user}.json" % d
            plan = os.path.join(d, "plan.json")
            res = run(["rotate", "--org", "--to", to, "--plan-out", plan], emu.env())
            self.assertRc(res, 0)
            self.assertNotIn("CreateAccessKey", [c["action"] for c in emu.calls()])
            with open(plan) as f:
                doc = json.load(f)
            self.assertEqual(doc["Version"], 1)
            acts = sorted((u["AccountId"], u["UserName"]) for u in doc["Users"]
                          if u["Outcome"] == "act")
            self.assertEqual(acts, sorted((a, u) for a in (MGMT, a1, a2)
                                          for u in ("user00000", "user00002")))
            # the reviewer drops one account from the plan
            doc["Users"] = [u for u in doc["Users"] if u["AccountId"] != a2]
            res = apply_plan_doc(emu, os.path.join(d, "reviewed.json"), doc, to)
            self.assertRc(res, 0)
            created = sorted((c["account"], c["params"]["UserName"]) for c in emu.calls()
                             if c["action"] == "CreateAccessKey")
            self.assertEqual(created, sorted((a, u) for a in (MGMT, a1)
                                             for u in ("user00000", "user00002")))
            self.assertEqual(sorted(f for f in os.listdir(d) if f.startswith(("1", "2"))),
                             sorted("%s-%s.json" % (a, u) for a in (MGMT, a1)
                                    for u in ("user00000", "user00002")))
            self.assertFalse([c for c in emu.calls() if c["account"] == a2 and
                              c["action"] in ("CreateAccessKey", "TagUser")])

            # a plan naming an account outside the selection: that account is an error
            emu.reset_calls()
            res = run(["rotate", "--accounts", a2, "--to", to, "--apply", "--plan", plan], emu.env())
            self.assertRc(res, 4)
            self.assertIn("account %s: in the plan, but not among the selected accounts"
                          % MGMT, res.err)
            created = sorted((c["account"], c["params"]["UserName"]) for c in emu.calls()
                             if c["action"] == "CreateAccessKey")
            self.assertEqual(created, [(a2, "user00000"), (a2, "user00002")])

            # a one-account plan has no AccountId: not for several accounts
            single = os.path.join(d, "single.json")
            res = run(["rotate", "--to", to.replace("{account}", "x"), "--plan-out", single],
                      emu.env())
            self.assertRc(res, 0)
            emu.reset_calls()
            res = run(["rotate", "--org", "--apply", "--plan", single], emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, "has no AccountId")
            self.assertEqual(emu.calls(), [])


class OrgRotatePlanTamperTest(CliTestCase):
    def test_row_moved_to_another_account_is_refused(self):
        a1 = member_account_id(1)
        with Emulator(fixture=rotate_org()) as emu, tempfile.TemporaryDirectory() as d:
            to = "file:%s/{account}-{user}.json" % d
            plan = os.path.join(d, "plan.json")
            self.assertRc(run(["rotate", "--org", "--to", to, "--plan-out", plan], emu.env()), 0)
            with open(plan) as f:
                doc = json.load(f)
            # user00000's row of the management account, moved to account a1 (whose own
            # row for user00000 is dropped)
            doc["Users"] = [u for u in doc["Users"]
                            if (u["AccountId"], u["UserName"]) != (a1, "user00000")]
            for u in doc["Users"]:
                if (u["AccountId"], u["UserName"]) == (MGMT, "user00000"):
                    u["AccountId"] = a1
            res = apply_plan_doc(emu, os.path.join(d, "edited.json"), doc, to)
            self.assertRc(res, 3)
            self.assertIn("%s user00000 [idle] failed: live state changed since the plan" % a1,
                          res.out)
            touched = {(c["account"], c["params"].get("UserName")) for c in emu.calls()
                       if c["action"] in ("TagUser", "CreateAccessKey", "UntagUser",
                                          "DeleteAccessKey", "UpdateAccessKey")}
            self.assertNotIn((a1, "user00000"), touched)
            self.assertNotIn((MGMT, "user00000"), touched)
            self.assertIn((a1, "user00002"), touched)


class OrgRotateConfigTest(CliTestCase):
    def test_account_sections(self):
        a1, a2 = member_account_id(1), member_account_id(2)
        with Emulator(fixture=rotate_org()) as emu, tempfile.TemporaryDirectory() as d:
            conf = os.path.join(d, "rotate.ini")
            with open(conf, "w") as f:
                f.write("[default]\nto = file:%s/{account}-{user}.json\n"
                        "[account %s]\nexempt = true\n"
                        "[account %s]\nrotate_after = 150d\n" % (d, a2, a1))
            res = run(["rotate", "--org", "--config", conf, "--apply", "--output", "json"],
                      emu.env())
            self.assertRc(res, 0)
            created = sorted((c["account"], c["params"]["UserName"]) for c in emu.calls()
                             if c["action"] == "CreateAccessKey")
            # a2 exempt; in a1 only the 200-day key is past 150 days; MGMT: both due
            self.assertEqual(created, sorted([(MGMT, "user00000"), (MGMT, "user00002"),
                                              (a1, "user00002")]))
            out = {(u["AccountId"], u["UserName"]): (u["Outcome"], u["Reason"])
                   for u in json.loads(res.out)["Users"]}
            self.assertEqual(out[(a2, "user00000")],
                             ("nothing", "exempt: exempt = true in the config"))
            self.assertEqual(out[(a1, "user00000")][0], "nothing")
            self.assertIn("is 120 days old; due ", out[(a1, "user00000")][1])


def key_org(deny=None):
    """Three accounts; in each, user00000 has an old key it no longer uses next to a
    new one, and user00001 an Inactive key past the grace period. deny: an account
    whose role no longer trusts the management account."""
    fx = fixtures.organization(3, 2)
    for acc in fx["accounts"]:
        for u in acc["users"]:
            seed = "%s/%s" % (acc["id"], u["name"])
            if u["name"] == "user00000":
                u["keys"] = [key(seed + "/old", 200, last_used_days=60),
                             key(seed + "/new", 5, last_used_days=1)]
            elif u["name"] == "user00001":
                u["keys"] = [key(seed + "/gone", 100, status="Inactive", last_used_days=90),
                             key(seed + "/cur", 10, last_used_days=1)]
    if deny:
        org_role(fx, deny)["trust"] = ["333333333333"]
    return fx


class OrgKeyActionsTest(CliTestCase, EmulatorTestCase):
    """deactivate and delete with a selector across accounts."""

    emulator_fixture = staticmethod(key_org)

    def setUp(self):
        self.emu.set_clock(now=NOW)
        self.emu.load(key_org())
        self.emu.reset_calls()
        self.accounts = sorted(a["id"] for a in self.emu.state()["accounts"])

    def kid(self, account, user, which):
        return fixtures.key_id("%s/%s/%s" % (account, user, which))

    def status(self):
        return {(a["id"], k["id"]): k["status"] for a in self.emu.state()["accounts"]
                for u in a["users"] for k in u["keys"]}

    def test_deactivate_plan_then_apply(self):
        self.assertEqual(len(self.accounts), 3)
        res = run(["deactivate", "--org", "--older-than", "90d", "-o", "json"],
                  self.emu.env())
        self.assertRc(res, 0)
        rows = [(r["AccountId"], r["Action"], r["UserName"], r["AccessKeyId"], r["Result"])
                for r in json.loads(res.out)]
        want = [(a, "deactivate", "user00000", self.kid(a, "user00000", "old"), "planned")
                for a in self.accounts]
        self.assertEqual(rows, want)
        self.assertIn("these 3 changes", res.err)
        self.assertNotIn("iam:UpdateAccessKey", self.emu.counters())

        self.emu.reset_calls()
        res = run(["deactivate", "--org", "--older-than", "90d", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(res.out.splitlines()[-1], "3 accounts")
        for a in self.accounts:
            self.assertIn("%s: deactivated %s of user00000" % (a, self.kid(a, "user00000", "old")),
                          res.out)
        updates = sorted((c["account"], c["params"]["AccessKeyId"], c["params"]["Status"])
                         for c in self.emu.calls() if c["action"] == "UpdateAccessKey")
        self.assertEqual(updates, [(a, self.kid(a, "user00000", "old"), "Inactive")
                                   for a in self.accounts])
        st = self.status()
        for a in self.accounts:
            self.assertEqual(st[(a, self.kid(a, "user00000", "old"))], "Inactive")
            self.assertEqual(st[(a, self.kid(a, "user00000", "new"))], "Active")
        # again: nothing left to do
        self.emu.reset_calls()
        res = run(["deactivate", "--org", "--older-than", "90d", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.assertIn("nothing to do", res.out)
        self.assertNotIn("iam:UpdateAccessKey", self.emu.counters())

        # the deactivated keys and the old Inactive ones go with delete
        res = run(["delete", "--org", "--older-than", "30d", "--apply", "-o", "csv"],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertTrue(res.out.startswith("AccountId,Action,UserName,AccessKeyId,"), res.out)
        deletes = sorted((c["account"], c["params"]["AccessKeyId"])
                         for c in self.emu.calls() if c["action"] == "DeleteAccessKey")
        self.assertEqual(deletes, sorted(
            [(a, self.kid(a, "user00000", "old")) for a in self.accounts] +
            [(a, self.kid(a, "user00001", "gone")) for a in self.accounts]))
        left = self.status()
        self.assertEqual(sorted(left), sorted(
            [(a, self.kid(a, u, w)) for a in self.accounts
             for u, w in (("user00000", "new"), ("user00001", "cur"))] +
            [(fixtures.ACCOUNT_ID, fixtures.ADMIN_KEY_ID)]))

    def test_one_account_failing(self):
        denied = self.accounts[1]
        self.emu.load(key_org(deny=denied))
        res = run(["deactivate", "--org", "--older-than", "90d", "--apply", "-o", "json"],
                  self.emu.env())
        self.assertRc(res, 4)
        self.assertOneLineError(res, "iamkeys: error: account %s: AssumeRole: AccessDenied"
                                % denied)
        done = sorted(r["AccountId"] for r in json.loads(res.out))
        self.assertEqual(done, [a for a in self.accounts if a != denied])
        self.assertFalse([c for c in self.emu.calls() if c["account"] == denied])

    def test_usage_errors(self):
        a = self.accounts[0]
        for args, needle in (
                (["deactivate", "--org", "--user", "u", "--key", self.kid(a, "user00000", "old")],
                 "--key names a key of one account"),
                (["delete", "--shard", "0/2", "--older-than", "30d"], "--shard needs --org"),
                (["update", "--org", "--user", "u", "--key", self.kid(a, "user00000", "old"),
                  "--status", "Inactive"], "--org"),
                (["deactivate", "--org"], "say which keys to deactivate")):
            with self.subTest(args=args):
                res = run(args, self.emu.env())
                self.assertRc(res, 2)
                self.assertOneLineError(res, needle)
        self.assertEqual(self.emu.calls(), [])
