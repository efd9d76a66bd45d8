"""Shared helpers for the CLI tests: run the built binary against the emulator."""
import os
import shutil
import subprocess
import tempfile
import unittest

from tests.emulator.fixtures import key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("IAMKEYS_BUILD", os.path.join(ROOT, "build"))
BINARY = os.path.join(BUILD, "iamkeys")


class Result:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def __repr__(self):
        return "rc=%d\n--- stdout ---\n%s--- stderr ---\n%s" % (self.rc, self.out[-3000:],
                                                                  self.err[-3000:])


def run(args, env, stdin=None, timeout=300):
    """Runs iamkeys with args (a list) and the given full environment."""
    p = subprocess.run([BINARY] + list(args), env=env, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return Result(p)


class CliTestCase(unittest.TestCase):
    def make_home(self, prefix, *dirs):
        """A fresh HOME for one test, removed after it, with the folders dirs (paths
        relative to it, such as ".aws") made below it.  Returns its path."""
        home = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, home, ignore_errors=True)
        for d in dirs:
            os.makedirs(os.path.join(home, d))
        return home

    def credentials_home(self, text, prefix="iamkeys-home-"):
        """A fresh HOME (see make_home) whose .aws/credentials holds text; returns (the
        home's path, the credentials file's path)."""
        home = self.make_home(prefix, ".aws")
        cred = os.path.join(home, ".aws", "credentials")
        with open(cred, "w") as f:
            f.write(text)
        return home, cred

    def assertRc(self, res, rc):
        self.assertEqual(res.rc, rc, repr(res))

    def assertOneLineError(self, res, *needles):
        """stderr is exactly one line, and it contains every needle."""
        lines = res.err.splitlines()
        self.assertEqual(len(lines), 1, repr(res))
        for n in needles:
            self.assertIn(n, lines[0], repr(res))

    # The end of a run whose CreateAccessKey reply was lost after AWS made the key
    LOST_KEY_DELETED = r"; AWS did create AKIA[A-Z0-9]{16}, whose secret is lost: deleted it\n$"

    def assertLostKeyCalls(self, emu):
        """CreateAccessKey was sent once (never re-sent); the create mark was read back
        before the key was, and removed once the lost key was deleted."""
        calls = [c["action"] for c in emu.calls()]
        self.assertEqual(calls.count("CreateAccessKey"), 1)
        self.assertEqual(calls[-8:], ["TagUser", "ListUserTags", "CreateAccessKey",
                                      "ListAccessKeys", "ListUserTags", "DeleteAccessKey",
                                      "ListUserTags", "UntagUser"])

    def assertNoSecrets(self, res, secrets):
        for s in secrets:
            self.assertNotIn(s, res.out)
            self.assertNotIn(s, res.err)


def credentials_text(profile, key_id, secret):
    """A credentials file section naming the key key_id and its secret."""
    return "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (profile, key_id,
                                                                          secret)


def tag_of(u, name):
    """The value of the tag name of a user of the emulator's state dump, or None."""
    tags = u["tags"]
    if isinstance(tags, dict):
        return tags.get(name)
    for t in tags:
        if t["Key"] == name:
            return t["Value"]
    return None


def rotation_tag(u):
    """The logical rotation value: iamkeys:rotation with iamkeys:rotation-new's key put back."""
    main, new = tag_of(u, "iamkeys:rotation"), tag_of(u, "iamkeys:rotation-new")
    if main is None or not new:
        return main
    head, _, t = main.rpartition(" t=")
    return "%s new=%s t=%s" % (head, new, t)


def due_users(n, prefix="u"):
    """n users (prefix00, prefix01, ...), each with one key 100 days old or more, used
    yesterday: all due for rotation."""
    return [{"name": "%s%02d" % (prefix, i), "create_date": "-900d",
             "keys": [key("%s%02d" % (prefix, i), 100 + i, last_used_days=1)]}
            for i in range(n)]


def users_of(emu):
    """The users of the emulator's first account, by name."""
    return {u["name"]: u for u in emu.state()["accounts"][0]["users"]}


SAFETY = os.environ.get("IAMKEYS_TEST_SAFETY") == "1"


def class_variants(cls, variants, module_globals):
    """For each (name, attributes) of variants, a subclass of cls with those attributes,
    as the global name of the test module (module_globals): classes that tests/run.py
    runs in parallel with cls."""
    for name, attrs in variants:
        module_globals[name] = type(name, (cls,), dict(attrs, __qualname__=name,
                                                       __module__=cls.__module__))


def shard_class(cls, shards, module_globals):
    """Shares the trials of cls out over shards classes that tests/run.py runs in parallel:
    cls takes shard 0, and a subclass CLS_NAME + "Shard<i>" (a global of the test module)
    each other shard. The class runs trial t when its shard(t) is true."""
    cls.shard_index, cls.shard_count = 0, shards
    class_variants(cls, [("%sShard%d" % (cls.__name__, i), {
        "shard_index": i,
        "__doc__": "%s: the trials t with t %% %d == %d." % (cls.__name__, shards, i)})
        for i in range(1, shards)], module_globals)


class Sharded:
    """The trials of a class that shard_class shared out: shard(t) is true for this
    class's trials."""
    shard_index, shard_count = 0, 1

    def shard(self, t):
        return t % self.shard_count == self.shard_index

