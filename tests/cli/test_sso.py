"""IAM Identity Center (SSO) profiles end to end: the binary reads the token cache that
`aws sso login` writes, refreshes sso-session tokens with CreateToken, gets role
credentials with GetRoleCredentials from the emulator, and never shows a token
(docs/credentials.md)."""
import datetime
import hashlib
import json
import os
import stat

from tests.cli.common import CliTestCase, run
from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

ACCOUNT = fixtures.ACCOUNT_ID
MEMBER = fixtures.member_account_id(1)
MEMBER_ARN = "arn:aws:iam::%s:role/%s" % (MEMBER, fixtures.ORG_ROLE)
SSO_ROLE = "AWSReservedSSO_ReadOnly_0123456789abcdef"
START_URL = "https://corp.awsapps.com/start"
LEGACY_TOKEN = "emu-sso-legacy-access-token-SECRET"
SESSION_TOKEN = "emu-sso-session-access-token-SECRET"
REFRESH_TOKEN = "emu-sso-refresh-token-SECRET"
CLIENT_SECRET = "emu-sso-client-secret-SECRET"

CONFIG = """\
[profile legacy]
sso_start_url = %(url)s
sso_region = eu-west-1
sso_account_id = %(account)s
sso_role_name = ReadOnly

[profile dev]
sso_session = corp
sso_account_id = %(account)s
sso_role_name = ReadOnly
region = us-east-1

[profile member]
role_arn = %(member_arn)s
source_profile = dev
role_session_name = via-sso

[profile nope]
sso_session = corp
sso_account_id = %(account)s
sso_role_name = ReadOnly
sso_start_url = https://other.awsapps.com/start

[sso-session corp]
sso_start_url = %(url)s
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
""" % {"url": START_URL, "account": ACCOUNT, "member_arn": MEMBER_ARN}


def sso_fixture():
    """Two accounts; in the first, the permission set's role (read-only, may assume roles);
    tokens for the legacy and the sso-session login, the latter refreshable."""
    fx = fixtures.organization(2, 3, seed=11)
    fx["accounts"][0]["roles"].append(
        {"name": SSO_ROLE, "path": "/aws-reserved/sso.amazonaws.com/", "trust": ["*"],
         "allow": fixtures.READ_ONLY_ACTIONS + ["sts:AssumeRole"]})
    fx["sso_tokens"] = [
        fixtures.sso_token(access_token=LEGACY_TOKEN, roles=[(ACCOUNT, "ReadOnly")],
                           user="alice"),
        fixtures.sso_token(access_token=SESSION_TOKEN, roles=[(ACCOUNT, "ReadOnly")],
                           user="alice", refresh_token=REFRESH_TOKEN,
                           client_secret=CLIENT_SECRET),
    ]
    return fx


def utc_in(seconds):
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class SsoProfileTest(CliTestCase, EmulatorTestCase):
    emulator_fixture = sso_fixture

    def setUp(self):
        self.reset_emulator()
        self.home = self.make_home("iamkeys-sso-", os.path.join(".aws", "sso", "cache"))
        with open(os.path.join(self.home, ".aws", "config"), "w") as f:
            f.write(CONFIG)

    # ------------------------------------------------------------------ helpers

    def cache_path(self, key):
        return os.path.join(self.home, ".aws", "sso", "cache",
                            hashlib.sha1(key.encode()).hexdigest() + ".json")

    def write_cache(self, key, doc):
        path = self.cache_path(key)
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        os.chmod(path, 0o600)
        return path

    def legacy_cache(self, expires_in=3600):
        # as the AWS CLI v2 writes it for a legacy profile
        return self.write_cache(START_URL, {"startUrl": START_URL, "region": "eu-west-1",
                                            "accessToken": LEGACY_TOKEN,
                                            "expiresAt": utc_in(expires_in)})

    def session_cache(self, expires_in=3600, refresh_token=REFRESH_TOKEN, **extra):
        doc = {"startUrl": START_URL, "region": "eu-west-1", "accessToken": SESSION_TOKEN,
               "expiresAt": utc_in(expires_in), "clientId": fixtures.SSO_CLIENT_ID,
               "clientSecret": CLIENT_SECRET, "registrationExpiresAt": utc_in(90 * 86400),
               "refreshToken": refresh_token}
        doc.update(extra)
        return self.write_cache("corp", doc)

    def env(self, **extra):
        """The emulator's environment without static keys: the profile must provide them."""
        e = dict(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, HOME=self.home)
        e.update(extra)
        return self.emu.env(**e)

    def users(self, *args, **env):
        return run(["users", "--output", "json"] + list(args), self.env(**env), stdin="")

    def account_users(self, account):
        for a in self.emu.state()["accounts"]:
            if a["id"] == account:
                return sorted(u["name"] for u in a["users"])
        raise KeyError(account)

    def names(self, res):
        self.assertRc(res, 0)
        return sorted(u["UserName"] for u in json.loads(res.out))

    def actions(self):
        return [c["action"] for c in self.emu.calls()]

    def all_secrets(self):
        """Every token and secret the emulator knows of: none may ever be printed."""
        st = self.emu.state()
        out = [LEGACY_TOKEN, SESSION_TOKEN, REFRESH_TOKEN, CLIENT_SECRET]
        for t in st["sso_tokens"]:
            out += [t["access_token"], t["refresh_token"] or LEGACY_TOKEN]
        for s in st["sessions"]:
            out += [s["secret"], s["token"]]
        return out

    def assertSsoSession(self, call, account=ACCOUNT, role=SSO_ROLE, user="alice"):
        self.assertTrue(call["access_key_id"].startswith("ASIA"), call)
        self.assertEqual(call["principal"],
                         "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role, user))
        self.assertTrue(call["signature_ok"], call)

    # ------------------------------------------------------------------ the two forms

    def test_legacy_profile(self):
        self.legacy_cache()
        res = self.users("--profile", "legacy")
        self.assertEqual(self.names(res), self.account_users(ACCOUNT))
        calls = self.emu.calls()
        self.assertEqual([c["action"] for c in calls], ["GetRoleCredentials", "ListUsers"])
        self.assertEqual(calls[0]["params"], {"account_id": ACCOUNT, "role_name": "ReadOnly"})
        self.assertEqual(calls[0]["http_status"], 200)
        self.assertSsoSession(calls[1])
        self.assertNoSecrets(res, self.all_secrets())

    def test_sso_session_profile(self):
        path = self.session_cache()
        before = open(path).read()
        res = self.users(AWS_PROFILE="dev")
        self.assertEqual(self.names(res), self.account_users(ACCOUNT))
        self.assertEqual(self.actions(), ["GetRoleCredentials", "ListUsers"])
        self.assertSsoSession(self.emu.calls()[1])
        # an hour left: no refresh, the file untouched
        self.assertEqual(open(path).read(), before)
        self.assertNoSecrets(res, self.all_secrets())

    def test_audit_runs_on_sso_credentials(self):
        self.session_cache()
        res = run(["audit", "--source", "api", "--output", "json"],
                  self.env(AWS_PROFILE="dev"), stdin="")
        self.assertIn(res.rc, (0, 3), repr(res))
        doc = json.loads(res.out)
        self.assertEqual(doc["Summary"]["UsersScanned"], len(self.account_users(ACCOUNT)))
        calls = self.emu.calls()
        self.assertEqual(calls[0]["action"], "GetRoleCredentials")
        self.assertEqual(self.actions().count("GetRoleCredentials"), 1)
        for c in calls[1:]:
            self.assertSsoSession(c)

    # ------------------------------------------------------------------ refresh

    def test_expiring_token_is_refreshed_and_cache_rewritten(self):
        # 5 minutes left: inside botocore's 15-minute window
        path = self.session_cache(expires_in=300, extra={"kept": [1, "two"]})
        os.chmod(path, 0o644)
        res = self.users(AWS_PROFILE="dev")
        self.assertEqual(self.names(res), self.account_users(ACCOUNT))
        calls = self.emu.calls()
        self.assertEqual([c["action"] for c in calls],
                         ["CreateToken", "GetRoleCredentials", "ListUsers"])
        self.assertEqual(calls[0]["params"], {"grantType": "refresh_token",
                                              "clientId": fixtures.SSO_CLIENT_ID})
        self.assertEqual(calls[0]["http_status"], 200)
        # the new token, as the emulator issued it, is in the cache; all else is kept
        issued = [t for t in self.emu.sso_tokens() if t["refreshed_from"] == SESSION_TOKEN]
        self.assertEqual(len(issued), 1)
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual(doc["accessToken"], issued[0]["access_token"])
        self.assertEqual(doc["refreshToken"], issued[0]["refresh_token"])
        self.assertEqual(doc["expiresAt"], issued[0]["expires"])
        self.assertEqual(doc["clientSecret"], CLIENT_SECRET)
        self.assertEqual(doc["clientId"], fixtures.SSO_CLIENT_ID)
        self.assertEqual(doc["startUrl"], START_URL)
        self.assertEqual(doc["region"], "eu-west-1")
        self.assertEqual(doc["extra"], {"kept": [1, "two"]})
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        # no temporary file left behind
        self.assertEqual(os.listdir(os.path.dirname(path)), [os.path.basename(path)])
        self.assertNoSecrets(res, self.all_secrets())
        # the next run uses the new token as it is: 8 hours left
        self.emu.reset_calls()
        res = self.users(AWS_PROFILE="dev")
        self.assertRc(res, 0)
        self.assertEqual(self.actions(), ["GetRoleCredentials", "ListUsers"])

    def test_expired_token_is_refreshed(self):
        path = self.session_cache(expires_in=-3600)
        res = self.users(AWS_PROFILE="dev")
        self.assertEqual(self.names(res), self.account_users(ACCOUNT))
        self.assertEqual(self.actions(), ["CreateToken", "GetRoleCredentials", "ListUsers"])
        with open(path) as f:
            self.assertNotEqual(json.load(f)["accessToken"], SESSION_TOKEN)

    def test_failed_refresh_keeps_the_valid_token(self):
        path = self.session_cache(expires_in=300, refresh_token="unknown-refresh-SECRET")
        before = open(path).read()
        res = self.users("--debug", AWS_PROFILE="dev")
        self.assertRc(res, 0)
        calls = self.emu.calls()
        self.assertEqual([(c["action"], c["error_code"]) for c in calls],
                         [("CreateToken", "InvalidGrantException"),
                          ("GetRoleCredentials", None), ("ListUsers", None)])
        self.assertEqual(open(path).read(), before)
        self.assertIn("the SSO token could not be refreshed (CreateToken: "
                      "InvalidGrantException: Invalid refresh token provided (request id ",
                      res.err)
        self.assertNoSecrets(res, self.all_secrets() + ["unknown-refresh-SECRET"])

    def test_debug_output_never_shows_a_token(self):
        self.session_cache(expires_in=60)
        res = self.users("--debug", AWS_PROFILE="member")
        self.assertEqual(self.names(res), self.account_users(MEMBER))
        self.assertIn("POST %s/token CreateToken -> 200" % self.emu.url, res.err)
        self.assertIn("GET %s/federation/credentials GetRoleCredentials -> 200" % self.emu.url,
                      res.err)
        secrets = self.all_secrets()
        self.assertGreater(len(secrets), 6)
        self.assertNoSecrets(res, secrets)

    # ------------------------------------------------------------------ errors

    def test_expired_without_refresh_is_one_line_error(self):
        path = self.legacy_cache(expires_in=-60)
        res = self.users("--profile", "legacy")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "iamkeys: error: profile 'legacy': the SSO token for "
                                     "sso_start_url %s expired at " % START_URL,
                                "; run 'aws sso login --profile legacy'")
        self.assertEqual(self.emu.calls(), [])
        self.assertNoSecrets(res, self.all_secrets())
        # sso-session without a refresh token: the same, and the file is untouched
        self.session_cache(expires_in=-60, refresh_token=None)
        before = open(self.cache_path("corp")).read()
        res = self.users(AWS_PROFILE="dev")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'dev': the SSO token for sso-session 'corp' "
                                     "expired at ", "run 'aws sso login --profile dev'")
        self.assertEqual(self.emu.calls(), [])
        self.assertEqual(open(self.cache_path("corp")).read(), before)
        self.assertTrue(os.path.exists(path))

    def test_not_logged_in(self):
        res = self.users(AWS_PROFILE="dev")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'dev': no cached SSO token for sso-session 'corp' "
                                     "(no file '%s'); run 'aws sso login --profile dev'"
                                % self.cache_path("corp"))
        self.assertEqual(self.emu.calls(), [])

    def test_bad_cache_file(self):
        path = self.write_cache("corp", {"accessToken": SESSION_TOKEN})
        res = self.users(AWS_PROFILE="dev")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'dev': the SSO token cache file '%s' is invalid: "
                                     "no expiresAt" % path)
        self.assertEqual(self.emu.calls(), [])
        self.assertNoSecrets(res, [SESSION_TOKEN])

    def test_token_refused_by_the_portal(self):
        self.write_cache(START_URL, {"accessToken": "revoked-token-SECRET",
                                     "expiresAt": utc_in(3600)})
        res = self.users("--profile", "legacy")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'legacy' (sso_account_id %s, sso_role_name "
                                     "ReadOnly): GetRoleCredentials: UnauthorizedException: "
                                     "Session token not found or invalid" % ACCOUNT,
                                "(the SSO token was refused); run 'aws sso login --profile "
                                "legacy'")
        self.assertEqual([(c["action"], c["http_status"]) for c in self.emu.calls()],
                         [("GetRoleCredentials", 401)])
        self.assertNoSecrets(res, ["revoked-token-SECRET"])

    def test_role_not_assigned(self):
        self.legacy_cache()
        with open(os.path.join(self.home, ".aws", "config"), "a") as f:
            f.write("[profile other]\nsso_start_url = %s\nsso_region = eu-west-1\n"
                    "sso_account_id = %s\nsso_role_name = Admin\n" % (START_URL, MEMBER))
        res = self.users("--profile", "other")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "GetRoleCredentials: ForbiddenException: No access",
                                "is the role assigned to you in account %s?" % MEMBER)

    def test_inconsistent_settings(self):
        self.session_cache()
        res = self.users("--profile", "nope")
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'nope': sso_start_url differs from the one in "
                                     "[sso-session corp]")
        self.assertEqual(self.emu.calls(), [])

    # ------------------------------------------------------------------ chaining, endpoints

    def test_role_chained_from_sso_source_profile(self):
        self.session_cache()
        res = self.users(AWS_PROFILE="member")
        self.assertEqual(self.names(res), self.account_users(MEMBER))
        calls = self.emu.calls()
        self.assertEqual([c["action"] for c in calls],
                         ["GetRoleCredentials", "AssumeRole", "ListUsers"])
        self.assertSsoSession(calls[1])  # AssumeRole signed with the SSO session
        self.assertEqual(calls[1]["params"]["RoleArn"], MEMBER_ARN)
        self.assertEqual(calls[2]["account"], MEMBER)
        self.assertTrue(calls[2]["principal"].endswith(
            ":assumed-role/%s/via-sso" % fixtures.ORG_ROLE), calls[2])

    def test_service_specific_endpoint_variables(self):
        """Without AWS_ENDPOINT_URL: AWS_ENDPOINT_URL_SSO and _SSO_OIDC reach the emulator;
        without them, the real endpoints would be used (and fail here, offline)."""
        self.session_cache(expires_in=60)
        base = dict(AWS_PROFILE="dev", AWS_ENDPOINT_URL=None,
                    AWS_ENDPOINT_URL_IAM=self.emu.url, AWS_ENDPOINT_URL_STS=self.emu.url,
                    AWS_MAX_ATTEMPTS="1")
        res = self.users(AWS_ENDPOINT_URL_SSO=self.emu.url,
                         AWS_ENDPOINT_URL_SSO_OIDC=self.emu.url, **base)
        self.assertEqual(self.names(res), self.account_users(ACCOUNT))
        self.assertEqual(self.actions(), ["CreateToken", "GetRoleCredentials", "ListUsers"])
        # only the portal redirected (to a closed port): the error names the SSO call
        self.emu.reset_calls()
        self.session_cache(expires_in=3600)
        res = self.users(AWS_ENDPOINT_URL_SSO="http://127.0.0.1:9", **base)
        self.assertRc(res, 1)
        self.assertOneLineError(res, "profile 'dev' (sso_account_id %s, sso_role_name ReadOnly):"
                                     " GetRoleCredentials: cannot reach 127.0.0.1:9" % ACCOUNT)
        self.assertEqual(self.emu.calls(), [])


if __name__ == "__main__":
    import unittest
    unittest.main()
