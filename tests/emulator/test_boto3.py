"""Debian's python3-boto3 (an independent, real client) against the emulator: paginators,
modeled exceptions, retries on Throttling/5xx, session credentials."""
import base64
import datetime
import unittest

from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import EmulatorTestCase

N_USERS = 230
K_TWO = [key("b3/two/1", 40), key("b3/two/2", 4)]


def boto3_fixture():
    fx = fixtures.organization(45, 0)
    users = fx["accounts"][0]["users"]
    users.append({"name": "twokeys", "keys": K_TWO, "groups": ["Admins", "Developers"],
                  "tags": {"t%02d" % i: str(i) for i in range(7)}})
    users += [{"name": "bulk%03d" % i, "path": "/bulk/"} for i in range(N_USERS)]
    return fx


class Boto3Tests(EmulatorTestCase):
    emulator_fixture = staticmethod(boto3_fixture)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = cls.emu.client("iam")

    def setUp(self):
        self.emu.clear_faults()
        self.emu.reset_calls()

    def test_list_users_paginator(self):
        pages = list(self.iam.get_paginator("list_users").paginate(
            PathPrefix="/bulk/", PaginationConfig={"PageSize": 100}))
        self.assertEqual([len(p["Users"]) for p in pages], [100, 100, 30])
        names = [u["UserName"] for p in pages for u in p["Users"]]
        self.assertEqual(names, ["bulk%03d" % i for i in range(N_USERS)])
        self.assertEqual(self.emu.counters(), {"iam:ListUsers": 3})
        markers = [c["params"].get("Marker") for c in self.emu.calls()]
        self.assertIsNone(markers[0])
        self.assertTrue(all(markers[1:]))
        u = pages[0]["Users"][0]
        self.assertIsInstance(u["CreateDate"], datetime.datetime)
        self.assertEqual(u["Arn"], "arn:aws:iam::111111111111:user/bulk/bulk000")
        # default page size (100) over everything
        everything = self.iam.get_paginator("list_users").paginate().build_full_result()
        self.assertEqual(len(everything["Users"]), N_USERS + 2)

    def test_small_list_paginators(self):
        keys = self.iam.get_paginator("list_access_keys").paginate(
            UserName="twokeys", PaginationConfig={"PageSize": 1}).build_full_result()
        self.assertEqual([k["AccessKeyId"] for k in keys["AccessKeyMetadata"]],
                         [k["id"] for k in K_TWO])
        tags = self.iam.get_paginator("list_user_tags").paginate(
            UserName="twokeys", PaginationConfig={"PageSize": 3}).build_full_result()
        self.assertEqual({t["Key"]: t["Value"] for t in tags["Tags"]},
                         {"t%02d" % i: str(i) for i in range(7)})
        groups = self.iam.get_paginator("list_groups_for_user").paginate(
            UserName="twokeys", PaginationConfig={"PageSize": 1}).build_full_result()
        self.assertEqual([g["GroupName"] for g in groups["Groups"]], ["Admins", "Developers"])
        c = self.emu.counters()
        self.assertEqual((c["iam:ListAccessKeys"], c["iam:ListUserTags"],
                          c["iam:ListGroupsForUser"]), (2, 3, 2))

    def test_account_authorization_details_paginator(self):
        pages = list(self.iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["User"], PaginationConfig={"PageSize": 100}))
        self.assertEqual([len(p["UserDetailList"]) for p in pages], [100, 100, 32])
        self.assertEqual([p["GroupDetailList"] for p in pages], [[], [], []])
        self.assertEqual([p["IsTruncated"] for p in pages], [True, True, False])
        users = {u["UserName"]: u for p in pages for u in p["UserDetailList"]}
        self.assertEqual(len(users), N_USERS + 2)
        two = users["twokeys"]
        self.assertEqual(two["GroupList"], ["Admins", "Developers"])
        self.assertEqual({t["Key"]: t["Value"] for t in two["Tags"]},
                         {"t%02d" % i: str(i) for i in range(7)})
        self.assertEqual((two["UserPolicyList"], two["AttachedManagedPolicies"]), ([], []))
        b = users["bulk007"]
        self.assertEqual((b["Path"], b["Arn"], b["GroupList"], b.get("Tags")),
                         ("/bulk/", "arn:aws:iam::111111111111:user/bulk/bulk007", [], None))
        self.assertIsInstance(b["CreateDate"], datetime.datetime)
        self.assertEqual(self.emu.counters(), {"iam:GetAccountAuthorizationDetails": 3})
        # without a filter, groups follow the users
        full = self.iam.get_paginator("get_account_authorization_details").paginate(
        ).build_full_result()
        self.assertEqual(len(full["UserDetailList"]), N_USERS + 2)
        self.assertEqual(sorted(g["GroupName"] for g in full["GroupDetailList"]),
                         ["Admins", "Developers"])
        with self.assertRaises(self.iam.exceptions.ClientError) as cm:
            self.iam.get_account_authorization_details(Filter=["Users"])
        self.assertEqual(cm.exception.response["Error"]["Code"], "ValidationError")

    def test_organizations_paginator(self):
        org = self.emu.client("organizations")
        accounts = org.get_paginator("list_accounts").paginate().build_full_result()["Accounts"]
        self.assertEqual(len(accounts), 45)
        self.assertEqual(accounts[1]["Id"], fixtures.member_account_id(1))
        self.assertIsInstance(accounts[1]["JoinedTimestamp"], datetime.datetime)
        self.assertEqual(self.emu.counters()["organizations:ListAccounts"], 3)
        self.assertEqual(org.describe_organization()["Organization"]["Id"], fixtures.ORG_ID)

    def test_modeled_exceptions(self):
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException) as cm:
            self.iam.get_user(UserName="nobody")
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "NoSuchEntity")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertEqual(err["ResponseMetadata"]["RequestId"],
                         err["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
        with self.assertRaises(self.iam.exceptions.LimitExceededException) as cm:
            self.iam.create_access_key(UserName="twokeys")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "Cannot exceed quota for AccessKeysPerUser: 2")
        sm = self.emu.client("secretsmanager")
        with self.assertRaises(sm.exceptions.ResourceNotFoundException):
            sm.get_secret_value(SecretId="missing")
        ssm = self.emu.client("ssm")
        with self.assertRaises(ssm.exceptions.ParameterNotFound):
            ssm.get_parameter(Name="/missing")

    def test_retry_on_throttling_and_server_error(self):
        iam = self.emu.client("iam", max_attempts=3)
        self.emu.fault("ListGroupsForUser", kind="throttle", nth=1)
        self.emu.fault("ListUserTags", kind="server_error", nth=1)
        self.assertEqual(len(iam.list_groups_for_user(UserName="twokeys")["Groups"]), 2)
        self.assertEqual(len(iam.list_user_tags(UserName="twokeys")["Tags"]), 7)
        c = self.emu.counters()
        self.assertEqual((c["iam:ListGroupsForUser"], c["iam:ListUserTags"]), (2, 2))

    def test_key_rotation_and_session_credentials(self):
        iam = self.iam
        iam.create_user(UserName="b3-rotate")
        new = iam.create_access_key(UserName="b3-rotate")["AccessKey"]
        me = self.emu.client("sts", access_key_id=new["AccessKeyId"],
                             secret=new["SecretAccessKey"]).get_caller_identity()
        self.assertEqual(me["Arn"], "arn:aws:iam::111111111111:user/b3-rotate")
        last = iam.get_access_key_last_used(AccessKeyId=new["AccessKeyId"])
        self.assertEqual(last["AccessKeyLastUsed"]["ServiceName"], "sts")
        self.assertIsInstance(last["AccessKeyLastUsed"]["LastUsedDate"], datetime.datetime)
        iam.update_access_key(UserName="b3-rotate", AccessKeyId=new["AccessKeyId"],
                              Status="Inactive")
        iam.delete_access_key(UserName="b3-rotate", AccessKeyId=new["AccessKeyId"])
        iam.delete_user(UserName="b3-rotate")
        creds = self.emu.client("sts").assume_role(
            RoleArn="arn:aws:iam::%s:role/%s" % (fixtures.member_account_id(2),
                                                 fixtures.ORG_ROLE),
            RoleSessionName="boto3")["Credentials"]
        self.assertIsInstance(creds["Expiration"], datetime.datetime)
        member = self.emu.client("sts", access_key_id=creds["AccessKeyId"],
                                 secret=creds["SecretAccessKey"],
                                 session_token=creds["SessionToken"])
        self.assertEqual(member.get_caller_identity()["Account"], fixtures.member_account_id(2))

    def test_credential_report_blob(self):
        with self.assertRaises(self.iam.exceptions.CredentialReportNotPresentException) as cm:
            self.iam.get_credential_report()
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 410)
        self.assertEqual(self.iam.generate_credential_report()["State"], "STARTED")
        rep = self.iam.get_credential_report()
        self.assertIsInstance(rep["Content"], bytes)  # botocore base64-decodes the blob
        lines = rep["Content"].decode().split("\n")
        self.assertTrue(lines[0].startswith("user,arn,user_creation_time,password_enabled,"))
        self.assertEqual(len(lines), 1 + 1 + 2 + N_USERS)  # header, root, admin+twokeys, bulk
        self.assertTrue(lines[1].startswith("<root_account>,arn:aws:iam::111111111111:root,"))
        self.assertEqual(base64.b64encode(rep["Content"]).decode()[:4], "dXNl")


if __name__ == "__main__":
    unittest.main()
