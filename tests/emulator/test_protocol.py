"""Raw-HTTP checks of the emulator: wire formats, errors, SigV4 verification, clock,
propagation delay, faults, latency, rate limit, call log and control endpoints."""
import base64
import concurrent.futures
import datetime
import http.client
import json
import os
import re
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from tests.emulator import fixtures
from tests.emulator.fixtures import key
from tests.emulator.harness import AWSEMU, PYTHON, Emulator, EmulatorError, EmulatorTestCase

UTC = datetime.timezone.utc
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
HEADER_CSV = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "data",
    "iam-responses", "credential-report-header.csv"))
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISO_REPORT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")

K_LIMITED = key("p/limited", 10)
K_TWO_1 = key("p/two/1", 100)
K_TWO_2 = key("p/two/2", 5)
K_INACTIVE = key("p/inactive", 50, status="Inactive")
K_NEVER = key("p/never", 20)
K_USED = key("p/used", 200, last_used_days=3, service="s3", region="eu-west-1")
K_OTHER = key("p/other", 5)
K_ROTATE = key("p/rotate", 120)
K_SIGN = key("p/sign", 30)
OTHER_ACCOUNT = "222222222222"
N_PAGED = 250


def protocol_fixture():
    extra = [
        {"name": "limited", "allow": ["iam:ListUsers", "iam:ListAccessKeys", "ssm:PutParameter"],
         "keys": [K_LIMITED]},
        {"name": "twokeys", "keys": [K_TWO_1, K_TWO_2]},
        {"name": "inactive", "keys": [K_INACTIVE]},
        {"name": "neverused", "keys": [K_NEVER], "password_enabled": True},
        {"name": "used", "keys": [K_USED], "password_last_used": "-2d", "mfa_active": True,
         "groups": ["Developers", "Admins"], "tags": {"team": "data", "iamkeys:exempt": "true"},
         "path": "/division/", "create_date": "2020-01-02T03:04:05Z"},
        {"name": "nokeys"},
        {"name": "rotator", "keys": [K_ROTATE]},
        {"name": "signer", "keys": [K_SIGN]},
    ] + [{"name": "page%03d" % i, "path": "/paged/"} for i in range(N_PAGED)]
    fx = fixtures.admin_fixture(extra_users=extra)
    fx["accounts"].append({
        "id": OTHER_ACCOUNT,
        "users": [{"name": "other", "keys": [K_OTHER]}],
        "roles": [{"name": "CrossAccount", "trust": [fixtures.ACCOUNT_ID],
                   "allow": ["iam:List*", "sts:GetCallerIdentity", "sts:AssumeRole"]},
                  {"name": "Untrusting", "trust": ["333333333333"]},
                  {"name": "WithExternalId", "trust": ["*"], "external_id": "xyz-123"}]})
    fx["web_identities"].append({"token": "expired-web-token",
                                 "role_arn": "arn:aws:iam::111111111111:role/iamkeys-ci",
                                 "expires": "-1h"})
    return fx


def emu_now(emu):
    c = emu.clock()
    return datetime.datetime.now(UTC) + datetime.timedelta(seconds=c["offset"])


def parse_iso(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


class WireFormatTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)

    def test_list_users_xml_shape_and_headers(self):
        r = self.emu.iam("ListUsers", PathPrefix="/division/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "text/xml")
        self.assertEqual(int(r.headers["content-length"]), len(r.body))
        root = r.xml()
        self.assertEqual(root.tag, IAM_NS + "ListUsersResponse")
        res = root.find(IAM_NS + "ListUsersResult")
        self.assertEqual(res.find(IAM_NS + "IsTruncated").text, "false")
        members = res.findall(IAM_NS + "Users/" + IAM_NS + "member")
        self.assertEqual(len(members), 1)
        m = members[0]
        self.assertEqual(m.find(IAM_NS + "UserName").text, "used")
        self.assertEqual(m.find(IAM_NS + "Path").text, "/division/")
        self.assertEqual(m.find(IAM_NS + "Arn").text,
                         "arn:aws:iam::111111111111:user/division/used")
        self.assertEqual(m.find(IAM_NS + "CreateDate").text, "2020-01-02T03:04:05Z")
        self.assertRegex(m.find(IAM_NS + "UserId").text, r"^AIDA[A-Z2-7]{17}$")
        self.assertRegex(m.find(IAM_NS + "PasswordLastUsed").text, ISO_Z)
        rid = root.find(IAM_NS + "ResponseMetadata/" + IAM_NS + "RequestId").text
        self.assertEqual(r.headers["x-amzn-requestid"], rid)

    def test_pagination_with_marker(self):
        names, markers, calls = [], [], 0
        marker = None
        while True:
            p = {"PathPrefix": "/paged/", "MaxItems": 100}
            if marker:
                p["Marker"] = marker
            r = self.emu.iam("ListUsers", **p)
            calls += 1
            self.assertEqual(r.status, 200, r.text)
            names += r.findall("UserName")
            if r.find("IsTruncated") != "true":
                self.assertIsNone(r.find("Marker"))
                break
            marker = r.find("Marker")
            markers.append(marker)
        self.assertEqual(calls, 3)
        self.assertEqual(names, ["page%03d" % i for i in range(N_PAGED)])
        self.assertEqual(len(set(markers)), 2)

    def test_client_ignoring_marker_misses_users(self):
        r = self.emu.iam("ListUsers")  # default MaxItems is 100
        self.assertEqual(r.find("IsTruncated"), "true")
        self.assertEqual(len(r.findall("UserName")), 100)
        self.assertIsNotNone(r.find("Marker"))
        r = self.emu.iam("ListUsers", MaxItems=1000)
        self.assertEqual(r.find("IsTruncated"), "false")
        self.assertEqual(len(r.findall("UserName")), N_PAGED + 9)

    def test_max_items_bounds(self):
        r = self.emu.iam("ListUsers", MaxItems=0)
        self.assertEqual((r.status, r.error_code), (400, "ValidationError"))
        self.assertEqual(r.error_message, "1 validation error detected: Value '0' at 'maxItems' "
                         "failed to satisfy constraint: Member must have value greater than or "
                         "equal to 1")
        r = self.emu.iam("ListUsers", MaxItems=1001)
        self.assertEqual((r.status, r.error_code), (400, "ValidationError"))
        self.assertIn("Member must have value less than or equal to 1000", r.error_message)
        r = self.emu.iam("ListUsers", Marker="garbage!")
        self.assertEqual((r.status, r.error_code), (400, "ValidationError"))

    def test_no_such_entity_shape(self):
        r = self.emu.iam("GetUser", UserName="ghost")
        self.assertEqual(r.status, 404)
        root = r.xml()
        self.assertEqual(root.tag, IAM_NS + "ErrorResponse")
        err = root.find(IAM_NS + "Error")
        self.assertEqual(err.find(IAM_NS + "Type").text, "Sender")
        self.assertEqual(err.find(IAM_NS + "Code").text, "NoSuchEntity")
        self.assertEqual(err.find(IAM_NS + "Message").text,
                         "The user with name ghost cannot be found.")
        self.assertEqual(root.find(IAM_NS + "RequestId").text, r.headers["x-amzn-requestid"])
        for action in ("ListAccessKeys", "ListUserTags", "ListGroupsForUser", "CreateAccessKey"):
            r = self.emu.iam(action, UserName="ghost")
            self.assertEqual((r.status, r.error_code), (404, "NoSuchEntity"), action)

    def test_get_user_with_tags_and_groups(self):
        r = self.emu.iam("GetUser", UserName="USED")  # names are case-insensitive
        self.assertEqual(r.find("UserName"), "used")
        self.assertEqual(dict(zip(r.findall("Key"), r.findall("Value"))),
                         {"team": "data", "iamkeys:exempt": "true"})
        r = self.emu.iam("ListGroupsForUser", UserName="used")
        self.assertEqual(r.findall("GroupName"), ["Developers", "Admins"])
        self.assertEqual(r.findall("Arn"), ["arn:aws:iam::111111111111:group/Developers",
                                            "arn:aws:iam::111111111111:group/Admins"])
        self.assertTrue(all(re.match(r"^AGPA[A-Z2-7]{17}$", g) for g in r.findall("GroupId")))
        r = self.emu.iam("GetUser")  # the caller itself
        self.assertEqual(r.find("UserName"), "admin")

    def test_list_access_keys_and_never_used_last_used(self):
        r = self.emu.iam("ListAccessKeys", UserName="twokeys")
        self.assertEqual(r.findall("AccessKeyId"), [K_TWO_1["id"], K_TWO_2["id"]])
        self.assertEqual(r.findall("Status"), ["Active", "Active"])
        self.assertEqual(r.findall("UserName"), ["twokeys"] * 3)
        dates = [parse_iso(d) for d in r.findall("CreateDate")]
        now = emu_now(self.emu)
        self.assertAlmostEqual((now - dates[0]).total_seconds() / 86400, 100, delta=0.01)
        self.assertAlmostEqual((now - dates[1]).total_seconds() / 86400, 5, delta=0.01)
        r = self.emu.iam("ListAccessKeys", UserName="twokeys", MaxItems=1)
        self.assertEqual(r.find("IsTruncated"), "true")
        r2 = self.emu.iam("ListAccessKeys", UserName="twokeys", MaxItems=1,
                          Marker=r.find("Marker"))
        self.assertEqual(r2.findall("AccessKeyId"), [K_TWO_2["id"]])
        self.assertEqual(r2.find("IsTruncated"), "false")
        r = self.emu.iam("GetAccessKeyLastUsed", AccessKeyId=K_NEVER["id"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.find("Region"), "N/A")
        self.assertEqual(r.find("ServiceName"), "N/A")
        self.assertIsNone(r.find("LastUsedDate"))
        self.assertEqual(r.find("UserName"), "neverused")
        r = self.emu.iam("GetAccessKeyLastUsed", AccessKeyId=K_USED["id"])
        self.assertEqual((r.find("Region"), r.find("ServiceName")), ("eu-west-1", "s3"))
        self.assertAlmostEqual((emu_now(self.emu) - parse_iso(r.find("LastUsedDate")))
                               .total_seconds() / 86400, 3, delta=0.01)
        r = self.emu.iam("GetAccessKeyLastUsed", AccessKeyId="AKIANOSUCHKEY0000000")
        self.assertEqual((r.status, r.error_code), (404, "NoSuchEntity"))
        self.assertEqual(r.error_message,
                         "The Access Key with id AKIANOSUCHKEY0000000 cannot be found.")

    def test_validation_errors(self):
        r = self.emu.iam("UpdateAccessKey", UserName="twokeys", AccessKeyId=K_TWO_1["id"],
                         Status="Bogus")
        self.assertEqual((r.status, r.error_code), (400, "ValidationError"))
        self.assertEqual(r.error_message, "1 validation error detected: Value 'Bogus' at "
                         "'status' failed to satisfy constraint: Member must satisfy enum value "
                         "set: [Active, Inactive]")
        r = self.emu.iam("DeleteAccessKey", UserName="twokeys")
        self.assertEqual(r.error_message, "1 validation error detected: Value null at "
                         "'accessKeyId' failed to satisfy constraint: Member must not be null")
        r = self.emu.iam("GetUser", UserName="bad name!")
        self.assertEqual((r.status, r.error_code), (400, "ValidationError"))
        self.assertIn("Member must satisfy regular expression pattern: [\\w+=,.@-]+",
                      r.error_message)

    def test_unknown_action_and_version(self):
        r = self.emu.iam("ListRoles")
        self.assertEqual((r.status, r.error_code), (400, "InvalidAction"))
        self.assertEqual(r.error_message,
                         "Could not find operation ListRoles for version 2010-05-08")
        r = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2011-06-15"})
        self.assertEqual((r.status, r.error_code), (400, "InvalidAction"))

    def test_account_summary(self):
        r = self.emu.iam("GetAccountSummary")
        entries = r.xml().findall(".//%sSummaryMap/%sentry" % (IAM_NS, IAM_NS))
        m = {e.find(IAM_NS + "key").text: int(e.find(IAM_NS + "value").text) for e in entries}
        self.assertEqual(m["Users"], N_PAGED + 9)
        self.assertEqual(m["AccessKeysPerUserQuota"], 2)
        self.assertEqual(m["AccountAccessKeysPresent"], 0)
        self.assertEqual(m["AccountMFAEnabled"], 1)
        self.assertEqual(m["Groups"], 2)

    def test_tags(self):
        r = self.emu.iam("TagUser", UserName="nokeys", **{
            "Tags.member.1.Key": "a", "Tags.member.1.Value": "1",
            "Tags.member.2.Key": "b", "Tags.member.2.Value": "2",
            "Tags.member.3.Key": "c", "Tags.member.3.Value": ""})
        self.assertEqual(r.status, 200, r.text)
        r = self.emu.iam("ListUserTags", UserName="nokeys", MaxItems=2)
        self.assertEqual(r.findall("Key"), ["a", "b"])
        self.assertEqual(r.find("IsTruncated"), "true")
        r = self.emu.iam("ListUserTags", UserName="nokeys", Marker=r.find("Marker"))
        self.assertEqual((r.findall("Key"), r.findall("Value")), (["c"], [None]))
        r = self.emu.iam("UntagUser", UserName="nokeys", **{"TagKeys.member.1": "a",
                                                            "TagKeys.member.2": "zzz"})
        self.assertEqual(r.status, 200)
        r = self.emu.iam("ListUserTags", UserName="nokeys")
        self.assertEqual(r.findall("Key"), ["b", "c"])
        self.emu.iam("UntagUser", UserName="nokeys", **{"TagKeys.member.1": "b",
                                                        "TagKeys.member.2": "c"})
        r = self.emu.iam("ListUserTags", UserName="nokeys")
        self.assertIn(b"<Tags/>", r.body)
        many = {}
        for i in range(1, 52):
            many["Tags.member.%d.Key" % i] = "k%d" % i
            many["Tags.member.%d.Value" % i] = "v"
        r = self.emu.iam("TagUser", UserName="nokeys", **many)
        self.assertEqual((r.status, r.error_code), (409, "LimitExceeded"))

    def test_create_and_delete_user(self):
        r = self.emu.iam("CreateUser", UserName="tmp-user", Path="/tmp/",
                         **{"Tags.member.1.Key": "k", "Tags.member.1.Value": "v"})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.find("Arn"), "arn:aws:iam::111111111111:user/tmp/tmp-user")
        r = self.emu.iam("CreateUser", UserName="TMP-USER")
        self.assertEqual((r.status, r.error_code), (409, "EntityAlreadyExists"))
        self.assertEqual(r.error_message, "User with name TMP-USER already exists.")
        r = self.emu.iam("CreateAccessKey", UserName="tmp-user")
        kid = r.find("AccessKeyId")
        r = self.emu.iam("DeleteUser", UserName="tmp-user")
        self.assertEqual((r.status, r.error_code), (409, "DeleteConflict"))
        self.assertEqual(r.error_message, "Cannot delete entity, must delete access keys first.")
        self.assertEqual(self.emu.iam("DeleteAccessKey", UserName="tmp-user",
                                      AccessKeyId=kid).status, 200)
        self.assertEqual(self.emu.iam("DeleteUser", UserName="tmp-user").status, 200)
        self.assertEqual(self.emu.iam("GetUser", UserName="tmp-user").status, 404)

    def test_date_format_millis(self):
        self.emu.config(date_format="millis")
        try:
            r = self.emu.iam("ListAccessKeys", UserName="twokeys")
            for d in r.findall("CreateDate"):
                self.assertRegex(d, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        finally:
            self.emu.config(date_format="seconds")
        r = self.emu.iam("ListAccessKeys", UserName="twokeys")
        for d in r.findall("CreateDate"):
            self.assertRegex(d, ISO_Z)


class KeyLifecycleTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)

    def setUp(self):
        self.reset_emulator()

    def sts_as(self, k, region="us-east-1", **kw):
        return self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                               "Version": "2011-06-15"},
                                access_key_id=k["id"], secret=k["secret"], region=region, **kw)

    def test_third_key_is_refused(self):
        r = self.emu.iam("CreateAccessKey", UserName="twokeys")
        self.assertEqual(r.status, 409)
        self.assertEqual(r.error_code, "LimitExceeded")
        self.assertEqual(r.error_message, "Cannot exceed quota for AccessKeysPerUser: 2")
        self.assertEqual(r.find("Type"), "Sender")

    def test_create_key_then_use_it(self):
        r = self.emu.iam("CreateAccessKey", UserName="rotator")
        self.assertEqual(r.status, 200, r.text)
        kid, secret = r.find("AccessKeyId"), r.find("SecretAccessKey")
        self.assertRegex(kid, r"^AKIA[A-Z2-7]{16}$")
        self.assertEqual(len(secret), 40)
        self.assertEqual(r.find("Status"), "Active")
        self.assertEqual(r.find("UserName"), "rotator")
        self.assertLess(abs((parse_iso(r.find("CreateDate")) - emu_now(self.emu))
                            .total_seconds()), 5)
        me = self.sts_as({"id": kid, "secret": secret})
        self.assertEqual(me.status, 200, me.text)
        self.assertEqual(me.find("Arn"), "arn:aws:iam::111111111111:user/rotator")
        # rotate: deactivate then delete the old key; it stops authenticating
        self.assertEqual(self.emu.iam("UpdateAccessKey", UserName="rotator",
                                      AccessKeyId=K_ROTATE["id"], Status="Inactive").status, 200)
        r = self.sts_as(K_ROTATE)
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        self.assertEqual(r.error_message, "The security token included in the request is "
                         "invalid.")
        self.assertEqual(self.emu.iam("UpdateAccessKey", UserName="rotator",
                                      AccessKeyId=K_ROTATE["id"], Status="Active").status, 200)
        self.assertEqual(self.sts_as(K_ROTATE).status, 200)
        self.assertEqual(self.emu.iam("DeleteAccessKey", UserName="rotator",
                                      AccessKeyId=K_ROTATE["id"]).status, 200)
        r = self.sts_as(K_ROTATE)
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        r = self.emu.iam("DeleteAccessKey", UserName="rotator", AccessKeyId=K_ROTATE["id"])
        self.assertEqual((r.status, r.error_code), (404, "NoSuchEntity"))
        self.assertEqual(r.error_message, "The Access Key with id %s cannot be found."
                         % K_ROTATE["id"])
        # a key of another user is not found under this user
        r = self.emu.iam("UpdateAccessKey", UserName="rotator", AccessKeyId=K_NEVER["id"],
                         Status="Inactive")
        self.assertEqual((r.status, r.error_code), (404, "NoSuchEntity"))

    def test_inactive_and_unknown_keys(self):
        r = self.sts_as(K_INACTIVE)
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        r = self.sts_as({"id": "AKIAUNKNOWN000000000", "secret": "x" * 40})
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        self.assertEqual(r.error_message,
                         "The security token included in the request is invalid.")
        r = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                             access_key_id="AKIAUNKNOWN000000000", secret="x" * 40)
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        self.assertFalse(self.emu.calls()[-1]["signature_ok"])

    def test_propagation_delay(self):
        self.emu.config(propagation_delay=1.0)
        try:
            r = self.emu.iam("CreateAccessKey", UserName="nokeys")
            new = {"id": r.find("AccessKeyId"), "secret": r.find("SecretAccessKey")}
            t0 = time.monotonic()
            r = self.sts_as(new)
            self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
            while time.monotonic() - t0 < 1.1:
                time.sleep(0.05)
            self.assertEqual(self.sts_as(new).status, 200)
            r = self.emu.iam("CreateAccessKey", UserName="nokeys")
            new2 = {"id": r.find("AccessKeyId"), "secret": r.find("SecretAccessKey")}
            self.assertEqual(self.sts_as(new2).status, 403)
            self.emu.propagate_keys()
            self.assertEqual(self.sts_as(new2).status, 200)
        finally:
            self.emu.config(propagation_delay=0.0)

    def test_last_used_is_updated(self):
        r = self.sts_as(K_NEVER, region="us-west-2")
        self.assertEqual(r.status, 200, r.text)
        r = self.emu.iam("GetAccessKeyLastUsed", AccessKeyId=K_NEVER["id"])
        self.assertEqual(r.find("Region"), "us-west-2")
        self.assertEqual(r.find("ServiceName"), "sts")
        self.assertLess(abs((parse_iso(r.find("LastUsedDate")) - emu_now(self.emu))
                            .total_seconds()), 5)
        self.emu.set_clock(offset_seconds=86400 * 3)
        self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                         access_key_id=K_NEVER["id"], secret=K_NEVER["secret"],
                         when=emu_now(self.emu))
        k = [k for a in self.emu.state()["accounts"] for u in a["users"] for k in u["keys"]
             if k["id"] == K_NEVER["id"]][0]
        self.assertEqual(k["last_used"]["service"], "iam")
        self.assertEqual(k["last_used"]["region"], "us-east-1")
        self.assertLess(abs((parse_iso(k["last_used"]["date"]) - emu_now(self.emu))
                            .total_seconds()), 5)

    def test_allow_list_access_denied(self):
        r = self.emu.iam("ListUsers", access_key_id=K_LIMITED["id"], secret=K_LIMITED["secret"],
                         MaxItems=1)
        self.assertEqual(r.status, 200)
        r = self.emu.iam("GetUser", access_key_id=K_LIMITED["id"], secret=K_LIMITED["secret"],
                         UserName="admin")
        self.assertEqual((r.status, r.error_code), (403, "AccessDenied"))
        self.assertEqual(r.error_message, "User: arn:aws:iam::111111111111:user/limited is not "
                         "authorized to perform: iam:GetUser on resource: "
                         "arn:aws:iam::111111111111:user/admin because no identity-based policy "
                         "allows the iam:GetUser action")
        r = self.emu.iam("CreateAccessKey", access_key_id=K_LIMITED["id"],
                         secret=K_LIMITED["secret"], UserName="nokeys")
        self.assertEqual((r.status, r.error_code), (403, "AccessDenied"))
        self.assertEqual(self.sts_as(K_LIMITED).status, 200)  # GetCallerIdentity: always
        r = self.emu.request("secretsmanager", target="secretsmanager.GetSecretValue",
                             json_body={"SecretId": "x"}, access_key_id=K_LIMITED["id"],
                             secret=K_LIMITED["secret"])
        self.assertEqual((r.status, r.error_code), (400, "AccessDeniedException"))
        self.assertTrue(r.error_message.startswith("User: arn:aws:iam::111111111111:user/"
                                                   "limited is not authorized to perform: "
                                                   "secretsmanager:GetSecretValue"))


class SignatureTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)

    def setUp(self):
        self.emu.set_clock(0)

    def call(self, **kw):
        kw.setdefault("access_key_id", K_SIGN["id"])
        kw.setdefault("secret", K_SIGN["secret"])
        return self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08",
                                               "MaxItems": "1"}, **kw)

    def test_good_signature(self):
        r = self.call()
        self.assertEqual(r.status, 200, r.text)
        c = self.emu.calls()[-1]
        self.assertEqual((c["action"], c["service"], c["account"], c["access_key_id"],
                          c["http_status"], c["error_code"], c["signature_ok"]),
                         ("ListUsers", "iam", "111111111111", K_SIGN["id"], 200, None, True))

    def test_wrong_secret(self):
        r = self.call(secret="W" * 40)
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))
        self.assertEqual(r.error_message, "The request signature we calculated does not match "
                         "the signature you provided. Check your AWS Secret Access Key and "
                         "signing method. Consult the service documentation for details.")
        self.assertEqual(r.find("Type"), "Sender")
        self.assertFalse(self.emu.calls()[-1]["signature_ok"])

    def test_tampered_body_and_header(self):
        r = self.call(tamper=lambda h, b: b.replace(b"MaxItems=1", b"MaxItems=2"))
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))

        def bump_date(h, b):
            d = datetime.datetime.strptime(h["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
            h["X-Amz-Date"] = (d + datetime.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
            return b
        r = self.call(tamper=bump_date)
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))

        def drop_host(h, b):
            h["Authorization"] = h["Authorization"].replace("host;", "")
            return b
        r = self.call(tamper=drop_host)
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))

    def test_unsigned_and_malformed_authorization(self):
        r = self.call(unsigned=True)
        self.assertEqual((r.status, r.error_code), (403, "MissingAuthenticationToken"))
        self.assertEqual(r.error_message, "Request is missing Authentication Token")

        def cut(h, b):
            h["Authorization"] = h["Authorization"].split(", Signature=")[0]
            return b
        r = self.call(tamper=cut)
        self.assertEqual((r.status, r.error_code), (400, "IncompleteSignature"))

    def test_iam_must_be_signed_for_us_east_1(self):
        r = self.call(region="eu-west-1")
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))
        self.assertEqual(r.error_message,
                         "Credential should be scoped to a valid region, not 'eu-west-1'. ")

    def test_skewed_clock(self):
        now = emu_now(self.emu)
        r = self.call(when=now - datetime.timedelta(minutes=4))
        self.assertEqual(r.status, 200)
        r = self.call(when=now + datetime.timedelta(minutes=4))
        self.assertEqual(r.status, 200)
        when = now - datetime.timedelta(minutes=6)
        r = self.call(when=when)
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))
        m = re.fullmatch(r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) "
                         r"\((\d{8}T\d{6}Z) - 5 min\.\)", r.error_message)
        self.assertIsNotNone(m, r.error_message)
        fmt = "%Y%m%dT%H%M%SZ"
        self.assertEqual(m.group(1), when.strftime(fmt))
        lo, srv = [datetime.datetime.strptime(m.group(i), fmt) for i in (2, 3)]
        self.assertEqual((srv - lo).total_seconds(), 300)
        self.assertLess(abs((srv.replace(tzinfo=UTC) - now).total_seconds()), 5)
        r = self.call(when=now + datetime.timedelta(minutes=6))
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))
        self.assertRegex(r.error_message, r"^Signature not yet current: \d{8}T\d{6}Z is still "
                         r"later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$")

    def test_skew_against_emulator_clock(self):
        self.emu.set_clock(offset_seconds=90 * 86400)
        r = self.call()  # signed with the real clock: 90 days in the emulator's past
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))
        self.assertTrue(r.error_message.startswith("Signature expired: "))
        r = self.call(when=datetime.datetime.now(UTC) + datetime.timedelta(days=90))
        self.assertEqual(r.status, 200, r.text)

    def test_json_protocol_auth_errors(self):
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter", json_body={"Name": "x"},
                             access_key_id=K_SIGN["id"], secret="W" * 40)
        self.assertEqual((r.status, r.error_code), (400, "InvalidSignatureException"))
        self.assertTrue(r.headers["x-amzn-errortype"].startswith("InvalidSignatureException"))
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter", json_body={"Name": "x"},
                             access_key_id="AKIAUNKNOWN000000000", secret="W" * 40)
        self.assertEqual((r.status, r.error_code), (400, "UnrecognizedClientException"))
        self.assertEqual(r.json()["message"], "The security token included in the request is "
                         "invalid.")
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter", json_body={"Name": "x"},
                             when=emu_now(self.emu) - datetime.timedelta(minutes=10))
        self.assertEqual((r.status, r.error_code), (400, "InvalidSignatureException"))
        self.assertTrue(r.error_message.startswith("Signature expired: "))

    def test_routing_by_scope_and_target(self):
        r = self.emu.request("ssm", target="secretsmanager.GetSecretValue",
                             json_body={"SecretId": "x"})
        self.assertEqual((r.status, r.error_code), (400, "UnknownOperationException"))
        r = self.emu.request("secretsmanager", target="secretsmanager.ListSecrets",
                             json_body={})
        self.assertEqual((r.status, r.error_code), (400, "UnknownOperationException"))
        # an IAM action signed for STS is an STS request: STS does not know ListUsers
        r = self.emu.request("sts", params={"Action": "ListUsers", "Version": "2010-05-08"})
        self.assertEqual((r.status, r.error_code), (400, "InvalidAction"))
        self.assertEqual(r.xml().tag, "{https://sts.amazonaws.com/doc/2011-06-15/}ErrorResponse")

    @unittest.skipUnless(os.path.exists("/usr/bin/curl"), "curl not installed")
    def test_libcurl_sigv4_keepalive_and_expect(self):
        """libcurl's own SigV4 signer (CURLOPT_AWS_SIGV4), a reused connection, and a body
        large enough to send Expect: 100-continue."""
        user = "%s:%s" % (K_SIGN["id"], K_SIGN["secret"])
        ctype = "Content-Type: application/x-www-form-urlencoded; charset=utf-8"
        big = "Action=ListUsers&Version=2010-05-08&MaxItems=1&PathPrefix=/" + "&Pad=" + "x" * 4000
        p = subprocess.run(
            ["/usr/bin/curl", "-sS", "-v", "--aws-sigv4", "aws:amz:us-east-1:iam", "--user", user,
             "-H", ctype, "-H", "Expect: 100-continue", "--data-binary", big, self.emu.url + "/",
             "--next", "--aws-sigv4", "aws:amz:us-west-2:sts", "--user", user, "-H", ctype,
             "--data-binary", "Action=GetCallerIdentity&Version=2011-06-15",
             self.emu.url + "/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("< HTTP/1.1 100 Continue", p.stderr)
        self.assertIn("Re-using existing connection", p.stderr)
        self.assertIn("<UserName>admin</UserName>", p.stdout)
        self.assertIn("<Arn>arn:aws:iam::111111111111:user/signer</Arn>", p.stdout)
        last = self.emu.calls()[-2:]
        self.assertEqual([(c["action"], c["http_status"], c["signature_ok"], c["region"])
                          for c in last],
                         [("ListUsers", 200, True, "us-east-1"),
                          ("GetCallerIdentity", 200, True, "us-west-2")])

    def test_presigned_url(self):
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        creds = botocore.credentials.Credentials(K_SIGN["id"], K_SIGN["secret"])
        req = botocore.awsrequest.AWSRequest(
            "GET", self.emu.url + "/?Action=GetCallerIdentity&Version=2011-06-15")
        botocore.auth.SigV4QueryAuth(creds, "sts", "us-east-1", expires=60).add_auth(req)
        url = req.prepare().url
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port)
        self.addCleanup(conn.close)
        conn.request("GET", url[len(self.emu.url):])
        resp = conn.getresponse()
        body = resp.read()
        self.assertEqual(resp.status, 200, body)
        self.assertIn(b"<Arn>arn:aws:iam::111111111111:user/signer</Arn>", body)
        conn.request("GET", url[len(self.emu.url):].replace("X-Amz-Signature=",
                                                           "X-Amz-Signature=0"))
        resp = conn.getresponse()
        resp.read()
        self.assertEqual(resp.status, 403)


class StsTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)

    def setUp(self):
        self.emu.set_clock(0)

    def assume(self, arn, name="sess", **extra):
        p = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": arn,
             "RoleSessionName": name}
        p.update(extra)
        return self.emu.request("sts", params=p)

    def creds(self, r):
        return {"access_key_id": r.find("AccessKeyId"), "secret": r.find("SecretAccessKey"),
                "session_token": r.find("SessionToken")}

    def test_get_caller_identity(self):
        r = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                            "Version": "2011-06-15"})
        self.assertEqual((r.find("Arn"), r.find("UserId"), r.find("Account")),
                         ("arn:aws:iam::111111111111:user/admin", "AIDAADMIN000000000001",
                          "111111111111"))

    def test_assume_role_same_account_and_allow_list(self):
        arn = "arn:aws:iam::111111111111:role/iamkeys-auditor"
        r = self.assume(arn, "audit-1", DurationSeconds="900")
        self.assertEqual(r.status, 200, r.text)
        c = self.creds(r)
        self.assertRegex(c["access_key_id"], r"^ASIA[A-Z2-7]{16}$")
        self.assertEqual(len(c["secret"]), 40)
        exp = parse_iso(r.find("Expiration"))
        self.assertAlmostEqual((exp - emu_now(self.emu)).total_seconds(), 900, delta=5)
        self.assertEqual(r.find("Arn"),
                         "arn:aws:sts::111111111111:assumed-role/iamkeys-auditor/audit-1")
        self.assertRegex(r.find("AssumedRoleId"), r"^AROA[A-Z2-7]{17}:audit-1$")
        me = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                             "Version": "2011-06-15"}, **c)
        self.assertEqual(me.find("Arn"), r.find("Arn"))
        self.assertEqual(me.find("UserId"), r.find("AssumedRoleId"))
        lu = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08",
                                             "MaxItems": "2"}, **c)
        self.assertEqual(lu.status, 200)
        ck = self.emu.request("iam", params={"Action": "CreateAccessKey",
                                             "Version": "2010-05-08", "UserName": "nokeys"}, **c)
        self.assertEqual((ck.status, ck.error_code), (403, "AccessDenied"))
        self.assertTrue(ck.error_message.startswith(
            "User: arn:aws:sts::111111111111:assumed-role/iamkeys-auditor/audit-1 is not "
            "authorized to perform: iam:CreateAccessKey"))
        gu = self.emu.request("iam", params={"Action": "GetUser", "Version": "2010-05-08"}, **c)
        self.assertEqual((gu.status, gu.error_code), (400, "ValidationError"))
        self.assertEqual(gu.error_message,
                         "Must specify userName when calling with non-User credentials")

    def test_session_token_must_match(self):
        c = self.creds(self.assume("arn:aws:iam::111111111111:role/iamkeys-ci"))
        p = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
        r = self.emu.request("sts", params=p, access_key_id=c["access_key_id"],
                             secret=c["secret"])
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        r = self.emu.request("sts", params=p, access_key_id=c["access_key_id"],
                             secret=c["secret"], session_token=c["session_token"][:-4] + "AAAA")
        self.assertEqual((r.status, r.error_code), (403, "InvalidClientTokenId"))
        r = self.emu.request("sts", params=p, **c)
        self.assertEqual(r.status, 200)

    def test_expired_session(self):
        c = self.creds(self.assume("arn:aws:iam::111111111111:role/iamkeys-ci",
                                   DurationSeconds="900"))
        self.emu.set_clock(offset_seconds=901)
        when = emu_now(self.emu)
        r = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                             when=when, **c)
        self.assertEqual((r.status, r.error_code), (403, "ExpiredToken"))
        self.assertEqual(r.error_message, "The security token included in the request is "
                         "expired")
        r = self.emu.request("ssm", target="AmazonSSM.GetParameter", json_body={"Name": "x"},
                             when=when, **c)
        self.assertEqual((r.status, r.error_code), (400, "ExpiredTokenException"))

    def test_cross_account_and_trust(self):
        r = self.assume("arn:aws:iam::222222222222:role/CrossAccount", "x-acct")
        self.assertEqual(r.status, 200, r.text)
        c = self.creds(r)
        lu = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                              **c)
        self.assertEqual(lu.findall("UserName"), ["other"])
        me = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                             "Version": "2011-06-15"}, **c)
        self.assertEqual(me.find("Account"), OTHER_ACCOUNT)
        r = self.assume("arn:aws:iam::222222222222:role/Untrusting")
        self.assertEqual((r.status, r.error_code), (403, "AccessDenied"))
        self.assertEqual(r.error_message, "User: arn:aws:iam::111111111111:user/admin is not "
                         "authorized to perform: sts:AssumeRole on resource: "
                         "arn:aws:iam::222222222222:role/Untrusting")
        r = self.assume("arn:aws:iam::222222222222:role/NoSuchRole")
        self.assertEqual((r.status, r.error_code), (403, "AccessDenied"))
        r = self.assume("arn:aws:iam::222222222222:role/WithExternalId")
        self.assertEqual((r.status, r.error_code), (403, "AccessDenied"))
        r = self.assume("arn:aws:iam::222222222222:role/WithExternalId", ExternalId="xyz-123")
        self.assertEqual(r.status, 200)
        # role chaining is limited to one hour
        r = self.emu.request("sts", params={
            "Action": "AssumeRole", "Version": "2011-06-15",
            "RoleArn": "arn:aws:iam::222222222222:role/WithExternalId",
            "RoleSessionName": "chain", "ExternalId": "xyz-123", "DurationSeconds": "7200"},
            **c)
        self.assertEqual((r.status, r.error_code), (400, "ValidationError"))
        r = self.assume("arn:aws:iam::111111111111:role/iamkeys-ci", DurationSeconds="7200")
        self.assertEqual(r.error_message, "The requested DurationSeconds exceeds the "
                         "MaxSessionDuration set for this role.")

    def test_assume_role_with_web_identity(self):
        p = {"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
             "RoleArn": "arn:aws:iam::111111111111:role/iamkeys-ci",
             "RoleSessionName": "gha", "WebIdentityToken": fixtures.WEB_IDENTITY_TOKEN}
        r = self.emu.request("sts", params=p, unsigned=True)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.find("SubjectFromWebIdentityToken"),
                         "repo:example/iamkeys:ref:refs/heads/main")
        self.assertEqual(r.find("Arn"), "arn:aws:sts::111111111111:assumed-role/iamkeys-ci/gha")
        c = self.creds(r)
        me = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                             "Version": "2011-06-15"}, **c)
        self.assertEqual(me.find("Arn"), r.find("Arn"))
        r = self.emu.request("sts", params=dict(p, WebIdentityToken="not-a-token"),
                             unsigned=True)
        self.assertEqual((r.status, r.error_code), (400, "InvalidIdentityToken"))
        r = self.emu.request("sts", params=dict(p, WebIdentityToken="expired-web-token"),
                             unsigned=True)
        self.assertEqual((r.status, r.error_code), (400, "ExpiredTokenException"))
        self.assertRegex(r.error_message, r"^Token expired: current date/time \d+ must be "
                         r"before the expiration date/time\d+$")
        r = self.emu.request("sts", params=dict(
            p, RoleArn="arn:aws:iam::111111111111:role/iamkeys-auditor"), unsigned=True)
        self.assertEqual((r.status, r.error_code), (403, "AccessDenied"))


class JsonServicesTests(EmulatorTestCase):
    emulator_fixture = staticmethod(lambda: fixtures.organization(45, 1))

    def sm(self, op, **body):
        return self.emu.request("secretsmanager", target="secretsmanager." + op, json_body=body)

    def test_secrets_manager_versions(self):
        r = self.sm("CreateSecret", Name="app/db", SecretString="v1", Description="db")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.headers["content-type"], "application/x-amz-json-1.1")
        d = r.json()
        self.assertRegex(d["ARN"], r"^arn:aws:secretsmanager:us-east-1:111111111111:secret:"
                         r"app/db-[A-Za-z]{6}$")
        v1 = d["VersionId"]
        r = self.sm("CreateSecret", Name="app/db", SecretString="again")
        self.assertEqual((r.status, r.error_code), (400, "ResourceExistsException"))
        self.assertEqual(r.headers["x-amzn-errortype"], "ResourceExistsException")
        r = self.sm("PutSecretValue", SecretId="app/db", SecretString="v2",
                    ClientRequestToken="tok-00000000000000000000000000000002")
        self.assertEqual(r.json()["VersionStages"], ["AWSCURRENT"])
        r = self.sm("GetSecretValue", SecretId=d["ARN"])
        g = r.json()
        self.assertEqual((g["SecretString"], g["VersionId"], g["VersionStages"]),
                         ("v2", "tok-00000000000000000000000000000002", ["AWSCURRENT"]))
        self.assertIsInstance(g["CreatedDate"], float)
        r = self.sm("GetSecretValue", SecretId="app/db", VersionStage="AWSPREVIOUS")
        self.assertEqual((r.json()["SecretString"], r.json()["VersionId"]), ("v1", v1))
        r = self.sm("DescribeSecret", SecretId="app/db")
        dd = r.json()
        self.assertEqual(dd["VersionIdsToStages"], {
            v1: ["AWSPREVIOUS"], "tok-00000000000000000000000000000002": ["AWSCURRENT"]})
        self.assertEqual(dd["Description"], "db")
        self.assertIn("LastAccessedDate", dd)
        r = self.sm("GetSecretValue", SecretId="missing")
        self.assertEqual((r.status, r.error_code), (400, "ResourceNotFoundException"))
        self.assertEqual(r.json(), {"__type": "ResourceNotFoundException",
                                    "Message": "Secrets Manager can't find the specified "
                                               "secret."})
        r = self.sm("PutSecretValue", SecretId="app/db")
        self.assertEqual((r.status, r.error_code), (400, "InvalidRequestException"))

    def test_ssm_parameters(self):
        def ssm(op, **body):
            return self.emu.request("ssm", target="AmazonSSM." + op, json_body=body)
        r = ssm("PutParameter", Name="/iamkeys/k", Value="secret-1", Type="SecureString")
        self.assertEqual(r.json(), {"Version": 1, "Tier": "Standard"})
        r = ssm("PutParameter", Name="/iamkeys/k", Value="secret-2", Type="SecureString")
        self.assertEqual((r.status, r.error_code), (400, "ParameterAlreadyExists"))
        r = ssm("PutParameter", Name="/iamkeys/k", Value="secret-2", Type="SecureString",
                Overwrite=True)
        self.assertEqual(r.json()["Version"], 2)
        p = ssm("GetParameter", Name="/iamkeys/k", WithDecryption=True).json()["Parameter"]
        self.assertEqual((p["Value"], p["Version"], p["Type"], p["ARN"]),
                         ("secret-2", 2, "SecureString",
                          "arn:aws:ssm:us-east-1:111111111111:parameter/iamkeys/k"))
        enc = ssm("GetParameter", Name="/iamkeys/k").json()["Parameter"]["Value"]
        self.assertNotIn("secret-2", enc)
        base64.b64decode(enc, validate=True)
        p = ssm("GetParameter", Name="/iamkeys/k:1", WithDecryption=True).json()["Parameter"]
        self.assertEqual((p["Value"], p["Version"], p["Selector"]), ("secret-1", 1, ":1"))
        r = ssm("GetParameter", Name="/nope")
        self.assertEqual((r.status, r.error_code), (400, "ParameterNotFound"))
        r = ssm("PutParameter", Name="/new", Value="x")
        self.assertEqual((r.status, r.error_code), (400, "ValidationException"))

    def test_organizations(self):
        def org(op, key=None, **body):
            kw = {}
            if key:
                kw = {"access_key_id": key["id"], "secret": key["secret"]}
            return self.emu.request("organizations", target="AWSOrganizationsV20161128." + op,
                                    json_body=body, **kw)
        o = org("DescribeOrganization").json()["Organization"]
        self.assertEqual((o["Id"], o["MasterAccountId"], o["FeatureSet"]),
                         (fixtures.ORG_ID, "111111111111", "ALL"))
        ids, token, calls = [], None, 0
        while True:
            body = {"MaxResults": 20}
            if token:
                body["NextToken"] = token
            d = org("ListAccounts", **body).json()
            calls += 1
            ids += [a["Id"] for a in d["Accounts"]]
            token = d.get("NextToken")
            if not token:
                break
        self.assertEqual(calls, 3)
        self.assertEqual(ids, ["111111111111"] + [fixtures.member_account_id(i)
                                                  for i in range(1, 45)])
        r = org("ListAccounts", MaxResults=21)
        self.assertEqual((r.status, r.error_code), (400, "InvalidInputException"))
        r = org("ListAccounts", NextToken="bogus")
        self.assertEqual((r.status, r.error_code), (400, "InvalidInputException"))
        self.assertEqual(r.json()["Reason"], "INVALID_NEXT_TOKEN")
        # member accounts may describe the organization but not list its accounts
        r = self.emu.request("sts", params={
            "Action": "AssumeRole", "Version": "2011-06-15",
            "RoleArn": "arn:aws:iam::%s:role/%s" % (fixtures.member_account_id(3),
                                                    fixtures.ORG_ROLE),
            "RoleSessionName": "member"})
        c = {"access_key_id": r.find("AccessKeyId"), "secret": r.find("SecretAccessKey"),
             "session_token": r.find("SessionToken")}
        r = self.emu.request("organizations", target="AWSOrganizationsV20161128.ListAccounts",
                             json_body={}, **c)
        self.assertEqual((r.status, r.error_code), (400, "AccessDeniedException"))
        r = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                             **c)
        self.assertEqual(r.findall("UserName"), ["user00000"])


class ReportTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)
    emulator_options = {"report_delay": 1.0}

    def setUp(self):
        self.reset_emulator()

    def test_report_lifecycle(self):
        r = self.emu.iam("GetCredentialReport")
        self.assertEqual((r.status, r.error_code), (410, "ReportNotPresent"))
        r = self.emu.iam("GenerateCredentialReport")
        self.assertEqual((r.find("State"), r.find("Description")),
                         ("STARTED", "No report exists. Starting a new report generation task"))
        t0 = time.monotonic()
        self.assertEqual(self.emu.iam("GenerateCredentialReport").find("State"), "INPROGRESS")
        r = self.emu.iam("GetCredentialReport")
        self.assertEqual((r.status, r.error_code), (404, "ReportInProgress"))
        time.sleep(max(0, 1.1 - (time.monotonic() - t0)))
        self.assertEqual(self.emu.iam("GenerateCredentialReport").find("State"), "COMPLETE")
        r = self.emu.iam("GetCredentialReport")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.find("ReportFormat"), "text/csv")
        gen = r.find("GeneratedTime")
        self.assertRegex(gen, ISO_Z)
        text = base64.b64decode(r.find("Content")).decode()
        self.check_report(text)
        # reused for 4 hours
        self.emu.set_clock(offset_seconds=3 * 3600)
        r = self.emu.iam("GenerateCredentialReport")  # signed with the real clock: skewed
        self.assertEqual((r.status, r.error_code), (403, "SignatureDoesNotMatch"))
        now = emu_now(self.emu)
        r = self.emu.request("iam", params={"Action": "GenerateCredentialReport",
                                            "Version": "2010-05-08"}, when=now)
        self.assertEqual(r.find("State"), "COMPLETE")
        r = self.emu.request("iam", params={"Action": "GetCredentialReport",
                                            "Version": "2010-05-08"}, when=now)
        self.assertEqual(r.find("GeneratedTime"), gen)
        self.emu.set_clock(offset_seconds=5 * 3600)
        now = emu_now(self.emu)
        r = self.emu.request("iam", params={"Action": "GetCredentialReport",
                                            "Version": "2010-05-08"}, when=now)
        self.assertEqual((r.status, r.error_code), (410, "ReportExpired"))
        r = self.emu.request("iam", params={"Action": "GenerateCredentialReport",
                                            "Version": "2010-05-08"}, when=now)
        self.assertEqual(r.find("State"), "STARTED")

    def check_report(self, text):
        import csv
        import io
        lines = text.split("\n")
        with open(HEADER_CSV) as f:
            self.assertEqual(lines[0], f.read().strip())
        self.assertFalse(text.endswith("\n"))
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(len(rows[0]), 22)
        self.assertEqual(len(rows), 1 + N_PAGED + 9)
        by = {r["user"]: r for r in rows}
        root = rows[0]
        self.assertEqual(root["user"], "<root_account>")
        self.assertEqual(root["arn"], "arn:aws:iam::111111111111:root")
        self.assertEqual((root["password_enabled"], root["password_last_changed"],
                          root["password_next_rotation"], root["mfa_active"],
                          root["access_key_1_active"], root["access_key_1_last_rotated"]),
                         ("not_supported", "not_supported", "not_supported", "TRUE", "FALSE",
                          "N/A"))
        self.assertRegex(root["password_last_used"], ISO_REPORT)
        u = by["used"]
        self.assertEqual(u["arn"], "arn:aws:iam::111111111111:user/division/used")
        self.assertEqual(u["user_creation_time"], "2020-01-02T03:04:05+00:00")
        self.assertEqual((u["password_enabled"], u["mfa_active"], u["access_key_1_active"],
                          u["access_key_1_last_used_region"], u["access_key_1_last_used_service"],
                          u["access_key_2_active"], u["access_key_2_last_rotated"],
                          u["cert_1_active"], u["cert_2_last_rotated"]),
                         ("TRUE", "TRUE", "TRUE", "eu-west-1", "s3", "FALSE", "N/A", "FALSE",
                          "N/A"))
        for col in ("password_last_used", "password_last_changed", "access_key_1_last_rotated",
                    "access_key_1_last_used_date"):
            self.assertRegex(u[col], ISO_REPORT, col)
        n = by["neverused"]
        self.assertEqual((n["password_enabled"], n["password_last_used"],
                          n["access_key_1_last_used_date"], n["access_key_1_last_used_region"],
                          n["access_key_1_last_used_service"]),
                         ("TRUE", "no_information", "N/A", "N/A", "N/A"))
        self.assertEqual((by["inactive"]["access_key_1_active"],
                          by["nokeys"]["password_enabled"], by["nokeys"]["password_last_used"],
                          by["nokeys"]["access_key_1_active"]), ("FALSE", "FALSE", "N/A", "FALSE"))
        t = by["twokeys"]
        self.assertEqual((t["access_key_1_active"], t["access_key_2_active"]), ("TRUE", "TRUE"))
        self.assertLess(t["access_key_1_last_rotated"], t["access_key_2_last_rotated"])


class FaultTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)

    def setUp(self):
        self.emu.clear_faults()
        self.emu.reset_calls()

    def raw(self, params):
        """Send a signed IAM request over http.client; returns (status, body) or raises."""
        from tests.emulator.harness import send_signed
        return send_signed(self.emu.url, "iam", params=dict(params, Version="2010-05-08"),
                           access_key_id=fixtures.ADMIN_KEY_ID, secret=fixtures.ADMIN_SECRET)

    def test_nth_call_throttled(self):
        self.emu.fault("ListUsers", kind="throttle", nth=2)
        statuses = [self.emu.iam("ListUsers", MaxItems=1) for _ in range(3)]
        self.assertEqual([r.status for r in statuses], [200, 400, 200])
        self.assertEqual(statuses[1].error_code, "Throttling")
        self.assertEqual(statuses[1].error_message, "Rate exceeded")
        self.assertEqual(statuses[1].find("Type"), "Sender")
        self.assertEqual(self.emu.counters()["iam:ListUsers"], 3)
        log = [c for c in self.emu.calls() if c["action"] == "ListUsers"]
        self.assertEqual([(c["http_status"], c["error_code"], c["fault"]) for c in log],
                         [(200, None, None), (400, "Throttling", "throttle"), (200, None, None)])

    def test_probability_server_error_with_count(self):
        self.emu.fault("iam:GetUser", kind="server_error", probability=1.0, count=2)
        rs = [self.emu.iam("GetUser") for _ in range(3)]
        self.assertEqual([r.status for r in rs], [500, 500, 200])
        self.assertEqual((rs[0].error_code, rs[0].find("Type")), ("ServiceFailure", "Receiver"))
        self.emu.fault(service="secretsmanager", kind="server_error")
        r = self.emu.request("secretsmanager", target="secretsmanager.DescribeSecret",
                             json_body={"SecretId": "x"})
        self.assertEqual((r.status, r.error_code), (500, "InternalServiceError"))

    def test_probability_is_random_but_seeded(self):
        self.emu.fault("ListGroupsForUser", kind="throttle", probability=0.5, seed=7)
        got = [self.emu.iam("ListGroupsForUser", UserName="used").status for _ in range(20)]
        self.assertIn(400, got)
        self.assertIn(200, got)

    def test_connection_reset_after_action(self):
        self.emu.fault("CreateAccessKey", kind="reset", count=1)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.raw({"Action": "CreateAccessKey", "UserName": "nokeys"})
        # the key was created even though the reply was lost
        r = self.emu.iam("ListAccessKeys", UserName="nokeys")
        self.assertEqual(len(r.findall("AccessKeyId")), 1)
        self.emu.iam("DeleteAccessKey", UserName="nokeys", AccessKeyId=r.find("AccessKeyId"))
        self.emu.fault("CreateAccessKey", kind="reset", before=True, count=1)
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.raw({"Action": "CreateAccessKey", "UserName": "nokeys"})
        r = self.emu.iam("ListAccessKeys", UserName="nokeys")
        self.assertEqual(r.findall("AccessKeyId"), [])
        c = [c for c in self.emu.calls() if c["action"] == "CreateAccessKey"]
        self.assertEqual([x["error_code"] for x in c], ["ConnectionReset"] * 2)

    def test_truncated_body(self):
        self.emu.fault("ListUsers", kind="truncate", count=1)
        with self.assertRaises(http.client.IncompleteRead):
            self.raw({"Action": "ListUsers"})
        self.assertEqual(self.emu.iam("ListUsers").status, 200)

    def test_malformed_xml_and_json(self):
        self.emu.fault("ListUsers", kind="malformed")
        r = self.raw({"Action": "ListUsers"})
        self.assertEqual(r.status, 200)
        with self.assertRaises(ET.ParseError):
            ET.fromstring(r.body)
        self.emu.fault("CreateSecret", kind="malformed")
        r = self.emu.request("secretsmanager", target="secretsmanager.CreateSecret",
                             json_body={"Name": "malformed-reply", "SecretString": "x"})
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            json.loads(r.body)

    def test_slow_reply(self):
        self.emu.fault("GetUser", kind="slow", delay_ms=400)
        t = time.monotonic()
        r = self.emu.iam("GetUser")
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.4)

    def test_latency_does_not_serialize(self):
        self.emu.config(latency_ms=300)
        try:
            t = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                rs = list(ex.map(lambda i: self.emu.iam("GetUser"), range(8)))
            dt = time.monotonic() - t
        finally:
            self.emu.config(latency_ms=0)
        self.assertTrue(all(r.status == 200 for r in rs))
        self.assertGreaterEqual(dt, 0.3)
        self.assertLess(dt, 1.5)  # 8 x 300 ms would be 2.4 s if serialized

    def test_rate_limit_per_account(self):
        self.emu.config(rate_limit=2, rate_burst=3)
        try:
            rs = [self.emu.iam("GetUser").status for _ in range(6)]
            other = self.emu.request("iam", params={"Action": "GetUser",
                                                    "Version": "2010-05-08"},
                                     access_key_id=K_OTHER["id"], secret=K_OTHER["secret"])
        finally:
            self.emu.config(rate_limit=None, rate_burst=None)
        self.assertEqual(rs[:3], [200, 200, 200])
        self.assertIn(400, rs[3:])
        self.assertEqual(other.status, 200)
        thr = [c for c in self.emu.calls() if c["error_code"] == "Throttling"]
        self.assertTrue(thr and all(c["account"] == "111111111111" for c in thr))

    def test_fault_for_one_account(self):
        self.emu.fault("ListUsers", kind="throttle", account=OTHER_ACCOUNT)
        self.assertEqual(self.emu.iam("ListUsers", MaxItems=1).status, 200)
        other = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                                 access_key_id=K_OTHER["id"], secret=K_OTHER["secret"])
        self.assertEqual((other.status, other.error_code), (400, "Throttling"))
        # a role session counts as the role's account
        a = self.emu.request("sts", params={
            "Action": "AssumeRole", "Version": "2011-06-15", "RoleSessionName": "sess",
            "RoleArn": "arn:aws:iam::%s:role/CrossAccount" % OTHER_ACCOUNT})
        self.assertEqual(a.status, 200, a.text)
        sess = self.emu.request("iam", params={"Action": "ListUsers", "Version": "2010-05-08"},
                                access_key_id=a.find("AccessKeyId"),
                                secret=a.find("SecretAccessKey"),
                                session_token=a.find("SessionToken"))
        self.assertEqual((sess.status, sess.error_code), (400, "Throttling"))
        self.assertEqual(self.emu.faults()[0]["account"], OTHER_ACCOUNT)
        self.assertEqual(self.emu.faults()[0]["fired"], 2)
        with self.assertRaises(EmulatorError):
            self.emu.fault("ListUsers", account="12345")

    def test_call_log_reset_and_since(self):
        self.emu.iam("GetUser")
        first = self.emu.calls()
        self.assertEqual(len(first), 1)
        self.emu.iam("ListUsers", MaxItems=1)
        later = self.emu.calls(since=first[0]["seq"])
        self.assertEqual([c["action"] for c in later], ["ListUsers"])
        self.assertEqual(later[0]["params"], {"MaxItems": "1"})
        self.assertRegex(later[0]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertEqual(self.emu.counters(), {"iam:GetUser": 1, "iam:ListUsers": 1})
        self.emu.reset_calls()
        self.assertEqual((self.emu.calls(), self.emu.counters()), ([], {}))


class ClockAndStateTests(EmulatorTestCase):
    emulator_fixture = staticmethod(protocol_fixture)

    def setUp(self):
        self.reset_emulator()

    def tearDown(self):
        self.emu.set_clock(0)

    def test_offset_clock_stamps_and_env(self):
        self.emu.set_clock(offset_seconds=90 * 86400)
        self.assertEqual(self.emu.clock_offset(), 7776000)
        env = self.emu.env()
        self.assertEqual(env["IAMKEYS_TEST_CLOCK_OFFSET"], "7776000")
        self.assertNotIn("IAMKEYS_TEST_NOW", env)
        now = emu_now(self.emu)
        r = self.emu.request("iam", params={"Action": "CreateAccessKey", "Version": "2010-05-08",
                                            "UserName": "nokeys"}, when=now)
        created = parse_iso(r.find("CreateDate"))
        real = datetime.datetime.now(UTC)
        self.assertAlmostEqual((created - real).total_seconds(), 7776000, delta=5)
        # relative fixture dates are relative to the emulator clock at load time
        self.emu.load(protocol_fixture())
        k = [k for a in self.emu.state()["accounts"] for u in a["users"] for k in u["keys"]
             if k["id"] == K_TWO_1["id"]][0]
        self.assertAlmostEqual((parse_iso(k["create_date"]) - real).total_seconds(),
                               (90 - 100) * 86400, delta=5)

    def test_absolute_clock(self):
        self.emu.set_clock(now="2030-01-01T00:00:00Z")
        c = self.emu.clock()
        self.assertEqual((c["mode"], c["absolute"]), ("absolute", "2030-01-01T00:00:00Z"))
        env = self.emu.env()
        self.assertEqual(env["IAMKEYS_TEST_NOW"], "2030-01-01T00:00:00Z")
        self.assertNotIn("IAMKEYS_TEST_CLOCK_OFFSET", env)
        when = datetime.datetime(2030, 1, 1, tzinfo=UTC)
        r = self.emu.request("sts", params={"Action": "GetCallerIdentity",
                                            "Version": "2011-06-15"},
                             access_key_id=K_NEVER["id"], secret=K_NEVER["secret"], when=when)
        self.assertEqual(r.status, 200, r.text)
        r = self.emu.request("iam", params={"Action": "GetAccessKeyLastUsed",
                                            "Version": "2010-05-08",
                                            "AccessKeyId": K_NEVER["id"]}, when=when)
        self.assertTrue(r.find("LastUsedDate").startswith("2030-01-01T00:0"), r.text)
        self.emu.set_clock(0)
        self.assertEqual(self.emu.clock()["mode"], "real")
        self.assertNotIn("IAMKEYS_TEST_NOW", self.emu.env())

    def test_env(self):
        os.environ["AWS_PROFILE"] = "should-be-removed"
        try:
            env = self.emu.env(EXTRA="1", PATH=None)
        finally:
            del os.environ["AWS_PROFILE"]
        self.assertNotIn("AWS_PROFILE", env)
        self.assertNotIn("PATH", env)
        self.assertEqual(env["EXTRA"], "1")
        self.assertEqual((env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]),
                         (fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET))
        self.assertEqual((env["AWS_ENDPOINT_URL"], env["AWS_REGION"],
                          env["AWS_DEFAULT_REGION"], env["AWS_EC2_METADATA_DISABLED"]),
                         (self.emu.url, "us-east-1", "us-east-1", "true"))
        self.assertTrue(os.path.isdir(env["HOME"]))
        self.assertNotEqual(env["HOME"], os.path.expanduser("~"))
        env = self.emu.env(access_key_id=K_NEVER["id"], session_token="tok")
        self.assertEqual((env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]),
                         (K_NEVER["secret"], "tok"))

    def test_dump_and_reload_round_trip(self):
        self.emu.iam("CreateAccessKey", UserName="nokeys")
        self.emu.iam("TagUser", UserName="nokeys", **{"Tags.member.1.Key": "x",
                                                      "Tags.member.1.Value": "y"})
        s1 = self.emu.state()
        self.emu.load(s1)
        s2 = self.emu.state()
        strip = lambda s: [(a["id"], a["users"], a["roles"], a["groups"]) for a in s["accounts"]]
        self.assertEqual(strip(s1), strip(s2))
        u = [u for u in s2["accounts"][0]["users"] if u["name"] == "nokeys"][0]
        self.assertEqual((len(u["keys"]), u["tags"]), (1, [{"Key": "x", "Value": "y"}]))

    def test_bad_fixture_is_rejected(self):
        from tests.emulator.harness import EmulatorError
        bad = {"accounts": [{"id": "123", "users": []}]}
        with self.assertRaises(EmulatorError):
            self.emu.load(bad)
        bad = fixtures.admin_fixture([{"name": "x", "keys": [key("a", 1), key("b", 2),
                                                            key("c", 3)]}])
        with self.assertRaises(EmulatorError):
            self.emu.load(bad)
        self.assertEqual(self.emu.iam("GetUser").status, 200)  # old state kept


class ProcessTests(unittest.TestCase):
    def test_cli_port_file_stdout_and_sigterm(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "s.json")
            with open(state, "w") as f:
                json.dump(fixtures.admin_fixture(), f)
            pf = os.path.join(d, "port")
            t = time.monotonic()
            p = subprocess.Popen([PYTHON, AWSEMU, "--port", "0", "--state", state,
                                  "--port-file", pf, "--latency-ms", "5"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                line = p.stdout.readline().decode()
                startup = time.monotonic() - t
                m = re.fullmatch(r"awsemu listening on 127\.0\.0\.1:(\d+)\n", line)
                self.assertIsNotNone(m, line)
                with open(pf) as f:
                    self.assertEqual(f.read().strip(), m.group(1))
                self.assertLess(startup, 2.0)
                conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)))
                conn.request("GET", "/_emu/health")
                self.assertEqual(json.loads(conn.getresponse().read())["pid"], p.pid)
                conn.close()
            finally:
                p.terminate()
                rc = p.wait(5)
                p.stdout.close()
                p.stderr.close()
            self.assertEqual(rc, 0)

    def test_many_users_fixture_loads_fast(self):
        fx = fixtures.many_users(5000)
        self.assertEqual(sum(1 for _ in fixtures.iter_keys(fx)), 7501)
        with Emulator(fx) as emu:
            t = time.monotonic()
            res = emu.load(fx)
            self.assertLess(time.monotonic() - t, 2.0)
            self.assertEqual((res["users"], res["keys"]), (5001, 7501))
            names = []
            marker = None
            while True:
                p = {"MaxItems": 1000}
                if marker:
                    p["Marker"] = marker
                r = emu.iam("ListUsers", **p)
                names += r.findall("UserName")
                marker = r.find("Marker")
                if not marker:
                    break
            self.assertEqual(len(names), 5001)
            self.assertEqual(len(set(names)), 5001)


if __name__ == "__main__":
    unittest.main()
