"""The emulator's DynamoDB (tests/emulator/dynamodb_service.py): the four item calls with
ConditionExpression as DynamoDB answers them, on the wire and through boto3."""
import json

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

TABLE = "iamkeys-locks"
T = "DynamoDB_20120810."
JSON10 = {"Content-Type": "application/x-amz-json-1.0"}


def lock_fixture():
    fx = fixtures.with_lock_table(fixtures.admin_fixture())
    fx["accounts"][0]["dynamodb_tables"][0]["items"] = [
        {"LockID": {"S": "seeded"}, "Owner": {"S": "x"}, "Expires": {"N": "5"}}]
    return fx


class DynamoDBWireTest(EmulatorTestCase):
    emulator_fixture = staticmethod(lock_fixture)

    def setUp(self):
        self.reset_emulator()

    def call(self, action, body):
        return self.emu.request("dynamodb", target=T + action, json_body=body,
                                extra_headers=JSON10)

    def test_conditional_put_and_its_failure_on_the_wire(self):
        put = {"TableName": TABLE, "Item": {"LockID": {"S": "a"}, "Owner": {"S": "me"}},
               "ConditionExpression": "attribute_not_exists(LockID)"}
        r = self.call("PutItem", put)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["content-type"], "application/x-amz-json-1.0")
        self.assertEqual(json.loads(r.body), {})
        r = self.call("PutItem", put)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.headers["content-type"], "application/x-amz-json-1.0")
        self.assertNotIn("x-amzn-errortype", r.headers)
        self.assertEqual(json.loads(r.body), {
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed"})
        c = [x for x in self.emu.calls() if x["service"] == "dynamodb"]
        self.assertEqual([(x["action"], x["http_status"], x["error_code"]) for x in c],
                         [("PutItem", 200, None),
                          ("PutItem", 400, "ConditionalCheckFailedException")])

    def test_missing_table_and_bad_requests(self):
        r = self.call("GetItem", {"TableName": "nope", "Key": {"LockID": {"S": "a"}}})
        self.assertEqual((r.status, json.loads(r.body)), (400, {
            "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
            "message": "Requested resource not found"}))
        cases = [
            ({"TableName": TABLE, "Key": {"Other": {"S": "a"}}}, "GetItem",
             "The provided key element does not match the schema"),
            ({"TableName": TABLE, "Key": {"LockID": {"S": "a"}},
              "ConditionExpression": "#o = :o", "ExpressionAttributeNames": {"#o": "Owner"},
              "ExpressionAttributeValues": {":o": {"S": "x"}, ":unused": {"S": "y"}}},
             "DeleteItem", "Value provided in ExpressionAttributeValues unused in expressions: "
                           "keys: {:unused}"),
            ({"TableName": TABLE, "Key": {"LockID": {"S": "a"}},
              "ConditionExpression": "#o = :o", "ExpressionAttributeValues": {":o": {"S": "x"}}},
             "DeleteItem", "Invalid ConditionExpression: An expression attribute name used in "
                           "the document path is not defined; attribute name: #o"),
            ({"TableName": TABLE, "Item": {"Owner": {"S": "x"}}}, "PutItem",
             "One or more parameter values were invalid: Missing the key LockID in the item"),
        ]
        for body, action, msg in cases:
            r = self.call(action, body)
            self.assertEqual(r.status, 400, (action, r.body))
            self.assertEqual(json.loads(r.body), {
                "__type": "com.amazonaws.dynamodb.v20120810#ValidationException",
                "message": msg})

    def test_fixture_items_are_in_the_state(self):
        r = self.call("GetItem", {"TableName": TABLE, "Key": {"LockID": {"S": "seeded"}},
                                  "ConsistentRead": True})
        self.assertEqual(json.loads(r.body), {"Item": {
            "LockID": {"S": "seeded"}, "Owner": {"S": "x"}, "Expires": {"N": "5"}}})
        self.call("PutItem", {"TableName": TABLE, "Item": {"LockID": {"S": "b"}}})
        t = self.emu.state()["accounts"][0]["dynamodb_tables"]
        self.assertEqual(t, [{"name": TABLE, "region": "us-east-1", "key": "LockID",
                              "items": [{"LockID": {"S": "b"}},
                                        {"LockID": {"S": "seeded"}, "Owner": {"S": "x"},
                                         "Expires": {"N": "5"}}]}])


class DynamoDBBoto3Test(EmulatorTestCase):
    """The lease protocol of iamkeys' --lock dynamodb:, driven by boto3 (botocore's own
    serializers and error parsing)."""
    emulator_fixture = staticmethod(lock_fixture)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ddb = cls.emu.client("dynamodb")

    def setUp(self):
        self.reset_emulator()

    def take(self, owner, now, lease=60):
        return self.ddb.put_item(
            TableName=TABLE,
            Item={"LockID": {"S": "iamkeys/111111111111"}, "Owner": {"S": owner},
                  "Expires": {"N": str(now + lease)}},
            ConditionExpression="attribute_not_exists(LockID) OR #expires < :now",
            ExpressionAttributeNames={"#expires": "Expires"},
            ExpressionAttributeValues={":now": {"N": str(now)}})

    def owner_is(self, owner):
        return {"Key": {"LockID": {"S": "iamkeys/111111111111"}},
                "ConditionExpression": "#owner = :owner",
                "ExpressionAttributeNames": {"#owner": "Owner"},
                "ExpressionAttributeValues": {":owner": {"S": owner}}}

    def assertConditionFails(self, fn, **kw):
        with self.assertRaises(self.ddb.exceptions.ConditionalCheckFailedException) as cm:
            fn(**kw)
        self.assertEqual(cm.exception.response["Error"]["Code"],
                         "ConditionalCheckFailedException")
        self.assertEqual(cm.exception.response["Error"]["Message"],
                         "The conditional request failed")

    def test_lease_taken_renewed_expired_taken_over_released(self):
        self.take("A", 1000)
        # held: B cannot take it while it lasts (1060 is not < 1059)
        self.assertConditionFails(self.take, owner="B", now=1059)
        # A renews it: only A may
        self.ddb.update_item(TableName=TABLE, UpdateExpression="SET #expires = :expires",
                             **self._merge(self.owner_is("A"), {"#expires": "Expires"},
                                           {":expires": {"N": "1100"}}))
        self.assertConditionFails(self.ddb.update_item, TableName=TABLE,
                                  UpdateExpression="SET #expires = :expires",
                                  **self._merge(self.owner_is("B"), {"#expires": "Expires"},
                                                {":expires": {"N": "9999"}}))
        self.assertConditionFails(self.take, owner="B", now=1099)
        # expired: B takes it over; A's renewal and release now fail
        self.take("B", 1101)
        item = self.ddb.get_item(TableName=TABLE, ConsistentRead=True,
                                 Key={"LockID": {"S": "iamkeys/111111111111"}})["Item"]
        self.assertEqual(item, {"LockID": {"S": "iamkeys/111111111111"}, "Owner": {"S": "B"},
                                "Expires": {"N": "1161"}})
        self.assertConditionFails(self.ddb.delete_item, TableName=TABLE, **self.owner_is("A"))
        self.ddb.delete_item(TableName=TABLE, **self.owner_is("B"))
        self.assertNotIn("Item", self.ddb.get_item(
            TableName=TABLE, Key={"LockID": {"S": "iamkeys/111111111111"}}))
        # an update of a missing item does not create it when the condition fails
        self.assertConditionFails(self.ddb.update_item, TableName=TABLE,
                                  UpdateExpression="SET #expires = :expires",
                                  **self._merge(self.owner_is("A"), {"#expires": "Expires"},
                                                {":expires": {"N": "1"}}))
        self.assertEqual(self.emu.state()["accounts"][0]["dynamodb_tables"][0]["items"][0]
                         ["LockID"], {"S": "seeded"})

    def test_and_not_parentheses_and_return_values(self):
        self.take("A", 1000)
        k = {"LockID": {"S": "iamkeys/111111111111"}}
        r = self.ddb.put_item(
            TableName=TABLE, Item=dict(k, Owner={"S": "C"}), ReturnValues="ALL_OLD",
            ConditionExpression="(Owner = :a AND NOT Expires > :big) OR attribute_exists(Nope)",
            ExpressionAttributeValues={":a": {"S": "A"}, ":big": {"N": "99999"}})
        self.assertEqual(r["Attributes"]["Owner"], {"S": "A"})
        self.assertConditionFails(
            self.ddb.put_item, TableName=TABLE, Item=dict(k, Owner={"S": "D"}),
            ConditionExpression="Owner = :a AND Owner <> :c",
            ExpressionAttributeValues={":a": {"S": "C"}, ":c": {"S": "C"}})
        # a number compared with a string is false, not an error
        self.assertConditionFails(
            self.ddb.delete_item, TableName=TABLE, Key=k, ConditionExpression="Owner < :n",
            ExpressionAttributeValues={":n": {"N": "5"}})
        r = self.ddb.update_item(TableName=TABLE, Key=k, UpdateExpression="SET Pid = :p",
                                 ExpressionAttributeValues={":p": {"N": "42"}},
                                 ReturnValues="ALL_NEW")
        self.assertEqual(r["Attributes"], dict(k, Owner={"S": "C"}, Pid={"N": "42"}))

    def test_missing_table_is_resource_not_found(self):
        with self.assertRaises(self.ddb.exceptions.ResourceNotFoundException):
            self.ddb.get_item(TableName="missing", Key={"LockID": {"S": "x"}})

    @staticmethod
    def _merge(base, names, values):
        out = dict(base)
        out["ExpressionAttributeNames"] = dict(base["ExpressionAttributeNames"], **names)
        out["ExpressionAttributeValues"] = dict(base["ExpressionAttributeValues"], **values)
        return out
