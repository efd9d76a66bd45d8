"""Sinks against the emulator: every delivery that is bound to fail is refused before any
change (zero TagUser / CreateAccessKey calls in the emulator's log), a target shared by
several users, the profile iamkeys itself runs with, files that are not regular, links out
of the credentials file's directory; the credentials file keeps its mode, owner and links;
the exec hook's environment, descriptors and arguments."""
import json
import os
import stat

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

KID = fixtures.key_id
MUTATING = {"TagUser", "UntagUser", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
            "CreateSecret", "PutSecretValue", "PutParameter"}
DASH_USER = "--config=x.y"  # a legal IAM user name
MISSING_ARN = "arn:aws:secretsmanager:us-east-1:%s:secret:gone-AbCdEf" % fixtures.ACCOUNT_ID


def user(name, keys, **kw):
    u = {"name": name, "path": "/", "create_date": "-900d", "keys": keys}
    u.update(kw)
    return u


def sinks_fixture():
    return fixtures.admin_fixture(extra_users=[
        user(n, [key(n, 120, last_used_days=1)])
        for n in ("alice", "bob", "carol", "dave@example.com", DASH_USER)])


class SinkBase(CliTestCase, EmulatorTestCase):
    emulator_fixture = sinks_fixture

    def setUp(self):
        self.reset_emulator()
        self.d = self.make_home("iamkeys-sinks-")
        self.before = self.state()

    def state(self):
        """{user: (sorted (key id, status), tags)}, live."""
        return {u["name"]: (sorted((k["id"], k["status"]) for k in u["keys"]),
                            json.dumps(u["tags"], sort_keys=True))
                for u in self.emu.state()["accounts"][0]["users"]}

    def path(self, *parts):
        return os.path.join(self.d, *parts)

    def actions(self):
        return [c["action"] for c in self.emu.calls()]

    def mutations(self):
        return [c for c in self.emu.calls() if c["action"] in MUTATING]

    def assertNothingChanged(self):
        self.assertEqual([c["action"] for c in self.mutations()], [])
        self.assertNotIn("CreateAccessKey", self.actions())
        self.assertEqual(self.state(), self.before)

    def assertOneLineNaming(self, text, *needles):
        """Exactly one line of text names the problem (every needle in it)."""
        hits = [line for line in text.splitlines() if all(n in line for n in needles)]
        self.assertEqual(len(hits), 1, text)

    def new_key(self, name):
        keys = {k["id"]: k for u in self.emu.state()["accounts"][0]["users"]
                if u["name"] == name for k in u["keys"]}
        new = [k for kid, k in keys.items() if kid != KID(name)]
        self.assertEqual(len(new), 1, keys)
        return new[0]

    def write(self, name, text, mode=0o600):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p


class PreflightTest(SinkBase):
    """A sink that would refuse the secret stops rotate --apply and create --apply before
    the first change: no TagUser, no CreateAccessKey, one line naming the problem."""

    def cases(self):
        """(name, sink for alice, the problem's words); the files are made here."""
        d = self.d
        self.write("bad-credentials", "[alice]\nno equals sign\n")
        os.mkfifo(self.path("fifo"))
        os.mkdir(self.path("a"))
        os.mkdir(self.path("b"))
        self.write("b/credentials", "[other]\nregion = x\n")
        os.symlink("../b/credentials", self.path("a", "credentials"))
        cases = [
            ("file in a missing directory", "file:%s/nope/{user}.json" % d,
             ["directory '%s/nope' does not exist" % d]),
            ("unparsable credentials file", "profile:{user}@%s/bad-credentials" % d,
             ["cannot edit %s/bad-credentials: line 2: expected '=' in property" % d]),
            ("profile in a missing directory", "profile:{user}@%s/nope/credentials" % d,
             ["directory '%s/nope' does not exist" % d]),
            ("missing command", "exec:/nonexistent/deliver --now",
             ["cannot run '/nonexistent/deliver': no such executable"]),
            ("a directory as command", "exec:%s" % d,
             ["cannot run '%s': no such executable" % d]),
            ("ARN of a missing secret", "secretsmanager:" + MISSING_ARN,
             ["secretsmanager:%s: no such secret" % MISSING_ARN]),
            ("file that is a FIFO", "file:%s/fifo" % d, ["'%s/fifo' is a FIFO" % d]),
            ("profile that is a FIFO", "profile:{user}@%s/fifo" % d,
             ["'%s/fifo' is a FIFO, not a regular file" % d]),
            ("link out of the directory", "profile:{user}@%s/a/credentials" % d,
             ["is a symbolic link to '%s/b/credentials', outside its directory" % d,
              "--follow-symlinks"]),
        ]
        if os.geteuid() == 0:
            # /dev/full's numbers, in our directory: never the real device
            os.mknod(self.path("full"), stat.S_IFCHR | 0o600, os.makedev(1, 7))
            cases.append(("file that is a device", "file:%s/full" % d,
                          ["'%s/full' is a character device, not a regular file" % d]))
        return cases

    def check_untouched(self):
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.path("fifo")).st_mode))
        if os.path.exists(self.path("full")):
            self.assertTrue(stat.S_ISCHR(os.lstat(self.path("full")).st_mode))
        self.assertFalse(os.path.exists(self.path("nope")))
        with open(self.path("b", "credentials")) as f:
            self.assertEqual(f.read(), "[other]\nregion = x\n")
        self.assertTrue(os.path.islink(self.path("a", "credentials")))

    def test_rotate_refuses_before_any_change(self):
        for name, to, problem in self.cases():
            with self.subTest(name):
                self.emu.reset_calls()
                res = run(["rotate", "--user", "alice", "--to", to, "--apply"], self.emu.env())
                self.assertRc(res, 3)
                self.assertEqual(res.err, "")
                self.assertOneLineNaming(res.out, "alice [idle] blocked: ", *problem)
                self.assertIn("1 blocked, 0 failed", res.out)
                self.assertNothingChanged()
        self.check_untouched()

    def test_create_refuses_before_any_change(self):
        for name, to, problem in self.cases():
            with self.subTest(name):
                self.emu.reset_calls()
                # --overwrite is for file: sinks only
                overwrite = ["--overwrite"] if to.startswith("file:") else []
                res = run(["create", "--user", "alice", "--to", to, "--apply"] + overwrite,
                          self.emu.env())
                self.assertRc(res, 3)
                self.assertEqual(res.err, "")
                self.assertEqual(len(res.out.splitlines()), 1, res)
                self.assertOneLineNaming(res.out, "skip creating a key for alice: ", *problem)
                self.assertNothingChanged()
        self.check_untouched()

    def test_ssm_names_follow_putparameter_rules(self):
        # the spec itself can never work: a usage error before any call
        for to, problem in [
                ("ssm:awskeys/{user}", "may not begin with 'aws'"),
                ("ssm:/SSM/{user}", "may not begin with 'SSM'"),
                ("ssm:/keys//{user}", "no empty level"),
                ("ssm:keys/{user}", "must begin with '/'"),
                ("ssm:/" + "/".join(str(i) for i in range(16)), "at most 15 levels"),
                ("ssm:/keys/{user}#1", "not '#'")]:
            for cmd in (["rotate", "--user", "alice"], ["create", "--user", "alice"]):
                with self.subTest(to=to, cmd=cmd[0]):
                    self.emu.reset_calls()
                    res = run(cmd + ["--to", to, "--apply"], self.emu.env())
                    self.assertRc(res, 2)
                    self.assertOneLineError(res, "invalid --to", problem)
                    self.assertEqual(self.actions(), [])
        # valid for one user, not for another: that user is refused
        self.emu.reset_calls()
        res = run(["rotate", "--user", "dave@example.com", "--to", "ssm:/keys/{user}",
                   "--apply"], self.emu.env())
        self.assertRc(res, 3)
        self.assertOneLineNaming(res.out, "dave@example.com [idle] blocked: ",
                                 "ssm:/keys/dave@example.com: a parameter name holds only "
                                 "letters, digits and _ . - /, not '@'")
        self.assertNothingChanged()
        res = run(["create", "--user", "dave@example.com", "--to", "ssm:/keys/{user}",
                   "--apply"], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "not '@'")
        self.assertNothingChanged()

    def test_existing_arn_still_delivers(self):
        r = self.emu.request("secretsmanager", target="secretsmanager.CreateSecret",
                             json_body={"Name": "iamkeys/alice", "SecretString": "{}"})
        arn = r.json()["ARN"]
        self.emu.reset_calls()
        res = run(["rotate", "--user", "alice", "--to", "secretsmanager:" + arn, "--apply"],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual([c["action"] for c in self.mutations()],
                         ["TagUser", "CreateAccessKey", "PutSecretValue", "TagUser"])
        r = self.emu.request("secretsmanager", target="secretsmanager.GetSecretValue",
                             json_body={"SecretId": arn})
        self.assertEqual(json.loads(r.json()["SecretString"])["AccessKeyId"],
                         self.new_key("alice")["id"])

    def test_follow_symlinks_edits_the_target(self):
        os.mkdir(self.path("a"))
        os.mkdir(self.path("b"))
        real = self.write("b/credentials", "[other]\nregion = x\n", 0o640)
        link = self.path("a", "credentials")
        os.symlink("../b/credentials", link)
        res = run(["create", "--user", "alice", "--to", "profile:{user}@" + link,
                   "--follow-symlinks", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        new = self.new_key("alice")
        self.assertTrue(os.path.islink(link))
        with open(real) as f:
            self.assertEqual(f.read(), "[other]\nregion = x\n\n[alice]\naws_access_key_id = %s"
                             "\naws_secret_access_key = %s\n" % (new["id"], new["secret"]))
        self.assertEqual(stat.S_IMODE(os.stat(real).st_mode), 0o640)


class SharedTargetTest(SinkBase):
    """One target for several users would keep only the last user's secret."""

    def test_config_sharing_users_refused_others_rotated(self):
        conf = self.write("rotate.ini", "[default]\nto = file:%s/{user}.json\n"
                          "[user alice]\nto = file:%s/shared.json\n"
                          "[user bob]\nto = file:%s/./shared.json\n" % (self.d, self.d, self.d))
        res = run(["rotate", "--config", conf, "--user", "alice", "--user", "bob",
                   "--user", "carol", "--apply"], self.emu.env())
        self.assertRc(res, 3)
        self.assertOneLineNaming(res.out, "alice [idle] blocked: sink file:%s/shared.json is "
                                 "shared by alice, bob: each user needs a target of its own "
                                 "(use {user})" % self.d)
        self.assertOneLineNaming(res.out, "bob [idle] blocked: sink file:%s/./shared.json is "
                                 "shared by alice, bob" % self.d)
        self.assertIn("3 users: 1 acted on, 2 blocked, 0 failed", res.out)
        # only carol was changed
        self.assertEqual({c["params"]["UserName"] for c in self.mutations()}, {"carol"})
        self.assertEqual([c["action"] for c in self.mutations()],
                         ["TagUser", "CreateAccessKey", "TagUser"])
        after = self.state()
        self.assertEqual(after["alice"], self.before["alice"])
        self.assertEqual(after["bob"], self.before["bob"])
        self.assertEqual(sorted(os.listdir(self.d)), ["carol.json", "rotate.ini"])
        with open(self.path("carol.json")) as f:
            self.assertEqual(json.load(f)["AccessKeyId"], self.new_key("carol")["id"])

    def test_one_target_for_every_user(self):
        for to in ("file:%s/shared.json" % self.d, "secretsmanager:iamkeys/shared",
                   "ssm:/iamkeys/shared", "profile:shared@%s/credentials" % self.d):
            with self.subTest(to):
                self.emu.reset_calls()
                res = run(["rotate", "--to", to, "--user", "alice", "--user", "bob",
                           "--apply"], self.emu.env())
                self.assertRc(res, 3)
                for name in ("alice", "bob"):
                    self.assertOneLineNaming(res.out, "%s [idle] blocked: sink %s is shared by "
                                             "alice, bob:" % (name, to))
                self.assertNothingChanged()
                self.assertEqual(os.listdir(self.d), [])

    def test_exec_and_one_user_are_not_shared(self):
        # one user per run may use a fixed target; an exec hook is told the user
        res = run(["rotate", "--to", "file:%s/only.json" % self.d, "--user", "alice",
                   "--apply"], self.emu.env())
        self.assertRc(res, 0)
        out = self.path("hook-{user}")
        script = self.write("hook.sh", '#!/bin/sh\ncat > "$1"\n', 0o700)
        res = run(["rotate", "--to", "exec:%s %s" % (script, out), "--user", "bob",
                   "--user", "carol", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        for name in ("bob", "carol"):
            with open(self.path("hook-" + name)) as f:
                self.assertEqual(json.load(f)["AccessKeyId"], self.new_key(name)["id"])


class OwnProfileTest(SinkBase):
    """The profile iamkeys runs with is never overwritten with another user's key."""

    def setUp(self):
        super().setUp()
        self.creds_text = ("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                           % (fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))
        self.creds = self.write("credentials", self.creds_text)
        self.write("config", "[profile ci]\nrole_arn = arn:aws:iam::%s:role/%s\n"
                   "source_profile = default\n" % (fixtures.ACCOUNT_ID, fixtures.CI_ROLE))
        self.env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                                AWS_SHARED_CREDENTIALS_FILE=self.creds,
                                AWS_CONFIG_FILE=self.path("config"))

    def test_own_profile_refused(self):
        os.symlink("credentials", self.path("same-file"))
        for to in ("profile:default", "profile:default@" + self.creds,
                   "profile:default@%s/same-file" % self.d):
            for cmd in (["rotate", "--user", "alice", "--to", to, "--apply"],
                        ["create", "--user", "alice", "--to", to, "--apply"]):
                with self.subTest(to=to, cmd=cmd[0]):
                    self.emu.reset_calls()
                    res = run(cmd, self.env)
                    self.assertRc(res, 3)
                    self.assertOneLineNaming(res.out, "profile 'default' of '%s' holds the "
                                             "credentials this command runs with (use rotate "
                                             "--self for those)" % self.creds)
                    self.assertNothingChanged()
                    with open(self.creds) as f:
                        self.assertEqual(f.read(), self.creds_text)

    def test_source_profile_of_a_role_refused(self):
        for to in ("profile:default", "profile:ci"):
            with self.subTest(to):
                self.emu.reset_calls()
                res = run(["create", "--user", "alice", "--to", to, "--apply",
                           "--profile", "ci"], self.env)
                self.assertRc(res, 3)
                self.assertOneLineNaming(res.out, "holds the credentials this command runs with")
                self.assertNothingChanged()

    def test_other_profile_of_the_same_file(self):
        res = run(["create", "--user", "alice", "--to", "profile:alice", "--apply"], self.env)
        self.assertRc(res, 0)
        new = self.new_key("alice")
        with open(self.creds) as f:
            self.assertEqual(f.read(), self.creds_text + "\n[alice]\naws_access_key_id = %s\n"
                             "aws_secret_access_key = %s\n" % (new["id"], new["secret"]))

    def test_environment_credentials_leave_the_profile_free(self):
        env = self.emu.env(AWS_SHARED_CREDENTIALS_FILE=self.creds)
        res = run(["create", "--user", "alice", "--to", "profile:default", "--apply"], env)
        self.assertRc(res, 0)


class CredentialsFileTest(SinkBase):
    """An edited credentials file keeps its mode, owner, group and hard links; a new one is
    0600; a missing directory is refused as for file:."""

    def test_mode_owner_and_links_kept(self):
        creds = self.write("credentials", "[other]\nregion = x\n", 0o640)
        if os.geteuid() == 0:
            os.chown(creds, 1234, 5678)
        os.link(creds, self.path("credentials-link"))
        st0 = os.stat(creds)
        res = run(["create", "--user", "alice", "--to", "profile:alice@" + creds, "--apply"],
                  self.emu.env())
        self.assertRc(res, 0)
        new = self.new_key("alice")
        st = os.stat(creds)
        self.assertEqual((st.st_ino, st.st_nlink, stat.S_IMODE(st.st_mode), st.st_uid,
                          st.st_gid),
                         (st0.st_ino, 2, 0o640, st0.st_uid, st0.st_gid))
        want = ("[other]\nregion = x\n\n[alice]\naws_access_key_id = %s\n"
                "aws_secret_access_key = %s\n" % (new["id"], new["secret"]))
        for p in (creds, self.path("credentials-link")):
            with open(p) as f:
                self.assertEqual(f.read(), want)
        with open(creds + ".iamkeys.bak") as f:
            self.assertEqual(f.read(), "[other]\nregion = x\n")
        # one name only: the file is replaced, with the mode and owner it had
        os.unlink(self.path("credentials-link"))
        res = run(["create", "--user", "bob", "--to", "profile:bob@" + creds, "--apply"],
                  self.emu.env())
        self.assertRc(res, 0)
        st = os.stat(creds)
        self.assertNotEqual(st.st_ino, st0.st_ino)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid),
                         (0o640, st0.st_uid, st0.st_gid))

    def test_new_file_is_0600(self):
        creds = self.path("new-credentials")
        res = run(["create", "--user", "alice", "--to", "profile:alice@" + creds, "--apply"],
                  self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(stat.S_IMODE(os.stat(creds).st_mode), 0o600)
        self.assertEqual(os.listdir(self.d), ["new-credentials"])


class ExecHookTest(SinkBase):
    """The hook gets an allow-list environment, no descriptor of ours beyond 0-2, and the
    user name never as an option."""

    def hook(self):
        return self.write("hook.sh", '#!/bin/sh\ncat > "$1.json"\nenv > "$1.env"\n'
                          'ls /proc/self/fd > "$1.fds"\nprintf "%s\\n" "$@" > "$1.args"\n',
                          0o700)

    def test_environment_and_descriptors(self):
        base = self.path("out")
        env = self.emu.env(MY_DB_URL="postgres://u:pw-not-passed@db/x", LANG="C.UTF-8",
                           LC_ALL="C", TZ="UTC", IAMKEYS_TEST_NOTE="not-passed")
        for cmd in (["create", "--user", "alice"], ["rotate", "--user", "bob"]):
            with self.subTest(cmd[0]):
                res = run(cmd + ["--to", "exec:%s %s" % (self.hook(), base), "--apply"], env)
                self.assertRc(res, 0)
                name = cmd[2]
                new = self.new_key(name)
                with open(base + ".json") as f:
                    self.assertEqual(json.load(f)["AccessKeyId"], new["id"])
                with open(base + ".env") as f:
                    hook_env = dict(line.split("=", 1) for line in f.read().splitlines())
                # what sh itself adds: PWD, OLDPWD, SHLVL, _
                self.assertEqual(sorted(set(hook_env) - {"PWD", "OLDPWD", "SHLVL", "_"}),
                                 sorted(["HOME", "IAMKEYS_ACCESS_KEY_ID", "IAMKEYS_ACCOUNT",
                                         "IAMKEYS_CREATE_DATE", "IAMKEYS_USER", "LANG",
                                         "LC_ALL", "PATH", "TZ"]
                                        + [v for v in ("TMPDIR", "USER", "LOGNAME")
                                           if v in env]))
                self.assertEqual(hook_env["IAMKEYS_USER"], name)
                self.assertEqual(hook_env["IAMKEYS_ACCESS_KEY_ID"], new["id"])
                self.assertEqual(hook_env["PATH"], env["PATH"])
                # ls's own directory is 3; nothing of iamkeys (no libcurl socket)
                with open(base + ".fds") as f:
                    self.assertEqual(f.read().split(), ["0", "1", "2", "3"])

    def test_user_name_never_an_option(self):
        base = self.path("out")
        to = "exec:%s %s {user}" % (self.hook(), base)
        res = run(["create", "--user=" + DASH_USER, "--to", to, "--apply"], self.emu.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "user name '--config=x.y' would reach the command as an "
                                "option (put {user} after '--', or read IAMKEYS_USER)")
        self.assertEqual(self.actions(), [])
        res = run(["rotate", "--user=" + DASH_USER, "--to", to, "--apply"], self.emu.env())
        self.assertRc(res, 3)
        self.assertOneLineNaming(res.out, "%s [idle] blocked: " % DASH_USER,
                                 "would reach the command as an option")
        self.assertNothingChanged()
        self.assertFalse(os.path.exists(base + ".json"))
        # after "--" it is an operand
        res = run(["rotate", "--user=" + DASH_USER, "--to",
                   "exec:%s %s -- {user}" % (self.hook(), base), "--apply"], self.emu.env())
        self.assertRc(res, 0)
        with open(base + ".args") as f:
            self.assertEqual(f.read().splitlines(), [base, "--", DASH_USER])
