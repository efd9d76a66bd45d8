"""What a careful user expects of every command: usage errors, closed pipes,
timeouts, the CA bundle of the profile, versions and help."""
import os
import pty
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from tests.cli.common import BINARY, CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import Emulator, EmulatorTestCase

STATIC = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
          "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
          "AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"}


def bare_env(home, **extra):
    env = dict(STATIC, HOME=home, AWS_CONFIG_FILE=os.path.join(home, "config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"))
    env.update(extra)
    return env


class SilentServer:
    """Accepts connections and never answers (a hung endpoint)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


class OptionsTest(CliTestCase):
    test_cost = 40  # seconds, roughly: tests/run.py starts the slow classes first
    def setUp(self):
        self.home = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.home)

    def test_endpoint_url_not_a_url_is_a_usage_error(self):
        for url in ("notaurl", "ftp://x", "http://h:99999", ""):
            res = run(["users", "--endpoint-url", url], bare_env(self.home))
            self.assertRc(res, 2)
            self.assertOneLineError(res, "--endpoint-url")

    def test_region_and_profile_from_the_command_line_are_usage_errors(self):
        for args, msg in ((["--region", ""], "option '--region' is empty"),
                          (["--region", "us east"], "invalid --region 'us east': expected a "
                                                    "region such as us-east-1"),
                          (["--region=../x"], "invalid --region '../x'"),
                          (["--profile", ""], "option '--profile' is empty"),
                          (["--profile="], "option '--profile' is empty")):
            res = run(["users"] + args + ["--endpoint-url", "http://127.0.0.1:1"],
                      bare_env(self.home))
            self.assertRc(res, 2)
            self.assertOneLineError(res, msg)
        # from the environment it is a runtime error naming the variable
        res = run(["users", "--endpoint-url", "http://127.0.0.1:1"],
                  bare_env(self.home, AWS_REGION="us east"))
        self.assertRc(res, 1)
        self.assertOneLineError(res, "invalid region 'us east' (from AWS_REGION)")

    def test_an_empty_value_is_a_usage_error(self):
        # "--user ''" (an unset shell variable) used to reach AWS as a user name
        for args, opt in ((["audit", "--user", ""], "--user"),
                          (["audit", "--user", "alice", "--user="], "--user"),
                          (["rotate", "--user", "", "--to", "file:/tmp/{user}"], "--user"),
                          (["deactivate", "--user", "", "--older-than", "1d"], "--user"),
                          (["create", "--user", "alice", "--to", ""], "--to"),
                          (["audit", "--exclude", ""], "--exclude"),
                          (["audit", "--exempt-group", ""], "--exempt-group"),
                          (["users", "-o", ""], "-o")):
            res = run(args + ["--endpoint-url", "http://127.0.0.1:1"], bare_env(self.home))
            self.assertRc(res, 2)
            self.assertOneLineError(res, "option '%s' is empty" % opt)

    def test_timeouts_parse(self):
        for bad in ("x", "-1", "3601", "1.5", "10q", "2h"):
            for opt in ("--connect-timeout", "--read-timeout"):
                res = run(["users", opt, bad, "--endpoint-url", "http://127.0.0.1:1"],
                          bare_env(self.home))
                self.assertRc(res, 2)
                self.assertOneLineError(res, "invalid %s '%s'" % (opt, bad))

    def test_read_timeout_ends_a_hung_call(self):
        srv = SilentServer()
        self.addCleanup(srv.close)
        t0 = time.monotonic()
        res = run(["users", "--read-timeout", "1", "--endpoint-url",
                   "http://127.0.0.1:%d" % srv.port], bare_env(self.home, AWS_MAX_ATTEMPTS="2"))
        took = time.monotonic() - t0
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers", "127.0.0.1:%d" % srv.port)
        self.assertLess(took, 60, res)  # the default (60 s per attempt) would take over 120 s
        self.assertGreater(took, 1.5, res)  # two attempts of about a second each
        self.assertEqual(len(srv.conns), 2)

    def test_connect_timeout_ends_a_connect_that_hangs(self):
        port = self.hung_connect_port()
        t0 = time.monotonic()
        res = run(["users", "--connect-timeout", "1", "--endpoint-url",
                   "http://127.0.0.1:%d" % port], bare_env(self.home, AWS_MAX_ATTEMPTS="1"))
        took = time.monotonic() - t0
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers: cannot reach 127.0.0.1:%d" % port,
                                "Timeout was reached")
        self.assertLess(took, 4.5, res)  # the default is 5 s
        self.assertGreater(took, 0.9, res)

    def hung_connect_port(self):
        """A listener whose accept queue is full: the kernel drops further SYNs, so
        connecting to it hangs (as to a host that drops packets)."""
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        fill = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fill.append(c)
        self.addCleanup(lambda: [x.close() for x in fill + [srv]])
        time.sleep(0.2)
        return port

    def test_connect_timeout_zero_is_not_the_default(self):
        # 0: no limit of iamkeys' own (libcurl's 300 s would apply if 0 reached it
        # as 0, see test_http_curl); past the 5 s default it is still connecting
        port = self.hung_connect_port()
        p = subprocess.Popen([BINARY, "users", "--connect-timeout", "0", "--endpoint-url",
                              "http://127.0.0.1:%d" % port],
                             env=bare_env(self.home, AWS_MAX_ATTEMPTS="1"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(6.5)
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
        finally:
            p.kill()
            p.communicate()

    def test_timeouts_from_the_environment(self):
        # IAMKEYS_CONNECT_TIMEOUT / IAMKEYS_READ_TIMEOUT stand in for the options
        port = self.hung_connect_port()
        t0 = time.monotonic()
        res = run(["users", "--endpoint-url", "http://127.0.0.1:%d" % port],
                  bare_env(self.home, AWS_MAX_ATTEMPTS="1", IAMKEYS_CONNECT_TIMEOUT="1"))
        took = time.monotonic() - t0
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers: cannot reach 127.0.0.1:%d" % port,
                                "Timeout was reached")
        self.assertLess(took, 4.5, res)  # the default is 5 s
        srv = SilentServer()
        self.addCleanup(srv.close)
        url = "http://127.0.0.1:%d" % srv.port
        t0 = time.monotonic()
        res = run(["users", "--endpoint-url", url],
                  bare_env(self.home, AWS_MAX_ATTEMPTS="1", IAMKEYS_READ_TIMEOUT="1"))
        took = time.monotonic() - t0
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers", "127.0.0.1:%d" % srv.port)
        self.assertLess(took, 30, res)  # the default is 60 s
        self.assertGreater(took, 0.9, res)

    def test_timeout_option_wins_over_the_environment(self):
        srv = SilentServer()
        self.addCleanup(srv.close)
        t0 = time.monotonic()
        res = run(["users", "--read-timeout", "3", "--endpoint-url",
                   "http://127.0.0.1:%d" % srv.port],
                  bare_env(self.home, AWS_MAX_ATTEMPTS="1", IAMKEYS_READ_TIMEOUT="1"))
        took = time.monotonic() - t0
        self.assertRc(res, 1)
        self.assertGreater(took, 2.5, res)  # 3 s, not the environment's 1
        self.assertLess(took, 30, res)

    def test_bad_timeout_in_the_environment_is_a_usage_error(self):
        for var in ("IAMKEYS_CONNECT_TIMEOUT", "IAMKEYS_READ_TIMEOUT"):
            for bad in ("x", "-1", "3601", "1.5"):
                res = run(["users", "--endpoint-url", "http://127.0.0.1:1"],
                          bare_env(self.home, **{var: bad}))
                self.assertRc(res, 2)
                self.assertOneLineError(res, "invalid %s '%s'" % (var, bad))
            # the option is read first: a good option hides a bad variable
            opt = "--connect-timeout" if "CONNECT" in var else "--read-timeout"
            res = run(["users", opt, "2", "--endpoint-url", "http://127.0.0.1:1"],
                      bare_env(self.home, AWS_MAX_ATTEMPTS="1", **{var: "x"}))
            self.assertRc(res, 1)
            self.assertNotIn(var, res.err)
            # empty is unset
            res = run(["users", "--endpoint-url", "http://127.0.0.1:1"],
                      bare_env(self.home, AWS_MAX_ATTEMPTS="1", **{var: ""}))
            self.assertRc(res, 1)
            self.assertOneLineError(res, "ListUsers: cannot reach 127.0.0.1:1")

    def test_unknown_host_names_the_cause(self):
        # In a network namespace of its own with no interface up, resolving
        # fails at once and nothing leaves the machine.
        env = bare_env(self.home)
        cmd = ["unshare", "-n", BINARY, "users", "--endpoint-url",
               "http://nonexistent.invalid:1234"]
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        except FileNotFoundError:
            self.skipTest("no unshare")
        if "unshare:" in p.stderr:
            self.skipTest("cannot make a network namespace: " + p.stderr.strip())
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("Could not resolve host: nonexistent.invalid", p.stderr)
        self.assertNotIn("bad argument", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)

    def test_version_everywhere(self):
        res = run(["version"], bare_env(self.home))
        self.assertRc(res, 0)
        lines = res.out.splitlines()
        self.assertRegex(lines[0], r"^iamkeys \d+\.\d+\.\d+$")
        for lib in ("libcurl", "OpenSSL", "libxml2", "jansson"):
            self.assertTrue(any(line.startswith(lib + " ") for line in lines), res.out)
        short = run(["--version"], bare_env(self.home))
        self.assertEqual(short.out, lines[0] + "\n")
        # every command of the global help (policy lacked it)
        usage = run(["--help"], bare_env(self.home)).out
        cmds = re.findall(r"(?m)^  ([a-z]+)  +[A-Z]", usage.split("commands:\n")[1]
                          .split("\n\n")[0])
        self.assertIn("policy", cmds)
        self.assertGreaterEqual(len(cmds), 11)
        for cmd in cmds:
            res = run([cmd, "--version"], bare_env(self.home))
            self.assertRc(res, 0)
            self.assertEqual(res.out, lines[0] + "\n", cmd)

    def test_help_command_shows_the_commands_help(self):
        for cmd in ("audit", "rotate", "users"):
            a = run(["help", cmd], bare_env(self.home))
            b = run([cmd, "--help"], bare_env(self.home))
            self.assertRc(a, 0)
            self.assertEqual(a.out, b.out)
            self.assertTrue(a.out.startswith("usage: iamkeys %s" % cmd), a.out)
        res = run(["help", "nosuch"], bare_env(self.home))
        self.assertRc(res, 2)
        self.assertOneLineError(res, "unknown command 'nosuch'")


class EmulatorCliTest(CliTestCase, EmulatorTestCase):
    @classmethod
    def make_fixture(cls):
        return fixtures.many_users(1500, seed=3)

    def setUp(self):
        self.emu.clear_faults()
        self.emu.reset_calls()
        self.home = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.home)

    def test_closed_pipe_ends_quietly(self):
        # the reader is gone before iamkeys writes a byte
        r, w = os.pipe()
        os.close(r)
        p = subprocess.run([BINARY, "users"], env=self.emu.env(), stdout=w,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        os.close(w)
        self.assertEqual(p.returncode, 141, p.stderr)
        self.assertEqual(p.stderr, "")
        # and with a reader that stops after the first line
        p = subprocess.run("%s users | head -1" % BINARY, shell=True, env=self.emu.env(),
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        self.assertEqual(len(p.stdout.splitlines()), 1)

    def test_ca_bundle_of_the_profile(self):
        cfg = os.path.join(self.home, "config")
        with open(cfg, "w") as f:
            f.write("[default]\nca_bundle = %s/missing-ca.pem\n" % self.home)
        env = self.emu.env(AWS_CONFIG_FILE=cfg)
        env.pop("AWS_CA_BUNDLE", None)
        res = run(["users"], env)
        self.assertRc(res, 1)
        self.assertOneLineError(res, "cannot read ca_bundle of the profile '%s/missing-ca.pem'"
                                % self.home)
        self.assertEqual(self.emu.calls(), [])
        # AWS_CA_BUNDLE wins over the profile's, as in the SDKs
        env["AWS_CA_BUNDLE"] = "/etc/ssl/certs/ca-certificates.crt"
        res = run(["users", "--output", "csv"], env)
        self.assertRc(res, 0)

    def test_term_dumb_gets_no_bold(self):
        def table_on_tty(term):
            env = self.emu.env(TERM=term)
            env.pop("NO_COLOR", None)
            return run_on_pty(["users"], env, "stdout")[1]
        self.assertIn("\033[1m", table_on_tty("xterm"))
        self.assertNotIn("\033", table_on_tty("dumb"))


class RepeatedOptionsAndSummaryTest(CliTestCase, EmulatorTestCase):
    @classmethod
    def setUpClass(cls):
        from tests.cli.test_audit import audit_fixture
        cls.fixture = audit_fixture
        super().setUpClass()

    @classmethod
    def make_fixture(cls):
        return cls.fixture()

    def setUp(self):
        self.emu.load(self.fixture())
        self.emu.clear_faults()
        self.emu.reset_calls()

    def test_audit_user_repeats(self):
        import json
        res = run(["audit", "--user", "two", "--user", "old-used", "--user", "two",
                   "--output", "json"], self.emu.env())
        self.assertRc(res, 3)  # old-used is old
        doc = json.loads(res.out)
        self.assertEqual(sorted({k["UserName"] for k in doc["Keys"]}), ["old-used", "two"])
        self.assertEqual(doc["Summary"]["UsersScanned"], 2)
        got = sorted(c["params"].get("UserName") for c in self.emu.calls()
                     if c["action"] == "GetUser")
        self.assertEqual(got, ["old-used", "two"])  # the name given twice is read once

    def test_single_value_options_refuse_a_second_value(self):
        cases = [
            (["create", "--user", "young", "--to", "file:/tmp/a", "--to", "file:/tmp/b"],
             "option '--to' given twice"),
            (["update", "--user", "two", "--key", fixtures.key_id("two-a"), "--status",
              "Inactive", "--status", "Active"], "option '--status' given twice"),
            (["audit", "--max-age", "90d", "--max-age=30d"], "option '--max-age' given twice"),
            (["update", "--user", "a", "--user", "b", "--key", fixtures.key_id("two-a"),
              "--status", "Inactive"], "option '--user' given twice"),
            (["deactivate", "--user", "two", "--user", "young", "--key",
              fixtures.key_id("two-a")], "--key names keys of one user: give one --user"),
            (["delete", "--user", "two", "--user", "young", "--key",
              fixtures.key_id("two-a")], "--key names keys of one user: give one --user"),
            # reactivating has no guard: nothing to force or widen
            (["update", "--user", "inactive-old", "--key", fixtures.key_id("inactive-old"),
              "--status", "Active", "--force", "--apply"],
             "--force is for --status Inactive: reactivating a key has no guard"),
            (["update", "--user", "inactive-old", "--key", fixtures.key_id("inactive-old"),
              "--status", "active", "--in-use-window", "1h", "--apply"],
             "--in-use-window is for --status Inactive: reactivating a key has no guard"),
            (["users", "--output", "json", "--output", "csv"], "option '--output' given twice"),
        ]
        for args, msg in cases:
            res = run(args, self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, msg)
        self.assertEqual(self.emu.calls(), [])

    def test_deactivate_and_delete_user_repeats(self):
        def changed(action):
            return sorted((c["params"]["UserName"], c["params"]["AccessKeyId"])
                          for c in self.emu.calls() if c["action"] == action)
        kid = fixtures.key_id
        res = run(["deactivate", "--older-than", "100d", "--user", "old-used", "--user",
                   "old-never", "--user", "old-used", "--force", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        # ci-deploy's key is as old, but not named
        self.assertEqual(changed("UpdateAccessKey"), [("old-never", kid("old-never")),
                                                      ("old-used", kid("old-used"))])
        self.emu.reset_calls()
        res = run(["delete", "--older-than", "0", "--user", "inactive-old", "--user",
                   "inactive-young", "--user", "old-used", "--apply"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(changed("DeleteAccessKey"), [
            ("inactive-old", kid("inactive-old")), ("inactive-young", kid("inactive-young")),
            ("old-used", kid("old-used"))])
        keys = {u["name"]: [(k["id"], k["status"]) for k in u["keys"]]
                for u in self.emu.state()["accounts"][0]["users"]}
        self.assertEqual(keys["old-never"], [(kid("old-never"), "Inactive")])
        self.assertEqual(keys["ci-deploy"], [(kid("ci-deploy"), "Active")])
        self.assertEqual(keys["inactive-old"], [])
        self.assertEqual(keys["old-used"], [])

    def test_summary_counts_and_plurals(self):
        res = run(["audit", "--user", "young"], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        self.assertEqual(res.out.splitlines()[-1],
                         "1 user, 1 key scanned (source: api: --user reads the named users "
                         "live); findings: none; 4 API calls")  # + ListAttachedUserPolicies
        res = run(["audit", "--exempt-path", "/system/"], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 3)
        last = res.out.splitlines()[-1]
        self.assertRegex(last, r"^20 users, 20 keys scanned \(source: report, generated \d+s "
                               r"ago\); 2 exempt users; findings: ")
        res = run(["audit", "--exempt-path", "/system/", "--output", "json"], self.emu.env())
        import json
        self.assertEqual(json.loads(res.out)["Summary"]["ExemptUsers"], 2)
        res = run(["audit"], self.emu.env(NO_COLOR="1"))
        self.assertRegex(res.out.splitlines()[-1],
                         r"^20 users, 20 keys scanned \(source: report, reused report "
                         r"generated \d+s ago\); 1 exempt user; ")


def due_fixture():
    from tests.emulator.fixtures import key
    users = [{"name": n, "path": "/", "create_date": "-900d",
              "keys": [key(n, 100, last_used_days=1)]} for n in ("erin", "frank")]
    return fixtures.admin_fixture(extra_users=users)


class RotateUsageTest(CliTestCase, EmulatorTestCase):
    @classmethod
    def make_fixture(cls):
        return due_fixture()

    def setUp(self):
        self.emu.load(due_fixture())
        self.emu.clear_faults()
        self.emu.reset_calls()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def test_usage_errors_before_any_call(self):
        plan = os.path.join(self.dir, "plan.json")
        with open(plan, "w") as f:
            f.write("{}")
        nosink = os.path.join(self.dir, "nosink.conf")
        with open(nosink, "w") as f:
            f.write("[default]\nrotate_after = 30d\n[user erin]\nexempt = false\n")
        sinks = os.path.join(self.dir, "sinks.conf")
        with open(sinks, "w") as f:
            f.write("[default]\nrotate_after = 30d\n[user frank]\nto = file:%s/f.json\n"
                    % self.dir)
        cases = [
            (["rotate"], "say where new secrets go: --to SINK, or --config FILE"),
            (["rotate", "--apply"], "say where new secrets go"),
            (["rotate", "--to", "-"], "--to - prints secrets on standard output: name the users"),
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--overwrite"],
             "--overwrite is for --plan-out"),
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--plan-out", plan],
             "--plan-out '%s' exists: add --overwrite to replace it" % plan),
            (["users", "--output", "json", "--no-headers"], "--no-headers is for table and csv"),
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--output", "csv"],
             "rotate prints a table or json, not csv"),
            (["audit", "--warn", "10d", "--max-age", "5d"], "--warn 10d is longer than --max-age 5d"),
            # a verification longer than a run has to deliver the key would always end
            # in deleting it
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--verify-timeout", "700s",
              "--apply"], "--verify-timeout must be between 1s and 540s"),
            (["rotate", "--self", "--verify-timeout", "11m", "--apply"],
             "--verify-timeout must be between 1s and 540s"),
            # options the chosen mode would ignore
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--warn", "3d"],
             "--warn is for --notify"),
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--parallel-accounts", "2"],
             "--parallel-accounts needs --org, --accounts or --accounts-file"),
            (["users", "--parallel-accounts", "2"],
             "--parallel-accounts needs --org, --accounts or --accounts-file"),
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--all", "--output", "json"],
             "--all is for table output (json lists every user)"),
            (["rotate", "--to", "file:%s/{user}" % self.dir, "--follow-symlinks"],
             "--follow-symlinks is for a profile: sink"),
            (["create", "--user", "erin", "--to", "file:%s/erin" % self.dir,
              "--follow-symlinks", "--apply"], "--follow-symlinks is for a profile: sink"),
            (["create", "--user", "erin", "--to", "profile:erin@%s/credentials" % self.dir,
              "--overwrite", "--apply"], "--overwrite is for a file: sink"),
            (["create", "--user", "erin", "--to", "-", "--overwrite", "--apply"],
             "--overwrite is for a file: sink"),
            (["create", "--user", "erin", "--to", "exec:/bin/true", "--max-age", "30d",
              "--apply"], "--max-age needs a sink that can say which key it holds: "
                          "--to exec:/bin/true cannot"),
            (["create", "--user", "erin", "--to", "-", "--max-age", "30d", "--apply"],
             "--max-age needs a sink that can say which key it holds: --to - cannot"),
            # no sink could apply to anyone: one line, not "blocked" per user
            (["rotate", "--config", nosink, "--apply"],
             "say where new secrets go: '%s' has no 'to' setting" % nosink),
            # --to would replace every sink of the file
            (["rotate", "--config", sinks, "--to", "file:%s/{user}" % self.dir],
             "--to and the 'to' of [user frank] in '%s' do not go together" % sinks),
        ]
        for args, msg in cases:
            res = run(args, self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, msg)
        self.assertEqual(self.emu.calls(), [])
        with open(plan) as f:
            self.assertEqual(f.read(), "{}")

    def test_config_without_to_and_to_without_config_sinks(self):
        # a file whose only 'to' is for some users: the others are blocked one by one
        conf = os.path.join(self.dir, "rotate.conf")
        with open(conf, "w") as f:
            f.write("[user frank]\nto = file:%s/{user}.json\n" % self.dir)
        res = run(["rotate", "--config", conf], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 3)
        self.assertIn("erin [idle] blocked: due, but no sink for the new secret", res.out)
        self.assertIn("frank [idle] plan: due:", res.out)
        # --to with a file without any 'to': the file's durations apply
        with open(conf, "w") as f:
            f.write("[default]\nrotate_after = 200d\n")
        res = run(["rotate", "--config", conf, "--to", "file:%s/{user}.json" % self.dir],
                  self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        self.assertEqual(res.out.splitlines()[-1], "3 users: 0 with a plan, 0 blocked, 0 failed, "
                                                   "0 exempt, 3 with nothing to do")

    def test_closed_pipe_never_cuts_a_rotation_short(self):
        import json
        from tests.cli.common import rotation_tag
        r, w = os.pipe()
        os.close(r)  # nobody reads what rotate prints
        p = subprocess.run([BINARY, "rotate", "--apply", "--user", "erin", "--user", "frank",
                            "--to", "file:%s/{user}.json" % self.dir], env=self.emu.env(),
                           stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
        os.close(w)
        self.assertEqual(p.returncode, 141, p.stderr)
        self.assertEqual(p.stderr, "")
        users = {u["name"]: u for u in self.emu.state()["accounts"][0]["users"]}
        for name in ("erin", "frank"):
            keys = users[name]["keys"]
            self.assertEqual(len(keys), 2, name)  # the new key was made ...
            with open(os.path.join(self.dir, name + ".json")) as f:
                delivered = json.load(f)["AccessKeyId"]
            new = [k for k in keys if k["id"] != fixtures.key_id(name)]
            self.assertEqual(delivered, new[0]["id"])  # ... delivered ...
            self.assertIn("stage=delivered", rotation_tag(users[name]))  # ... and recorded
        self.assertEqual([c["action"] for c in self.emu.calls()].count("CreateAccessKey"), 2)

    def test_closed_pipe_for_a_secret_deletes_the_new_key(self):
        r, w = os.pipe()
        os.close(r)  # the secret cannot be handed over
        for args in (["rotate", "--apply", "--user", "erin", "--to", "-"],
                     ["create", "--apply", "--user", "frank", "--to", "-"]):
            p = subprocess.run([BINARY] + args, env=self.emu.env(), stdout=w,
                               stderr=subprocess.PIPE, text=True, timeout=120)
            self.assertEqual(p.returncode, 3 if args[0] == "rotate" else 1, p.stderr)
            self.assertIn("cannot write to standard output: Broken pipe", p.stderr)
            self.assertIn("deleted the new key", p.stderr)
        os.close(w)
        users = {u["name"]: u for u in self.emu.state()["accounts"][0]["users"]}
        for name in ("erin", "frank"):
            self.assertEqual([(k["id"], k["status"]) for k in users[name]["keys"]],
                             [(fixtures.key_id(name), "Active")], name)
        actions = [c["action"] for c in self.emu.calls()]
        self.assertEqual(actions.count("CreateAccessKey"), 2)
        self.assertEqual(actions.count("DeleteAccessKey"), 2)

    def test_plan_out_overwrite(self):
        plan = os.path.join(self.dir, "plan.json")
        with open(plan, "w") as f:
            f.write("{}")
        res = run(["rotate", "--to", "file:%s/{user}.json" % self.dir, "--plan-out", plan,
                   "--overwrite"], self.emu.env())
        self.assertRc(res, 0)
        with open(plan) as f:
            import json
            names = [u["UserName"] for u in json.load(f)["Users"]]
        self.assertIn("erin", names)
        self.assertIn("frank", names)

    def test_max_age_below_the_default_warning_window(self):
        res = run(["audit", "--max-age", "0", "--source", "api", "--fail-on", "none"],
                  self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        self.assertIn("old=3", res.out.splitlines()[-1])  # admin, erin, frank
        self.assertNotIn("expiring", res.out)

    def test_secret_alone_on_stdout(self):
        import json
        for args in (["rotate", "--to", "-", "--user", "erin", "--apply"],
                     ["rotate", "--to", "-", "--user", "frank", "--apply", "--output", "json"]):
            res = run(args, self.emu.env())
            self.assertRc(res, 0)
            secret = json.loads(res.out)  # exactly one document: the secret
            self.assertEqual(set(secret), {"AccessKeyId", "SecretAccessKey", "UserName",
                                           "CreateDate"})
            self.assertEqual(secret["UserName"], args[4])
            self.assertNotIn(secret["SecretAccessKey"], res.err)
            self.assertIn(args[4], res.err)  # the report went to stderr
        res = run(["create", "--user", "erin", "--to", "-", "--apply"], self.emu.env())
        self.assertRc(res, 3)  # erin has two keys now: refused, nothing on stdout
        self.assertEqual(res.out, "")

    def test_help_matches_what_the_commands_accept(self):
        out = run(["rotate", "--help"], self.emu.env()).out
        self.assertIn("table (default) or json", out)
        self.assertNotIn("csv", out)
        self.assertNotIn("--no-headers", out)
        self.assertIn("or - (standard output, with --user)", " ".join(out.split()))
        for cmd in ("update", "deactivate"):
            out = run([cmd, "--help"], self.emu.env()).out
            self.assertIn("override the in-use and last-working-key guards", " ".join(out.split()))
            self.assertNotIn("Active-key", out)
        out = run(["delete", "--help"], self.emu.env()).out
        self.assertIn("override the in-use, Active-key and last-working-key guards",
                      " ".join(out.split()))
        out = run(["--help"], self.emu.env()).out
        self.assertNotIn("step 4", out)

    def test_plan_lines_say_things_once(self):
        to = "file:%s/{user}.json" % self.dir
        res = run(["rotate", "--to", to, "--user", "erin"], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        lines = res.out.splitlines()
        old = fixtures.key_id("erin")
        self.assertEqual(lines, [
            "erin [idle] plan: due: key %s is 100 days old" % old,
            "  1. tag stage=intent: mark the intent before creating a key",
            "  2. create a new key, verify it, deliver to file:%s/erin.json" % self.dir,
            "1 user: 1 with a plan, 0 blocked, 0 failed, 0 exempt, 0 with nothing to do "
            "(dry run: nothing changed; add --apply)"])
        res = run(["rotate", "--to", to, "--user", "admin"], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        self.assertEqual(res.out, "1 user: 0 with a plan, 0 blocked, 0 failed, 0 exempt, "
                                  "1 with nothing to do\n")
        # the step's reason is the why alone (the step says the what), in json too
        res = run(["rotate", "--to", to, "--user", "erin", "--output", "json"],
                  self.emu.env())
        self.assertRc(res, 0)
        import json
        acts = json.loads(res.out)["Users"][0]["Actions"]
        self.assertEqual([(a["Action"], a["Reason"]) for a in acts],
                         [("Tag", "mark the intent before creating a key"),
                          ("CreateKey", "key %s is 100 days old" % old)])
        # done: what was created, not the sink again
        res = run(["rotate", "--to", to, "--user", "erin", "--apply"], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        lines = res.out.splitlines()
        self.assertEqual(lines[:2], [
            "erin [idle] rotated: due: key %s is 100 days old" % old,
            "  1. tag stage=intent: mark the intent before creating a key -> done: tagged"])
        self.assertRegex(lines[2], r"^  2\. create a new key, verify it, deliver to %s -> "
                                   r"done: created AKIA[A-Z0-9]{16}$"
                                   % re.escape("file:%s/erin.json" % self.dir))
        self.assertEqual(len(lines), 4, res.out)


class DamagedReportTest(CliTestCase):
    def test_unparseable_report_falls_back_to_the_api(self):
        import json
        from tests.cli.test_audit import audit_fixture
        with Emulator(fixture=audit_fixture()) as emu:
            # a user name with a comma, unquoted: one field too many
            emu.config(report_content="user,arn,user_creation_time\nsmith,john,x,y\n")
            res = run(["audit", "--output", "json", "--fail-on", "none"], emu.env())
            self.assertRc(res, 0)
            self.assertOneLineError(res, "warning: the credential report was not readable",
                                    "falling back to --source api")
            doc = json.loads(res.out)
            self.assertEqual(doc["Summary"]["Source"], "api")
            self.assertIn(("smith,john", fixtures.key_id("smith")),
                          [(k["UserName"], k["AccessKeyId"]) for k in doc["Keys"]])
            actions = [c["action"] for c in emu.calls()]
            self.assertIn("GetCredentialReport", actions)
            self.assertIn("ListUsers", actions)


def run_on_pty(args, env, stream):
    """Runs iamkeys with one stream ("stdout" or "stderr") on a pseudo-terminal and the
    other on a pipe; (rc, what the terminal got, what the pipe got)."""
    master, slave = pty.openpty()
    piped = subprocess.PIPE
    p = subprocess.Popen([BINARY] + args, env=env,
                         stdout=slave if stream == "stdout" else piped,
                         stderr=slave if stream == "stderr" else piped)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    other = (p.stderr if stream == "stdout" else p.stdout).read()
    rc = p.wait(timeout=60)
    os.close(master)
    return rc, got.decode(), other.decode()


def on_tty(args, env):
    """Runs iamkeys with standard output on a pseudo-terminal; (rc, text)."""
    rc, out, _ = run_on_pty(args, env, "stdout")
    return rc, out.replace("\r\n", "\n")


class WidthTest(CliTestCase, EmulatorTestCase):
    @classmethod
    def make_fixture(cls):
        from tests.cli.test_audit import audit_fixture
        return audit_fixture()

    def test_help_fits_80_columns(self):
        for cmd in ([], ["users"], ["audit"], ["deactivate"], ["create"], ["update"],
                    ["delete"], ["rotate"], ["rollback"]):
            out = run(cmd + ["--help"], self.emu.env()).out
            for line in out.splitlines():
                self.assertLessEqual(len(line), 80, (cmd, line))

    def test_tables_fit_a_narrow_terminal(self):
        env = self.emu.env(NO_COLOR="1", COLUMNS="80")
        rc, wide = on_tty(["audit", "--source", "api", "--wide"], env)
        self.assertEqual(rc, 3)
        self.assertGreater(max(len(l) for l in wide.splitlines()[:-2]), 80)
        row = [l for l in wide.splitlines() if l.startswith("old-used ")][0].split()
        self.assertRegex(row[3], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # full times
        rc, narrow = on_tty(["audit", "--source", "api"], env)
        self.assertEqual(rc, 3)
        table = narrow.splitlines()[:-2]
        for line in table:
            self.assertLessEqual(len(line), 80, line)
        head = table[0].split()
        self.assertEqual(head[:3], ["USER", "KEY", "STATUS"])
        self.assertNotIn("REGION", head)
        self.assertIn("FINDINGS", head)
        # REGION, SERVICE, CREATED go first (AGE says it); dates as dates
        self.assertEqual(head, ["USER", "KEY", "STATUS", "AGE", "LAST", "USED", "FINDINGS"])
        row = [l for l in table if l.startswith("old-used ")][0].split()
        self.assertEqual(row[3], "120d")  # AGE with its unit
        self.assertRegex(row[4], r"^\d{4}-\d\d-\d\d$")  # a date, not a time
        rc, out = on_tty(["audit", "--source", "api"], self.emu.env(NO_COLOR="1", COLUMNS="120"))
        head = out.splitlines()[0].split()
        self.assertIn("CREATED", head)
        self.assertIn("EXEMPT", head)
        # piped: every column, full times
        res = run(["audit", "--source", "api"], env)
        self.assertIn("REGION", res.out.splitlines()[0])
        res = run(["audit", "--wide", "--output", "json"], env)
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--wide is for table output")


class AuditSeesRotationTest(CliTestCase, EmulatorTestCase):
    """Audit knows what iamkeys itself is doing: a user in the middle of a rotation on
    schedule is shown as rotating, and its two keys are not findings; once the rotation
    is overdue they count again."""
    emulator_fixture = staticmethod(due_fixture)

    def setUp(self):
        self.reset_emulator()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def audit(self, *args):
        import json
        res = run(["audit", "--source", "api", "--user", "erin", "--output", "json"] +
                  list(args), self.emu.env())
        return res, json.loads(res.out) if res.out else None

    def test_rotation_on_schedule_is_not_a_finding(self):
        res = run(["rotate", "--apply", "--user", "erin", "--to",
                   "file:%s/{user}.json" % self.dir], self.emu.env())
        self.assertRc(res, 0)
        res, doc = self.audit()
        self.assertRc(res, 0)
        rows = [k for k in doc["Keys"] if k["UserName"] == "erin"]
        self.assertEqual(len(rows), 2, doc)  # the old key and the new one
        for k in rows:
            self.assertRegex(k["Exempt"], r"^rotating \(stage delivered since \d{4}-\d\d-\d\d\)$")
        self.assertEqual(doc["Summary"]["RotatingUsers"], 1)
        self.assertEqual(doc["Summary"]["ExemptUsers"], 0)
        self.assertEqual(sum(doc["Summary"]["Findings"].values()), 0)
        text = run(["audit", "--source", "api", "--user", "erin"], self.emu.env())
        self.assertRc(text, 0)
        self.assertIn("; 1 user rotating on schedule; findings: none;", text.out)
        # 31 days later the rotation is overdue: its keys are findings again
        self.emu.advance_clock(31 * 86400)
        res, doc = self.audit()
        self.assertRc(res, 3)
        self.assertEqual(doc["Summary"]["RotatingUsers"], 0)
        self.assertEqual(doc["Summary"]["Findings"]["two-active"], 2)
        self.assertTrue(all(k["Exempt"] is None for k in doc["Keys"]), doc)

    def test_a_tag_for_other_keys_explains_nothing(self):
        # the rotation tag says "delivered", but for a key the user does not have
        from tests.cli.common import tag_of
        res = run(["rotate", "--apply", "--user", "erin", "--to",
                   "file:%s/{user}.json" % self.dir], self.emu.env())
        self.assertRc(res, 0)
        erin = [u for u in self.emu.state()["accounts"][0]["users"] if u["name"] == "erin"][0]
        main = tag_of(erin, "iamkeys:rotation")
        old = [k["id"] for k in erin["keys"] if k["id"] in main][0]
        self.emu.iam("TagUser", UserName="erin", **{
            "Tags.member.1.Key": "iamkeys:rotation",
            "Tags.member.1.Value": main.replace(old, "AKIAOTHER00000000000")})
        erin = [u for u in self.emu.state()["accounts"][0]["users"] if u["name"] == "erin"][0]
        self.assertIn("old=AKIAOTHER00000000000 ", tag_of(erin, "iamkeys:rotation"))
        res, doc = self.audit()
        self.assertRc(res, 3)
        self.assertEqual(doc["Summary"]["RotatingUsers"], 0)
        self.assertEqual(doc["Summary"]["Findings"]["two-active"], 2)


class QuietVerboseProgressTest(CliTestCase, EmulatorTestCase):
    """--quiet (errors only), --verbose (what is waited for), and a progress line on a
    terminal while a new key propagates, never on a pipe."""
    emulator_fixture = staticmethod(due_fixture)

    def setUp(self):
        self.emu.config(propagation_delay=0)
        self.reset_emulator()
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.to = "file:%s/{user}.json" % self.dir

    def test_quiet_prints_errors_only(self):
        # findings: nothing on stdout, nothing on stderr, the exit code tells
        skewed = self.emu.env(IAMKEYS_TEST_CLOCK_OFFSET="3600")  # a skew that is warned about
        loud = run(["audit", "--source", "api"], skewed)
        self.assertRc(loud, 3)
        self.assertIn("warning:", loud.err)
        res = run(["audit", "--source", "api", "--quiet"], skewed)
        self.assertRc(res, 3)
        self.assertEqual((res.out, res.err), ("", ""))
        # json was asked for: it is printed
        res = run(["audit", "--source", "api", "--quiet", "--output", "json"], self.emu.env())
        self.assertRc(res, 3)
        self.assertIn('"Summary"', res.out)
        self.assertEqual(res.err, "")
        # errors still are
        res = run(["users", "--quiet", "--endpoint-url", "http://127.0.0.1:1"], self.emu.env())
        self.assertRc(res, 1)
        self.assertEqual(res.out, "")
        self.assertIn("error:", res.err)

    def test_quiet_still_hands_over_a_secret_asked_for(self):
        import json
        res = run(["rotate", "--apply", "--user", "erin", "--to", "-", "--quiet"],
                  self.emu.env())
        self.assertRc(res, 0)
        erin = [u for u in self.emu.state()["accounts"][0]["users"] if u["name"] == "erin"][0]
        new = [k for k in erin["keys"] if k["id"] in res.out]
        self.assertEqual(len(new), 1, res)
        self.assertEqual(json.loads(res.out)["SecretAccessKey"], new[0]["secret"])
        self.assertEqual(res.err, "")

    def test_quiet_and_verbose_contradict(self):
        for other in ("--verbose", "--debug"):
            res = run(["users", "--quiet", other], self.emu.env())
            self.assertRc(res, 2)
            self.assertOneLineError(res, "--quiet and %s contradict each other" % other)
        self.assertEqual(self.emu.calls(), [])

    def test_verbose_says_what_it_waits_for(self):
        self.emu.fault("ListUsers", kind="throttle", count=1)
        res = run(["users", "--verbose"], self.emu.env())
        self.assertRc(res, 0)
        self.assertRegex(res.err, r"iamkeys: waiting for [^ ]+ \(attempt 2/\d+\): ")
        self.emu.fault("ListUsers", kind="throttle", count=1)
        res = run(["users"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(res.err, "")

    def test_progress_while_a_new_key_propagates(self):
        self.emu.config(propagation_delay=2.5)
        rc, err, out = run_on_pty(["rotate", "--apply", "--user", "erin", "--to", self.to],
                                  self.emu.env(), "stderr")
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"\rverifying AKIA[A-Z0-9]+ of erin \(\d+ s\)")
        self.assertTrue(err.endswith("\r"), repr(err[-80:]))  # the line is cleared
        self.assertNotIn("verifying", out)
        # on a pipe: nothing of it
        self.emu.config(propagation_delay=2.5)
        res = run(["rotate", "--apply", "--user", "frank", "--to", self.to], self.emu.env())
        self.assertRc(res, 0)
        self.assertNotIn("verifying", res.err)
        # --verbose on a pipe: one line for the wait
        self.emu.load(due_fixture())
        self.emu.config(propagation_delay=2.5)
        res = run(["rotate", "--apply", "--user", "frank", "--to",
                   "file:%s/again-{user}.json" % self.dir, "--verbose"], self.emu.env())
        self.assertEqual(res.err.count("waiting until the new key works"), 1, res)
