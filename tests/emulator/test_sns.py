"""The emulator's SNS Publish (tests/emulator/sns_service.py), through boto3 and on the wire,
and the HTTPS webhook receiver (tests/emulator/webhook.py)."""
import ssl
import tempfile
import urllib.error
import urllib.request

import botocore.exceptions

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase
from tests.emulator.webhook import WebhookReceiver

TOPIC = "arn:aws:sns:us-east-1:%s:key-owners" % fixtures.ACCOUNT_ID


class SnsPublishTest(EmulatorTestCase):
    def setUp(self):
        self.reset_emulator()

    def test_publish_with_attributes_is_recorded(self):
        sns = self.emu.client("sns")
        r = sns.publish(TopicArn=TOPIC, Message="hello", Subject="iamkeys: due-soon",
                        MessageAttributes={"event": {"DataType": "String",
                                                     "StringValue": "due-soon"},
                                           "user": {"DataType": "String",
                                                    "StringValue": "alice"}})
        msgs = self.emu.sns_messages()
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["MessageId"], r["MessageId"])
        self.assertEqual((m["TopicArn"], m["Message"], m["Subject"]),
                         (TOPIC, "hello", "iamkeys: due-soon"))
        self.assertEqual(m["MessageAttributes"],
                         {"event": {"DataType": "String", "StringValue": "due-soon"},
                          "user": {"DataType": "String", "StringValue": "alice"}})
        self.emu.reset_sns()
        self.assertEqual(self.emu.sns_messages(), [])

    def test_errors(self):
        sns = self.emu.client("sns")
        for arn, code in (("arn:aws:sns:us-east-1:999999999999:x", "NotFound"),
                          ("arn:aws:sns:eu-west-1:%s:x" % fixtures.ACCOUNT_ID, "NotFound"),
                          ("not-an-arn", "InvalidParameter")):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                sns.publish(TopicArn=arn, Message="m")
            self.assertEqual(cm.exception.response["Error"]["Code"], code)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sns.publish(TopicArn=TOPIC, Message="m", MessageAttributes={
                "e": {"DataType": "Strange", "StringValue": "x"}})
        self.assertEqual(cm.exception.response["Error"]["Code"], "ParameterValueInvalid")
        self.assertEqual(self.emu.sns_messages(), [])

    def test_fault_injection(self):
        self.emu.fault(service="sns", action="Publish", kind="server_error", count=5)
        sns = self.emu.client("sns")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sns.publish(TopicArn=TOPIC, Message="m")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InternalError")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(self.emu.sns_messages(), [])


class WebhookReceiverTest(EmulatorTestCase):
    def test_records_posts_and_can_fail(self):
        with tempfile.TemporaryDirectory() as d, WebhookReceiver(d) as hook:
            ctx = ssl.create_default_context(cafile=hook.ca_file)
            req = urllib.request.Request(hook.url, data=b'{"text": "hi"}', method="POST")
            self.assertEqual(urllib.request.urlopen(req, context=ctx).status, 200)
            hook.fail_with(500)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(req, context=ctx)
            self.assertEqual(cm.exception.code, 500)
            self.assertEqual(hook.bodies(), [{"text": "hi"}, {"text": "hi"}])
            with self.assertRaises(urllib.error.URLError):  # not trusted without the CA
                urllib.request.urlopen(req, context=ssl.create_default_context())
