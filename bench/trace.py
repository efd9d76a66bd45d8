#!/usr/bin/python3
"""make bench (and make bench-trace): iamkeys trace of 100 keys over 17 regions, against
CloudTrail's rate limit, on the local AWS emulator.

    bench/trace.py [--build DIR] [--keys 100] [--latency-ms 25] [--seed 1] [--json FILE]

One emulator (tests/emulator/awsemu/, 127.0.0.1 only: nothing reaches AWS) holds an
account whose 17 enabled regions are the ones that need no opt-in, and --keys users with
one key each. Their CloudTrail events (deterministic for a seed): every key has 1 to 45
events in one region (one page), a third of them 51 to 99 more in a second region (two
pages), from one to three hosts each; one in twenty a GetSessionToken whose session then makes calls (a second pass of
the derived key over every region), and there is noise signed with other keys. Every API
request is answered after --latency-ms; LookupEvents allows 2 requests per second per
region, with ThrottlingException beyond, as CloudTrail does.

Then one child process, `iamkeys trace --key K1 ... --key K100 --output json`: EC2
DescribeRegions, then per key every region at once, all keys sharing one pacer per region.
The emulator counts the calls. The rate-limit floor is the busiest region's LookupEvents
calls / 2 per second; the target is a wall time within 1.2x of it, with no request
throttled. Prints the figures and PASS/FAIL; exits 0 once it ran (a benchmark, not a
test), 1 when something could not run.
"""
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.run import bench_args, log, write_figures  # noqa: E402
from tests.emulator import fixtures  # noqa: E402
from tests.emulator.harness import Emulator  # noqa: E402

REGIONS = ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
           "ap-southeast-1", "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1",
           "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2",
           "us-west-1", "us-west-2"]
RATE = 2.0  # LookupEvents requests per second per region (CloudTrail's limit)
TARGET = 1.2
AGENTS = ["aws-sdk-java/2.20.1 Linux/5.10 OpenJDK_64-Bit_Server_VM/17",
          "Boto3/1.34.2 md/Botocore#1.34.2 Python/3.11.6", "aws-cli/2.15.0 Python/3.11.6",
          "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5", "Terraform/1.6.6"]


def account(nkeys, seed):
    """(fixture, key ids, expected counted events) for nkeys keys."""
    rnd = random.Random(seed)
    users, keys, events, expected = [], [], [], 0

    def ev(kid, region, n, name="GetObject", src="s3.amazonaws.com", **kw):
        for _ in range(n):
            ip, agent = rnd.choice(callers)
            events.append(dict({"access_key_id": kid, "event_name": name,
                                "event_source": src, "region": region, "source_ip": ip,
                                "user_agent": agent,
                                "time": "-%dm" % rnd.randrange(10, 29 * 1440)}, **kw))
    for i in range(nkeys):
        # one to three hosts call with a key, each with its program
        callers = [("10.0.%d.%d" % (rnd.randrange(8), rnd.randrange(1, 255)),
                    rnd.choice(AGENTS)) for _ in range(rnd.randint(1, 3))]
        k = fixtures.key("bench-trace-%03d" % i, 200, last_used_days=1)
        users.append({"name": "tr-%03d" % i, "keys": [k]})
        keys.append(k["id"])
        a, b = rnd.sample(REGIONS, 2)
        n = rnd.randint(1, 45)
        ev(k["id"], a, n)
        expected += n
        if i % 3 == 0:
            n = rnd.randint(51, 99)
            ev(k["id"], b, n, name="ListBuckets")
            expected += n
        if i % 20 == 7:
            sess = "ASIABENCH%011d" % i
            ev(k["id"], a, 1, name="GetSessionToken", src="sts.amazonaws.com",
               response_elements={"credentials": {"accessKeyId": sess}})
            ev(sess, a, 3, name="PutObject")
            expected += 4
    callers = [("192.0.2.1", AGENTS[0])]
    for i in range(200):  # noise: other keys
        ev("AKIANOISE%011d" % i, rnd.choice(REGIONS), 1)
    fx = fixtures.admin_fixture(extra_users=users)
    fx["cloudtrail_events"] = events
    fx["ec2_regions"] = list(REGIONS)
    return fx, keys, expected


def own_args(ap):
    """bench/trace.py's own arguments."""
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--latency-ms", type=float, default=25.0)


def main():
    a, binary = bench_args(__doc__, own_args)
    if not binary:
        return 1
    fx, keys, expected = account(a.keys, a.seed)
    log("iamkeys trace benchmark: %d keys, %d enabled regions, %d CloudTrail events "
        "(%d of them the keys'), %.0f ms latency, %.0f LookupEvents/s per region"
        % (len(keys), len(REGIONS), len(fx["cloudtrail_events"]), expected, a.latency_ms,
           RATE))
    with Emulator(fx, latency_ms=a.latency_ms) as emu:
        r = emu.iam("GetAccountSummary")  # the emulator's first request waits for botocore
        if r.status != 200:
            log("bench: emulator warm-up request failed: HTTP %s" % r.status)
            return 1
        time.sleep(1.1)  # CloudTrail's buckets full
        emu.reset_calls()
        cmd = [binary, "trace", "--output", "json"]
        for k in keys:
            cmd += ["--key", k]
        t0 = time.monotonic()
        p = subprocess.run(cmd, env=emu.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=1200)
        wall = time.monotonic() - t0
        calls = emu.calls()
    if p.returncode != 0:
        log("bench: iamkeys trace failed (rc %d):\n%s" % (p.returncode, p.stderr[-2000:]))
        return 1
    doc = json.loads(p.stdout)
    per, throttled, other = {}, 0, {}
    for c in calls:
        if c["action"] == "LookupEvents":
            per[c["region"]] = per.get(c["region"], 0) + 1
            throttled += c["error_code"] == "ThrottlingException"
        else:
            other[c["action"]] = other.get(c["action"], 0) + 1
    busiest = max(per, key=lambda r: (per[r], r))
    floor = per[busiest] / RATE
    ratio = wall / floor
    total = sum(per.values())
    log()
    log("  wall time           %8.2f s" % wall)
    log("  rate-limit floor    %8.2f s  (%d LookupEvents calls in %s, the busiest region, "
        "/ %.0f per s)" % (floor, per[busiest], busiest, RATE))
    log("  ratio               %8.2f x" % ratio)
    log("  LookupEvents calls  %8d  (%d regions: %d to %d each; %d throttled)"
        % (total, len(per), min(per.values()), max(per.values()), throttled))
    log("  other calls         %s" % ", ".join("%s %d" % kv for kv in sorted(other.items())))
    log("  events counted      %8d  (expected %d), %d callers"
        % (doc["Summary"]["Events"], expected, doc["Summary"]["Callers"]))
    ok = ratio <= TARGET and not throttled and doc["Summary"]["Events"] == expected
    log()
    log("target: wall time within %.1fx of the rate-limit floor, no throttling, every "
        "event counted: %s" % (TARGET, "PASS" if ok else "FAIL"))
    if a.json:
        write_figures(a.json, {
            "keys": len(keys), "regions": len(per), "latency_ms": a.latency_ms,
            "wall_s": wall, "floor_s": floor, "ratio": ratio, "lookup_calls": per,
            "throttled": throttled, "other_calls": other, "events": doc["Summary"]["Events"],
            "expected_events": expected, "pass": ok})
    return 0


if __name__ == "__main__":
    sys.exit(main())
