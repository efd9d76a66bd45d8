"""Test harness for the AWS emulator: start/stop it, drive its /_emu/ control endpoints,
build environments for the iamkeys binary and /usr/bin/aws, and send signed requests.

    from tests.emulator.harness import Emulator
    with Emulator(fixtures.example_account(), latency_ms=5) as emu:
        subprocess.run([binary, "audit"], env=emu.env())
        assert emu.counters()["iam:ListUsers"] == 1

See README.md in this folder for the fixture format and the control endpoints.
"""
import atexit
import datetime
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from urllib.parse import urlencode

from tests.emulator import fixtures

HERE = os.path.dirname(os.path.abspath(__file__))
AWSEMU = os.path.join(HERE, "awsemu")  # the package; python3 runs its __main__.py
PYTHON = "/usr/bin/python3"
AWS_CLI = "/usr/bin/aws"
REGION = "us-east-1"


class EmulatorError(Exception):
    pass


class Emulator:
    """One emulator process.  fixture: a dict, a path to a JSON file, or None for
    fixtures.admin_fixture()."""

    def __init__(self, fixture=None, latency_ms=0, report_delay=0.0, propagation_delay=0.0,
                 rate_limit=None, extra_args=(), cloudtrail_tps=None):
        if fixture is None:
            fixture = fixtures.admin_fixture()
        elif isinstance(fixture, str):
            with open(fixture) as f:
                fixture = json.load(f)
        self._fixture = fixture
        # the emulator's command-line options (None: not given); cloudtrail_tps, LookupEvents
        # a second per region, is also the binary's pacing (env())
        self.options = {"latency_ms": latency_ms, "report_delay": report_delay,
                        "propagation_delay": propagation_delay, "rate_limit": rate_limit or None,
                        "cloudtrail_tps": cloudtrail_tps or None}
        self.extra_args = list(extra_args)
        self.proc = self.port = self.pid = self.url = self.tmpdir = self.home = None
        self._clients = []

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout=15.0):
        if self.proc is not None:
            return self
        self.tmpdir = tempfile.mkdtemp(prefix="awsemu-")
        self.home = os.path.join(self.tmpdir, "home")
        os.mkdir(self.home)
        # iamkeys' local locks: one directory per emulator, so that parallel test runs
        # (each with its own emulator) never share one
        self.lock_dir = os.path.join(self.tmpdir, "locks")
        os.mkdir(self.lock_dir, 0o700)
        state = os.path.join(self.tmpdir, "state.json")
        with open(state, "w") as f:
            json.dump(self._fixture, f)
        port_file = os.path.join(self.tmpdir, "port")
        cmd = [PYTHON, AWSEMU, "--port", "0", "--state", state, "--port-file", port_file]
        for k, v in self.options.items():
            if v is not None:
                cmd += ["--" + k.replace("_", "-"), str(v)]
        cmd += self.extra_args
        self.log_path = os.path.join(self.tmpdir, "awsemu.log")
        log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, close_fds=True)
        log.close()
        self.pid = self.proc.pid
        deadline = time.monotonic() + timeout
        while True:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
                    break
            if self.proc.poll() is not None:
                raise EmulatorError("awsemu exited with %s:\n%s" % (self.proc.returncode,
                                                                    self.log()))
            if time.monotonic() > deadline:
                self.stop()
                raise EmulatorError("awsemu did not start within %.0fs" % timeout)
            time.sleep(0.01)
        self.url = "http://127.0.0.1:%d" % self.port
        atexit.register(self.stop)
        return self

    def stop(self):
        p = self.proc
        if p is None:
            return
        self.proc = None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for c in self._clients:
            try:
                c._endpoint.http_session.close()
            except Exception:
                pass
        self._clients = []
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ control API

    def _control(self, method, path, obj=None):
        body = None if obj is None else json.dumps(obj).encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        if r.status // 100 != 2:
            raise EmulatorError("%s %s -> %d %s" % (method, path, r.status,
                                                    data.decode("utf-8", "replace")))
        return json.loads(data.decode("utf-8")) if data else None

    def load(self, fixture):
        """Replace the whole state (accounts, keys, sessions, reports) with fixture."""
        res = self._control("POST", "/_emu/state", fixture)
        self._fixture = fixture
        return res

    def state(self):
        return self._control("GET", "/_emu/state")

    def calls(self, since=None):
        return self._control("GET", "/_emu/calls" + ("?since=%d" % since if since else ""))

    def sns_messages(self):
        """The messages SNS Publish recorded, in order (see sns_service.py)."""
        return self._control("GET", "/_emu/sns/messages")["messages"]

    def reset_sns(self):
        self._control("POST", "/_emu/sns/messages/reset")

    def counters(self):
        return self._control("GET", "/_emu/counters")

    def reset_calls(self):
        self._control("DELETE", "/_emu/calls")

    def set_clock(self, offset_seconds=None, now=None):
        if now is not None:
            if isinstance(now, datetime.datetime):
                now = now.strftime("%Y-%m-%dT%H:%M:%SZ")
            self._control("POST", "/_emu/clock", {"now": now})
        else:
            self._control("POST", "/_emu/clock", {"offset_seconds": offset_seconds or 0})

    def advance_clock(self, seconds):
        self._control("POST", "/_emu/clock", {"advance_seconds": seconds})

    def clock(self):
        return self._control("GET", "/_emu/clock")

    def clock_offset(self):
        return int(self.clock()["offset_seconds"])

    def fault(self, action=None, kind="throttle", probability=None, nth=None, count=None,
              delay_ms=None, service=None, before=False, seed=None, account=None):
        spec = {"kind": kind, "action": action, "service": service, "probability": probability,
                "nth": nth, "count": count, "delay_ms": delay_ms, "before": before,
                "seed": seed, "account": account}
        return self._control("POST", "/_emu/faults",
                             {k: v for k, v in spec.items() if v is not None})["ids"][0]

    def faults(self):
        return self._control("GET", "/_emu/faults")

    def clear_faults(self):
        self._control("DELETE", "/_emu/faults")

    def config(self, **settings):
        """Change runtime settings (latency_ms, report_delay, propagation_delay, rate_limit,
        rate_burst, date_format, max_skew_seconds, log_limit); returns all settings."""
        if settings:
            return self._control("POST", "/_emu/config", settings)
        return self._control("GET", "/_emu/config")

    def propagate_keys(self):
        """Make every pending (just created) key usable now."""
        self._control("POST", "/_emu/keys/propagate")

    def add_sso_tokens(self, *specs):
        """Register IAM Identity Center access tokens (entries of the fixture's "sso_tokens",
        e.g. fixtures.sso_token(...)); returns their access tokens."""
        return self._control("POST", "/_emu/sso/tokens", list(specs))["tokens"]

    def sso_tokens(self):
        """The SSO tokens the emulator knows (issued by CreateToken too)."""
        return self._control("GET", "/_emu/sso/tokens")

    # ------------------------------------------------------------------ clients

    def default_credentials(self):
        """The fixture's admin key: user 'admin' of the first account, else the first key."""
        first = None
        for acc in self._fixture.get("accounts", []):
            for u in acc.get("users", []):
                for k in u.get("keys", []):
                    if first is None:
                        first = k
                    if u.get("name") == fixtures.ADMIN_USER and k.get("status",
                                                                     "Active") == "Active":
                        return k["id"], k.get("secret")
        if first is not None:
            return first["id"], first.get("secret")
        return fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET

    def secret_of(self, access_key_id):
        for acc in self.state()["accounts"]:
            for k in acc["root"]["keys"]:
                if k["id"] == access_key_id:
                    return k["secret"]
            for u in acc["users"]:
                for k in u["keys"]:
                    if k["id"] == access_key_id:
                        return k["secret"]
        raise KeyError(access_key_id)

    def env(self, access_key_id=None, secret=None, session_token=None, home=None, **extra):
        """A full environment for the iamkeys binary or /usr/bin/aws against this emulator."""
        if access_key_id is None:
            access_key_id, dsecret = self.default_credentials()
            secret = secret if secret is not None else dsecret
        elif secret is None:
            secret = self.secret_of(access_key_id)
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and not k.startswith("IAMKEYS_TEST_")}
        e.update({"AWS_ACCESS_KEY_ID": access_key_id, "AWS_SECRET_ACCESS_KEY": secret,
                  "AWS_ENDPOINT_URL": self.url, "AWS_REGION": REGION,
                  "AWS_DEFAULT_REGION": REGION, "HOME": home or self.home,
                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
                  "IAMKEYS_LOCK_DIR": self.lock_dir})
        if session_token:
            e["AWS_SESSION_TOKEN"] = session_token
        if self.options["cloudtrail_tps"]:
            e["IAMKEYS_TEST_CLOUDTRAIL_TPS"] = str(int(self.options["cloudtrail_tps"]))
        c = self.clock()
        if c["mode"] == "absolute":
            e["IAMKEYS_TEST_NOW"] = c["absolute"]
        elif c["offset_seconds"]:
            e["IAMKEYS_TEST_CLOCK_OFFSET"] = str(c["offset_seconds"])
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    def aws(self, *args, env=None, timeout=60, runner=None, **env_extra):
        """Run /usr/bin/aws --endpoint-url URL --output json ARGS. Returns AwsResult.
        With runner=AwsCli(), the same awscli entry point runs inside that long-lived
        process instead (no second of import time per command)."""
        if env is None:
            env = self.env(**env_extra)
        cmd = [AWS_CLI, "--endpoint-url", self.url, "--output", "json", "--no-cli-pager"]
        cmd += [str(a) for a in args]
        if runner is not None:
            return runner.run(cmd, env)
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return AwsResult(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                         p.stderr.decode("utf-8", "replace"))

    def client(self, service, access_key_id=None, secret=None, session_token=None,
               region=REGION, max_attempts=1):
        """A boto3 client for this emulator (boto3 is imported on first use)."""
        import boto3
        import botocore.config
        if access_key_id is None:
            access_key_id, secret = self.default_credentials()
        elif secret is None:
            secret = self.secret_of(access_key_id)
        sess = boto3.session.Session(aws_access_key_id=access_key_id,
                                     aws_secret_access_key=secret,
                                     aws_session_token=session_token, region_name=region)
        cfg = botocore.config.Config(retries={"max_attempts": max_attempts, "mode": "standard"})
        c = sess.client(service, endpoint_url=self.url, config=cfg)
        self._clients.append(c)  # closed by stop(), so no socket is left to the GC
        return c

    def cloudtrail_events(self, events=None):
        """Adds CloudTrail events (a list of specs, see cloudtrail_service.py), or with
        None lists every stored event."""
        if events is None:
            return self._control("GET", "/_emu/cloudtrail/events")
        return self._control("POST", "/_emu/cloudtrail/events", events)

    def ec2_regions(self, enabled=None):
        """Sets the regions EC2 DescribeRegions says are enabled (see ec2_service.py), or
        with None returns them."""
        if enabled is None:
            return self._control("GET", "/_emu/ec2/regions")["enabled"]
        return self._control("PUT", "/_emu/ec2/regions", {"enabled": list(enabled)})

    def clear_cloudtrail(self):
        self._control("DELETE", "/_emu/cloudtrail/events")

    def request(self, service, params=None, target=None, json_body=None, **kw):
        """Send one SigV4-signed request (see send_signed) and return a RawResponse."""
        return send_signed(self.url, service, params=params, target=target,
                           json_body=json_body, **kw)

    def iam(self, action, access_key_id=None, secret=None, **params):
        """Shortcut: a signed IAM query request with the admin key by default."""
        if access_key_id is None:
            access_key_id, secret = self.default_credentials()
        elif secret is None:
            secret = self.secret_of(access_key_id)
        p = {"Action": action, "Version": "2010-05-08"}
        p.update({k: str(v) for k, v in params.items()})
        return self.request("iam", params=p, access_key_id=access_key_id, secret=secret)


class AwsCli:
    """Debian's awscli in one long-lived /usr/bin/python3 process (awscli_runner.py), which
    runs the entry point of /usr/bin/aws once per command.  Not thread-safe: use one per
    thread.  Usable as a context manager."""

    RUNNER = os.path.join(HERE, "awscli_runner.py")

    def __init__(self):
        self.proc = subprocess.Popen([PYTHON, self.RUNNER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     close_fds=True)

    def run(self, cmd, env):
        if cmd and cmd[0] == AWS_CLI:
            cmd = cmd[1:]
        self.proc.stdin.write((json.dumps({"args": list(cmd), "env": env}) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise EmulatorError("awscli_runner died (rc %s)" % self.proc.poll())
        r = json.loads(line)
        return AwsResult([AWS_CLI] + list(cmd), r["rc"], r["stdout"], r["stderr"])

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.stdout.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class AwsResult:
    def __init__(self, cmd, rc, stdout, stderr):
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    @property
    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None

    def __repr__(self):
        return "AwsResult(rc=%d, stdout=%r, stderr=%r)" % (self.rc, self.stdout[:2000],
                                                           self.stderr[:2000])


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict with lower-case names
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def xml(self):
        import xml.etree.ElementTree as ET
        return ET.fromstring(self.body)

    def find(self, tag):
        """Text of the first element with this local name (namespace ignored), or None."""
        for el in self.xml().iter():
            if el.tag.rsplit("}", 1)[-1] == tag:
                return el.text
        return None

    def findall(self, tag):
        return [el.text for el in self.xml().iter() if el.tag.rsplit("}", 1)[-1] == tag]

    @property
    def error_code(self):
        if self.headers.get("content-type", "").startswith("application/x-amz-json"):
            t = self.json().get("__type")
            return t.split("#")[-1] if t else None
        return self.find("Code")

    @property
    def error_message(self):
        if self.headers.get("content-type", "").startswith("application/x-amz-json"):
            d = self.json()
            return d.get("message", d.get("Message"))
        return self.find("Message")

    def __repr__(self):
        return "RawResponse(%d, %r)" % (self.status, self.body[:2000])


def send_signed(url, service, params=None, target=None, json_body=None, access_key_id=None,
                secret=None, session_token=None, region=REGION, when=None, method="POST",
                extra_headers=None, body=None, tamper=None, unsigned=False, timeout=30):
    """Build a request as an SDK would, sign it with botocore's SigV4Auth and send it.

    params: form parameters (awsQuery); target + json_body: JSON protocol
    ("secretsmanager.GetSecretValue", {...}); when: a datetime to sign with (clock-skew
    tests); tamper: a function(headers_dict, body_bytes) -> body_bytes applied after signing.
    """
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    if access_key_id is None:
        access_key_id, secret = fixtures.ADMIN_KEY_ID, fixtures.ADMIN_SECRET
    host = url.split("://", 1)[1].rstrip("/")
    headers = {}
    if body is None:
        if params is not None:
            body = urlencode(params).encode("utf-8")
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        else:
            body = json.dumps(json_body or {}).encode("utf-8")
            headers["Content-Type"] = "application/x-amz-json-1.1"
    if target:
        headers["X-Amz-Target"] = target
    headers.update(extra_headers or {})
    req = botocore.awsrequest.AWSRequest(method=method, url=url + "/", data=body,
                                         headers=headers)
    req.headers["Host"] = host
    if not unsigned:
        creds = botocore.credentials.Credentials(access_key_id, secret, session_token)
        signer = _TimedSigV4(creds, service, region, when)
        signer.add_auth(req)
    out_headers = dict(req.headers.items())
    if tamper is not None:
        body = tamper(out_headers, body)
    conn = http.client.HTTPConnection(host.split(":")[0], int(host.split(":")[1]),
                                      timeout=timeout)
    try:
        conn.putrequest(method, "/", skip_host=True, skip_accept_encoding=True)
        for k, v in out_headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


class _TimedSigV4:
    """botocore.auth.SigV4Auth signing at a chosen time (default: now)."""

    def __new__(cls, creds, service, region, when):
        import botocore.auth

        class Signer(botocore.auth.SigV4Auth):
            def add_auth(self, request):
                t = when or datetime.datetime.now(datetime.timezone.utc)
                request.context["timestamp"] = t.strftime("%Y%m%dT%H%M%SZ")
                self._modify_request_before_signing(request)
                cr = self.canonical_request(request)
                sts = self.string_to_sign(request, cr)
                self._inject_signature_to_request(request, self.signature(sts, request))

        return Signer(creds, service, region)


# ---------------------------------------------------------------------- sharing helpers

_shared = {}


def shared_emulator(name="default", fixture=None, **options):
    """One emulator per (process, name), started on first use and stopped at exit."""
    emu = _shared.get(name)
    if emu is None or emu.proc is None:
        emu = _shared[name] = Emulator(fixture, **options).start()
    return emu


class EmulatorTestCase(unittest.TestCase):
    """Starts one emulator per test class.  Set emulator_fixture (a dict or a callable
    returning one) or override the classmethod make_fixture, and emulator_options (kwargs
    for Emulator).  self.emu is the emulator; call self.reset_emulator() to restore the
    fixture, clock, faults and call log."""

    emulator_fixture = None
    emulator_options = {}

    @classmethod
    def make_fixture(cls):
        fx = cls.emulator_fixture
        return fx() if callable(fx) else fx

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fx = cls.make_fixture()
        cls._emu_fixture = fx if fx is not None else fixtures.admin_fixture()
        cls.emu = Emulator(cls._emu_fixture, **cls.emulator_options).start()

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()
        super().tearDownClass()

    def reset_emulator(self):
        self.emu.clear_faults()
        self.emu.set_clock(0)
        self.emu.load(self._emu_fixture)
        self.emu.reset_calls()
        self.emu.reset_sns()
