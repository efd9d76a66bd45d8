"""The credential chain end to end: roles (same and other account, chained, external id,
duration, MFA), web identity, credential_process, ECS and IMDS endpoints, refresh of
temporary credentials, against the emulator (docs/credentials.md)."""
import datetime
import http.server
import json
import os
import stat
import threading
import time

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

ACCOUNT = fixtures.ACCOUNT_ID
MEMBER = fixtures.member_account_id(1)
AUDITOR_ARN = "arn:aws:iam::%s:role/%s" % (ACCOUNT, fixtures.AUDITOR_ROLE)
CI_ARN = "arn:aws:iam::%s:role/%s" % (ACCOUNT, fixtures.CI_ROLE)
MEMBER_ARN = "arn:aws:iam::%s:role/%s" % (MEMBER, fixtures.ORG_ROLE)
EXT_ARN = "arn:aws:iam::%s:role/ext-role" % ACCOUNT
EXTERNAL_ID = "ext-7f3a"
MFA_SERIAL = "arn:aws:iam::%s:mfa/admin" % ACCOUNT
BASE = ("[profile base]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
        % (fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))


def chain_fixture():
    """The management account (admin, the auditor and ci roles, a role that requires an
    external id) and one member account with 3 users and OrganizationAccountAccessRole."""
    fx = fixtures.organization(2, 3, seed=3)
    fx["accounts"][0]["roles"].append(
        {"name": "ext-role", "path": "/", "trust": [ACCOUNT], "external_id": EXTERNAL_ID,
         "allow": fixtures.READ_ONLY_ACTIONS})
    return fx


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Endpoint(http.server.BaseHTTPRequestHandler):
    """A tiny credentials endpoint (ECS or IMDS); the test's handler decides."""

    def log_message(self, *args):
        pass

    def _serve(self):
        srv = self.server
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        srv.requests.append({"method": self.command, "path": self.path,
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
        status, body = srv.handler(self.command, self.path, self.headers)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = _serve


class LocalEndpoint:
    def __init__(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
        self.server.handler = handler
        self.server.requests = []
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self):
        return self.server.requests

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class CredentialsChainTest(CliTestCase, EmulatorTestCase):
    emulator_fixture = chain_fixture

    def setUp(self):
        self.reset_emulator()
        self.home = self.make_home("iamkeys-chain-", ".aws")

    # ------------------------------------------------------------------ helpers

    def config(self, text):
        with open(os.path.join(self.home, ".aws", "config"), "w") as f:
            f.write(text)

    def file(self, name, text, mode=0o600):
        path = os.path.join(self.home, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def env(self, **extra):
        """The emulator's environment without its static keys: the chain must find others."""
        e = dict(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=self.home)
        e.update(extra)
        return self.emu.env(**e)

    def users(self, **env):
        return run(["users", "--output", "json"], self.env(**env), stdin="")

    def user_names(self, res):
        self.assertRc(res, 0)
        return sorted(u["UserName"] for u in json.loads(res.out))

    def account_users(self, account):
        for a in self.emu.state()["accounts"]:
            if a["id"] == account:
                return sorted(u["name"] for u in a["users"])
        raise KeyError(account)

    def calls(self):
        return [c for c in self.emu.calls()]

    def listed(self, account, actions, **env):
        """iamkeys users (with env) lists the users of account after making the calls
        actions (their names, in order); returns its result and the calls."""
        res = self.users(**env)
        self.assertEqual(self.user_names(res), self.account_users(account))
        calls = self.calls()
        self.assertEqual([c["action"] for c in calls], actions)
        return res, calls

    def assertSession(self, call, role_arn, account):
        self.assertTrue(call["access_key_id"].startswith("ASIA"), call)
        role_name = role_arn.rsplit("/", 1)[1]
        self.assertTrue(call["principal"].startswith(
            "arn:aws:sts::%s:assumed-role/%s/" % (account, role_name)), call)
        self.assertTrue(call["signature_ok"], call)

    def test_explicit_profile_wins_over_environment_keys(self):
        # as the AWS CLI (botocore drops its environment provider when a profile is
        # given): --profile ops signs with ops' key although AWS_ACCESS_KEY_ID is set
        env_key = "AKIAENVIRONMENT00001"
        self.config("[profile ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))
        env = self.env(AWS_ACCESS_KEY_ID=env_key,
                       AWS_SECRET_ACCESS_KEY="envsecret0000000000000000000000000000000")
        res = run(["users", "--profile", "ops", "--output", "json"], env, stdin="")
        self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
        keys = {c["access_key_id"] for c in self.calls()}
        self.assertEqual(keys, {fixtures.ADMIN_KEY_ID})

    def test_aws_profile_does_not_win_over_environment_keys(self):
        self.config("[profile ops]\naws_access_key_id = AKIAPROFILE000000001\n"
                    "aws_secret_access_key = nope\n")
        env = self.env(AWS_ACCESS_KEY_ID=fixtures.ADMIN_KEY_ID,
                       AWS_SECRET_ACCESS_KEY=fixtures.ADMIN_SECRET, AWS_PROFILE="ops")
        res = run(["users", "--output", "json"], env, stdin="")
        self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
        self.assertEqual({c["access_key_id"] for c in self.calls()}, {fixtures.ADMIN_KEY_ID})

    def test_explicit_profile_without_keys_says_the_environment_was_not_read(self):
        self.config("[profile bare]\nregion = us-east-1\n")
        env = self.env(AWS_ACCESS_KEY_ID=fixtures.ADMIN_KEY_ID,
                       AWS_SECRET_ACCESS_KEY=fixtures.ADMIN_SECRET,
                       AWS_WEB_IDENTITY_TOKEN_FILE=self.file("token", "x"),
                       AWS_ROLE_ARN=CI_ARN)
        res = run(["users", "--profile", "bare"], env, stdin="")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "no AWS credentials found",
                                "environment: not read with --profile",
                                "web identity: not read with --profile", "profile 'bare'")
        self.assertEqual(self.calls(), [])

    def test_config_over_its_limit_is_an_error(self):
        # the region is read from ~/.aws/config even with keys in the environment: a file
        # over 1 MiB is refused, never read cut short
        self.config("[default]\n# " + "x" * (1 << 20) + "\nregion = eu-west-1\n")
        res = run(["users"], self.emu.env(HOME=self.home), stdin="")
        self.assertRc(res, 1)
        self.assertEqual(res.err, "iamkeys: error: cannot read '%s': larger than 1048576 bytes\n"
                         % os.path.join(self.home, ".aws", "config"))
        self.assertEqual(self.calls(), [])

    # ------------------------------------------------------------------ roles

    def test_role_in_same_account(self):
        self.config("[profile audit]\nrole_arn = %s\nsource_profile = base\n"
                    "role_session_name = chain-test\n%s" % (AUDITOR_ARN, BASE))
        res, calls = self.listed(ACCOUNT, ["AssumeRole", "ListUsers"], AWS_PROFILE="audit")
        ar, lu = calls
        self.assertEqual(ar["access_key_id"], fixtures.ADMIN_KEY_ID)
        self.assertEqual(ar["params"]["RoleArn"], AUDITOR_ARN)
        self.assertEqual(ar["params"]["RoleSessionName"], "chain-test")
        self.assertNotIn("ExternalId", ar["params"])
        self.assertSession(lu, AUDITOR_ARN, ACCOUNT)
        self.assertTrue(lu["principal"].endswith("/chain-test"), lu)
        self.assertNoSecrets(res, [fixtures.ADMIN_SECRET])

    def test_role_in_other_account(self):
        self.config("[default]\nrole_arn = %s\nsource_profile = base\n%s" % (MEMBER_ARN, BASE))
        res, calls = self.listed(MEMBER, ["AssumeRole", "ListUsers"])
        self.assertEqual(calls[0]["account"], ACCOUNT)
        self.assertSession(calls[1], MEMBER_ARN, MEMBER)
        self.assertEqual(calls[1]["account"], MEMBER)
        # the default session name
        self.assertRegex(calls[0]["params"]["RoleSessionName"], r"^iamkeys-\d+$")

    def test_audit_through_a_role(self):
        self.config("[profile audit]\nrole_arn = %s\nsource_profile = base\n%s"
                    % (AUDITOR_ARN, BASE))
        res = run(["audit", "--user", "admin", "--output", "json"],
                  self.env(AWS_PROFILE="audit"), stdin="")
        self.assertRc(res, 0)
        doc = json.loads(res.out)
        self.assertEqual(doc["Summary"]["UsersScanned"], 1)
        self.assertEqual(doc["Summary"]["KeysScanned"], 1)
        calls = self.calls()
        self.assertEqual(calls[0]["action"], "AssumeRole")
        self.assertEqual(len([c for c in calls if c["action"] == "AssumeRole"]), 1)
        for c in calls[1:]:
            self.assertSession(c, AUDITOR_ARN, ACCOUNT)

    def test_two_step_role_chain(self):
        self.config("[profile member]\nrole_arn = %s\nsource_profile = ci\n"
                    "[profile ci]\nrole_arn = %s\nsource_profile = base\n%s"
                    % (MEMBER_ARN, CI_ARN, BASE))
        res, calls = self.listed(MEMBER, ["AssumeRole", "AssumeRole", "ListUsers"],
                                 AWS_PROFILE="member")
        self.assertEqual(calls[0]["access_key_id"], fixtures.ADMIN_KEY_ID)
        self.assertEqual(calls[0]["params"]["RoleArn"], CI_ARN)
        self.assertSession(calls[1], CI_ARN, ACCOUNT)
        self.assertEqual(calls[1]["params"]["RoleArn"], MEMBER_ARN)
        self.assertSession(calls[2], MEMBER_ARN, MEMBER)

    def test_loop_is_one_line_error(self):
        self.config("[profile a]\nrole_arn = %s\nsource_profile = b\n"
                    "[profile b]\nrole_arn = %s\nsource_profile = a\n" % (AUDITOR_ARN, CI_ARN))
        res = self.users(AWS_PROFILE="a")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'a': source_profile chain forms a loop: "
                                     "a -> b -> a", ".aws/config")
        self.assertEqual(self.calls(), [])

    def test_external_id_required_by_trust(self):
        self.config("[profile ext]\nrole_arn = %s\nsource_profile = base\n%s"
                    "[profile ext-ok]\nrole_arn = %s\nsource_profile = base\n"
                    "external_id = %s\n" % (EXT_ARN, BASE, EXT_ARN, EXTERNAL_ID))
        res = self.users(AWS_PROFILE="ext")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'ext' (role_arn %s): AssumeRole: AccessDenied"
                                % EXT_ARN)
        self.emu.reset_calls()
        res = self.users(AWS_PROFILE="ext-ok")
        self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
        ar = self.calls()[0]
        self.assertEqual(ar["params"]["ExternalId"], EXTERNAL_ID)

    def test_duration_seconds_and_expiry_in_aws_time(self):
        """A 15-minute session seen by a clock 12 minutes ahead still has 15 minutes left in
        AWS's time (its Expiration is AWS's): one session serves the run. (The 5-minute
        refresh window itself: tests/unit/test_cred_providers.c.)"""
        self.emu.config(max_skew_seconds=3600)
        try:
            self.config("[default]\nrole_arn = %s\nsource_profile = base\n"
                        "duration_seconds = 900\n%s" % (AUDITOR_ARN, BASE))
            res, calls = self.listed(ACCOUNT, ["AssumeRole", "ListUsers"],
                                     IAMKEYS_TEST_CLOCK_OFFSET="720")
            self.assertEqual(calls[0]["params"]["DurationSeconds"], "900")
            sessions = [s["access_key_id"] for s in self.emu.state()["sessions"]
                        if s["role_arn"] == AUDITOR_ARN]
            self.assertEqual(len(sessions), 1)
            self.assertEqual(calls[1]["access_key_id"], sessions[0])
            # without the skew, the same
            self.emu.reset_calls()
            res = self.users()
            self.assertRc(res, 0)
            self.assertEqual([c["action"] for c in self.calls()], ["AssumeRole", "ListUsers"])
        finally:
            self.emu.config(max_skew_seconds=300)

    def test_expired_session_is_replaced(self):
        """The emulator's clock jumps past the session's end during the run (while the first
        of two ListUsers pages is slow): the next page meets ExpiredToken, the client drops
        the cached session, a new AssumeRole signs the retry."""
        self.emu.load(fixtures.many_users(1500, seed=5))
        self.emu.config(max_skew_seconds=3600)
        self.config("[default]\nrole_arn = %s\nsource_profile = base\n"
                    "duration_seconds = 900\n%s" % (AUDITOR_ARN, BASE))
        self.emu.fault(action="ListUsers", kind="slow", delay_ms=2500, nth=1)

        def jump():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if any(c["action"] == "AssumeRole" for c in self.emu.calls()):
                    time.sleep(0.5)  # the first page is being served, slowly
                    self.emu.advance_clock(1000)
                    return
                time.sleep(0.02)

        t = threading.Thread(target=jump)
        t.start()
        try:
            res = self.users()
        finally:
            t.join()
            self.emu.config(max_skew_seconds=300)
        self.assertRc(res, 0)
        self.assertEqual(len(json.loads(res.out)), 1501)
        actions = [(c["action"], c["error_code"]) for c in self.calls()]
        # two pages: normally [AssumeRole, ListUsers, ListUsers ExpiredToken, AssumeRole,
        # ListUsers]; on a slow machine the jump may come before the first page
        expired = actions.index(("ListUsers", "ExpiredToken"))
        self.assertEqual(actions[expired + 1:], [("AssumeRole", None)] +
                         [("ListUsers", None)] * (3 - expired), actions)
        self.assertEqual(actions[:expired], [("AssumeRole", None)] +
                         [("ListUsers", None)] * (expired - 1), actions)

    def test_mfa_without_tty(self):
        self.config("[default]\nrole_arn = %s\nsource_profile = base\nmfa_serial = %s\n%s"
                    % (AUDITOR_ARN, MFA_SERIAL, BASE))
        res = self.users()
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'default': an MFA code for %s is needed but "
                                     "stdin is not a terminal" % MFA_SERIAL)
        self.assertEqual(self.calls(), [])

    # ------------------------------------------------------------------ web identity

    def test_web_identity_from_env(self):
        token = self.file("token.jwt", fixtures.WEB_IDENTITY_TOKEN + "\n")
        res = self.users(AWS_WEB_IDENTITY_TOKEN_FILE=token, AWS_ROLE_ARN=CI_ARN,
                         AWS_ROLE_SESSION_NAME="gha-run")
        self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
        calls = self.calls()
        self.assertEqual([c["action"] for c in calls],
                         ["AssumeRoleWithWebIdentity", "ListUsers"])
        self.assertIsNone(calls[0]["access_key_id"])  # unsigned
        self.assertEqual(calls[0]["params"]["RoleSessionName"], "gha-run")
        self.assertNotIn("WebIdentityToken", calls[0]["params"])
        self.assertSession(calls[1], CI_ARN, ACCOUNT)
        self.assertTrue(calls[1]["principal"].endswith("/gha-run"))
        self.assertNoSecrets(res, [fixtures.WEB_IDENTITY_TOKEN])

    def test_web_identity_from_profile_and_bad_token(self):
        token = self.file("token.jwt", fixtures.WEB_IDENTITY_TOKEN)
        bad = self.file("bad.jwt", "not-a-known-token")
        self.config("[profile wi]\nrole_arn = %s\nweb_identity_token_file = %s\n"
                    "[profile wi-bad]\nrole_arn = %s\nweb_identity_token_file = %s\n"
                    % (CI_ARN, token, CI_ARN, bad))
        res = self.users(AWS_PROFILE="wi")
        self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
        self.assertEqual([c["action"] for c in self.calls()],
                         ["AssumeRoleWithWebIdentity", "ListUsers"])
        res = self.users(AWS_PROFILE="wi-bad")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'wi-bad' (web_identity_token_file): "
                                     "AssumeRoleWithWebIdentity: InvalidIdentityToken")
        self.assertNoSecrets(res, ["not-a-known-token"])

    # ------------------------------------------------------------------ credential_process

    def process_script(self, expires_in=None):
        """A script printing the admin key as credential_process JSON; it logs its argv."""
        log = os.path.join(self.home, "process.log")
        exp = ""
        if expires_in is not None:
            exp = ('d["Expiration"] = (datetime.datetime.now(datetime.timezone.utc) + '
                   'datetime.timedelta(seconds=%d)).strftime("%%Y-%%m-%%dT%%H:%%M:%%SZ")\n'
                   % expires_in)
        script = self.file("creds.py", (
            "#!/usr/bin/python3\nimport datetime, json, sys\n"
            "open(%r, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
            "d = {'Version': 1, 'AccessKeyId': %r, 'SecretAccessKey': %r}\n%s"
            "print(json.dumps(d))\n") % (log, fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET, exp),
            mode=0o700)
        return script, log

    def runs(self, log):
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [json.loads(line) for line in f]

    def test_credential_process(self):
        script, log = self.process_script()
        # (" ;" would start a comment in the config file; "a;b" does not)
        self.config("[default]\ncredential_process = %s 'arg with space' \"q\\\"uote\" "
                    "a;b $HOME\n" % script)
        res = self.users()
        self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
        # no shell: the quoting is ours, ';' is a plain word; long-lived keys: run once
        self.assertEqual(self.runs(log), [["arg with space", 'q"uote', "a;b", "$HOME"]])
        self.assertEqual(self.calls()[0]["access_key_id"], fixtures.ADMIN_KEY_ID)
        self.assertNoSecrets(res, [fixtures.ADMIN_SECRET])

    def test_credential_process_refreshed_before_expiry(self):
        script, log = self.process_script(expires_in=60)
        self.config("[default]\ncredential_process = %s\n" % script)
        res = self.users()
        self.assertRc(res, 0)
        # one minute left (< 5): called again before the request
        self.assertEqual(len(self.runs(log)), 2)
        os.unlink(log)
        script, log = self.process_script(expires_in=3600)
        res = self.users()
        self.assertRc(res, 0)
        self.assertEqual(len(self.runs(log)), 1)

    def test_credential_process_failure(self):
        script = self.file("fail.sh", "#!/bin/sh\necho 'token service unreachable' >&2\n"
                                      "echo 'details' >&2\nexit 4\n", mode=0o700)
        self.config("[default]\ncredential_process = %s\n" % script)
        res = self.users()
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'default': credential_process '%s' exited with "
                                     "status 4: token service unreachable" % script)

    # ------------------------------------------------------------------ ECS

    def ecs_handler(self, token):
        def handler(method, path, headers):
            if headers.get("Authorization") != token:
                return 401, {"code": "Unauthorized", "message": "bad token"}
            return 200, {"AccessKeyId": fixtures.ADMIN_KEY_ID,
                         "SecretAccessKey": fixtures.ADMIN_SECRET,
                         "Expiration": iso(datetime.datetime.now(datetime.timezone.utc)
                                           + datetime.timedelta(hours=6)),
                         "RoleArn": "arn:aws:iam::%s:role/task" % ACCOUNT}
        return handler

    def test_ecs_relative_uri(self):
        with LocalEndpoint(self.ecs_handler("ecs-token-1")) as ep:
            res = self.users(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/abc",
                             IAMKEYS_TEST_ECS_ENDPOINT=ep.url,
                             AWS_CONTAINER_AUTHORIZATION_TOKEN="ecs-token-1")
            self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
            self.assertEqual([(r["method"], r["path"]) for r in ep.requests],
                             [("GET", "/v2/credentials/abc")])
            self.assertEqual(ep.requests[0]["headers"]["authorization"], "ecs-token-1")

    def test_ecs_full_uri_token_file(self):
        with LocalEndpoint(self.ecs_handler("from-file")) as ep:
            tok = self.file("ecs-token", "from-file\n")
            res = self.users(AWS_CONTAINER_CREDENTIALS_FULL_URI=ep.url + "/creds",
                             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok,
                             AWS_CONTAINER_AUTHORIZATION_TOKEN="ignored")
            self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
            res = self.users(AWS_CONTAINER_CREDENTIALS_FULL_URI=ep.url + "/creds",
                             AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong")
            self.assertRc(res, 1)
            self.assertOneLineError(res, "container: GET %s/creds: HTTP 401: bad token" % ep.url)
            self.assertNoSecrets(res, ["wrong"])
        res = self.users(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://203.0.113.9/creds")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "plain http is allowed only to a loopback address")

    # ------------------------------------------------------------------ IMDS

    def imds_handler(self, role="web-server"):
        def handler(method, path, headers):
            if method == "PUT" and path == "/latest/api/token":
                if headers.get("X-aws-ec2-metadata-token-ttl-seconds") != "21600":
                    return 400, "missing ttl"
                return 200, "imds-session-token"
            if headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
                return 401, "no token"
            if path == "/latest/meta-data/iam/security-credentials/":
                return 200, role + "\n"
            if path == "/latest/meta-data/iam/security-credentials/" + role:
                return 200, {"Code": "Success", "Type": "AWS-HMAC",
                             "AccessKeyId": fixtures.ADMIN_KEY_ID,
                             "SecretAccessKey": fixtures.ADMIN_SECRET,
                             "Token": None,
                             "Expiration": iso(datetime.datetime.now(datetime.timezone.utc)
                                               + datetime.timedelta(hours=6))}
            return 404, "not found"
        return handler

    def test_imds_v2(self):
        with LocalEndpoint(self.imds_handler()) as ep:
            res = self.users(AWS_EC2_METADATA_DISABLED=None,
                             AWS_EC2_METADATA_SERVICE_ENDPOINT=ep.url + "/")
            self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
            self.assertEqual([(r["method"], r["path"]) for r in ep.requests], [
                ("PUT", "/latest/api/token"),
                ("GET", "/latest/meta-data/iam/security-credentials/"),
                ("GET", "/latest/meta-data/iam/security-credentials/web-server")])
            self.assertEqual(ep.requests[0]["headers"]["x-aws-ec2-metadata-token-ttl-seconds"],
                             "21600")
            for r in ep.requests[1:]:
                self.assertEqual(r["headers"]["x-aws-ec2-metadata-token"],
                                 "imds-session-token")

    def test_imds_disabled(self):
        with LocalEndpoint(self.imds_handler()) as ep:
            res = self.users(AWS_EC2_METADATA_DISABLED="true",
                             AWS_EC2_METADATA_SERVICE_ENDPOINT=ep.url)
            self.assertRc(res, 1)
            self.assertOneLineError(
                res, "no AWS credentials found (tried: environment: AWS_ACCESS_KEY_ID not set; "
                     "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set; profile 'default': "
                     "not found in ",
                "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set; "
                "instance metadata: disabled by AWS_EC2_METADATA_DISABLED)")
            self.assertEqual(ep.requests, [])

    def test_imds_unreachable_is_quick(self):
        # a closed port: "no service" at once, and the chain's one-line error names it
        with LocalEndpoint(self.imds_handler()) as ep:
            url = ep.url
        res = self.users(AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=url)
        self.assertRc(res, 1)
        self.assertOneLineError(res, "instance metadata: no service at %s" % url)

    def test_credential_source_ec2_metadata(self):
        with LocalEndpoint(self.imds_handler()) as ep:
            self.config("[default]\nrole_arn = %s\ncredential_source = Ec2InstanceMetadata\n"
                        % AUDITOR_ARN)
            res = self.users(AWS_EC2_METADATA_DISABLED=None,
                             AWS_EC2_METADATA_SERVICE_ENDPOINT=ep.url)
            self.assertEqual(self.user_names(res), self.account_users(ACCOUNT))
            calls = self.calls()
            self.assertEqual(calls[0]["access_key_id"], fixtures.ADMIN_KEY_ID)
            self.assertSession(calls[1], AUDITOR_ARN, ACCOUNT)
            self.assertEqual(len(ep.requests), 3)


if __name__ == "__main__":
    import unittest
    unittest.main()
