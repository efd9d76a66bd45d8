"""The benchmark's account: N users with ~1.5 keys each, as in a maintained account.

    from bench.fixture import bench_account, describe
    fx = bench_account(5000, keys_per_user=1.5, seed=1)

Deterministic (same arguments, byte-identical fixture). Dates are relative to the
emulator clock at load time, and no age sits on a policy boundary of the default audit
policy (30d inactive grace, 45d unused, 83d expiring, 90d max age), so findings do not
flip while the clock runs during a benchmark of several minutes.

The mix (per key unless said otherwise):
  - 2% of users have no key (console-only people); the rest have one or two keys, in
    the proportion that gives keys_per_user on average (1.5 -> 52% two-key users).
  - 75% young (1-89 days, uniform: a 90-day rotation keeps ages spread evenly), 25% past
    90 days (91 days to a few years, most of them under a year).
  - last use: young keys mostly used in the last week (90%), some never used yet (6%),
    a few idle for more than 45 days (4%); old keys mostly still in use (80%), some idle
    (12%), some never used (8%).
  - the two keys of a user are created on different days (keys created in the same
    second cannot be matched to the credential report's rows: iamkeys asks AWS instead);
  - 10% of two-key users have deactivated their older key (rotation done, deletion
    pending); a few single keys are inactive (1% of old ones).
  - ~1% of users carry iamkeys:exempt=true, 10% have path /eng/, 5% /service-accounts/,
    4% are in the Developers group, ~40% have a console password. No root key.
Plus the fixture's 'admin' user (30-day key), whose credentials the benchmark uses.
"""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.emulator import fixtures  # noqa: E402

# ages (days) that sit on a default-policy boundary: avoided
BOUNDARIES = {30, 45, 83, 90}
SERVICES = ["s3", "s3", "s3", "ec2", "sts", "dynamodb", "sqs", "lambda", "iam",
            "cloudformation", "ecr", "logs"]
REGIONS = ["us-east-1", "us-east-1", "us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"]


def _day(rng, lo, hi):
    """A whole number of days in [lo, hi] that is not a policy boundary (None if none)."""
    choices = [d for d in range(lo, hi + 1) if d not in BOUNDARIES]
    return rng.choice(choices) if choices else None


def _young_age(rng):
    return _day(rng, 1, 89)


def _old_age(rng):
    # most old keys are a few months past the limit, a tail goes back years
    age = 91 + int(rng.expovariate(1.0 / 160.0))
    return min(age, 2500)


def _last_used(rng, age, old):
    """Days since last use, or None for never used."""
    r = rng.random()
    in_use, idle = (0.80, 0.12) if old else (0.90, 0.04)
    recent = rng.randint(0, min(age - 1, 10 if old else 6)) if age > 1 else 0
    if r < in_use:
        return recent
    if r < in_use + idle:
        return _day(rng, 46, age - 1) if age > 47 else recent
    return None


def _key(rng, seed, age, old, status="Active"):
    if status == "Active":
        lu = _last_used(rng, age, old)
    else:  # deactivated some time after creation, last used before that
        lu = _day(rng, min(age - 1, 31), age - 1) if age > 1 else None
    return fixtures.key(seed, age, status=status, last_used_days=lu,
                        service=rng.choice(SERVICES), region=rng.choice(REGIONS))


def bench_users(n, keys_per_user=1.5, seed=1, prefix="user"):
    rng = random.Random("iamkeys-bench/%s" % seed)
    p0 = 0.02 if keys_per_user > 1.02 else 0.0
    p2 = max(0.0, min(1.0 - p0, keys_per_user - 1.0 + p0))
    users = []
    for i in range(n):
        name = "%s%05d" % (prefix, i)
        r = rng.random()
        nkeys = 0 if r < p0 else (2 if r < p0 + p2 else 1)
        specs = []
        for _ in range(nkeys):
            old = rng.random() < 0.25
            age = _old_age(rng) if old else _young_age(rng)
            while any(age == a for a, _ in specs):  # a user's keys never share a day
                age = _old_age(rng) if old else _young_age(rng)
            specs.append((age, old))
        specs.sort(key=lambda s: -s[0])  # oldest first
        keys = []
        for j, (age, old) in enumerate(specs):
            status = "Active"
            if nkeys == 2 and j == 0 and rng.random() < 0.10:
                status = "Inactive"  # rotated out, not deleted yet
            elif nkeys == 1 and old and rng.random() < 0.01:
                status = "Inactive"
            keys.append(_key(rng, "bench/%s/%d/%d" % (seed, i, j), age, old, status))
        r = rng.random()
        path = "/eng/" if r < 0.10 else ("/service-accounts/" if r < 0.15 else "/")
        oldest = max([a for a, _ in specs] + [30])
        d = {"name": name, "path": path, "user_id": fixtures.user_id("bench/%s/%d" % (seed, i)),
             "create_date": "-%dd" % (oldest + rng.randint(1, 60)), "keys": keys}
        if rng.random() < 0.01:
            d["tags"] = {"iamkeys:exempt": "true", "owner": "platform"}
        elif rng.random() < 0.3:
            d["tags"] = {"team": rng.choice(["web", "data", "infra", "mobile", "payments"])}
        if rng.random() < 0.04:
            d["groups"] = ["Developers"]
        if path != "/service-accounts/" and rng.random() < 0.4:
            d["password_last_used"] = "-%dd" % rng.randint(1, 120)
            d["mfa_active"] = rng.random() < 0.8
        users.append(d)
    return users


def bench_account(n, keys_per_user=1.5, seed=1):
    """One account (111111111111): 'admin' plus n benchmark users."""
    return fixtures.admin_fixture(extra_users=bench_users(n, keys_per_user, seed))


def describe(fx):
    """Counts for the benchmark header: users, keys, old/inactive/never-used shares."""
    users = keys = old = inactive = never = two = none = 0
    for acc in fx["accounts"]:
        for u in acc["users"]:
            if u["name"] == fixtures.ADMIN_USER:
                continue
            users += 1
            two += len(u["keys"]) == 2
            none += not u["keys"]
            for k in u["keys"]:
                keys += 1
                old += fixtures.k_age(k) > 90
                inactive += k["status"] != "Active"
                never += k["last_used"] is None
    return {"users": users, "keys": keys, "old": old, "inactive": inactive,
            "never_used": never, "two_key_users": two, "keyless_users": none}


if __name__ == "__main__":
    import json
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    print(json.dumps(describe(bench_account(n)), indent=2))
