"""rotate --notify against the emulator: every event kind to sns:, webhook:https:// and exec:,
exactly once across re-runs and across a crash between a step and its tag, a failing target
(exit 3, or as without it with --notify-best-effort), no secret in any payload, bad targets."""
import json
import os
import signal
import stat
import tempfile

from tests.cli.common import run
from tests.cli.test_rotate import DAY, KID, RotateBase, rotation_tag, tag_of, user, users_of
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.webhook import WebhookReceiver

TOPIC = "arn:aws:sns:us-east-1:%s:key-owners" % fixtures.ACCOUNT_ID
OWNER = "team-a@example.com"


class NotifyBase(RotateBase):
    def setUp(self):
        super().setUp()
        self.emu.reset_sns()
        self.hook = WebhookReceiver(os.path.join(self.dir, "tls")).start()
        self.addCleanup(self.hook.stop)
        self.exec_log = os.path.join(self.dir, "exec.log")
        script = os.path.join(self.dir, "hook.sh")
        with open(script, "w") as f:
            f.write('#!/bin/sh\nprintf "%%s %%s " "$IAMKEYS_EVENT" "$IAMKEYS_OWNER" >> %s\n'
                    'cat >> %s\n' % (self.exec_log, self.exec_log))
        os.chmod(script, stat.S_IRWXU)
        self.targets = ["sns:" + TOPIC, "webhook:" + self.hook.url, "exec:" + script]

    def notify_args(self, targets=None):
        out = []
        for t in targets or self.targets:
            out += ["--notify", t]
        return out

    def rotate_n(self, *args, **env):
        env.setdefault("AWS_CA_BUNDLE", self.hook.ca_file)
        return self.rotate("--apply", *(self.notify_args() + list(args)), **env)

    def exec_events(self):
        if not os.path.exists(self.exec_log):
            return []
        out = []
        with open(self.exec_log) as f:
            for line in f:
                kind, owner, doc = line.split(" ", 2)
                ev = json.loads(doc)
                self.assertEqual(ev["event"], kind)  # IAMKEYS_EVENT
                self.assertEqual(ev.get("owner", ""), owner)
                out.append(ev)
        return out

    def sns_events(self):
        out = []
        for m in self.emu.sns_messages():
            ev = json.loads(m["Message"])
            attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
            want = {"iamkeys.event": ev["event"], "iamkeys.user": ev["user"]}
            if "owner" in ev:
                want["iamkeys.owner"] = ev["owner"]
            self.assertEqual(attrs, want)
            self.assertEqual(m["Subject"], "iamkeys %s %s" % (ev["event"], ev["user"]))
            out.append(ev)
        return out

    def all_payloads(self):
        raw = [m["Message"] for m in self.emu.sns_messages()]
        raw += [b.decode() for b in self.hook.raw_bodies()]
        if os.path.exists(self.exec_log):
            raw.append(open(self.exec_log).read())
        return raw

    def events(self):
        """(kind, user) of what each target received, the same for all three."""
        kinds = [[(e["event"], e["user"]) for e in evs]
                 for evs in (self.sns_events(), self.hook.bodies(), self.exec_events())]
        self.assertEqual(kinds[0], kinds[1])
        self.assertEqual(kinds[0], kinds[2])
        return kinds[0]

    def assert_no_secret(self, *extra):
        secrets = [k["secret"] for u in self.emu.state()["accounts"][0]["users"]
                   for k in u["keys"]] + list(extra)
        for f in os.listdir(self.dir):
            if f.endswith(".json"):
                with open(os.path.join(self.dir, f)) as fh:
                    secrets.append(json.load(fh)["SecretAccessKey"])
        for p in self.all_payloads():
            for s in secrets:
                self.assertNotIn(s, p)


class NotifyWorkflowTest(NotifyBase):
    def test_every_stage_once_to_every_target(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("alice", [key("alice", 80, last_used_days=1)], tags={"iamkeys:owner": OWNER}),
            user("bob", [key("bob", 10, last_used_days=1)])]))
        old = KID("alice")
        # 80 days old: due in 10 days, within the 14-day warning
        res = self.rotate_n()
        self.assertRc(res, 0)
        self.assertEqual(self.events(), [("due-soon", "alice")])
        ev = self.hook.bodies()[0]
        self.assertEqual(ev["owner"], OWNER)
        self.assertEqual(ev["access_key_id"], old)
        self.assertIn("is due for rotation on", ev["text"])
        self.assertEqual(tag_of(users_of(self.emu)["alice"], "iamkeys:notified"),
                         "v=1 key=%s sent=due-soon" % old)
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual(len(self.events()), 1)

        # due: delivered (where), once
        self.emu.advance_clock(11 * DAY)
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual(self.events(), [("due-soon", "alice"), ("delivered", "alice")])
        ev = self.hook.bodies()[1]
        new = [k["id"] for k in users_of(self.emu)["alice"]["keys"] if k["id"] != old][0]
        self.assertEqual((ev["access_key_id"], ev["new_access_key_id"]), (old, new))
        self.assertEqual(ev["where"], ["file:%s/alice.json" % self.dir])
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual(len(self.events()), 2)

        # the old key still in use: blocked, with its last use, once
        self.emu.advance_clock(2 * DAY)
        r = self.signed("iam", params={"Action": "GetUser", "Version": "2010-05-08"},
                        access_key_id=old, secret=fixtures.secret_for("alice"))
        self.assertEqual(r.status, 200)
        self.emu.advance_clock(6 * DAY)
        self.assertRc(self.rotate_n(), 3)
        self.assertRc(self.rotate_n(), 3)
        self.assertEqual([k for k, _ in self.events()], ["due-soon", "delivered", "blocked"])
        ev = self.hook.bodies()[2]
        self.assertEqual(ev["last_used"]["service"], "iam")
        self.assertEqual(ev["last_used"]["region"], "us-east-1")
        self.assertIn("still in use", ev["text"])
        self.assertNotIn("callers", ev)

        # forced by --max-grace: deactivated; then deleted
        self.assertRc(self.rotate_n("--max-grace", "1d"), 0)
        self.assertEqual(self.events()[-1], ("deactivated", "alice"))
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual(self.events()[-1], ("deleted", "alice"))
        self.assertIsNone(rotation_tag(users_of(self.emu)["alice"]))
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual([k for k, _ in self.events()],
                         ["due-soon", "delivered", "blocked", "deactivated", "deleted"])
        self.assert_no_secret()

    def test_rolled_back_and_failed(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("carol", [key("carol", 120, last_used_days=1)]),
            user("dave", [key("dave", 120, last_used_days=1)])]))
        self.assertRc(self.rotate_n("--user", "carol"), 0)
        self.assertEqual(self.events(), [("delivered", "carol")])
        self.emu.advance_clock(8 * DAY)
        self.assertRc(self.rotate_n("--user", "carol"), 0)  # deactivated
        res = run(["rollback", "--user", "carol", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.assertRc(self.rotate_n("--user", "carol"), 3)  # paused
        self.assertRc(self.rotate_n("--user", "carol"), 3)
        self.assertEqual([k for k, _ in self.events()],
                         ["delivered", "deactivated", "rolled-back"])
        # a failing step: failed, with why, once
        self.emu.fault(action="CreateAccessKey", kind="server_error", count=100)
        self.assertRc(self.rotate_n("--user", "dave"), 3)
        self.assertRc(self.rotate_n("--user", "dave"), 3)
        self.assertEqual([k for k, _ in self.events()][3:], ["failed"])
        self.assertIn("CreateAccessKey", self.hook.bodies()[3]["reason"])
        self.assert_no_secret()


class NotifyDeliveryTest(NotifyBase):
    def fixture(self):
        return fixtures.admin_fixture(extra_users=[
            user("erin", [key("erin", 120, last_used_days=1)], tags={"iamkeys:owner": OWNER})])

    def test_failing_target_is_retried_and_never_blocks_a_step(self):
        self.emu.load(self.fixture())
        self.hook.fail_with(500)
        res = self.rotate_n()
        self.assertRc(res, 3)
        self.assertOneLineError(res, "notify erin:", "webhook:https://127.0.0.1:%d/..."
                                % self.hook.port, "HTTP 500")
        self.assertNotIn(self.hook.path, res.err)  # the URL's path is its credential
        self.assertRegex(rotation_tag(users_of(self.emu)["erin"]), "stage=delivered")
        self.assertIsNone(tag_of(users_of(self.emu)["erin"], "iamkeys:notified"))
        # the next run retries (the targets that took it see it again: at least once)
        self.hook.fail_with(None)
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual([e["event"] for e in self.sns_events()], ["delivered", "delivered"])
        self.assertEqual([b["event"] for b in self.hook.bodies()], ["delivered", "delivered"])
        self.assertRc(self.rotate_n(), 0)
        self.assertEqual(len(self.emu.sns_messages()), 2)
        self.assert_no_secret()

    def test_best_effort_exits_as_without(self):
        self.emu.load(self.fixture())
        self.emu.fault(service="sns", action="Publish", kind="server_error", count=100)
        res = self.rotate_n("--notify-best-effort")
        self.assertRc(res, 0)
        self.assertOneLineError(res, "notify erin:", "sns:" + TOPIC, "Publish")
        self.assertRegex(rotation_tag(users_of(self.emu)["erin"]), "stage=delivered")

    def test_crash_between_step_and_tag_notifies_once(self):
        # mutating calls of a clean run: TagUser intent, CreateAccessKey, TagUser delivered,
        # then TagUser iamkeys:notified
        for k in (1, 2, 3, 4):
            self.emu.set_clock(offset_seconds=0)
            self.emu.load(self.fixture())
            self.emu.reset_sns()
            self.hook.reset()
            if os.path.exists(self.exec_log):
                os.unlink(self.exec_log)
            for f in os.listdir(self.dir):
                if f.endswith(".json"):
                    os.unlink(os.path.join(self.dir, f))
            res = self.rotate_n(IAMKEYS_TEST_CRASH_AFTER=str(k))
            self.assertEqual(res.rc, -signal.SIGKILL, "k=%d %r" % (k, res))
            self.emu.advance_clock(30 * 60)
            for _ in range(3):
                self.assertRc(self.rotate_n(), 0)
            self.assertEqual(self.events(), [("delivered", "erin")], "k=%d" % k)
            self.assert_no_secret()


class NotifyUsageTest(NotifyBase):
    def test_bad_targets(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("fay", [key("fay", 120, last_used_days=1)])]))
        for target, needle in (
                ("bogus:x", "unknown kind 'bogus'"),
                ("webhook:http://hooks.example.com/x", "https://"),
                ("webhook:https://", "needs a host"),
                ("sns:arn:aws:sqs:us-east-1:111111111111:q", "not an SNS topic ARN"),
                ("sns:arn:aws:sns:us-east-1:1111:q", "not an SNS topic ARN"),
                ("exec:'unterminated", "exec:")):
            self.emu.reset_calls()
            res = self.rotate("--apply", "--notify", target)
            self.assertRc(res, 2)
            self.assertOneLineError(res, "invalid --notify target", needle)
            self.assertEqual(self.emu.calls(), [])
        res = self.rotate("--notify", "sns:" + TOPIC)  # a dry run notifies nobody
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--notify is for rotate --apply")
        res = self.rotate("--apply", "--notify-best-effort")
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--notify-best-effort is for --notify")
        self.assertIsNone(rotation_tag(users_of(self.emu)["fay"]))

    def test_config_target_per_user_and_owner_tag_option(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("gus", [key("gus", 120, last_used_days=1)], tags={"owner": "ops"}),
            user("hal", [key("hal", 120, last_used_days=1)])]))
        conf = os.path.join(self.dir, "rotate.conf")
        with open(conf, "w") as f:
            f.write("[default]\nto = %s\n[user gus]\nnotify = webhook:%s\n"
                    % (self.to, self.hook.url))
        res = run(["rotate", "--apply", "--config", conf, "--notify", "sns:" + TOPIC,
                   "--owner-tag", "owner"], self.emu.env(AWS_CA_BUNDLE=self.hook.ca_file))
        self.assertRc(res, 0)
        self.assertEqual(sorted((e["user"], e.get("owner")) for e in self.sns_events()),
                         [("gus", "ops"), ("hal", None)])
        self.assertEqual([(b["user"], b["owner"]) for b in self.hook.bodies()], [("gus", "ops")])


class NotifyPolicyTest(NotifyBase):
    def test_policy_gains_sns_publish_for_sns_targets_only(self):
        env = self.emu.env()
        plain = json.loads(run(["policy", "rotate"], env).out)
        self.assertNotIn("sns:Publish", json.dumps(plain))
        res = run(["policy", "rotate", "--notify", "sns:" + TOPIC, "--notify",
                   "webhook:https://hooks.example.com/x", "--notify", "exec:true"], env)
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(doc["Statement"][:-1], plain["Statement"])
        self.assertEqual(doc["Statement"][-1], {"Effect": "Allow", "Action": ["sns:Publish"],
                                                "Resource": TOPIC})
        res = run(["policy", "rotate", "--notify", "sns:topic"], env)
        self.assertRc(res, 2)
        self.assertOneLineError(res, "not an SNS topic ARN")

    def test_audit_policy_gains_the_record_tag(self):
        env = self.emu.env()
        plain = json.loads(run(["policy", "audit"], env).out)
        self.assertNotIn("iam:TagUser", json.dumps(plain))
        doc = json.loads(run(["policy", "audit", "--notify", "exec:true"], env).out)
        user_stmt = [s for s in doc["Statement"] if s["Resource"] == "arn:aws:iam::*:user/*"][0]
        self.assertIn("iam:TagUser", user_stmt["Action"])
        self.assertNotIn("sns:Publish", json.dumps(doc))


class AuditNotifyTest(NotifyBase):
    def test_audit_sends_due_soon_once(self):
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("ivy", [key("ivy", 85, last_used_days=1)], tags={"iamkeys:owner": OWNER}),
            user("jon", [key("jon", 10, last_used_days=1)]),
            user("kim", [key("kim", 200, last_used_days=1)])]))
        args = ["audit"] + self.notify_args()
        env = self.emu.env(AWS_CA_BUNDLE=self.hook.ca_file)
        res = run(args, env)
        self.assertRc(res, 3)  # kim's key is old (a finding), not a notification failure
        self.assertEqual(res.err, "")
        self.assertEqual(self.events(), [("due-soon", "ivy")])
        self.assertEqual(self.hook.bodies()[0]["owner"], OWNER)
        self.assertRc(run(args, env), 3)
        self.assertEqual(len(self.events()), 1)
        # a failing target: one line, retried by the next audit
        self.emu.load(fixtures.admin_fixture(extra_users=[
            user("ivy", [key("ivy", 85, last_used_days=1)])]))
        self.emu.reset_sns()
        self.hook.reset()
        self.hook.fail_with(500)
        res = run(["audit", "--notify", "webhook:" + self.hook.url], env)
        self.assertRc(res, 3)
        self.assertOneLineError(res, "notify ivy:", "HTTP 500")
        res = run(["audit", "--notify", "webhook:" + self.hook.url, "--notify-best-effort"], env)
        self.assertRc(res, 0)
        self.hook.fail_with(None)
        self.assertRc(run(["audit", "--notify", "webhook:" + self.hook.url], env), 0)
        self.assertRc(run(["audit", "--notify", "webhook:" + self.hook.url], env), 0)
        self.assertEqual([b["event"] for b in self.hook.bodies()], ["due-soon"] * 3)
        self.assert_no_secret()
        res = run(["audit", "--notify", "webhook:http://x"], env)
        self.assertRc(res, 2)
        self.assertOneLineError(res, "invalid --notify target", "https://")
