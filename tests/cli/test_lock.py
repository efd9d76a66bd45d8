"""Mutual exclusion of iamkeys runs (docs/safety.md, "Locking and process hardening"): the
local lock, the DynamoDB lease across hosts (two lock directories stand for two hosts),
lease renewal and expiry, and concurrent rotate --apply runs that must lose nothing."""
import os
import re
import signal
import subprocess
import tempfile
import time

from tests.cli import safety
from tests.cli.common import (BINARY, CliTestCase, credentials_text, due_users, Result,
                              rotation_tag, run, SAFETY, shard_class, Sharded, users_of)
from tests.emulator import fixtures
from tests.emulator.harness import Emulator, EmulatorTestCase

DAY = 86400
ACCOUNT = fixtures.ACCOUNT_ID
TABLE = "iamkeys-locks"
LOCK_ID = "iamkeys/" + ACCOUNT
MUTATING = ("iam:TagUser", "iam:UntagUser", "iam:CreateAccessKey", "iam:UpdateAccessKey",
            "iam:DeleteAccessKey")
HELD = re.compile(r"^iamkeys: error: another iamkeys run holds the lock for account %s since "
                  r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(pid (\d+), host [^ ;)]+(; its lease in "
                  r"DynamoDB table %s runs until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)?\)$"
                  % (ACCOUNT, TABLE))


class LockBase(CliTestCase, EmulatorTestCase):
    N = 6

    @classmethod
    def make_fixture(cls):
        return cls.fixture()

    @classmethod
    def fixture(cls):
        return fixtures.with_lock_table(fixtures.admin_fixture(extra_users=due_users(cls.N)))

    def setUp(self):
        self.emu.clear_faults()
        self.emu.set_clock(offset_seconds=0)
        self.emu.config(latency_ms=0)
        self.emu.load(self.fixture())
        self.emu.reset_calls()
        self.dir = tempfile.mkdtemp()
        self.to = "file:%s/{user}.json" % self.dir

    def lock_dir(self):
        d = tempfile.mkdtemp(prefix="locks-")
        os.chmod(d, 0o700)
        return d

    def args(self, *extra):
        return ["rotate", "--to", self.to, "--apply"] + list(extra)

    def start(self, *extra, **env):
        p = subprocess.Popen([BINARY] + self.args(*extra), env=self.emu.env(**env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.communicate()))
        return p

    def finish(self, p, timeout=120):
        out, err = p.communicate(timeout=timeout)

        class P:
            returncode = p.returncode
            stdout = out
            stderr = err
        return Result(P)

    def rotate(self, *extra, **env):
        return run(self.args(*extra), self.emu.env(**env))

    def wait_for_holder(self, p, lock_dir, timeout=15):
        """Waits until process p holds the local lock (the file names its pid)."""
        path = os.path.join(lock_dir, "account-%s.lock" % ACCOUNT)
        t0 = time.time()
        while time.time() - t0 < timeout:
            if os.path.exists(path):
                with open(path) as f:
                    if ("pid=%d " % p.pid) in f.read():
                        return
            time.sleep(0.02)
        self.fail("process %d never held the lock" % p.pid)

    def table_items(self):
        return self.emu.state()["accounts"][0]["dynamodb_tables"][0]["items"]

    def sink(self, name):
        import json
        with open(os.path.join(self.dir, name + ".json")) as f:
            return json.load(f)

    def check_delivered(self, names):
        """Stage 1 done for each user: the new key Active, in the sink; the old one Active."""
        users = users_of(self.emu)
        for name in names:
            u = users[name]
            tag = rotation_tag(u)
            self.assertIsNotNone(tag, name)
            self.assertIn("stage=delivered", tag, (name, tag))
            new = re.search(r"new=(\w+)", tag).group(1)
            self.assertEqual(sorted(k["id"] for k in u["keys"]),
                             sorted([fixtures.key_id(name), new]), (name, u))
            doc = self.sink(name)
            nk = [k for k in u["keys"] if k["id"] == new][0]
            self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"]),
                             (nk["id"], nk["secret"]), name)

    def check_final(self, names):
        """Every user has exactly one Active key, the one in its sink; no orphan, no tag
        (the shared invariant, tests/cli/safety.py), and it is not the old key."""
        safety.assert_one_working_key_each(self, self.emu, safety.Sink(safety.FILE, self.dir),
                                           names, "final")
        users = users_of(self.emu)
        for name in names:
            self.assertNotEqual(users[name]["keys"][0]["id"], fixtures.key_id(name), name)


class LocalLockTest(LockBase):
    def test_second_run_reports_the_lock_and_changes_nothing(self):
        lock_dir = self.emu.lock_dir
        # the first run waits 3 s in ListUsers, holding the lock
        self.emu.fault("ListUsers", kind="slow", delay_ms=3000, count=1)
        first = self.start()
        self.wait_for_holder(first, lock_dir)
        self.emu.reset_calls()
        second = self.rotate()
        self.assertRc(second, 5)
        self.assertEqual(second.out, "")
        m = HELD.match(second.err.rstrip("\n"))
        self.assertTrue(m, repr(second))
        self.assertEqual(int(m.group(1)), first.pid)
        self.assertIsNone(m.group(2))
        self.assertEqual(len(second.err.splitlines()), 1)
        # the second run asked who it is, and nothing else
        self.assertEqual(self.emu.counters(), {"sts:GetCallerIdentity": 1})
        res = self.finish(first)
        self.assertRc(res, 0)
        self.check_delivered(["u%02d" % i for i in range(self.N)])
        self.assertEqual(os.stat(os.path.join(lock_dir, "account-%s.lock" % ACCOUNT)).st_mode
                         & 0o777, 0o600)

    def test_lock_wait_takes_it_when_the_first_run_ends(self):
        self.emu.fault("ListUsers", kind="slow", delay_ms=1500, count=1)
        first = self.start()
        self.wait_for_holder(first, self.emu.lock_dir)
        t0 = time.time()
        second = self.rotate("--lock-wait", "60s")
        waited = time.time() - t0
        self.assertRc(self.finish(first), 0)
        self.assertRc(second, 0)
        self.assertGreater(waited, 0.5)
        # it planned after the first run had finished: nothing left to do
        self.assertIn("%d users: 0 acted on" % (self.N + 1), second.out)
        self.check_delivered(["u%02d" % i for i in range(self.N)])

    def test_every_mutating_command_takes_the_lock(self):
        self.emu.fault("ListUsers", kind="slow", delay_ms=3000, count=1)
        first = self.start()
        self.wait_for_holder(first, self.emu.lock_dir)
        kid = fixtures.key_id("u00")
        for args in (["rollback", "--user", "u00", "--apply"],
                     ["create", "--user", "u00", "--to", "file:%s/x.json" % self.dir, "--apply"],
                     ["deactivate", "--user", "u00", "--key", kid, "--apply"],
                     ["update", "--user", "u00", "--key", kid, "--status", "Inactive", "--apply"],
                     ["delete", "--user", "u00", "--key", kid, "--apply"],
                     ["delete", "--older-than", "30d", "--apply"]):
            res = run(args, self.emu.env())
            self.assertRc(res, 5)
            self.assertTrue(HELD.match(res.err.rstrip("\n")), (args, res))
        # without --apply nothing is changed, so no lock is needed (the plan: a guard refuses)
        res = run(["deactivate", "--user", "u00", "--key", kid], self.emu.env())
        self.assertRc(res, 3)
        self.assertEqual(res.err, "")
        self.assertRc(self.finish(first), 0)

    def test_self_rotation_takes_the_lock(self):
        import fcntl
        home, _ = self.credentials_home(
            credentials_text("default", fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))
        lock = open(os.path.join(self.emu.lock_dir, "account-%s.lock" % ACCOUNT), "w")
        self.addCleanup(lock.close)
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("pid=9 host=h since=2026-01-01T00:00:00Z command=create\n")
        lock.flush()
        env = self.emu.env(home=home, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
        res = run(["rotate", "--self", "--apply"], env)
        self.assertRc(res, 5)
        self.assertEqual(res.err, "iamkeys: error: another iamkeys run holds the lock for "
                                  "account %s since 2026-01-01T00:00:00Z (pid 9, host h)\n"
                         % ACCOUNT)
        self.assertNotIn("iam:CreateAccessKey", self.emu.counters())
        fcntl.flock(lock, fcntl.LOCK_UN)
        res = run(["rotate", "--self", "--apply"], env)
        self.assertRc(res, 0)
        self.assertEqual(self.emu.counters().get("iam:CreateAccessKey"), 1)

    def test_lock_options_are_checked_before_any_call(self):
        self.emu.reset_calls()
        for args, msg in (
                (["--lock", "s3:x"], "iamkeys: invalid --lock 's3:x': use local or dynamodb:TABLE"),
                (["--lock", "dynamodb:a"], "iamkeys: invalid --lock 'dynamodb:a': a DynamoDB table "
                                           "name is 3 to 255 letters, digits, '_', '-' or '.'"),
                (["--lock-lease", "10s"], "iamkeys: --lock-lease is for --lock dynamodb:TABLE"),
                (["--lock", "dynamodb:tbl", "--lock-lease", "1s"],
                 "iamkeys: invalid --lock-lease: at least 3s")):
            res = self.rotate(*args)
            self.assertRc(res, 2)
            self.assertEqual(res.err, msg + " (see 'iamkeys rotate --help')\n")
        self.assertEqual(self.emu.counters(), {})

    def test_unsafe_lock_directory_is_refused(self):
        d = self.lock_dir()
        os.chmod(d, 0o777)
        res = self.rotate("--lock-dir", d)
        self.assertRc(res, 1)
        self.assertEqual(res.err, "iamkeys: error: the lock directory '%s' must be owned by "
                                  "this user and writable by nobody else (it is mode 777, owner "
                                  "0)\n" % d)
        self.assertEqual([c for c in self.emu.counters() if c in MUTATING], [])
        # a missing one is created, private
        sub = os.path.join(self.lock_dir(), "a", "b")
        self.assertRc(self.rotate("--lock-dir", sub), 0)
        self.assertEqual(os.stat(sub).st_mode & 0o777, 0o700)


class DynamoDBLockTest(LockBase):
    N = 10
    def test_two_hosts_exclude_each_other_through_the_table(self):
        host_a, host_b = self.lock_dir(), self.lock_dir()
        self.emu.fault("ListUsers", kind="slow", delay_ms=3000, count=1)
        first = self.start("--lock", "dynamodb:" + TABLE, IAMKEYS_LOCK_DIR=host_a)
        self.wait_for_holder(first, host_a)
        t0 = time.time()
        while not self.table_items() and time.time() - t0 < 10:
            time.sleep(0.02)
        item = self.table_items()[0]
        self.assertEqual(sorted(item), ["Command", "Expires", "Host", "LockID", "Owner", "Pid",
                                        "Since"])
        self.assertEqual(item["LockID"], {"S": LOCK_ID})
        self.assertEqual(item["Pid"], {"N": str(first.pid)})
        self.assertEqual(item["Command"], {"S": "rotate"})
        self.assertRegex(item["Owner"]["S"], r"^[0-9a-f]{32}$")
        self.emu.reset_calls()
        second = self.rotate("--lock", "dynamodb:" + TABLE, IAMKEYS_LOCK_DIR=host_b)
        self.assertRc(second, 5)
        m = HELD.match(second.err.rstrip("\n"))
        self.assertTrue(m and m.group(2), repr(second))
        self.assertEqual(int(m.group(1)), first.pid)
        self.assertEqual(self.emu.counters(), {"sts:GetCallerIdentity": 1,
                                               "dynamodb:PutItem": 1, "dynamodb:GetItem": 1})
        res = self.finish(first)
        self.assertRc(res, 0)
        self.check_delivered(["u%02d" % i for i in range(self.N)])
        # released: the item is gone, deleted on the condition that it was still ours
        self.assertEqual(self.table_items(), [])
        dels = [c for c in self.emu.calls() if c["action"] == "DeleteItem"]
        self.assertEqual(len(dels), 1)
        self.assertEqual(dels[0]["params"]["ConditionExpression"], "#owner = :owner")
        self.assertEqual(dels[0]["params"]["ExpressionAttributeValues"],
                         {":owner": item["Owner"]})

    def test_missing_table_is_one_error_and_nothing_changes(self):
        res = self.rotate("--lock", "dynamodb:no-such-table")
        self.assertRc(res, 1)
        self.assertEqual(res.err, "iamkeys: error: cannot take the lock in DynamoDB table "
                                  "'no-such-table': PutItem: ResourceNotFoundException: "
                                  "Requested resource not found (request id %s)\n"
                         % self.emu.calls()[-1]["request_id"])
        self.assertEqual([c for c in self.emu.counters() if c in MUTATING], [])

    def test_lease_renewed_while_the_run_outlasts_it(self):
        # 3 s lease, renewed every second; the run takes about 5 s
        host_a, host_b = self.lock_dir(), self.lock_dir()
        self.emu.fault("ListUsers", kind="slow", delay_ms=5000, count=1)
        first = self.start("--lock", "dynamodb:" + TABLE, "--lock-lease", "3s",
                           IAMKEYS_LOCK_DIR=host_a)
        self.wait_for_holder(first, host_a)
        time.sleep(3.5)
        second = self.rotate("--lock", "dynamodb:" + TABLE, IAMKEYS_LOCK_DIR=host_b)
        self.assertRc(second, 5)
        self.assertRc(self.finish(first), 0)
        renewals = [c for c in self.emu.calls() if c["action"] == "UpdateItem"]
        self.assertGreaterEqual(len(renewals), 3)
        self.assertTrue(all(c["http_status"] == 200 for c in renewals), renewals)
        self.assertEqual(renewals[0]["params"]["ConditionExpression"], "#owner = :owner")
        self.check_delivered(["u%02d" % i for i in range(self.N)])
        self.assertEqual(self.table_items(), [])

    def test_lost_lease_stops_the_run_before_its_next_step(self):
        # a 3 s lease renewed every second; the run takes several seconds
        self.emu.config(latency_ms=40)
        host_a = self.lock_dir()
        first = self.start("--lock", "dynamodb:" + TABLE, "--lock-lease", "3s",
                           IAMKEYS_LOCK_DIR=host_a)
        t0 = time.time()
        while not any(c["action"] == "UpdateItem" for c in self.emu.calls()):
            self.assertLess(time.time() - t0, 15)
            time.sleep(0.05)
        # another host takes the item over (as after an expiry): the next renewal fails
        ddb = self.emu.client("dynamodb")
        ddb.put_item(TableName=TABLE, Item={"LockID": {"S": LOCK_ID}, "Owner": {"S": "other"},
                                            "Expires": {"N": str(int(time.time()) + 600)}})
        res = self.finish(first)
        self.assertRc(res, 1)
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 2, res.err)
        self.assertRegex(lines[0], r"^iamkeys: error: the lease of account %s was lost "
                                   r"\(taken over, or not renewed in time\): stopped before "
                                   r"the next step; .*\d+ users? not started; run 'rotate "
                                   r"--apply' again to go on$" % ACCOUNT)
        self.assertEqual(lines[1], "iamkeys: warning: the lease of account %s in DynamoDB "
                                   "table %s was taken over by another run before this one "
                                   "ended" % (ACCOUNT, TABLE))
        fails = [c for c in self.emu.calls() if c["action"] == "UpdateItem"
                 and c["error_code"] == "ConditionalCheckFailedException"]
        self.assertEqual(len(fails), 1)
        # nothing changed after the failed renewal but the step in flight
        after = [c for c in self.emu.calls() if c["seq"] > fails[0]["seq"]
                 and "%s:%s" % (c["service"], c["action"]) in MUTATING]
        self.assertLessEqual(len(after), 3, after)
        # the other host's item is untouched
        self.assertEqual(self.table_items()[0]["Owner"], {"S": "other"})
        self.emu.config(latency_ms=0)
        ddb.delete_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})
        self.assertRc(self.rotate("--lock", "dynamodb:" + TABLE), 0)
        self.check_delivered(["u%02d" % i for i in range(self.N)])

    def test_dead_holder_is_taken_over_after_its_lease(self):
        host_a, host_b = self.lock_dir(), self.lock_dir()
        res = self.rotate("--lock", "dynamodb:" + TABLE, "--lock-lease", "3s",
                          IAMKEYS_LOCK_DIR=host_a, IAMKEYS_TEST_CRASH_AFTER="4")
        self.assertEqual(res.rc, -signal.SIGKILL, repr(res))
        dead = self.table_items()
        self.assertEqual(len(dead), 1)
        # at once: still held by the dead run
        res = self.rotate("--lock", "dynamodb:" + TABLE, IAMKEYS_LOCK_DIR=host_b)
        self.assertRc(res, 5)
        # with --lock-wait: taken over once the lease has expired, then the work is finished
        t0 = time.time()
        res = self.rotate("--lock", "dynamodb:" + TABLE, "--lock-wait", "30s",
                          IAMKEYS_LOCK_DIR=host_b)
        self.assertLess(time.time() - t0, 10)
        # the dead run's intent mark is within its own lease (900 s + 300 s of skew): that
        # user waits, the others are done; once the mark's lease is over it is recovered
        self.assertRc(res, 3)
        self.assertRegex(res.out, r"(?m)^u\d\d \[intent\] blocked: another run \(run [a-z0-9]{12}\) "
                                  r"is rotating this user; if it died, recovery starts after ")
        self.emu.advance_clock(1201)
        self.assertRc(self.rotate("--lock", "dynamodb:" + TABLE, IAMKEYS_LOCK_DIR=host_b), 0)
        self.check_delivered(["u%02d" % i for i in range(self.N)])
        self.assertEqual(self.table_items(), [])
        puts = [c for c in self.emu.calls() if c["action"] == "PutItem"]
        self.assertEqual(puts[-1]["http_status"], 200)


class ConcurrentRunsTest(Sharded, LockBase):
    """P rotate --apply processes at once over 20 due users, through every stage; several
    trials (20 with IAMKEYS_TEST_SAFETY=1, make check-safety). Afterwards every user has
    exactly one Active key, the one in its sink, and no orphan key."""
    test_cost = 100  # seconds, roughly: tests/run.py starts the slow classes first
    # not a test of CloudTrail's rate: LookupEvents paced at 1,000 a second (emulator and binary)
    emulator_options = {"cloudtrail_tps": 1000}
    N = 20
    TRIALS = int(os.environ.get("IAMKEYS_TEST_STRESS_TRIALS") or
                 (20 if os.environ.get("IAMKEYS_TEST_SAFETY") == "1" else 2))

    def stage(self, procs, dynamodb):
        ps = []
        for i in range(procs):
            extra = ["--lock-wait", "120s"] if i % 2 else []
            env = {}
            if dynamodb:
                extra += ["--lock", "dynamodb:" + TABLE]
                env["IAMKEYS_LOCK_DIR"] = self.hosts[i]
            ps.append(self.start(*extra, **env))
        results = [self.finish(p) for p in ps]
        for r in results:
            self.assertIn(r.rc, (0, 5), repr(r))
            if r.rc == 5:
                self.assertTrue(HELD.match(r.err.rstrip("\n")), repr(r))
        self.assertIn(0, [r.rc for r in results])
        return results

    def trial(self, procs, dynamodb):
        self.emu.set_clock(offset_seconds=0)
        self.emu.load(self.fixture())
        self.emu.reset_calls()
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))
        self.hosts = [self.lock_dir() for _ in range(procs)]
        names = ["u%02d" % i for i in range(self.N)]
        self.stage(procs, dynamodb)
        self.check_delivered(names)
        self.emu.advance_clock(8 * DAY)
        self.stage(procs, dynamodb)
        self.emu.advance_clock(8 * DAY)
        self.stage(procs, dynamodb)
        self.check_final(names)
        # one CreateAccessKey per user, ever: no run acted on another's stage
        creates = [c for c in self.emu.calls() if c["action"] == "CreateAccessKey"]
        self.assertEqual(sorted(c["params"]["UserName"] for c in creates), names)
        if dynamodb:
            self.assertEqual(self.table_items(), [])

    def test_two_and_four_runs_with_the_local_lock(self):
        for t in range(self.TRIALS):
            for procs in (2, 4):
                if self.shard(t):
                    self.trial(procs, dynamodb=False)

    def test_two_and_four_runs_with_the_dynamodb_lease(self):
        for t in range(self.TRIALS):
            for procs in (2, 4):
                if self.shard(t):
                    self.trial(procs, dynamodb=True)


shard_class(ConcurrentRunsTest, 5 if SAFETY else 1, globals())


class OrgLockTest(CliTestCase):
    """--org: each account is locked on its own; an account whose lock is held is that
    account's one error line, and the others go on (exit 4)."""

    def test_accounts_locked_one_by_one(self):
        import fcntl
        from tests.cli.test_org import rotate_org
        fx = fixtures.with_lock_table(rotate_org())
        m1, m2 = fixtures.member_account_id(1), fixtures.member_account_id(2)
        with Emulator(fixture=fx) as emu, tempfile.TemporaryDirectory() as d:
            # member 1: held on this host (another process holding the flock)
            path = os.path.join(emu.lock_dir, "account-%s.lock" % m1)
            f = open(path, "w")
            self.addCleanup(f.close)
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write("pid=777 host=elsewhere since=2026-01-01T00:00:00Z command=rotate\n")
            f.flush()
            # member 2: a live lease of another host in the table
            ddb = emu.client("dynamodb")
            expires = int(time.time()) + 3600
            ddb.put_item(TableName=TABLE, Item={
                "LockID": {"S": "iamkeys/" + m2}, "Owner": {"S": "other"},
                "Expires": {"N": str(expires)},
                "Since": {"S": "2026-01-02T00:00:00Z"}, "Host": {"S": "ops-2"},
                "Pid": {"N": "888"}, "Command": {"S": "rotate"}})
            to = "file:%s/{account}-{user}.json" % d
            res = run(["rotate", "--org", "--to", to, "--apply", "--lock", "dynamodb:" + TABLE],
                      emu.env())
            self.assertRc(res, 4)
            until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
            self.assertEqual(res.err.splitlines(), [
                "iamkeys: error: account %s: another iamkeys run holds the lock for account %s "
                "since 2026-01-01T00:00:00Z (pid 777, host elsewhere)" % (m1, m1),
                "iamkeys: error: account %s: another iamkeys run holds the lock for account %s "
                "since 2026-01-02T00:00:00Z (pid 888, host ops-2; its lease in DynamoDB table "
                "%s runs until %s)" % (m2, m2, TABLE, until)])
            self.assertIn("1 account (2 failed), 4 users: 2 acted on", res.out)
            self.assertEqual(sorted(os.listdir(d)),
                             ["%s-user00000.json" % ACCOUNT, "%s-user00002.json" % ACCOUNT])
            # only the management account's own lease was taken, and it was released
            items = emu.state()["accounts"][0]["dynamodb_tables"][0]["items"]
            self.assertEqual([i["LockID"]["S"] for i in items], ["iamkeys/" + m2])
            mutated = {c["account"] for c in emu.calls() if "%s:%s" % (c["service"],
                                                                        c["action"]) in MUTATING}
            self.assertEqual(mutated, {ACCOUNT})
