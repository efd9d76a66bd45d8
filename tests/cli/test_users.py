"""iamkeys users against the emulator (issue: foundation, runbook step 1)."""
import csv
import io
import json
import os
import tempfile

from tests.cli.common import BINARY, CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase


class UsersTest(CliTestCase, EmulatorTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fixture = fixtures.many_users(2500, seed=7)
        super().setUpClass()

    @classmethod
    def make_fixture(cls):
        return cls.fixture

    def setUp(self):
        self.emu.clear_faults()
        self.emu.reset_calls()

    def expected_names(self):
        return sorted(u["name"] for a in self.emu.state()["accounts"]
                      for u in a["users"])

    def test_lists_every_user_across_pages(self):
        res = run(["users", "--output", "json"], self.emu.env())
        self.assertRc(res, 0)
        users = json.loads(res.out)
        names = sorted(u["UserName"] for u in users)
        self.assertEqual(len(names), 2501)  # 2,500 users and the admin
        self.assertEqual(names, self.expected_names())
        calls = self.emu.calls()
        lu = [c for c in calls if c["action"] == "ListUsers"]
        self.assertEqual(len(lu), 3)  # MaxItems=1000: 1000 + 1000 + 501
        self.assertEqual(len(calls), 3, calls)
        self.assertTrue(all(c["signature_ok"] for c in calls), calls)
        self.assertTrue(all(c["http_status"] == 200 for c in calls), calls)
        # one connection reused for every page, and our User-Agent
        self.assertEqual(len({c["client_port"] for c in calls}), 1, calls)
        for c in calls:
            self.assertRegex(c["user_agent"], r"^iamkeys/\d+\.\d+\.\d+$")

    def test_json_fields_exact(self):
        res = run(["users", "--output", "json"], self.emu.env())
        self.assertRc(res, 0)
        users = {u["UserName"]: u for u in json.loads(res.out)}
        state = {u["name"]: u for a in self.emu.state()["accounts"] for u in a["users"]}
        for name in ("admin", sorted(state)[5], sorted(state)[2000]):
            got, want = users[name], state[name]
            self.assertEqual(set(got), {"UserName", "UserId", "Arn", "Path", "CreateDate",
                                        "PasswordLastUsed"})
            self.assertEqual(got["UserId"], want["user_id"])
            self.assertEqual(got["Arn"], want["arn"])
            self.assertEqual(got["Path"], want["path"])
            self.assertEqual(got["CreateDate"][:19], want["create_date"][:19])

    def test_csv_and_no_headers(self):
        res = run(["users", "--output", "csv"], self.emu.env())
        self.assertRc(res, 0)
        rows = list(csv.reader(io.StringIO(res.out)))
        self.assertEqual(rows[0], ["UserName", "UserId", "Arn", "Path", "CreateDate",
                                   "PasswordLastUsed"])
        self.assertEqual(len(rows), 2502)
        res2 = run(["users", "--output", "csv", "--no-headers"], self.emu.env())
        self.assertEqual(list(csv.reader(io.StringIO(res2.out))), rows[1:])

    def test_table_default(self):
        res = run(["users"], self.emu.env(NO_COLOR="1"))
        self.assertRc(res, 0)
        lines = res.out.splitlines()
        self.assertTrue(lines[0].startswith("USER "), lines[0])
        self.assertIn("PASSWORD LAST USED", lines[0])
        self.assertNotIn("\033", res.out)
        self.assertEqual(len(lines), 2502)
        res2 = run(["users", "--no-headers"], self.emu.env())
        self.assertEqual(res2.out.splitlines(), lines[1:])

    def test_path_prefix(self):
        state = [u for a in self.emu.state()["accounts"] for u in a["users"]]
        paths = sorted({u["path"] for u in state if u["path"] != "/"})
        self.assertTrue(paths, "fixture has users with paths")
        prefix = paths[0]
        res = run(["users", "--output", "json", "--path-prefix", prefix], self.emu.env())
        self.assertRc(res, 0)
        got = sorted(u["UserName"] for u in json.loads(res.out))
        want = sorted(u["name"] for u in state if u["path"].startswith(prefix))
        self.assertEqual(got, want)
        self.assertTrue(all(c.get("params", {}).get("PathPrefix", prefix) == prefix
                            for c in self.emu.calls()))

    def test_wrong_secret_is_one_line_signature_error(self):
        res = run(["users"], self.emu.env(secret="x" * 40))
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers", "SignatureDoesNotMatch", "request id")
        self.assertEqual(res.out, "")

    def test_unknown_key_is_invalid_client_token(self):
        res = run(["users"], self.emu.env(access_key_id="AKIAUNKNOWN000000000", secret="y" * 40))
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers", "InvalidClientTokenId")

    def test_throttling_on_30_percent_still_lists_everyone(self):
        self.emu.fault(action="ListUsers", kind="throttle", probability=0.3)
        for _ in range(3):
            res = run(["users", "--output", "json"], self.emu.env(AWS_MAX_ATTEMPTS="8"))
            self.assertRc(res, 0)
            self.assertEqual(len(json.loads(res.out)), 2501)
        calls = [c for c in self.emu.calls() if c["action"] == "ListUsers"]
        throttled = [c for c in calls if c["error_code"] == "Throttling"]
        self.assertEqual(len(calls) - len(throttled), 9)

    def test_malformed_xml_is_clear_error(self):
        self.emu.fault(action="ListUsers", kind="malformed")
        res = run(["users"], self.emu.env())
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers", "malformed")
        # retried as a transient failure, up to AWS_MAX_ATTEMPTS (3)
        self.assertEqual(len(self.emu.calls()), 3)

    def test_truncated_body_is_clear_error(self):
        self.emu.fault(action="ListUsers", kind="truncate")
        res = run(["users"], self.emu.env(AWS_MAX_ATTEMPTS="2"))
        self.assertRc(res, 1)
        self.assertOneLineError(res, "ListUsers")
        self.assertEqual(len(self.emu.calls()), 2)

    def test_server_error_then_success(self):
        self.emu.fault(action="ListUsers", kind="server_error", nth=1)
        res = run(["users", "--output", "json"], self.emu.env())
        self.assertRc(res, 0)
        self.assertEqual(len(json.loads(res.out)), 2501)
        self.assertEqual(len(self.emu.calls()), 4)

    def test_no_credentials_names_sources(self):
        home = tempfile.mkdtemp()
        env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=home)
        res = run(["users"], env)
        self.assertRc(res, 1)
        self.assertOneLineError(res, "no AWS credentials", "environment",
                                os.path.join(home, ".aws", "credentials"))
        self.assertEqual(self.emu.calls(), [])

    def test_profile_from_shared_file(self):
        home = tempfile.mkdtemp()
        os.makedirs(os.path.join(home, ".aws"))
        with open(os.path.join(home, ".aws", "credentials"), "w") as f:
            f.write("[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n"
                    "[ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))
        env = self.emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=home)
        res = run(["users", "--profile", "ops", "--output", "json"], env)
        self.assertRc(res, 0)
        self.assertEqual(len(json.loads(res.out)), 2501)
        env["AWS_PROFILE"] = "ops"
        self.assertRc(run(["users", "--output", "csv"], env), 0)
        res = run(["users", "--profile", "missing"], env)
        self.assertRc(res, 1)
        self.assertOneLineError(res, "missing")

    def test_no_secret_in_output(self):
        res = run(["users", "--debug"], self.emu.env())
        self.assertRc(res, 0)
        self.assertNoSecrets(res, [fixtures.ADMIN_SECRET])


class UsageTest(CliTestCase):
    """Bad arguments: usage error, exit 2, no AWS call (no emulator needed)."""

    def env(self):
        return {"PATH": os.environ.get("PATH", ""), "HOME": tempfile.mkdtemp(),
                "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}

    def test_unknown_option(self):
        res = run(["users", "--frobnicate"], self.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "unknown option '--frobnicate'", "iamkeys users --help")

    def test_bad_output(self):
        res = run(["users", "--output", "yaml"], self.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "invalid --output 'yaml'")

    def test_missing_value(self):
        res = run(["users", "--output"], self.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "option '--output' needs a value")

    def test_unexpected_argument(self):
        res = run(["users", "bob"], self.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "unexpected argument 'bob'")

    def test_unknown_command(self):
        res = run(["frobnicate"], self.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "unknown command 'frobnicate'")

    def test_bad_path_prefix(self):
        res = run(["users", "--path-prefix", "eng"], self.env())
        self.assertRc(res, 2)
        self.assertOneLineError(res, "--path-prefix")

    def test_help_and_version(self):
        res = run(["--help"], self.env())
        self.assertRc(res, 0)
        self.assertIn("users", res.out)
        self.assertIn("exit codes", res.out)
        res = run(["users", "--help"], self.env())
        self.assertRc(res, 0)
        self.assertTrue(res.out.startswith("usage: iamkeys users"), res.out)
        for opt in ("--path-prefix", "--output", "--no-headers", "--profile", "--region",
                    "--endpoint-url"):
            self.assertIn(opt, res.out)
        res = run(["--version"], self.env())
        self.assertRc(res, 0)
        self.assertRegex(res.out, r"^iamkeys \d+\.\d+\.\d+\n$")

    def test_no_command(self):
        res = run([], self.env())
        self.assertRc(res, 2)
