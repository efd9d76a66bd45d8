#!/usr/bin/python3
"""The baseline: the boto3 key scan of the AWS sample solution and of runbook scripts.

    boto3_scan.py --endpoint URL [--threads N]

ListUsers through the paginator, then per user ListAccessKeys and per key
GetAccessKeyLastUsed; with --threads N > 1 the users are spread over a thread pool
sharing one client (boto3 clients are thread-safe) with N pooled connections.
Credentials and region come from the environment. Prints one JSON object: timings
(import and client setup apart from the scan), the number of calls made, users and
keys seen, and active keys older than 90 days (a cross-check against iamkeys).
"""
import time

T_START = time.monotonic()

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import boto3  # noqa: E402
import botocore.config  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--region", default="us-east-1")
    a = ap.parse_args()

    cfg = botocore.config.Config(max_pool_connections=max(10, a.threads),
                                 retries={"mode": "standard", "max_attempts": 3})
    iam = boto3.session.Session().client("iam", endpoint_url=a.endpoint,
                                         region_name=a.region, config=cfg)
    t0 = time.monotonic()

    users = []
    pages = 0
    for page in iam.get_paginator("list_users").paginate():
        pages += 1
        users.extend(page["Users"])

    def scan_user(u):
        rows = []
        md = iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]
        for k in md:
            lu = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])
            rows.append((u["UserName"], k["AccessKeyId"], k["Status"], k["CreateDate"],
                         lu.get("AccessKeyLastUsed", {}).get("LastUsedDate")))
        return rows

    if a.threads > 1:
        with ThreadPoolExecutor(max_workers=a.threads) as ex:
            per_user = list(ex.map(scan_user, users))
    else:
        per_user = [scan_user(u) for u in users]
    t1 = time.monotonic()

    keys = [r for rows in per_user for r in rows]
    now = datetime.datetime.now(datetime.timezone.utc)
    old = sum(1 for r in keys if r[2] == "Active" and (now - r[3]).total_seconds() > 90 * 86400)
    json.dump({"threads": a.threads, "setup_s": round(t0 - T_START, 3),
               "scan_s": round(t1 - t0, 3), "list_users_pages": pages,
               "calls": pages + len(users) + len(keys), "users": len(users),
               "keys": len(keys), "old_active": old}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
