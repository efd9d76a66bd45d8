"""Debian's awscli v2 (/usr/bin/aws, a real client) drives the emulator.

Starting /usr/bin/aws costs a second or more of imports, so the command chains run once,
in setUpClass, through harness.AwsCli (the entry point of /usr/bin/aws, executed inside
one long-lived process); a few commands also run as real /usr/bin/aws processes in
parallel.  Each test checks the results of one chain."""
import base64
import concurrent.futures
import datetime
import os
import re
import unittest

from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import AWS_CLI, AwsCli, Emulator

K_LIMIT = [key("cli/limit/1", 30), key("cli/limit/2", 3)]
K_INACTIVE = key("cli/inactive", 50, status="Inactive")
K_BAD = key("cli/bad", 20)
K_NEVER = key("cli/never", 9)
N_PAGED = 23
MEMBER = fixtures.member_account_id(7)


def cli_fixture():
    fx = fixtures.organization(45, 0)
    users = fx["accounts"][0]["users"]
    users += [
        {"name": "cli-keys"},
        {"name": "cli-tags", "tags": {"keep": "me"}},
        {"name": "cli-limit", "keys": K_LIMIT},
        {"name": "cli-inactive", "keys": [K_INACTIVE]},
        {"name": "cli-bad", "keys": [K_BAD]},
        {"name": "cli-never", "keys": [K_NEVER]},
        {"name": "cli-groups", "groups": ["Developers", "Admins"]},
    ]
    users += [{"name": "cli-page-%02d" % i, "path": "/paged/"} for i in range(N_PAGED)]
    return fx


def _users_chain(emu, aws):
    return {
        "create": aws("iam", "create-user", "--user-name", "cli-new", "--path", "/cli/",
                          "--tags", "Key=team,Value=qa"),
        "get": aws("iam", "get-user", "--user-name", "cli-new"),
        "delete": aws("iam", "delete-user", "--user-name", "cli-new"),
        "get_after": aws("iam", "get-user", "--user-name", "cli-new"),
    }


def _paging_chain(emu, aws):
    out = {"all": aws("iam", "list-users", "--path-prefix", "/paged/", "--page-size", "10")}
    out["first5"] = aws("iam", "list-users", "--path-prefix", "/paged/", "--max-items", "5")
    tok = (out["first5"].json or {}).get("NextToken")
    out["rest"] = aws("iam", "list-users", "--path-prefix", "/paged/", "--starting-token",
                          tok or "missing", "--max-items", "100")
    return out


def _keys_chain(emu, aws):
    out = {"create": aws("iam", "create-access-key", "--user-name", "cli-keys")}
    kid = out["create"].json["AccessKey"]["AccessKeyId"]
    out["list1"] = aws("iam", "list-access-keys", "--user-name", "cli-keys")
    out["deactivate"] = aws("iam", "update-access-key", "--user-name", "cli-keys",
                                "--access-key-id", kid, "--status", "Inactive")
    out["list2"] = aws("iam", "list-access-keys", "--user-name", "cli-keys")
    out["last_used"] = aws("iam", "get-access-key-last-used", "--access-key-id",
                               K_NEVER["id"])
    out["delete"] = aws("iam", "delete-access-key", "--user-name", "cli-keys",
                            "--access-key-id", kid)
    out["list3"] = aws("iam", "list-access-keys", "--user-name", "cli-keys")
    out["third"] = aws("iam", "create-access-key", "--user-name", "cli-limit")
    return out


def _report_chain(emu, aws):
    return {"generate": aws("iam", "generate-credential-report"),
            "get": aws("iam", "get-credential-report")}


def _tags_chain(emu, aws):
    return {
        "tag": aws("iam", "tag-user", "--user-name", "cli-tags", "--tags",
                       "Key=iamkeys:exempt,Value=true", "Key=owner,Value=ops"),
        "list1": aws("iam", "list-user-tags", "--user-name", "cli-tags"),
        "untag": aws("iam", "untag-user", "--user-name", "cli-tags", "--tag-keys", "owner"),
        "list2": aws("iam", "list-user-tags", "--user-name", "cli-tags"),
        "groups": aws("iam", "list-groups-for-user", "--user-name", "cli-groups"),
        "summary": aws("iam", "get-account-summary"),
    }


def _sts_chain(emu, aws):
    out = {"me": aws("sts", "get-caller-identity"),
           "assume": aws("sts", "assume-role", "--role-arn",
                             "arn:aws:iam::%s:role/%s" % (MEMBER, fixtures.ORG_ROLE),
                             "--role-session-name", "cli-session")}
    c = out["assume"].json["Credentials"]
    env = emu.env(access_key_id=c["AccessKeyId"], secret=c["SecretAccessKey"],
                  session_token=c["SessionToken"])
    out["me_role"] = aws("sts", "get-caller-identity", env=env)
    out["member_users"] = aws("iam", "list-users", env=env)
    out["web"] = aws("sts", "assume-role-with-web-identity", "--role-arn",
                         "arn:aws:iam::111111111111:role/%s" % fixtures.CI_ROLE,
                         "--role-session-name", "gha", "--web-identity-token",
                         fixtures.WEB_IDENTITY_TOKEN,
                         env=emu.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None))
    return out


def _secrets_chain(emu, aws):
    return {
        "create": aws("secretsmanager", "create-secret", "--name", "iamkeys/cli",
                          "--secret-string", "v1", "--description", "cli test"),
        "put": aws("secretsmanager", "put-secret-value", "--secret-id", "iamkeys/cli",
                       "--secret-string", '{"AccessKeyId":"AKIA","SecretAccessKey":"x"}'),
        "get": aws("secretsmanager", "get-secret-value", "--secret-id", "iamkeys/cli"),
        "previous": aws("secretsmanager", "get-secret-value", "--secret-id", "iamkeys/cli",
                            "--version-stage", "AWSPREVIOUS"),
        "describe": aws("secretsmanager", "describe-secret", "--secret-id", "iamkeys/cli"),
    }


def _ssm_chain(emu, aws):
    return {
        "put": aws("ssm", "put-parameter", "--name", "/iamkeys/cli", "--value", "s1",
                       "--type", "SecureString"),
        "again": aws("ssm", "put-parameter", "--name", "/iamkeys/cli", "--value", "s2",
                         "--type", "SecureString"),
        "overwrite": aws("ssm", "put-parameter", "--name", "/iamkeys/cli", "--value", "s2",
                             "--type", "SecureString", "--overwrite"),
        "get": aws("ssm", "get-parameter", "--name", "/iamkeys/cli", "--with-decryption"),
        "get_enc": aws("ssm", "get-parameter", "--name", "/iamkeys/cli"),
    }


def _org_chain(emu, aws):
    return {"describe": aws("organizations", "describe-organization"),
            "accounts": aws("organizations", "list-accounts")}


def _errors_chain(emu, aws):
    return {
        "bad_secret": aws("sts", "get-caller-identity",
                              env=emu.env(access_key_id=K_BAD["id"], secret="Z" * 40)),
        "inactive": aws("iam", "list-users",
                            env=emu.env(access_key_id=K_INACTIVE["id"],
                                        secret=K_INACTIVE["secret"])),
    }


CHAINS = {"users": _users_chain, "paging": _paging_chain, "keys": _keys_chain,
          "report": _report_chain, "tags": _tags_chain, "sts": _sts_chain,
          "secrets": _secrets_chain, "ssm": _ssm_chain, "org": _org_chain,
          "errors": _errors_chain}


@unittest.skipUnless(os.access(AWS_CLI, os.X_OK), "Debian's awscli is not installed")
class AwsCliTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = emu = Emulator(cli_fixture()).start()
        cls.results = {}
        cls.failures = {}

        def run_chains():
            with AwsCli() as cli:
                def aws(*args, **kw):
                    return emu.aws(*args, runner=cli, **kw)
                for name, fn in CHAINS.items():
                    try:
                        cls.results[name] = fn(emu, aws)
                    except Exception as e:  # reported by the test that needs the chain
                        cls.failures[name] = e

        def run_binary():  # real /usr/bin/aws processes
            return {"me": emu.aws("sts", "get-caller-identity"),
                    "paged": emu.aws("iam", "list-users", "--path-prefix", "/paged/",
                                     "--page-size", "8"),
                    "third": emu.aws("iam", "create-access-key", "--user-name", "cli-limit")}

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            chains = ex.submit(run_chains)
            binary = ex.submit(run_binary)
            chains.result()
            cls.binary = binary.result()
        cls.calls = emu.calls()
        # moves the emulator clock: runs after everything else
        emu.set_clock(offset_seconds=600)
        cls.skewed = emu.aws("sts", "get-caller-identity")
        emu.set_clock(0)

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def chain(self, name):
        if name in self.failures:
            raise self.failures[name]
        return self.results[name]

    def ok(self, r):
        self.assertEqual(r.rc, 0, r)
        return r.json

    def fails(self, r, code, message=None):
        self.assertEqual(r.rc, 254, r)
        m = re.search(r"An error occurred \(([^)]+)\) when calling the \w+ operation: (.*)",
                      r.stderr)
        self.assertIsNotNone(m, r)
        self.assertEqual(m.group(1), code)
        if message is not None:
            self.assertEqual(m.group(2).strip(), message)

    def test_create_get_delete_user(self):
        c = self.chain("users")
        u = self.ok(c["create"])["User"]
        self.assertEqual((u["UserName"], u["Path"], u["Arn"]),
                         ("cli-new", "/cli/", "arn:aws:iam::111111111111:user/cli/cli-new"))
        self.assertRegex(u["UserId"], r"^AIDA[A-Z2-7]{17}$")
        g = self.ok(c["get"])["User"]
        self.assertEqual(g["Tags"], [{"Key": "team", "Value": "qa"}])
        self.assertEqual(g["CreateDate"], u["CreateDate"])
        self.assertEqual(c["delete"].rc, 0, c["delete"])
        self.fails(c["get_after"], "NoSuchEntity", "The user with name cli-new cannot be found.")

    def test_list_users_pagination(self):
        c = self.chain("paging")
        names = [u["UserName"] for u in self.ok(c["all"])["Users"]]
        self.assertEqual(names, ["cli-page-%02d" % i for i in range(N_PAGED)])
        pages = [x for x in self.calls if x["action"] == "ListUsers"
                 and x["params"].get("PathPrefix") == "/paged/"
                 and x["params"].get("MaxItems") == "10"]
        self.assertEqual(len(pages), 3)
        self.assertEqual([bool(x["params"].get("Marker")) for x in pages], [False, True, True])
        first = self.ok(c["first5"])
        self.assertEqual([u["UserName"] for u in first["Users"]],
                         ["cli-page-%02d" % i for i in range(5)])
        self.assertIn("NextToken", first)
        rest = self.ok(c["rest"])
        self.assertEqual([u["UserName"] for u in rest["Users"]],
                         ["cli-page-%02d" % i for i in range(5, N_PAGED)])

    def test_access_key_lifecycle(self):
        c = self.chain("keys")
        k = self.ok(c["create"])["AccessKey"]
        self.assertRegex(k["AccessKeyId"], r"^AKIA[A-Z2-7]{16}$")
        self.assertEqual((len(k["SecretAccessKey"]), k["Status"], k["UserName"]),
                         (40, "Active", "cli-keys"))
        l1 = self.ok(c["list1"])["AccessKeyMetadata"]
        self.assertEqual([(x["AccessKeyId"], x["Status"]) for x in l1],
                         [(k["AccessKeyId"], "Active")])
        self.assertEqual(c["deactivate"].rc, 0, c["deactivate"])
        l2 = self.ok(c["list2"])["AccessKeyMetadata"]
        self.assertEqual([x["Status"] for x in l2], ["Inactive"])
        lu = self.ok(c["last_used"])
        self.assertEqual(lu, {"UserName": "cli-never",
                              "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}})
        self.assertEqual(c["delete"].rc, 0, c["delete"])
        self.assertEqual(self.ok(c["list3"])["AccessKeyMetadata"], [])
        self.fails(c["third"], "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")

    def test_credential_report(self):
        c = self.chain("report")
        self.assertEqual(self.ok(c["generate"])["State"], "STARTED")
        rep = self.ok(c["get"])
        self.assertEqual(rep["ReportFormat"], "text/csv")
        datetime.datetime.fromisoformat(rep["GeneratedTime"])
        text = base64.b64decode(rep["Content"]).decode()
        lines = text.split("\n")
        self.assertEqual(len(lines[0].split(",")), 22)
        self.assertTrue(lines[1].startswith("<root_account>,arn:aws:iam::111111111111:root,"))
        row = [x for x in lines if x.startswith("cli-inactive,")][0].split(",")
        self.assertEqual(row[8:13][0], "FALSE")  # access_key_1_active
        self.assertEqual(row[10:13], ["N/A", "N/A", "N/A"])

    def test_tags_groups_summary(self):
        c = self.chain("tags")
        self.assertEqual(c["tag"].rc, 0, c["tag"])
        self.assertEqual(self.ok(c["list1"])["Tags"], [
            {"Key": "keep", "Value": "me"}, {"Key": "iamkeys:exempt", "Value": "true"},
            {"Key": "owner", "Value": "ops"}])
        self.assertEqual(c["untag"].rc, 0, c["untag"])
        self.assertEqual([t["Key"] for t in self.ok(c["list2"])["Tags"]],
                         ["keep", "iamkeys:exempt"])
        self.assertEqual([g["GroupName"] for g in self.ok(c["groups"])["Groups"]],
                         ["Developers", "Admins"])
        s = self.ok(c["summary"])["SummaryMap"]
        self.assertEqual((s["AccessKeysPerUserQuota"], s["UsersQuota"]), (2, 5000))
        self.assertGreaterEqual(s["Users"], 8 + N_PAGED)

    def test_sts(self):
        c = self.chain("sts")
        self.assertEqual(self.ok(c["me"]), {"UserId": "AIDAADMIN000000000001",
                                            "Account": "111111111111",
                                            "Arn": "arn:aws:iam::111111111111:user/admin"})
        a = self.ok(c["assume"])
        self.assertRegex(a["Credentials"]["AccessKeyId"], r"^ASIA[A-Z2-7]{16}$")
        arn = "arn:aws:sts::%s:assumed-role/%s/cli-session" % (MEMBER, fixtures.ORG_ROLE)
        self.assertEqual(a["AssumedRoleUser"]["Arn"], arn)
        me = self.ok(c["me_role"])
        self.assertEqual((me["Account"], me["Arn"]), (MEMBER, arn))
        self.assertEqual(self.ok(c["member_users"])["Users"], [])
        w = self.ok(c["web"])
        self.assertEqual(w["SubjectFromWebIdentityToken"],
                         "repo:example/iamkeys:ref:refs/heads/main")
        self.assertEqual(w["AssumedRoleUser"]["Arn"],
                         "arn:aws:sts::111111111111:assumed-role/%s/gha" % fixtures.CI_ROLE)
        web = [x for x in self.calls if x["action"] == "AssumeRoleWithWebIdentity"]
        self.assertEqual([(x["signature_ok"], x["http_status"]) for x in web], [(False, 200)])

    def test_secrets_manager(self):
        c = self.chain("secrets")
        cr = self.ok(c["create"])
        self.assertTrue(cr["ARN"].startswith(
            "arn:aws:secretsmanager:us-east-1:111111111111:secret:iamkeys/cli-"))
        put = self.ok(c["put"])
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        g = self.ok(c["get"])
        self.assertEqual((g["SecretString"], g["VersionId"]),
                         ('{"AccessKeyId":"AKIA","SecretAccessKey":"x"}', put["VersionId"]))
        p = self.ok(c["previous"])
        self.assertEqual((p["SecretString"], p["VersionId"]), ("v1", cr["VersionId"]))
        d = self.ok(c["describe"])
        self.assertEqual(d["Description"], "cli test")
        self.assertEqual(d["VersionIdsToStages"], {cr["VersionId"]: ["AWSPREVIOUS"],
                                                   put["VersionId"]: ["AWSCURRENT"]})

    def test_ssm(self):
        c = self.chain("ssm")
        self.assertEqual(self.ok(c["put"]), {"Version": 1, "Tier": "Standard"})
        self.fails(c["again"], "ParameterAlreadyExists")
        self.assertEqual(self.ok(c["overwrite"])["Version"], 2)
        p = self.ok(c["get"])["Parameter"]
        self.assertEqual((p["Name"], p["Type"], p["Value"], p["Version"]),
                         ("/iamkeys/cli", "SecureString", "s2", 2))
        self.assertNotEqual(self.ok(c["get_enc"])["Parameter"]["Value"], "s2")

    def test_organizations(self):
        c = self.chain("org")
        o = self.ok(c["describe"])["Organization"]
        self.assertEqual((o["Id"], o["MasterAccountId"]), (fixtures.ORG_ID, "111111111111"))
        accts = self.ok(c["accounts"])["Accounts"]
        self.assertEqual(len(accts), 45)
        self.assertEqual({a["Status"] for a in accts}, {"ACTIVE"})
        self.assertEqual(len([x for x in self.calls if x["action"] == "ListAccounts"]), 3)

    def test_authentication_errors(self):
        c = self.chain("errors")
        self.fails(c["bad_secret"], "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your AWS Secret Access Key and signing method. Consult the "
                   "service documentation for details.")
        self.fails(c["inactive"], "InvalidClientTokenId",
                   "The security token included in the request is invalid.")

    def test_real_binary(self):
        b = self.binary
        self.assertEqual(b["me"].cmd[0], AWS_CLI)
        self.assertEqual(self.ok(b["me"])["Arn"], "arn:aws:iam::111111111111:user/admin")
        names = [u["UserName"] for u in self.ok(b["paged"])["Users"]]
        self.assertEqual(names, ["cli-page-%02d" % i for i in range(N_PAGED)])
        pages = [x for x in self.calls if x["action"] == "ListUsers"
                 and x["params"].get("MaxItems") == "8"]
        self.assertEqual(len(pages), 3)
        self.fails(b["third"], "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")

    def test_skewed_clock(self):
        self.assertEqual(self.skewed.rc, 254, self.skewed)
        self.assertRegex(self.skewed.stderr, r"An error occurred \(SignatureDoesNotMatch\) when "
                         r"calling the GetCallerIdentity operation: Signature expired: "
                         r"\d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - "
                         r"5 min\.\)")


if __name__ == "__main__":
    unittest.main()
