"""The emulator's centralized root access (tests/emulator/root_service.py): AssumeRoot
sessions limited by their task policy, ListOrganizationsFeatures, and the refusals."""
import re
import xml.etree.ElementTree as ET

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

NS = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
      "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
AUDIT = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
DELETE = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
M = fixtures.member_account_id


def _code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else None


class RootAccessTest(EmulatorTestCase):
    emulator_fixture = staticmethod(fixtures.root_access_organization)

    def setUp(self):
        self.reset_emulator()

    def assume_root(self, target, policy=AUDIT, **extra):
        p = {"Action": "AssumeRoot", "Version": "2011-06-15", "TargetPrincipal": target,
             "TaskPolicyArn.arn": policy}
        p.update({k: str(v) for k, v in extra.items()})
        kid, secret = self.emu.default_credentials()
        return self.emu.request("sts", params=p, access_key_id=kid, secret=secret)

    def session(self, target, policy=AUDIT):
        r = self.assume_root(target, policy)
        self.assertEqual(r.status, 200, r.body)
        doc = ET.fromstring(r.body)
        c = doc.find("sts:AssumeRootResult/sts:Credentials", NS)
        return (c.find("sts:AccessKeyId", NS).text, c.find("sts:SecretAccessKey", NS).text,
                c.find("sts:SessionToken", NS).text)

    def iam_as(self, sess, action, **params):
        kid, secret, token = sess
        p = {"Action": action, "Version": "2010-05-08"}
        p.update(params)
        return self.emu.request("iam", params=p, access_key_id=kid, secret=secret,
                                session_token=token)

    def test_list_organizations_features(self):
        r = self.emu.iam("ListOrganizationsFeatures")
        self.assertEqual(r.status, 200, r.body)
        doc = ET.fromstring(r.body)
        res = doc.find("iam:ListOrganizationsFeaturesResult", NS)
        self.assertEqual(res.find("iam:OrganizationId", NS).text, fixtures.ORG_ID)
        self.assertEqual([m.text for m in res.findall("iam:EnabledFeatures/iam:member", NS)],
                         ["RootCredentialsManagement", "RootSessions"])

    def test_features_not_enabled_and_not_admin(self):
        self.emu.load(fixtures.root_access_organization(features=None))
        r = self.emu.iam("ListOrganizationsFeatures")
        self.assertEqual((r.status, _code(r.body)), (400, "ServiceAccessNotEnabledException"))
        self.emu.load(fixtures.admin_fixture())
        r = self.emu.iam("ListOrganizationsFeatures")
        self.assertEqual((r.status, _code(r.body)), (400, "OrganizationNotFoundException"))

    def test_audit_session_reads_root_keys_and_nothing_more(self):
        sess = self.session(M(1))
        r = self.iam_as(sess, "ListAccessKeys")
        self.assertEqual(r.status, 200, r.body)
        ids = [e.text for e in ET.fromstring(r.body).findall(
            ".//iam:AccessKeyMetadata/iam:member/iam:AccessKeyId", NS)]
        self.assertEqual(ids, [fixtures.key_id("root-1")])
        r = self.iam_as(sess, "GetAccessKeyLastUsed", AccessKeyId=ids[0])
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(b"<ServiceName>iam</ServiceName>", r.body)
        r = self.iam_as(sess, "UpdateAccessKey", AccessKeyId=ids[0], Status="Inactive")
        self.assertEqual((r.status, _code(r.body)), (403, "AccessDenied"))
        r = self.iam_as(sess, "ListUsers")
        self.assertEqual((r.status, _code(r.body)), (403, "AccessDenied"))
        acc = [a for a in self.emu.state()["accounts"] if a["id"] == M(1)][0]
        self.assertEqual([k["status"] for k in acc["root"]["keys"]], ["Active"])

    def test_delete_session_deactivates_and_deletes(self):
        sess = self.session(M(2), DELETE)
        kid = fixtures.key_id("root-2")
        r = self.iam_as(sess, "UpdateAccessKey", AccessKeyId=kid, Status="Inactive")
        self.assertEqual(r.status, 200, r.body)
        r = self.iam_as(sess, "DeleteAccessKey", AccessKeyId=kid)
        self.assertEqual(r.status, 200, r.body)
        acc = [a for a in self.emu.state()["accounts"] if a["id"] == M(2)][0]
        self.assertEqual(acc["root"]["keys"], [])
        r = self.iam_as(sess, "CreateAccessKey")
        self.assertEqual((r.status, _code(r.body)), (403, "AccessDenied"))

    def test_refusals(self):
        cases = [
            ((M(4),), {}, 403, "AccessDenied"),  # denied for this account
            ((fixtures.ACCOUNT_ID,), {}, 403, "AccessDenied"),  # the management account
            (("999999999999",), {}, 403, "AccessDenied"),  # not in the organization
            ((M(1), "arn:aws:iam::aws:policy/AdministratorAccess"), {}, 400,
             "ValidationError"),
            ((M(1),), {"DurationSeconds": 901}, 400, "ValidationError"),
            (("not-an-account",), {}, 400, "ValidationError"),
        ]
        for args, extra, status, code in cases:
            r = self.assume_root(*args, **extra)
            self.assertEqual((r.status, _code(r.body)), (status, code), (args, r.body))
        self.emu.load(fixtures.root_access_organization(
            features=["RootSessions"]))
        r = self.assume_root(M(1))
        self.assertEqual((r.status, _code(r.body)), (403, "AccessDenied"))

    def test_arn_target_and_duration(self):
        r = self.assume_root("arn:aws:iam::%s:root" % M(3), DurationSeconds=900)
        self.assertEqual(r.status, 200, r.body)
        sess = [s for s in self.emu.state()["sessions"] if s["account"] == M(3)]
        self.assertEqual(len(sess), 1)
        self.assertEqual((sess[0]["arn"], sess[0]["source"]),
                         ("arn:aws:iam::%s:root" % M(3), "AssumeRoot"))
