"""The one invariant every rotation-safety test ends with, and the sinks it reads.

After a run (crashed, interrupted, raced or with a lost reply) has been completed:
every user has exactly one key, Active, whose id and secret equal what its sink holds
(read from the sink itself: the file, the credentials profile, the secret's AWSCURRENT
version, the parameter, or the file an exec hook wrote); no orphan key; no rotation tag
left; and a sample of those keys authenticates."""
import configparser
import json
import os

from tests.cli.common import tag_of

FILE, PROFILE, SECRETSMANAGER, SSM, EXEC = "file", "profile", "secretsmanager", "ssm", "exec"
SINK_KINDS = (FILE, PROFILE, SECRETSMANAGER, SSM, EXEC)
HOOK = '#!/bin/sh\n# an exec sink: the secret document on stdin, the user in IAMKEYS_USER\n' \
       'umask 077\ncat > "$1/$IAMKEYS_USER.json.tmp" && mv "$1/$IAMKEYS_USER.json.tmp" ' \
       '"$1/$IAMKEYS_USER.json"\n'


class Sink:
    """A sink of one kind writing into directory d (and into the emulator's account)."""

    def __init__(self, kind, d):
        self.kind, self.d = kind, d

    def to(self):
        if self.kind == FILE:
            return "file:%s/{user}.json" % self.d
        if self.kind == PROFILE:
            return "profile:{user}@%s/credentials" % self.d
        if self.kind == SECRETSMANAGER:
            return "secretsmanager:iamkeys/{user}"
        if self.kind == SSM:
            return "ssm:/iamkeys/{user}"
        hook = os.path.join(self.d, "hook.sh")
        if not os.path.exists(hook):
            with open(hook, "w") as f:
                f.write(HOOK)
            os.chmod(hook, 0o700)
        return "exec:%s %s" % (hook, self.d)

    def reset(self):
        for f in os.listdir(self.d):
            if f != "hook.sh":
                os.unlink(os.path.join(self.d, f))

    def held(self, emu, name, state=None):
        """(AccessKeyId, SecretAccessKey) the sink holds for user name, or None."""
        if self.kind in (FILE, EXEC):
            p = os.path.join(self.d, name + ".json")
            if not os.path.exists(p):
                return None
            with open(p) as f:
                doc = json.load(f)
            return doc["AccessKeyId"], doc["SecretAccessKey"]
        if self.kind == PROFILE:
            p = os.path.join(self.d, "credentials")
            cp = configparser.RawConfigParser()
            cp.read(p)
            if not cp.has_section(name):
                return None
            return cp.get(name, "aws_access_key_id"), cp.get(name, "aws_secret_access_key")
        acc = (state or emu.state())["accounts"][0]
        if self.kind == SECRETSMANAGER:
            for s in acc["secrets"]:
                if s["name"] == "iamkeys/" + name:
                    cur = [v for v in s["versions"] if "AWSCURRENT" in v["stages"]]
                    doc = json.loads(cur[0]["value"])
                    return doc["AccessKeyId"], doc["SecretAccessKey"]
            return None
        for p in acc["parameters"]:
            if p["name"] == "/iamkeys/" + name:
                doc = json.loads(p["value"])
                return doc["AccessKeyId"], doc["SecretAccessKey"]
        return None


def assert_one_working_key_each(tc, emu, sink, names, msg, authenticate=None):
    """Every user in names: one key, Active, the one its sink holds (id and secret), no
    rotation tag. authenticate: a function (key id, secret) called for the first user."""
    state = emu.state()
    users = {u["name"]: u for u in state["accounts"][0]["users"]}
    for name in names:
        u = users[name]
        keys = u["keys"]
        m = "%s: user %s keys %s tags %s" % (msg, name,
                                             [(k["id"], k["status"]) for k in keys], u["tags"])
        held = sink.held(emu, name, state)
        tc.assertIsNotNone(held, m + ": the sink holds nothing")
        tc.assertEqual([k["id"] for k in keys], [held[0]], m + ": sink holds %s" % held[0])
        tc.assertEqual(keys[0]["status"], "Active", m)
        tc.assertEqual(keys[0]["secret"], held[1], m + ": the sink's secret is not the key's")
        tc.assertIsNone(tag_of(u, "iamkeys:rotation"), m)
        tc.assertIsNone(tag_of(u, "iamkeys:rotation-new"), m)
    if authenticate and names:
        held = sink.held(emu, names[0], state)
        authenticate(held[0], held[1])


def assert_nothing_lost(tc, emu, sink, names, msg):
    """The weaker invariant for a user left blocked because its sink cannot say which key
    it holds (exec:): nothing was deleted that matters. The user has an Active key its
    applications had before; if the sink holds a key, IAM has it, Active, with that
    secret; at most the old key and one new key."""
    state = emu.state()
    users = {u["name"]: u for u in state["accounts"][0]["users"]}
    for name in names:
        u = users[name]
        keys = {k["id"]: k for k in u["keys"]}
        m = "%s: user %s keys %s" % (msg, name, [(k["id"], k["status"]) for k in u["keys"]])
        tc.assertLessEqual(len(keys), 2, m)
        tc.assertTrue(any(k["status"] == "Active" for k in keys.values()), m)
        held = sink.held(emu, name, state)
        if held:
            tc.assertIn(held[0], keys, m + ": the sink holds a deleted key")
            tc.assertEqual(keys[held[0]]["status"], "Active", m)
            tc.assertEqual(keys[held[0]]["secret"], held[1], m)
        tc.assertIsNotNone(tag_of(u, "iamkeys:rotation"), m + ": blocked without a mark")
