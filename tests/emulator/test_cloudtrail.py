"""CloudTrail in the emulator, read with Debian's boto3: every request becomes an event;
LookupEvents pages newest first, filters by one attribute and time, keeps 90 days and
allows 2 requests per second per region."""
import json
import time

import botocore.exceptions

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase


class CloudTrailTests(EmulatorTestCase):
    emulator_fixture = staticmethod(fixtures.admin_fixture)

    def setUp(self):
        self.reset_emulator()
        self.emu.clear_cloudtrail()

    def lookup(self, ct, **kw):
        for _ in range(20):
            try:
                return ct.lookup_events(**kw)
            except botocore.exceptions.ClientError as e:
                if e.response["Error"]["Code"] != "ThrottlingException":
                    raise
                time.sleep(0.5)
        raise AssertionError("still throttled")

    def test_requests_are_recorded_and_looked_up(self):
        iam = self.emu.client("iam")
        iam.get_user()
        iam.list_users()
        key = self.emu.default_credentials()[0]
        ct = self.emu.client("cloudtrail", region="us-east-1")
        got = self.lookup(ct, LookupAttributes=[{"AttributeKey": "AccessKeyId",
                                                 "AttributeValue": key}])
        names = [e["EventName"] for e in got["Events"]]
        self.assertEqual(names[:2], ["ListUsers", "GetUser"])  # newest first
        detail = json.loads(got["Events"][0]["CloudTrailEvent"])
        self.assertEqual(detail["userIdentity"]["accessKeyId"], key)
        self.assertEqual(detail["eventSource"], "iam.amazonaws.com")
        self.assertEqual(detail["awsRegion"], "us-east-1")
        self.assertIn("Boto3", detail["userAgent"])

    def test_pages_attribute_time_and_region(self):
        self.emu.cloudtrail_events(
            [{"access_key_id": "AKIALEAKED0000000001", "event_name": "ListBuckets",
              "event_source": "s3.amazonaws.com", "region": "eu-west-1",
              "time": "-%dh" % (i + 1)} for i in range(120)] +
            [{"access_key_id": "AKIAOTHER00000000001", "region": "eu-west-1"},
             {"access_key_id": "AKIALEAKED0000000001", "region": "eu-west-1", "time": "-91d"}])
        ct = self.emu.client("cloudtrail", region="eu-west-1")
        attr = [{"AttributeKey": "AccessKeyId", "AttributeValue": "AKIALEAKED0000000001"}]
        sizes, token = [], None
        while True:
            kw = {"NextToken": token} if token else {}
            page = self.lookup(ct, LookupAttributes=attr, MaxResults=50, **kw)
            sizes.append(len(page["Events"]))
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(sizes, [50, 50, 20])  # the 91-day-old event is gone
        import datetime
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=10, minutes=30)
        page = self.lookup(ct, LookupAttributes=attr, StartTime=since)
        self.assertEqual(len(page["Events"]), 10)
        other = self.emu.client("cloudtrail", region="us-west-2")
        self.assertEqual(self.lookup(other, LookupAttributes=attr)["Events"], [])
        with self.assertRaises(ct.exceptions.InvalidLookupAttributesException):
            self.lookup(ct, LookupAttributes=attr + attr)  # past a throttle of the region's 2 TPS

    def test_two_requests_per_second_per_region(self):
        # raw signed requests, no client retries: the third in a burst is throttled
        body = {"MaxResults": 1}
        target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
        key, secret = self.emu.default_credentials()
        codes = [self.emu.request("cloudtrail", target=target, json_body=body, region="ap-south-1",
                                  access_key_id=key, secret=secret).status for _ in range(3)]
        self.assertEqual(codes, [200, 200, 400])
        self.assertEqual(self.emu.calls()[-1]["error_code"], "ThrottlingException")
        time.sleep(0.6)  # a token back after half a second
        self.assertEqual(self.emu.request("cloudtrail", target=target, json_body=body,
                                          region="ap-south-1", access_key_id=key,
                                          secret=secret).status, 200)
