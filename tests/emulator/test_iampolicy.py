"""The emulator's user policies and GetSessionToken (tests/emulator/iampolicy_service.py),
through boto3: a deny on aws:TokenIssueTime rejects older sessions, not newer ones."""
import json

from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

QV2 = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"
LEAK = key("iampolicy/leak", 10)


def policy_fixture():
    fx = fixtures.admin_fixture([
        {"name": "leaky", "keys": [LEAK], "allow": ["ssm:*", "sts:*", "iam:GetUser"]},
        {"name": "quarantined", "keys": [key("iampolicy/q", 20)],
         "attached_policies": [QV2],
         "inline_policies": {"keep": {"Version": "2012-10-17", "Statement": [
             {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}}}])
    fx["accounts"][0]["parameters"] = [{"name": "p", "value": "v"}]
    return fx


def deny_before(when):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": when}}}]})


class IamPolicyTest(EmulatorTestCase):
    emulator_fixture = staticmethod(policy_fixture)

    def setUp(self):
        self.reset_emulator()
        self.iam = self.emu.client("iam")

    def session(self):
        sts = self.emu.client("sts", LEAK["id"], LEAK["secret"])
        c = sts.get_session_token(DurationSeconds=3600)["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        return self.emu.client("ssm", c["AccessKeyId"], c["SecretAccessKey"],
                               c["SessionToken"])

    def test_inline_policy_calls(self):
        doc = deny_before("2020-01-01T00:00:00Z")
        self.iam.put_user_policy(UserName="leaky", PolicyName="iamkeys-revoke-x",
                                 PolicyDocument=doc)
        self.assertEqual(self.iam.list_user_policies(UserName="leaky")["PolicyNames"],
                         ["iamkeys-revoke-x"])
        got = self.iam.get_user_policy(UserName="leaky", PolicyName="iamkeys-revoke-x")
        self.assertEqual(got["PolicyDocument"], json.loads(doc))  # boto3 URL-decodes
        raw = self.emu.iam("GetUserPolicy", UserName="leaky", PolicyName="iamkeys-revoke-x")
        self.assertIn(b"%22Effect%22%3A%20%22Deny%22", raw.body)
        self.iam.delete_user_policy(UserName="leaky", PolicyName="iamkeys-revoke-x")
        self.assertEqual(self.iam.list_user_policies(UserName="leaky")["PolicyNames"], [])
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.delete_user_policy(UserName="leaky", PolicyName="iamkeys-revoke-x")
        with self.assertRaises(self.iam.exceptions.MalformedPolicyDocumentException):
            self.iam.put_user_policy(UserName="leaky", PolicyName="bad", PolicyDocument="{")
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.list_user_policies(UserName="nobody")

    def test_quarantine_policy_denies_what_aws_denies(self):
        q = key("iampolicy/q", 20)
        iam = self.emu.client("iam", q["id"], q["secret"])
        with self.assertRaises(iam.exceptions.ClientError) as cm:
            iam.create_access_key(UserName="quarantined")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        self.assertIn("perform: iam:CreateAccessKey", cm.exception.response["Error"]["Message"])
        with self.assertRaises(iam.exceptions.ClientError):
            iam.update_access_key(UserName="quarantined", AccessKeyId=q["id"],
                                  Status="Inactive")
        self.assertEqual([k["Status"] for k in iam.list_access_keys(
            UserName="quarantined")["AccessKeyMetadata"]], ["Active"])

    def test_attached_policies_and_authorization_details(self):
        self.assertEqual(self.iam.list_attached_user_policies(UserName="quarantined")
                         ["AttachedPolicies"],
                         [{"PolicyName": "AWSCompromisedKeyQuarantineV2", "PolicyArn": QV2}])
        v3 = QV2[:-1] + "3"
        self.iam.attach_user_policy(UserName="leaky", PolicyArn=v3)
        self.iam.attach_user_policy(UserName="leaky", PolicyArn=v3)  # idempotent
        self.assertEqual(self.iam.list_attached_user_policies(UserName="leaky")
                         ["AttachedPolicies"],
                         [{"PolicyName": "AWSCompromisedKeyQuarantineV3", "PolicyArn": v3}])
        users = {u["UserName"]: u for u in self.iam.get_account_authorization_details(
            Filter=["User"])["UserDetailList"]}
        self.assertEqual(users["quarantined"]["AttachedManagedPolicies"],
                         [{"PolicyName": "AWSCompromisedKeyQuarantineV2", "PolicyArn": QV2}])
        self.assertEqual([p["PolicyName"] for p in users["quarantined"]["UserPolicyList"]],
                         ["keep"])
        self.assertEqual(users["admin"]["AttachedManagedPolicies"], [])
        dumped = {u["user"]: u for u in self.emu.state()["accounts"][0]["user_policies"]}
        self.assertEqual(dumped["leaky"]["attached_policies"], [v3])

    def test_token_issue_time_deny_rejects_older_sessions_only(self):
        old = self.session()
        self.assertEqual(old.get_parameter(Name="p")["Parameter"]["Value"], "v")
        self.emu.advance_clock(10)
        now = self.emu.clock()["now"]
        self.iam.put_user_policy(UserName="leaky", PolicyName="iamkeys-revoke-1",
                                 PolicyDocument=deny_before(now))
        with self.assertRaises(old.exceptions.ClientError) as cm:
            old.get_parameter(Name="p")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn("explicit deny", cm.exception.response["Error"]["Message"])
        self.emu.advance_clock(1)
        new = self.session()
        self.assertEqual(new.get_parameter(Name="p")["Parameter"]["Value"], "v")
        # the long-term key has no aws:TokenIssueTime: not denied
        ssm = self.emu.client("ssm", LEAK["id"], LEAK["secret"])
        self.assertEqual(ssm.get_parameter(Name="p")["Parameter"]["Value"], "v")
        # GetCallerIdentity is never denied
        self.assertEqual([(c["action"], c["http_status"]) for c in self.emu.calls()
                          if c["service"] == "ssm"],
                         [("GetParameter", 200), ("GetParameter", 400), ("GetParameter", 200),
                          ("GetParameter", 200)])

    def test_session_credentials_limits(self):
        sts = self.emu.client("sts", LEAK["id"], LEAK["secret"])
        c = sts.get_session_token()["Credentials"]
        s = self.emu.client("sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        ident = s.get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:iam::111111111111:user/leaky")
        with self.assertRaises(s.exceptions.ClientError) as cm:
            s.get_session_token()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        i = self.emu.client("iam", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        with self.assertRaises(i.exceptions.ClientError) as cm:
            i.get_user()
        self.assertIn("MFA", cm.exception.response["Error"]["Message"])
        with self.assertRaises(sts.exceptions.ClientError):
            sts.get_session_token(DurationSeconds=129601)
