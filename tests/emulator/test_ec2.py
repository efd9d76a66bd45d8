"""The emulator's EC2 DescribeRegions (tests/emulator/ec2_service.py): read back by boto3,
whose EC2 parser expects EC2's own XML (no Result wrapper), and on the wire."""
import botocore.exceptions

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

DEFAULT = ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
           "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1",
           "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
           "us-west-1", "us-west-2"]


def fixture():
    return fixtures.admin_fixture(extra_users=[
        {"name": "no-ec2", "keys": [fixtures.key("no-ec2", 10)], "allow": ["iam:*"]}])


class DescribeRegionsTest(EmulatorTestCase):
    emulator_fixture = staticmethod(fixture)

    def setUp(self):
        self.reset_emulator()

    def test_enabled_regions(self):
        ec2 = self.emu.client("ec2")
        r = ec2.describe_regions()["Regions"]
        self.assertEqual([x["RegionName"] for x in r], DEFAULT)
        self.assertEqual(r[0], {"RegionName": "ap-northeast-1", "OptInStatus":
                                "opt-in-not-required",
                                "Endpoint": "ec2.ap-northeast-1.amazonaws.com"})
        self.emu.ec2_regions(["eu-west-1", "af-south-1"])
        self.assertEqual(self.emu.ec2_regions(), ["eu-west-1", "af-south-1"])
        r = ec2.describe_regions()["Regions"]
        self.assertEqual([(x["RegionName"], x["OptInStatus"]) for x in r],
                         [("eu-west-1", "opt-in-not-required"), ("af-south-1", "opted-in")])
        r = ec2.describe_regions(AllRegions=True)["Regions"]
        self.assertIn({"RegionName": "me-south-1", "OptInStatus": "not-opted-in",
                       "Endpoint": "ec2.me-south-1.amazonaws.com"}, r)
        r = ec2.describe_regions(RegionNames=["af-south-1"])["Regions"]
        self.assertEqual([x["RegionName"] for x in r], ["af-south-1"])
        calls = [c for c in self.emu.calls() if c["service"] == "ec2"]
        self.assertEqual([c["action"] for c in calls], ["DescribeRegions"] * 4)
        self.assertTrue(all(c["signature_ok"] for c in calls))
        # a fixture load gives back the default
        self.reset_emulator()
        self.assertEqual(self.emu.ec2_regions(), DEFAULT)

    def test_unauthorized_operation(self):
        k = fixtures.key("no-ec2", 10)
        ec2 = self.emu.client("ec2", access_key_id=k["id"], secret=fixtures.secret_for("no-ec2"))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.describe_regions()
        e = cm.exception.response
        self.assertEqual(e["Error"]["Code"], "UnauthorizedOperation")
        self.assertEqual(e["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertIn("ec2:DescribeRegions", e["Error"]["Message"])

    def test_bad_signature(self):
        k = fixtures.key("no-ec2", 10)
        ec2 = self.emu.client("ec2", access_key_id=k["id"], secret="wrong" * 8)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ec2.describe_regions()
        self.assertEqual(cm.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual([c["signature_ok"] for c in self.emu.calls()], [False])
