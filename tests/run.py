#!/usr/bin/python3
"""Runs every test suite of iamkeys and prints one closing line "N passed, N failed".

Suites: the cmocka unit-test binaries (build/tests/unit/test_*), then the Python
unittest suites in tests/emulator/ (the emulator itself) and tests/cli/ (the built
binary against the emulator). Usage:
  tests/run.py [--build DIR] [--only unit|emulator|cli] [-k PATTERN]... [-j N]

The CLI tests run one test class per process, -j N classes at a time (default: twice
the number of CPUs, or IAMKEYS_TEST_JOBS): each class starts its own emulator on a port of its own
and every test has its own HOME, so classes do not share state.
"""
import argparse
import concurrent.futures
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


def discover(directory, pattern):
    """The tests under directory whose names contain one of pattern (all without it)."""
    loader = unittest.TestLoader()
    if pattern:
        loader.testNamePatterns = ["*%s*" % k for k in pattern]
    return loader.discover(os.path.join(ROOT, directory), pattern="test_*.py",
                           top_level_dir=ROOT)


def print_suite(directory, passed, failed, skipped, t0):
    print("%-37s %4d passed %3d failed %3d skipped  (%.1fs)" % (directory, passed, failed,
          skipped, time.time() - t0), flush=True)


def run_python(directory, pattern, build):
    os.environ["IAMKEYS_BUILD"] = os.path.abspath(build)
    suite = discover(directory, pattern)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=1, resultclass=CountingResult)
    t0 = time.time()
    res = runner.run(suite)
    # the tests that failed (a test whose subtests fail counts once)
    failed = len({getattr(t, "test_case", t).id() for t, _ in res.failures + res.errors})
    failed += len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = max(0, res.testsRun - failed - skipped)
    print_suite(directory, passed, failed, skipped, t0)
    return passed, failed


def test_classes(directory, pattern):
    """The test classes under directory, as (dotted name, number of tests, cost), in the
    order unittest discovers them; cost is the class's test_cost (its seconds, roughly, for
    the few slow classes) or 0."""
    suite = discover(directory, pattern)
    counts = {}
    costs = {}

    def walk(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                walk(t)
            elif isinstance(t, unittest.loader._FailedTest):
                counts.setdefault(t.id(), 1)
            else:
                name = "%s.%s" % (type(t).__module__, type(t).__qualname__)
                counts[name] = counts.get(name, 0) + 1
                costs[name] = getattr(type(t), "test_cost", 0)
    walk(suite)
    return [(name, n, costs.get(name, 0)) for name, n in counts.items()]


RAN = re.compile(r"^Ran (\d+) tests? in", re.M)
FAILED_TEST = re.compile(r"^(?:FAIL|ERROR): \S+ \(([^)]*)\)", re.M)
TAIL = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$", re.M)


def run_class(name, pattern, build):
    """Runs one test class in its own process; returns (passed, failed, skipped, seconds,
    output)."""
    cmd = [sys.executable, "-m", "unittest"]
    for k in pattern or []:
        cmd += ["-k", k]
    cmd.append(name)
    env = dict(os.environ, IAMKEYS_BUILD=os.path.abspath(build))
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    secs = time.time() - t0
    out = p.stdout
    ran = RAN.findall(out)
    tail = TAIL.findall(out)
    if not ran or not tail:
        return 0, 1, 0, secs, out
    counts = {"failures": 0, "errors": 0, "skipped": 0, "expected failures": 0,
              "unexpected successes": 0}
    for part in (tail[-1][1] or "").split(","):
        if "=" in part:
            k, v = part.strip().split("=")
            counts[k] = int(v)
    # the tests that failed (a test whose subtests fail counts once)
    failed = len(set(FAILED_TEST.findall(out))) + counts["unexpected successes"]
    if p.returncode != 0 and failed == 0:
        failed = 1
    skipped = counts["skipped"]
    return max(0, int(ran[-1]) - failed - skipped), failed, skipped, secs, out


def run_parallel(directory, pattern, build, jobs):
    """The suite under directory, one class per process, jobs at a time, the slow classes
    first, then those with the most tests."""
    classes = sorted(test_classes(directory, pattern), key=lambda c: (-c[2], -c[1]))
    t0 = time.time()
    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futs = {pool.submit(run_class, name, pattern, build): name for name, _, _ in classes}
        for f in concurrent.futures.as_completed(futs):
            p, bad, sk, secs, out = f.result()
            passed, failed, skipped = passed + p, failed + bad, skipped + sk
            if bad:
                sys.stdout.write(out)
            print("%-58s %4d passed %3d failed  (%.1fs)" % (futs[f], p, bad, secs), flush=True)
    print_suite(directory, passed, failed, skipped, t0)
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["unit", "emulator", "cli"])
    ap.add_argument("-k", dest="pattern", action="append",
                    help="only tests whose name contains PATTERN (repeatable: any of them)")
    ap.add_argument("-j", dest="jobs", type=int,
                    default=int(os.environ.get("IAMKEYS_TEST_JOBS", 0)) or
                    2 * (os.cpu_count() or 1),
                    help="CLI test classes run at once (default: twice the CPUs, as the "
                    "classes mostly wait on the emulator and the binary; 1: in this process)")
    a = ap.parse_args()
    sys.path.insert(0, ROOT)
    total_p = total_f = 0
    if a.only in (None, "unit"):
        p, f = run_unit(a.build, a.pattern)
        total_p += p
        total_f += f
    for d in ("emulator", "cli"):
        if a.only in (None, d):
            if d == "cli" and a.jobs > 1:
                p, f = run_parallel(os.path.join("tests", d), a.pattern, a.build, a.jobs)
            else:
                p, f = run_python(os.path.join("tests", d), a.pattern, a.build)
            total_p += p
            total_f += f
    print("%d passed, %d failed" % (total_p, total_f))
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main())
