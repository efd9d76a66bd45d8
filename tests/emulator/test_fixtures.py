"""The fixture generators: determinism, the promised mixes, and that the emulator loads
them as described (ages relative to the emulator clock)."""
import datetime
import re
import unittest

from tests.emulator import fixtures
from tests.emulator.harness import EmulatorTestCase

UTC = datetime.timezone.utc


class GeneratorTests(unittest.TestCase):
    def test_ids_look_real_and_are_deterministic(self):
        self.assertEqual(len(fixtures.ADMIN_KEY_ID), 20)
        self.assertTrue(fixtures.ADMIN_KEY_ID.startswith("AKIA"))
        self.assertEqual(len(fixtures.ADMIN_SECRET), 40)
        fx = fixtures.many_users(300, seed=5)
        self.assertEqual(fx, fixtures.many_users(300, seed=5))
        self.assertNotEqual(fx, fixtures.many_users(300, seed=6))
        ids = [k["id"] for _, _, k in fixtures.iter_keys(fx)]
        self.assertEqual(len(ids), len(set(ids)))
        for _, _, k in fixtures.iter_keys(fx):
            self.assertRegex(k["id"], r"^AKIA[A-Z0-9]{16}$")
            self.assertEqual(len(k["secret"]), 40)

    def test_many_users_mix(self):
        fx = fixtures.many_users(5000)
        users = fx["accounts"][0]["users"]
        self.assertEqual(len(users), 5001)
        keys = [k for _, u, k in fixtures.iter_keys(fx) if u != fixtures.ADMIN_USER]
        self.assertEqual(len(keys), 7500)
        ages = [fixtures.k_age(k) for k in keys]
        old = sum(1 for a in ages if a > 90)
        self.assertTrue(0.18 < old / len(keys) < 0.32, old)
        self.assertFalse(any(86 <= a <= 94 for a in ages))
        self.assertTrue(any(k["last_used"] is None for k in keys))
        self.assertTrue(any(k["status"] == "Inactive" for k in keys))
        self.assertEqual(sum(1 for u in users if u.get("tags", {}).get("iamkeys:exempt")), 50)
        self.assertEqual(fixtures.many_users(10, keys_per_user=1)["accounts"][0]["users"][1]
                         ["name"], "user00000")
        self.assertEqual(sum(1 for _ in fixtures.iter_keys(
            fixtures.many_users(10, keys_per_user=2, include_admin=False))), 20)

    def test_example_account_cases(self):
        fx = fixtures.example_account()
        users = {u["name"]: u for u in fx["accounts"][0]["users"]}
        self.assertGreaterEqual(len(users), 30)
        self.assertEqual(users["mallory"]["tags"]["iamkeys:exempt"], "true")
        self.assertEqual([k["status"] for k in users["grace"]["keys"]], ["Active", "Active"])
        self.assertEqual(users["heidi"]["keys"][0]["status"], "Inactive")
        self.assertIsNone(users["frank"]["keys"][0]["last_used"])
        self.assertEqual(users["judy"]["path"], "/engineering/")
        self.assertEqual(users["peggy"]["keys"], [])
        self.assertIn("Developers", users["oscar"]["groups"])
        ages = sorted(fixtures.k_age(k) for _, _, k in fixtures.iter_keys(fx))
        for a in (60, 89, 95, 200, 400):
            self.assertIn(a, ages)

    def test_organization_shape(self):
        fx = fixtures.organization(5, 3, suspended=1)
        self.assertEqual([a["id"] for a in fx["accounts"]],
                         ["111111111111"] + [fixtures.member_account_id(i) for i in range(1, 5)])
        org = fx["organization"]
        self.assertEqual(org["management_account"], "111111111111")
        self.assertEqual([a["status"] for a in org["accounts"]],
                         ["ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "SUSPENDED"])
        for acc in fx["accounts"][1:]:
            self.assertEqual(len(acc["users"]), 3)
            self.assertEqual(acc["roles"][0]["name"], fixtures.ORG_ROLE)
            self.assertEqual(acc["roles"][0]["trust"], ["111111111111"])


class LoadedExampleTests(EmulatorTestCase):
    emulator_fixture = staticmethod(fixtures.example_account)

    def test_relative_dates_and_listing(self):
        r = self.emu.iam("ListAccessKeys", UserName="dave")
        created = datetime.datetime.fromisoformat(r.find("CreateDate").replace("Z", "+00:00"))
        age = datetime.datetime.now(UTC) - created
        self.assertAlmostEqual(age.total_seconds() / 86400, 95, delta=0.01)
        r = self.emu.iam("ListUsers", PathPrefix="/service-accounts/")
        self.assertEqual(r.findall("UserName"), ["svc-backup", "svc-deploy", "svc-metrics",
                                                 "trent"])
        r = self.emu.iam("GetAccessKeyLastUsed", AccessKeyId=fixtures.key_id("example/bob"))
        self.assertEqual((r.find("ServiceName"), r.find("Region")), ("s3", "eu-west-1"))
        self.assertTrue(re.match(r"^\d{4}-", r.find("LastUsedDate")))


if __name__ == "__main__":
    unittest.main()
