"""A user's live state that does not parse fails closed: GetAccessKeyLastUsed sends a
LastUsedDate that is not a date, and audit, deactivate, delete and rotate each leave that
user out with one line naming the user and the field, change nothing for them, and go on
with the others."""
import datetime
import tempfile

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

KID = fixtures.key_id
MUTATING = {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"}
BAD = "last tuesday"


def user(name, keys, **kw):
    u = {"name": name, "path": "/", "create_date": "-900d", "keys": keys}
    u.update(kw)
    return u


def bad_use(k, date="-100d"):
    """k, last used at date for the credential report, but with a LastUsedDate that is not a
    date in GetAccessKeyLastUsed."""
    k = dict(k)
    k["last_used"] = {"date": date, "raw_date": BAD}
    return k


def delivered_user():
    """frank: a rotation delivered 8 days ago, its old key's last use unparseable. Read as
    "never used", the old key would be deactivated while it may be in use."""
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=8)
    tag = "v=1 stage=delivered old=%s new=%s t=%s" % (KID("frank/old"), KID("frank/new"),
                                                      t.strftime("%Y%m%dT%H%M%SZ"))
    return user("frank", [bad_use(key("frank/old", 120)), key("frank/new", 8, last_used_days=1)],
                tags={"iamkeys:rotation": tag})


def fixture(*more):
    return fixtures.admin_fixture(extra_users=list(more) + [
        # old, Active, and its last use does not parse
        user("alice", [bad_use(key("alice/old", 120)), key("alice/new", 5, last_used_days=1)]),
        # old and Inactive, and its last use does not parse
        user("carol", [bad_use(key("carol/old", 200, status="Inactive")),
                       key("carol/new", 5, last_used_days=1)]),
        # the same without the bad date: the others go on
        user("dave", [key("dave/old", 150, last_used_days=60),
                      key("dave/new", 10, last_used_days=2)]),
        user("erin", [key("erin/old", 200, status="Inactive", last_used_days=100),
                      key("erin/new", 5, last_used_days=1)]),
    ])


def field(user_seed):
    return ("unparseable LastUsedDate '%s' of key %s (GetAccessKeyLastUsed)"
            % (BAD, KID(user_seed)))


class UnparseableLastUsedTest(CliTestCase, EmulatorTestCase):
    emulator_fixture = fixture

    def setUp(self):
        self.reset_emulator()
        self.before = self.emu.state()

    def iamkeys(self, *args):
        return run(list(args), self.emu.env())

    def keys(self, name):
        for u in self.emu.state()["accounts"][0]["users"]:
            if u["name"] == name:
                return {k["id"]: k["status"] for k in u["keys"]}
        raise KeyError(name)

    def mutations(self):
        return [(c["action"], c.get("params", {}).get("UserName"))
                for c in self.emu.calls() if c["action"] in MUTATING]

    def assertUnchanged(self, *names):
        before = {u["name"]: {k["id"]: k["status"] for k in u["keys"]}
                  for u in self.before["accounts"][0]["users"]}
        for n in names:
            self.assertEqual(self.keys(n), before[n], n)

    def test_audit_skips_the_users(self):
        res = self.iamkeys("audit", "--source", "api", "--no-progress", "-o", "json")
        self.assertRc(res, 1)
        self.assertEqual(res.err.splitlines(), [
            "iamkeys: error: user 'alice' skipped: " + field("alice/old"),
            "iamkeys: error: user 'carol' skipped: " + field("carol/old"),
        ])
        # the others are reported; the skipped users' keys are not
        self.assertIn(KID("dave/old"), res.out)
        self.assertIn(KID("erin/old"), res.out)
        for seed in ("alice/old", "alice/new", "carol/old", "carol/new"):
            self.assertNotIn(KID(seed), res.out)
        self.assertEqual(self.mutations(), [])

    def assertSkipsUnparseable(self, args, lines, mutations, unchanged):
        """iamkeys args fails (rc 1) with the lines on stdout, makes only the mutations, and
        the keys of the users unchanged are as they were."""
        res = self.iamkeys(*args)
        self.assertRc(res, 1)
        self.assertEqual(res.out.splitlines(), lines)
        self.assertEqual(self.mutations(), mutations)
        self.assertUnchanged(*unchanged)

    def test_deactivate_one_key(self):
        self.assertSkipsUnparseable(
            ["deactivate", "--user", "alice", "--key", KID("alice/old"), "--apply"],
            ["failed to deactivate %s of alice: %s" % (KID("alice/old"), field("alice/old"))],
            [], ["alice"])

    def test_deactivate_selection(self):
        # only dave changed
        self.assertSkipsUnparseable(
            ["deactivate", "--older-than", "90d", "--apply"],
            ["failed to deactivate the keys of alice: " + field("alice/old"),
             "failed to deactivate the keys of carol: " + field("carol/old"),
             "deactivated %s of dave" % KID("dave/old")],
            [("UpdateAccessKey", "dave")], ["alice", "carol"])

    def test_delete_one_key(self):
        self.assertSkipsUnparseable(
            ["delete", "--user", "carol", "--key", KID("carol/old"), "--apply"],
            ["failed to delete %s of carol: %s" % (KID("carol/old"), field("carol/old"))],
            [], ["carol"])

    def test_delete_selection(self):
        self.assertSkipsUnparseable(
            ["delete", "--older-than", "30d", "--apply"],
            ["failed to delete the keys of alice: " + field("alice/old"),
             "failed to delete the keys of carol: " + field("carol/old"),
             "deleted %s of erin" % KID("erin/old")],
            [("DeleteAccessKey", "erin")], ["alice", "carol"])

    def test_rotate_delivered(self):
        self.emu.load(fixture(delivered_user()))
        self.emu.reset_calls()
        before = self.keys("frank")
        d = tempfile.mkdtemp()
        res = self.iamkeys("rotate", "--user", "frank", "--to", "file:%s/{user}.json" % d,
                           "--apply")
        self.assertRc(res, 3)
        self.assertEqual(res.out.splitlines()[0],
                         "frank [idle] failed: cannot read live state: " + field("frank/old"))
        self.assertEqual(self.mutations(), [])
        self.assertEqual(self.keys("frank"), before)

    def test_rotate(self):
        d = tempfile.mkdtemp()
        res = self.iamkeys("rotate", "--user", "alice", "--to", "file:%s/{user}.json" % d,
                           "--apply")
        self.assertRc(res, 3)
        self.assertEqual(res.out.splitlines()[0],
                         "alice [idle] failed: cannot read live state: " + field("alice/old"))
        self.assertEqual(self.mutations(), [])
        self.assertUnchanged("alice")
