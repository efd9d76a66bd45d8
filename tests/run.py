#!/usr/bin/python3
"""Runs every test suite of iamkeys and prints one closing line "N passed, N failed".

Suites: the cmocka unit-test binaries (build/tests/unit/test_*), then the Python
unittest suites in tests/emulator/ (the emulator itself) and tests/cli/ (the built
binary against the emulator). Usage: tests/run.py [--build DIR] [--only unit|emulator|cli] [-k PATTERN]...
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_unit(build, pattern):
    passed = failed = 0
    bins = sorted(glob.glob(os.path.join(build, "tests", "unit", "test_*")))
    bins = [b for b in bins if os.access(b, os.X_OK) and not b.endswith((".o", ".d"))]
    for b in bins:
        name = os.path.basename(b)
        if pattern and not any(k in name for k in pattern):
            continue
        env = dict(os.environ, IAMKEYS_SRCDIR=ROOT)
        t0 = time.time()
        p = subprocess.run([b], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
        out = p.stdout
        ok = sum(int(m) for m in re.findall(r"\[  PASSED  \] (\d+) test", out))
        bad = sum(int(m) for m in re.findall(r"\[  FAILED  \] (\d+) test", out))
        if p.returncode != 0 and bad == 0:
            bad = 1  # crashed, or a sanitizer aborted the binary
        if bad or p.returncode != 0:
            sys.stdout.write(out)
        passed += ok
        failed += bad
        print("unit %-32s %4d passed %3d failed  (%.1fs)" % (name, ok, bad, time.time() - t0),
              flush=True)
    return passed, failed


class CountingResult(unittest.TextTestResult):
    pass


def run_python(directory, pattern, build):
    os.environ["IAMKEYS_BUILD"] = os.path.abspath(build)
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % k for k in pattern]
    suite = loader.discover(os.path.join(ROOT, directory), pattern="test_*.py",
                            top_level_dir=ROOT)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1, resultclass=CountingResult)
    t0 = time.time()
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    print("%-37s %4d passed %3d failed %3d skipped  (%.1fs)" % (directory, passed, failed,
          skipped, time.time() - t0), flush=True)
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["unit", "emulator", "cli"])
    ap.add_argument("-k", dest="pattern", action="append",
                    help="only tests whose name contains PATTERN (repeatable: any of them)")
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    total_p = total_f = 0
    if a.only in (None, "unit"):
        p, f = run_unit(a.build, a.pattern)
        total_p += p
        total_f += f
    for d in ("emulator", "cli"):
        if a.only in (None, d):
            p, f = run_python(os.path.join("tests", d), a.pattern, a.build)
            total_p += p
            total_f += f
    print("%d passed, %d failed" % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
