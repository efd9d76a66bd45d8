#!/usr/bin/python3
"""make demo: start the local AWS emulator with an example account, run iamkeys
against it (users, audit, a whole rotation across clock jumps), stop the emulator.
Nothing here reaches real AWS."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.emulator import fixtures  # noqa: E402
from tests.emulator.harness import Emulator  # noqa: E402

DAY = 86400


def step(title, binary, args, env):
    print("\n$ iamkeys " + " ".join(args) + "\n# " + title, flush=True)
    p = subprocess.run([binary] + args, env=env)
    print("(exit %d)" % p.returncode, flush=True)
    return p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    a = ap.parse_args()
    binary = os.path.join(ROOT, a.build, "iamkeys")
    sinks = tempfile.mkdtemp(prefix="iamkeys-demo-")
    to = "file:%s/{user}.json" % sinks
    try:
        with Emulator(fixture=fixtures.example_account()) as emu:
            print("emulator: %s (example account 111111111111)" % emu.url)
            step("runbook step 1: every IAM user", binary, ["users"], emu.env())
            step("users under /engineering/, as JSON", binary,
                 ["users", "--path-prefix", "/engineering/", "--output", "json"], emu.env())
            step("runbook step 2: old, unused and risky keys (exit 3: findings)", binary,
                 ["audit"], emu.env())
            users = ["dave", "judy", "oscar"]
            sel = sum((["--user", u] for u in users), [])
            step("runbook step 4, dry run: the plan for three users", binary,
                 ["rotate", "--to", to] + sel, emu.env())
            step("rotate --apply: create, verify, deliver, record", binary,
                 ["rotate", "--to", to, "--apply"] + sel, emu.env())
            print("\nsecrets delivered (mode 0600): %s" % ", ".join(
                "%s (%o)" % (f, os.stat(os.path.join(sinks, f)).st_mode & 0o777)
                for f in sorted(os.listdir(sinks))))
            emu.advance_clock(8 * DAY)
            print("\n# the clock moves 8 days on (emulator and iamkeys alike)")
            step("old keys unused since delivery are deactivated", binary,
                 ["rotate", "--to", to, "--apply"] + sel, emu.env())
            emu.advance_clock(8 * DAY)
            print("\n# 8 more days")
            step("inactive old keys are deleted, the rotation tag removed", binary,
                 ["rotate", "--to", to, "--apply"] + sel, emu.env())
            for u in users:
                step("audit is clean for %s" % u, binary, ["audit", "--user", u], emu.env())
            counters = emu.counters()
            print("\nAPI calls the emulator answered: %s" % ", ".join(
                "%s=%d" % kv for kv in sorted(counters.items())))
    finally:
        shutil.rmtree(sinks, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
