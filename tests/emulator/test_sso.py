"""IAM Identity Center in the emulator: the SSO portal's GetRoleCredentials and SSO OIDC
CreateToken (REST-JSON, unsigned, routed by path), raw and through botocore's own SSO
credential and token providers."""
import datetime
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase, RawResponse

ACCOUNT = fixtures.ACCOUNT_ID
MEMBER = fixtures.member_account_id(1)
READONLY_ROLE = "AWSReservedSSO_ReadOnly_0123456789abcdef"
REFRESHABLE = "emu-sso-access-refreshable"
EXPIRED = "emu-sso-access-expired"


def sso_fixture():
    fx = fixtures.organization(2, 2, seed=9)
    fx["accounts"][0]["roles"].append({"name": READONLY_ROLE,
                                       "path": "/aws-reserved/sso.amazonaws.com/",
                                       "trust": ["*"], "allow": fixtures.READ_ONLY_ACTIONS})
    fx["accounts"][1]["roles"].append({"name": "Admin", "path": "/", "trust": ["*"]})
    fx["sso_tokens"] = [
        fixtures.sso_token(roles=[(ACCOUNT, "ReadOnly"), (MEMBER, "Admin")]),
        fixtures.sso_token(access_token=REFRESHABLE, roles=[(ACCOUNT, "ReadOnly")],
                           refresh_token=fixtures.SSO_REFRESH_TOKEN, expires="+5m",
                           user="bob"),
        fixtures.sso_token(access_token=EXPIRED, roles=[(ACCOUNT, "ReadOnly")], expires="-1m"),
    ]
    return fx


def botocore_version():
    import botocore
    return tuple(int(x) for x in botocore.__version__.split(".")[:2])


class SsoEmulatorTests(EmulatorTestCase):
    emulator_fixture = staticmethod(sso_fixture)

    def setUp(self):
        self.reset_emulator()

    # ------------------------------------------------------------------ helpers

    def raw(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def role_credentials(self, token, account=ACCOUNT, role="ReadOnly"):
        q = urllib.parse.urlencode({"account_id": account, "role_name": role})
        headers = {"x-amz-sso_bearer_token": token} if token is not None else {}
        return self.raw("GET", "/federation/credentials?" + q, headers)

    def create_token(self, **body):
        doc = {"clientId": fixtures.SSO_CLIENT_ID, "clientSecret": fixtures.SSO_CLIENT_SECRET,
               "grantType": "refresh_token", "refreshToken": fixtures.SSO_REFRESH_TOKEN}
        doc.update(body)
        doc = {k: v for k, v in doc.items() if v is not None}
        return self.raw("POST", "/token", {"Content-Type": "application/json"},
                        json.dumps(doc).encode())

    def assertRestError(self, r, status, code, message_key="message"):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.headers["x-amzn-errortype"], code)
        self.assertIn(message_key, r.json())
        self.assertTrue(r.headers.get("x-amzn-requestid"))

    # ------------------------------------------------------------------ GetRoleCredentials

    def test_role_credentials_work_for_iam(self):
        r = self.role_credentials(fixtures.SSO_ACCESS_TOKEN)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "application/json")
        rc = r.json()["roleCredentials"]
        self.assertTrue(rc["accessKeyId"].startswith("ASIA"))
        self.assertIsInstance(rc["expiration"], int)
        self.assertEqual(rc["expiration"] % 1000, 0)
        iam = self.emu.client("iam", access_key_id=rc["accessKeyId"],
                              secret=rc["secretAccessKey"], session_token=rc["sessionToken"])
        names = [u["UserName"] for u in iam.list_users()["Users"]]
        self.assertIn(fixtures.ADMIN_USER, names)
        # the permission set's role: its allow-list holds
        with self.assertRaises(iam.exceptions.ClientError) as cm:
            iam.create_user(UserName="nope")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        sts = self.emu.client("sts", access_key_id=rc["accessKeyId"],
                              secret=rc["secretAccessKey"], session_token=rc["sessionToken"])
        ident = sts.get_caller_identity()
        self.assertEqual(ident["Account"], ACCOUNT)
        self.assertEqual(ident["Arn"], "arn:aws:sts::%s:assumed-role/%s/alice@example.com"
                         % (ACCOUNT, READONLY_ROLE))
        # the session lasts an hour, on the emulator clock
        sess = [s for s in self.emu.state()["sessions"]
                if s["access_key_id"] == rc["accessKeyId"]][0]
        self.assertEqual(sess["source"], "GetRoleCredentials")
        self.assertEqual(sess["caller"], "sso:alice@example.com")

    def test_role_by_exact_name_in_other_account(self):
        r = self.role_credentials(fixtures.SSO_ACCESS_TOKEN, account=MEMBER, role="Admin")
        self.assertEqual(r.status, 200, r)
        rc = r.json()["roleCredentials"]
        iam = self.emu.client("iam", access_key_id=rc["accessKeyId"],
                              secret=rc["secretAccessKey"], session_token=rc["sessionToken"])
        self.assertEqual(len(iam.list_users()["Users"]), 2)

    def test_rejected_tokens_and_roles(self):
        self.assertRestError(self.role_credentials("not-a-token"), 401, "UnauthorizedException")
        self.assertRestError(self.role_credentials(None), 401, "UnauthorizedException")
        self.assertRestError(self.role_credentials(EXPIRED), 401, "UnauthorizedException")
        self.assertEqual(self.role_credentials(EXPIRED).json(),
                         {"message": "Session token not found or invalid"})
        # a role the token was not given, a role that does not exist
        self.assertRestError(self.role_credentials(fixtures.SSO_ACCESS_TOKEN, account=MEMBER),
                             403, "ForbiddenException")
        self.assertRestError(self.role_credentials(REFRESHABLE, account=MEMBER, role="Admin"),
                             403, "ForbiddenException")
        r = self.raw("GET", "/federation/credentials?account_id=" + ACCOUNT,
                     {"x-amz-sso_bearer_token": fixtures.SSO_ACCESS_TOKEN})
        self.assertRestError(r, 400, "InvalidRequestException")
        # the token expires on the emulator clock
        self.emu.advance_clock(9 * 3600)
        self.assertRestError(self.role_credentials(fixtures.SSO_ACCESS_TOKEN), 401,
                             "UnauthorizedException")

    def test_call_log_and_counters(self):
        self.role_credentials(fixtures.SSO_ACCESS_TOKEN)
        self.role_credentials("not-a-token")
        self.create_token()
        calls = self.emu.calls()
        self.assertEqual([(c["service"], c["action"], c["http_status"]) for c in calls],
                         [("sso", "GetRoleCredentials", 200),
                          ("sso", "GetRoleCredentials", 401),
                          ("sso-oidc", "CreateToken", 200)])
        self.assertEqual(calls[0]["params"], {"account_id": ACCOUNT, "role_name": "ReadOnly"})
        self.assertEqual(calls[0]["account"], ACCOUNT)
        self.assertIsNone(calls[0]["access_key_id"])
        self.assertEqual(calls[1]["error_code"], "UnauthorizedException")
        self.assertEqual(calls[2]["params"], {"grantType": "refresh_token",
                                              "clientId": fixtures.SSO_CLIENT_ID})
        log = json.dumps(calls)
        for secret in (fixtures.SSO_ACCESS_TOKEN, fixtures.SSO_REFRESH_TOKEN,
                       fixtures.SSO_CLIENT_SECRET):
            self.assertNotIn(secret, log)
        self.assertEqual(self.emu.counters(), {"sso:GetRoleCredentials": 2,
                                               "sso-oidc:CreateToken": 1})

    def test_faults_apply(self):
        self.emu.fault(action="sso:GetRoleCredentials", kind="throttle", count=1)
        r = self.role_credentials(fixtures.SSO_ACCESS_TOKEN)
        self.assertRestError(r, 429, "TooManyRequestsException")
        self.assertEqual(self.role_credentials(fixtures.SSO_ACCESS_TOKEN).status, 200)
        self.emu.fault(action="CreateToken", kind="server_error", count=1)
        self.assertRestError(self.create_token(), 500, "InternalServerException",
                             message_key="error_description")

    def test_wrong_method_and_other_paths_unchanged(self):
        r = self.raw("POST", "/federation/credentials", {}, b"")
        self.assertEqual(r.status, 404)
        # IAM is still routed by the signature
        self.assertEqual(self.emu.iam("ListUsers").status, 200)

    # ------------------------------------------------------------------ CreateToken

    def test_create_token_refreshes_and_rotates(self):
        r = self.create_token()
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["tokenType"], "Bearer")
        self.assertEqual(doc["expiresIn"], 8 * 3600)
        self.assertNotEqual(doc["accessToken"], REFRESHABLE)
        self.assertNotEqual(doc["refreshToken"], fixtures.SSO_REFRESH_TOKEN)
        # the new token has the old one's grants
        self.assertEqual(self.role_credentials(doc["accessToken"]).status, 200)
        self.assertRestError(self.role_credentials(doc["accessToken"], account=MEMBER,
                                                   role="Admin"), 403, "ForbiddenException")
        # the old refresh token is spent; the new one works
        self.assertRestError(self.create_token(), 400, "InvalidGrantException",
                             message_key="error_description")
        self.assertEqual(self.create_token().json()["error"], "invalid_grant")
        self.assertEqual(self.create_token(refreshToken=doc["refreshToken"]).status, 200)
        tokens = {t["access_token"]: t for t in self.emu.sso_tokens()}
        self.assertEqual(tokens[doc["accessToken"]]["refreshed_from"], REFRESHABLE)

    def test_create_token_errors(self):
        self.assertRestError(self.create_token(clientSecret="wrong"), 401,
                             "InvalidClientException", message_key="error_description")
        self.assertRestError(self.create_token(clientId="other"), 401, "InvalidClientException",
                             message_key="error_description")
        self.assertRestError(self.create_token(grantType="authorization_code"), 400,
                             "UnsupportedGrantTypeException", message_key="error_description")
        self.assertRestError(self.create_token(refreshToken=None), 400,
                             "InvalidRequestException", message_key="error_description")
        self.assertRestError(self.create_token(clientSecret=None), 400,
                             "InvalidRequestException", message_key="error_description")
        r = self.raw("POST", "/token", {"Content-Type": "application/json"}, b"[1]")
        self.assertRestError(r, 400, "InvalidRequestException", message_key="error_description")
        # an expired client registration
        self.emu.add_sso_tokens(fixtures.sso_token(
            access_token="t2", refresh_token="r2", registration_expires="-1d"))
        self.assertRestError(self.create_token(refreshToken="r2"), 401,
                             "InvalidClientException", message_key="error_description")

    def test_control_endpoint_and_state(self):
        added = self.emu.add_sso_tokens(
            fixtures.sso_token(access_token="runtime-token", roles=[(ACCOUNT, "ReadOnly")]))
        self.assertEqual(added, ["runtime-token"])
        self.assertEqual(self.role_credentials("runtime-token").status, 200)
        dumped = {t["access_token"]: t for t in self.emu.state()["sso_tokens"]}
        self.assertEqual(dumped["runtime-token"]["roles"],
                         [{"account": ACCOUNT, "role": "ReadOnly"}])
        self.assertIn(EXPIRED, dumped)
        with self.assertRaises(Exception):
            self.emu.add_sso_tokens({"roles": []})  # no access_token
        # a fixture load replaces them
        self.emu.load(sso_fixture())
        self.assertEqual(self.role_credentials("runtime-token").status, 401)

    # ------------------------------------------------------------------ botocore

    def test_botocore_sso_clients(self):
        """botocore's own models for the portal and OIDC, unsigned, against the emulator."""
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config
        cfg = Config(signature_version=UNSIGNED, region_name="eu-west-1",
                     retries={"max_attempts": 1})
        sso = boto3.client("sso", endpoint_url=self.emu.url, config=cfg)
        rc = sso.get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT,
                                      accessToken=fixtures.SSO_ACCESS_TOKEN)["roleCredentials"]
        self.assertTrue(rc["accessKeyId"].startswith("ASIA"))
        with self.assertRaises(sso.exceptions.UnauthorizedException):
            sso.get_role_credentials(roleName="ReadOnly", accountId=ACCOUNT,
                                     accessToken="nope")
        oidc = boto3.client("sso-oidc", endpoint_url=self.emu.url, config=cfg)
        with self.assertRaises(oidc.exceptions.InvalidClientException):
            oidc.create_token(clientId=fixtures.SSO_CLIENT_ID, clientSecret="bad",
                              grantType="refresh_token",
                              refreshToken=fixtures.SSO_REFRESH_TOKEN)
        tok = oidc.create_token(clientId=fixtures.SSO_CLIENT_ID,
                                clientSecret=fixtures.SSO_CLIENT_SECRET,
                                grantType="refresh_token",
                                refreshToken=fixtures.SSO_REFRESH_TOKEN)
        self.assertEqual(tok["expiresIn"], 28800)
        with self.assertRaises(oidc.exceptions.InvalidGrantException):
            oidc.create_token(clientId=fixtures.SSO_CLIENT_ID,
                              clientSecret=fixtures.SSO_CLIENT_SECRET,
                              grantType="refresh_token",
                              refreshToken=fixtures.SSO_REFRESH_TOKEN)
        sso.close()
        oidc.close()

    def write_sso_home(self, home, expires):
        """A HOME with an sso-session profile 'dev' and its cached (refreshable) token."""
        os.makedirs(os.path.join(home, ".aws", "sso", "cache"))
        with open(os.path.join(home, ".aws", "config"), "w") as f:
            f.write("[profile dev]\nsso_session = corp\nsso_account_id = %s\n"
                    "sso_role_name = ReadOnly\nregion = us-east-1\n"
                    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                    "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n"
                    % ACCOUNT)
        # sha1("corp")
        path = os.path.join(home, ".aws", "sso", "cache",
                            "ee0bfd2552fbd840c02cc48b6e823320543c450f.json")
        with open(path, "w") as f:
            json.dump({"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1",
                       "accessToken": REFRESHABLE, "expiresAt": expires,
                       "clientId": fixtures.SSO_CLIENT_ID,
                       "clientSecret": fixtures.SSO_CLIENT_SECRET,
                       "registrationExpiresAt": "2099-01-01T00:00:00Z",
                       "refreshToken": fixtures.SSO_REFRESH_TOKEN}, f)
        return path

    def test_botocore_sso_provider_refreshes(self):
        """botocore's SSOProvider + SSOTokenProvider (what `aws` uses) on an sso-session
        profile whose token expires in 5 minutes: CreateToken, the cache rewritten, then
        GetRoleCredentials with the new token. botocore before 1.31 has no
        AWS_ENDPOINT_URL_SSO, so its clients are pointed at the emulator by hand."""
        import botocore.credentials
        import botocore.session
        import botocore.tokens
        import botocore.utils
        home = tempfile.mkdtemp(prefix="iamkeys-botocore-sso-")
        self.addCleanup(shutil.rmtree, home, True)
        soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5))
        path = self.write_sso_home(home, soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
        sess = botocore.session.Session(profile="dev")
        sess.set_config_variable("config_file", os.path.join(home, ".aws", "config"))
        create = sess.create_client

        def create_client(service, *args, **kwargs):
            kwargs["endpoint_url"] = self.emu.url
            return create(service, *args, **kwargs)
        sess.create_client = create_client
        cache = botocore.utils.JSONFileCache(os.path.dirname(path),
                                             dumps_func=botocore.tokens._sso_json_dumps)
        provider = botocore.credentials.SSOProvider(
            load_config=lambda: sess.full_config, client_creator=sess.create_client,
            profile_name="dev", cache={}, token_cache=cache,
            token_provider=botocore.tokens.SSOTokenProvider(sess, cache=cache))
        creds = provider.load().get_frozen_credentials()
        self.assertTrue(creds.access_key.startswith("ASIA"))
        self.assertEqual([c["action"] for c in self.emu.calls()],
                         ["CreateToken", "GetRoleCredentials"])
        with open(path) as f:
            cached = json.load(f)
        self.assertNotEqual(cached["accessToken"], REFRESHABLE)
        self.assertNotEqual(cached["refreshToken"], fixtures.SSO_REFRESH_TOKEN)
        self.assertEqual(cached["clientSecret"], fixtures.SSO_CLIENT_SECRET)
        iam = self.emu.client("iam", access_key_id=creds.access_key, secret=creds.secret_key,
                              session_token=creds.token)
        self.assertIn(fixtures.ADMIN_USER, [u["UserName"] for u in iam.list_users()["Users"]])

    @unittest.skipUnless(botocore_version() >= (1, 31),
                         "this botocore has no service-specific endpoints "
                         "(AWS_ENDPOINT_URL_SSO, since 1.31)")
    def test_botocore_default_chain_with_endpoint_variables(self):
        """Newer botocore alone, from the environment: HOME, the profile and
        AWS_ENDPOINT_URL_SSO / _SSO_OIDC."""
        home = tempfile.mkdtemp(prefix="iamkeys-botocore-sso-")
        self.addCleanup(shutil.rmtree, home, True)
        self.write_sso_home(home, "2099-01-01T00:00:00Z")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=home, AWS_PROFILE="dev", AWS_ENDPOINT_URL_SSO=self.emu.url,
                   AWS_ENDPOINT_URL_SSO_OIDC=self.emu.url, AWS_EC2_METADATA_DISABLED="true")
        code = ("import botocore.session, json\n"
                "c = botocore.session.Session().get_credentials().get_frozen_credentials()\n"
                "print(json.dumps([c.access_key, c.secret_key, c.token]))\n")
        p = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        key, secret, token = json.loads(p.stdout)
        self.assertTrue(key.startswith("ASIA"))
        self.assertEqual([c["action"] for c in self.emu.calls()], ["GetRoleCredentials"])


if __name__ == "__main__":
    unittest.main()
