#!/usr/bin/python3
"""make bench: iamkeys audit against the boto3 scans, on the local AWS emulator.

    bench/run.py [--build DIR] [--users 5000] [--keys-per-user 1.5] [--latency-ms 25]
                 [--report-delay 0] [--threads 16] [--extra-jobs 8,16] [--no-capacity]
                 [--skip-boto3] [--seed 1] [--json FILE]

One emulator (tests/emulator/awsemu/, 127.0.0.1 only: nothing reaches AWS) is seeded with
bench/fixture.py's account and answers every API request after --latency-ms. Then,
one after the other, each as a child process so that its peak RSS (GNU time's %M, the
child's own ru_maxrss) and CPU time are its own:

  report cold   iamkeys audit --output json (--source report), no credential report yet
  report warm   iamkeys audit (table output), reusing the cold run's report (AWS: 4 h)
  api           iamkeys audit --source api (default --jobs 32)
  api/report    the same with each --extra-jobs value (does the emulator keep up?)
  capacity      api mode with the latency set to 0: the emulator's own throughput
  boto3 xN      ListUsers paginator + ListAccessKeys per user + GetAccessKeyLastUsed
                per key, in N threads (bench/boto3_scan.py)
  boto3 seq     the same, sequential (AWS sample solution / runbook scripts)

Before each run the emulator's call log is cleared; after it, its counters give the
API calls. Prints a table, the targets with PASS/FAIL (n/a for those that compare with
boto3 when --skip-boto3 leaves both boto3 runs out: a run of about a minute for the
iamkeys figures alone), and notes on the emulator's overhead. Always exits 0 once the runs are done (it is a benchmark, not a test);
exits 1 only when something could not run at all.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.fixture import bench_account, describe  # noqa: E402
from tests.emulator import harness  # noqa: E402
from tests.emulator.harness import PYTHON, Emulator  # noqa: E402

BOTO3_SCAN = os.path.join(ROOT, "bench", "boto3_scan.py")
GNU_TIME = "/usr/bin/time"
CLK_TCK = os.sysconf("SC_CLK_TCK")
RUN_TIMEOUT = 1200

# targets from the issue
T_SEQ_RATIO = 50.0
T_THREAD_RATIO = 5.0
T_API_FACTOR = 1.5
T_RSS_MB = 20.0

# iamkeys audit's default --jobs (src/audit.h AUDIT_DEFAULT_JOBS)
DEFAULT_JOBS = 32


def log(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def iamkeys_binary(build):
    """build's iamkeys, or None after saying that it is missing."""
    binary = os.path.join(build, "iamkeys")
    if not os.access(binary, os.X_OK):
        log("bench: %s not found; run make first" % binary)
        return None
    return binary


def bench_args(doc, own):
    """The command line of a benchmark whose module docstring is doc: --build, the
    arguments own(ap) adds, then --seed and --json.  Returns the parsed arguments and
    the build's iamkeys (None after saying that it is missing)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    own(ap)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    return a, iamkeys_binary(a.build)


def write_figures(path, data):
    """The figures as JSON in path (--json)."""
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def proc_cpu_s(pid):
    """utime + stime of a live process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Run:
    def __init__(self, name, kind, jobs=None):
        self.name = name
        self.kind = kind          # iamkeys | boto3 | capacity
        self.jobs = jobs          # concurrency (iamkeys --jobs, boto3 threads)
        self.wall = 0.0           # child process wall time
        self.timed = 0.0          # the figure compared: wall, or boto3's scan time
        self.rc = None
        self.rss_kb = 0
        self.cpu_s = 0.0          # the child's user+sys CPU
        self.emu_cpu_s = 0.0      # the emulator's user+sys CPU during the run
        self.counters = {}
        self.proc_ms = []         # emulator time per request beyond the injected latency
        self.out = ""
        self.err = ""
        self.doc = None           # parsed JSON output
        self.latency_ms = 0.0
        self.cmd = []

    @property
    def calls(self):
        return sum(self.counters.values())

    def ideal_s(self):
        """calls x latency / concurrency: the time the API calls alone need."""
        if not self.jobs or not self.latency_ms:
            return None
        return self.calls * self.latency_ms / 1000.0 / self.jobs


def gnu_time_works():
    """GNU time, to read a child's peak RSS. wait4's ru_maxrss of a child forked from
    this Python process starts at this process's RSS (Linux keeps the high-water mark
    across fork and exec), so a small program in between must do the fork."""
    if not os.access(GNU_TIME, os.X_OK):
        return False
    with tempfile.NamedTemporaryFile("r") as f:
        p = subprocess.run([GNU_TIME, "-o", f.name, "-f", "%M", "true"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return p.returncode == 0 and int(f.read().split()[-1]) < 8192
        except (ValueError, IndexError):
            return False


USE_GNU_TIME = False


def measure(emu, run, cmd, env, latency_ms):
    """Runs cmd as a child with a clean call log; fills run. Raises on timeout."""
    run.latency_ms = latency_ms
    emu.reset_calls()
    cpu0 = proc_cpu_s(emu.pid)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as tf:
        if USE_GNU_TIME:
            cmd = [GNU_TIME, "-o", tf.name, "-f", "%M %U %S"] + list(cmd)
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                             close_fds=True)
        timer = threading.Timer(RUN_TIMEOUT, p.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        run.wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        run.rc = p.returncode
        run.emu_cpu_s = proc_cpu_s(emu.pid) - cpu0
        run.rss_kb = ru.ru_maxrss
        run.cpu_s = ru.ru_utime + ru.ru_stime
        if USE_GNU_TIME:
            try:
                kb, ut, st = tf.read().split()[-3:]
                run.rss_kb, run.cpu_s = int(kb), float(ut) + float(st)
            except ValueError:
                raise RuntimeError("cannot read %s's output for %s" % (GNU_TIME, cmd))
        out.seek(0)
        err.seek(0)
        run.out = out.read().decode("utf-8", "replace")
        run.err = err.read().decode("utf-8", "replace")
    run.timed = run.wall
    run.counters = {k: v for k, v in emu.counters().items() if v}
    lat = latency_ms
    run.proc_ms = [max(0.0, c["duration_ms"] - lat) for c in emu.calls()
                   if c.get("duration_ms") is not None]
    if run.out.strip():
        try:
            run.doc = json.loads(run.out)
        except ValueError:
            run.doc = None
    return run


SUMMARY_RE = re.compile(r"^(\d+) users, (\d+) keys scanned \(source: (\w+).*; (\d+) API calls$",
                        re.M)


def iamkeys_run(emu, binary, env, name, source, jobs, latency_ms, output="json"):
    """iamkeys audit; output "json" (parsed) or None (the default table, summary parsed)."""
    cmd = [binary, "audit", "--no-progress"]
    if output:
        cmd += ["--output", output]
    if source != "report":
        cmd += ["--source", source]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    r = Run(name, "iamkeys", jobs if jobs is not None else DEFAULT_JOBS)
    r.cmd = cmd
    measure(emu, r, cmd, env, latency_ms)
    if output is None:
        m = SUMMARY_RE.search(r.out)
        r.doc = m and {"Summary": {"UsersScanned": int(m.group(1)),
                                   "KeysScanned": int(m.group(2)), "Source": m.group(3),
                                   "ApiCalls": int(m.group(4))}}
    if r.rc not in (0, 3) or r.doc is None:
        raise RuntimeError("%s failed (rc %s):\n%s" % (" ".join(cmd), r.rc, r.err[-2000:]))
    return r


def boto3_run(emu, env, name, threads, latency_ms):
    cmd = [PYTHON, BOTO3_SCAN, "--endpoint", emu.url, "--threads", str(threads)]
    r = Run(name, "boto3", threads)
    r.cmd = ["bench/boto3_scan.py", "--endpoint", "URL", "--threads", str(threads)]
    measure(emu, r, cmd, env, latency_ms)
    if r.rc != 0 or r.doc is None:
        raise RuntimeError("%s failed (rc %s):\n%s" % (" ".join(cmd), r.rc, r.err[-2000:]))
    r.timed = r.doc["scan_s"]  # without interpreter start, boto3 import, client setup
    return r


def users_with_finding(doc):
    return sorted({k["UserName"] for k in doc["Keys"]
                   if k.get("Findings") and k["UserName"] != "<root_account>"})


def finding_rows(doc):
    return sorted((k["UserName"], k["AccessKeyId"] or "", tuple(k.get("Findings") or ()),
                   k.get("Exempt") or "") for k in doc["Keys"])


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def machine():
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    p = subprocess.run([PYTHON, "-c", "import boto3, botocore; print('boto3 %s / botocore %s'"
                        " % (boto3.__version__, botocore.__version__))"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bv = p.stdout.strip() or "boto3 missing"
    py = subprocess.run([PYTHON, "-c", "import platform; print(platform.python_version())"],
                        stdout=subprocess.PIPE, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "mem_gib": round(mem_kb / 1048576.0, 1), "cpu": model,
            "kernel": platform.release(), "python": py, "boto3": bv}


def fmt_row(cols, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                     for i, (c, w) in enumerate(zip(cols, widths)))


def print_table(runs):
    head = ["run", "wall s", "API calls", "calls/s", "ideal s", "wall/ideal", "CPU s",
            "peak RSS MiB", "emu CPU %", "emu ms/call p50/p95"]
    rows = []
    for r in runs:
        ideal = r.ideal_s()
        rows.append([
            r.name, "%.2f" % r.timed, r.calls,
            "%.0f" % (r.calls / r.timed) if r.timed else "-",
            "%.2f" % ideal if ideal else "-",
            "%.2f" % (r.timed / ideal) if ideal else "-",
            "%.2f" % r.cpu_s, "%.1f" % (r.rss_kb / 1024.0),
            "%.0f" % (100.0 * r.emu_cpu_s / r.wall) if r.wall else "-",
            "%.2f / %.2f" % (pct(r.proc_ms, 0.5), pct(r.proc_ms, 0.95)),
        ])
    widths = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    log(fmt_row(head, widths))
    log(fmt_row(["-" * w for w in widths], widths))
    for row in rows:
        log(fmt_row(row, widths))


def own_args(ap):
    """bench/run.py's own arguments."""
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--keys-per-user", type=float, default=1.5)
    ap.add_argument("--latency-ms", type=float, default=25.0)
    ap.add_argument("--report-delay", type=float, default=0.0,
                    help="seconds the emulator takes to generate a credential report")
    ap.add_argument("--threads", type=int, default=16, help="threads of the boto3 scan")
    ap.add_argument("--extra-jobs", default="8,16",
                    help="more --jobs values to time in both modes ('' for none)")
    ap.add_argument("--no-capacity", action="store_true",
                    help="skip the zero-latency emulator capacity run")
    ap.add_argument("--skip-boto3", action="store_true",
                    help="skip both boto3 scans (about 6 minutes); their targets are n/a")


def main():
    a, binary = bench_args(__doc__, own_args)
    if not binary:
        return 1
    extra = [int(x) for x in a.extra_jobs.split(",") if x.strip()]
    global USE_GNU_TIME
    USE_GNU_TIME = gnu_time_works()
    lat = a.latency_ms
    t_start = time.monotonic()

    m = machine()
    version = subprocess.run([binary, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout.strip()
    fx = bench_account(a.users, a.keys_per_user, a.seed)
    fd = describe(fx)
    log("iamkeys benchmark: %s" % version)
    log("machine: %d CPUs (%s), %.1f GiB RAM, Linux %s, Python %s, %s"
        % (m["nproc"], m["cpu"] or "?", m["mem_gib"], m["kernel"], m["python"], m["boto3"]))
    log("fixture: %d users (+admin), %d keys: %d past 90 days (%.0f%%), %d inactive, "
        "%d never used; %d users with two keys, %d with none; seed %d"
        % (fd["users"], fd["keys"], fd["old"], 100.0 * fd["old"] / max(1, fd["keys"]),
           fd["inactive"], fd["never_used"], fd["two_key_users"], fd["keyless_users"],
           a.seed))
    log("emulator: latency %.0f ms per request, report delay %.1f s"
        % (lat, a.report_delay))
    log("peak RSS: %s" % ("GNU time's %M (the child's own ru_maxrss)" if USE_GNU_TIME else
                          "wait4's ru_maxrss; %s is missing, so it includes this Python "
                          "process's RSS at fork: an upper bound" % GNU_TIME))
    log()

    runs = []
    with Emulator(fx, latency_ms=lat, report_delay=a.report_delay) as emu:
        env = emu.env()
        # one signed request first: the emulator imports botocore in the background at
        # start, and its first request waits for that; the cold run must not
        r = emu.iam("GetAccountSummary")
        if r.status != 200:
            raise RuntimeError("emulator warm-up request failed: HTTP %s" % r.status)

        def step(r):
            runs.append(r)
            log("  %-16s %8.2f s  %6d calls  rss %5.1f MiB  (%.0fs elapsed)"
                % (r.name, r.timed, r.calls, r.rss_kb / 1024.0, time.monotonic() - t_start))
            return r

        log("runs:")
        cold = step(iamkeys_run(emu, binary, env, "report cold", "report", None, lat))
        warm = step(iamkeys_run(emu, binary, env, "report warm", "report", None, lat,
                                output=None))
        api = step(iamkeys_run(emu, binary, env, "api", "api", None, lat))
        for j in extra:
            step(iamkeys_run(emu, binary, env, "api -j%d" % j, "api", j, lat))
        for j in extra:
            step(iamkeys_run(emu, binary, env, "report warm -j%d" % j, "report", j, lat))
        cap = None
        if not a.no_capacity:
            emu.config(latency_ms=0)
            cap = iamkeys_run(emu, binary, env, "api, 0 ms", "api", max(extra + [DEFAULT_JOBS]), 0.0)
            cap.kind = "capacity"
            step(cap)
            emu.config(latency_ms=lat)
        thr = seq = None
        if not a.skip_boto3:
            thr = step(boto3_run(emu, env, "boto3 x%d" % a.threads, a.threads, lat))
            seq = step(boto3_run(emu, env, "boto3 seq", 1, lat))
    log()

    # ---------------------------------------------------------------- figures
    log("figures (wall s: iamkeys' whole process; boto3's scan alone, without interpreter "
        "start, import and client setup):")
    print_table(runs)
    log("  commands:")
    for r in runs:
        log("    %-16s %s" % (r.name, " ".join(os.path.basename(c) if i == 0 else c
                                              for i, c in enumerate(r.cmd))))
    log("  ideal s = API calls x %.0f ms / concurrency; emu CPU %% = emulator CPU time / wall "
        "(100%% = one core); emu ms/call = emulator time per request beyond the latency"
        % lat)
    log()

    uwf = users_with_finding(cold.doc)
    budget = 4 + 2 * len(uwf)
    log("report mode, API calls by action:")
    actions = sorted(set(cold.counters) | set(warm.counters))
    for act in actions:
        log("  %-34s cold %6d   warm %6d" % (act, cold.counters.get(act, 0),
                                             warm.counters.get(act, 0)))
    log("  %-34s cold %6d   warm %6d" % ("total", cold.calls, warm.calls))
    log("  iamkeys Summary.ApiCalls: cold %s, warm %s, api %s (emulator: %d, %d, %d)"
        % (cold.doc["Summary"].get("ApiCalls"), warm.doc["Summary"].get("ApiCalls"),
           api.doc["Summary"].get("ApiCalls"), cold.calls, warm.calls, api.calls))
    log("  users with a finding: %d of %d; keys with a finding: %d; findings: %s"
        % (len(uwf), fd["users"], sum(1 for k in cold.doc["Keys"] if k.get("Findings")),
           json.dumps(cold.doc["Summary"].get("Findings"))))
    same = finding_rows(cold.doc) == finding_rows(api.doc)
    log("  report and api mode list the same keys and findings: %s" % ("yes" if same else "NO"))
    two_key = {u["name"] for acc in fx["accounts"] for u in acc["users"]
               if len(u["keys"]) == 2}
    log("  users with two keys: %d, of which %d have a finding (two-active, or inactive-stale "
        "for a deactivated key); users with one key and a finding: %d"
        % (len(two_key), len(two_key & set(uwf)), len(set(uwf) - two_key)))
    old_listed = sum(1 for k in cold.doc["Keys"] if "old" in (k.get("Findings") or ()))
    if seq:
        log("  boto3 cross-check: %d keys seen (iamkeys scanned %s); %d active keys past 90 "
            "days (iamkeys lists %d old, exempt users included)"
            % (seq.doc["keys"], cold.doc["Summary"].get("KeysScanned"), seq.doc["old_active"],
               old_listed))
    else:
        log("  boto3 cross-check: n/a (--skip-boto3); iamkeys lists %d old keys" % old_listed)
    log()

    # ---------------------------------------------------------------- targets
    results = []

    def target(label, ok, detail):
        # ok None: not measured in this run (n/a)
        results.append({"target": label, "pass": None if ok is None else bool(ok),
                        "detail": detail})

    label_seq = "report mode >= %.0fx faster than sequential boto3" % T_SEQ_RATIO
    label_thr = "report mode >= %.0fx faster than %d-thread boto3" % (T_THREAD_RATIO, a.threads)
    if seq and thr:
        r_seq = seq.timed / cold.timed
        r_thr = thr.timed / cold.timed
        target(label_seq, r_seq >= T_SEQ_RATIO,
               "%.1fx (boto3 seq %.1f s / report cold %.2f s; warm: %.1fx)"
               % (r_seq, seq.timed, cold.timed, seq.timed / warm.timed))
        target(label_thr, r_thr >= T_THREAD_RATIO,
               "%.1fx (boto3 x%d %.2f s / report cold %.2f s; warm: %.1fx)"
               % (r_thr, a.threads, thr.timed, cold.timed, thr.timed / warm.timed))
    else:
        target(label_seq, None, "boto3 not run (--skip-boto3)")
        target(label_thr, None, "boto3 not run (--skip-boto3)")
    target("report mode API calls <= 4 + 2 x users with a finding", cold.calls <= budget,
           "cold %d, warm %d; budget 4 + 2 x %d = %d" % (cold.calls, warm.calls, len(uwf),
                                                        budget))
    ideal = api.ideal_s()
    target("api mode within %.1fx of calls x latency / jobs" % T_API_FACTOR,
           api.timed <= T_API_FACTOR * ideal,
           "%.2f s vs %d x %.0f ms / %d = %.2f s (%.2fx)"
           % (api.timed, api.calls, lat, api.jobs, ideal, api.timed / ideal))
    iam_runs = [r for r in runs if r.kind in ("iamkeys", "capacity")]
    peak = max(iam_runs, key=lambda r: r.rss_kb)
    # MiB, as GNU time's %M counts KiB; the same in millions of bytes alongside
    target("iamkeys peak RSS <= %.0f MiB" % T_RSS_MB, peak.rss_kb / 1024.0 <= T_RSS_MB,
           "%.1f MiB = %.1f MB (largest: %s; default table output: %.1f MiB; json output: "
           "%.1f MiB%s)"
           % (peak.rss_kb / 1024.0, peak.rss_kb * 1.024 / 1000.0, peak.name,
              warm.rss_kb / 1024.0, cold.rss_kb / 1024.0,
              "; boto3 seq %.1f MiB, boto3 x%d %.1f MiB"
              % (seq.rss_kb / 1024.0, a.threads, thr.rss_kb / 1024.0) if seq and thr else ""))
    log("targets:")
    for t in results:
        log("  %s  %s: %s" % ({True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]],
                              t["target"], t["detail"]))
    measured = [t for t in results if t["pass"] is not None]
    misses = [t for t in measured if not t["pass"]]
    log("  %d of %d targets met%s%s" % (len(measured) - len(misses), len(measured),
                                        "; missed: " + "; ".join(t["target"] for t in misses)
                                        if misses else "",
                                        "; %d n/a" % (len(results) - len(measured))
                                        if len(measured) < len(results) else ""))
    log()

    # ---------------------------------------------------------------- emulator overhead
    log("emulator overhead (one Python process, GIL-bound; %d CPUs shared with the client):"
        % m["nproc"])
    for r in runs:
        if not r.jobs or not r.calls:
            continue
        eff = (r.calls * r.latency_ms / 1000.0 / r.timed) if r.latency_ms else None
        log("  %-16s %5.0f calls/s, emulator CPU %3.0f%%, %.2f ms CPU per call%s"
            % (r.name, r.calls / r.timed, 100.0 * r.emu_cpu_s / r.wall,
               1000.0 * r.emu_cpu_s / r.calls,
               ", %.1f of %d requests in flight on average" % (eff, r.jobs) if eff else ""))
    if cap is not None:
        log("  capacity: with no latency the emulator served %.0f calls/s at %.0f%% CPU: "
            "%d ms latency / %.0f jobs needs %.0f calls/s"
            % (cap.calls / cap.timed, 100.0 * cap.emu_cpu_s / cap.wall, lat, cap.jobs,
               cap.jobs * 1000.0 / lat if lat else 0))
    log()
    log("total benchmark time: %.0f s" % (time.monotonic() - t_start))

    if a.json:
        data = {"machine": m, "version": version, "fixture": fd, "latency_ms": lat,
                "report_delay": a.report_delay, "users_with_finding": len(uwf),
                "budget": budget, "targets": results,
                "runs": [{"name": r.name, "kind": r.kind, "jobs": r.jobs,
                          "cmd": r.cmd, "timed_s": round(r.timed, 3), "wall_s": round(r.wall, 3),
                          "calls": r.calls, "counters": r.counters,
                          "ideal_s": r.ideal_s(), "cpu_s": round(r.cpu_s, 3),
                          "rss_kb": r.rss_kb, "emu_cpu_s": round(r.emu_cpu_s, 3),
                          "emu_proc_ms_p50": pct(r.proc_ms, 0.5),
                          "emu_proc_ms_p95": pct(r.proc_ms, 0.95),
                          "boto3": r.doc if r.kind == "boto3" else None}
                         for r in runs]}
        write_figures(a.json, data)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except RuntimeError as e:
        log("bench: %s" % e)
        sys.exit(1)
