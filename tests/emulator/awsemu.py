#!/usr/bin/python3
"""awsemu: a local emulator of the AWS APIs that iamkeys uses.

IAM and STS (awsQuery/XML), Secrets Manager, SSM and Organizations (JSON 1.1),
IAM Identity Center's portal (GetRoleCredentials) and OIDC (CreateToken) (REST-JSON,
unsigned, routed by path), with SigV4 verification (botocore's own signer), AWS-shaped errors, an emulated
clock, fault injection, rate limiting and a call log.  Test-control endpoints
live under /_emu/ (unsigned, loopback only).  See README.md next to this file.

Usage: awsemu.py --port 0 --state fixture.json [--latency-ms 25] [--port-file F]
                 [--report-delay S] [--propagation-delay S] [--rate-limit N]

Only the Python standard library and Debian's python3-botocore are used.
"""
import argparse
import base64
import bisect
import csv
import datetime
import email.utils
import fnmatch
import hashlib
import hmac
import io
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dynamodb_service  # noqa: E402  (DynamoDB, in its own file)
import cloudtrail_service  # noqa: E402  (CloudTrail LookupEvents)
import sns_service  # noqa: E402  (SNS, in its own file)
import ec2_service  # noqa: E402  (EC2 DescribeRegions)
import root_service  # noqa: E402  (AssumeRoot, ListOrganizationsFeatures)
import iampolicy_service  # noqa: E402  (user policies, GetSessionToken)

UTC = datetime.timezone.utc


def _xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data"

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
QUERY_SERVICES = {"iam": ("2010-05-08", IAM_NS), "sts": ("2011-06-15", STS_NS)}
JSON_TARGETS = {"secretsmanager": "secretsmanager", "ssm": "AmazonSSM",
                "organizations": "AWSOrganizationsV20161128"}
TARGET_TO_SERVICE = {v: k for k, v in JSON_TARGETS.items()}
# services of another JSON version: (Content-Type, prefix of the error __type)
JSON_VERSIONS = {}
# services in their own modules add to these: called with (emu, log entry) for
# every request recorded; with (emu, fixture) on every load; and control paths
# under /_emu/ answered by fn(emu, method, data, query) -> JSON-able
RECORD_HOOKS = []
LOAD_HOOKS = []
CONTROL_HANDLERS = {}
SERVER_ERRORS = {}  # service -> () -> ApiError, for services in their own modules
CONTROL_HOOKS = []  # (emu, method, path, data) -> (status, json) or None, for /_emu/ extras
# query services whose XML is not awsQuery's (EC2): service -> (success(ctx, result) -> bytes,
# error(ctx, ApiError) -> bytes)
XML_FORMATS = {}
GLOBAL_REGION_SERVICES = ("iam", "organizations")  # signed for us-east-1 only

REPORT_HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,"
                 "password_last_changed,password_next_rotation,mfa_active,access_key_1_active,"
                 "access_key_1_last_rotated,access_key_1_last_used_date,"
                 "access_key_1_last_used_region,access_key_1_last_used_service,"
                 "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
                 "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
                 "cert_1_last_rotated,cert_2_active,cert_2_last_rotated").split(",")
REPORT_TTL = 4 * 3600
KEYS_PER_USER = 2
TAGS_PER_USER = 50
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

MSG_INVALID_TOKEN = "The security token included in the request is invalid."
MSG_EXPIRED_TOKEN = "The security token included in the request is expired"
MSG_BAD_SIGNATURE = ("The request signature we calculated does not match the signature you "
                     "provided. Check your AWS Secret Access Key and signing method. Consult the "
                     "service documentation for details.")

# --------------------------------------------------------------------------------------
# botocore is imported in the background: it takes ~0.4 s, and the port is reported first.

_boto_ready = threading.Event()
_boto = {}


def _import_botocore():
    try:
        import botocore.auth
        import botocore.awsrequest
        import botocore.compat
        import botocore.credentials

        class VerifyingSigner(botocore.auth.SigV4Auth):
            """botocore's SigV4 signer, told exactly which headers the client signed."""

            def __init__(self, credentials, service, region, signed, header_items):
                super().__init__(credentials, service, region)
                self._signed = signed
                self._items = header_items

            def headers_to_sign(self, request):
                hm = botocore.compat.HTTPHeaders()
                for name in self._signed:
                    for k, v in self._items:
                        if k.lower() == name:
                            hm[name] = v
                return hm

        _boto["AWSRequest"] = botocore.awsrequest.AWSRequest
        _boto["Credentials"] = botocore.credentials.Credentials
        _boto["Signer"] = VerifyingSigner
    except Exception as e:  # pragma: no cover - reported on first request
        _boto["error"] = repr(e)
    finally:
        _boto_ready.set()


_models = {}
_models_lock = threading.Lock()


def service_model(service):
    with _models_lock:
        m = _models.get(service)
        if m is None:
            d = os.path.join(BOTOCORE_DATA, service)
            ver = sorted(os.listdir(d))[-1]
            with open(os.path.join(d, ver, "service-2.json")) as f:
                m = json.load(f)
            _models[service] = m
        return m


# --------------------------------------------------------------------------------------
# time helpers

_REL = re.compile(r"^([+-])((?:\d+(?:\.\d+)?[wdhms])+)$")
_REL_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_UNIT = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_date(value, now):
    """Absolute ISO 8601, epoch number, 'now', or relative like '-120d', '+1h', '-2d3h'."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, UTC)
    v = str(value).strip()
    if v == "now":
        return now
    m = _REL.match(v)
    if m:
        secs = sum(float(n) * _UNIT[u] for n, u in _REL_PART.findall(m.group(2)))
        return now + datetime.timedelta(seconds=secs if m.group(1) == "+" else -secs)
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    dt = datetime.datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso_z(dt, millis=False):
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_dump(dt):
    if dt is None:
        return None
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_report(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def amz_date(dt):
    return dt.strftime("%Y%m%dT%H%M%SZ")


def epoch(dt):
    return round(dt.timestamp(), 3)


def trunc(dt):
    return dt.replace(microsecond=0)


class Clock:
    """Emulated clock: real UTC time plus an offset (set relatively or absolutely)."""

    def __init__(self):
        self.offset = 0.0
        self.mode = "real"  # real | offset | absolute
        self.absolute = None

    def now(self):
        return datetime.datetime.now(UTC) + datetime.timedelta(seconds=self.offset)

    def set(self, offset_seconds=None, now=None, advance_seconds=None):
        if now is not None:
            target = parse_date(now, self.now())
            self.offset = (target - datetime.datetime.now(UTC)).total_seconds()
            self.mode = "absolute"
            self.absolute = iso_z(target)
        elif advance_seconds is not None:
            self.offset += float(advance_seconds)
            self.mode = "offset" if self.offset else "real"
            self.absolute = None
        else:
            self.offset = float(offset_seconds or 0)
            self.mode = "offset" if self.offset else "real"
            self.absolute = None

    def info(self):
        return {"offset_seconds": int(round(self.offset)), "offset": self.offset,
                "mode": self.mode, "now": iso_dump(trunc(self.now())),
                "absolute": self.absolute}


# --------------------------------------------------------------------------------------
# ids


def _b32_from(seed, n):
    d = hashlib.sha256(seed.encode()).digest()
    while len(d) < n:
        d += hashlib.sha256(d).digest()
    return "".join(B32[b % 32] for b in d[:n])


def gen_id(prefix, n, rng=None):
    r = rng or random.SystemRandom()
    return prefix + "".join(r.choice(B32) for _ in range(n))


def derived_id(prefix, n, seed):
    return prefix + _b32_from(seed, n)


def gen_secret(rng=None):
    r = rng or random.SystemRandom()
    return "".join(r.choice(SECRET_ALPHABET) for _ in range(40))


def derived_secret(key_id):
    d = hashlib.sha256(("awsemu-secret:" + key_id).encode()).digest()
    d += hashlib.sha256(d).digest()
    return "".join(SECRET_ALPHABET[b % 64] for b in d[:40])


# --------------------------------------------------------------------------------------
# errors


class ApiError(Exception):
    def __init__(self, code, message=None, status=400, sender=True, headers=None, extra=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.sender = sender
        self.headers = headers or {}
        self.extra = extra or {}


_MSG_KEYS = {}


def json_message_key(service, code):
    """'Message' or 'message', as the error shape in the botocore model spells it; errors
    of the AWS front end (authentication, throttling) use 'message'."""
    k = (service, code)
    if k not in _MSG_KEYS:
        key = "message"
        try:
            shape = service_model(service)["shapes"].get(code)
            if shape and shape.get("exception") and "Message" in shape.get("members", {}):
                key = "Message"
        except OSError:
            pass
        _MSG_KEYS[k] = key
    return _MSG_KEYS[k]


class LoadError(Exception):
    pass


def validation_error(errors, code="ValidationError"):
    n = len(errors)
    return ApiError(code, "%d validation error%s detected: %s" % (
        n, "" if n == 1 else "s", "; ".join(errors)), 400)


def _camel(name):
    return name[:1].lower() + name[1:]


_PATTERN_CACHE = {}


def _py_pattern(p):
    if p in _PATTERN_CACHE:
        return _PATTERN_CACHE[p]
    q = (p.replace(r"\p{L}", "a-zA-Z\u00c0-\u024f").replace(r"\p{Z}", " ")
         .replace(r"\p{N}", "0-9"))
    try:
        rx = re.compile(q, re.ASCII)
    except re.error:
        rx = None
    _PATTERN_CACHE[p] = rx
    return rx


def validate_query_input(service, action, params):
    """Top-level constraint checks from the botocore model, with AWS's message format."""
    model = service_model(service)
    op = model["operations"].get(action)
    if not op or "input" not in op:
        return
    shapes = model["shapes"]
    inp = shapes[op["input"]["shape"]]
    errors = []
    for name, member in inp["members"].items():
        s = shapes[member["shape"]]
        t = s["type"]
        c = _camel(name)
        if t in ("list", "structure", "map"):
            if name in inp.get("required", ()) and not any(
                    k == name or k.startswith(name + ".") for k in params):
                errors.append("Value null at '%s' failed to satisfy constraint: "
                              "Member must not be null" % c)
            continue
        if name not in params:
            if name in inp.get("required", ()):
                errors.append("Value null at '%s' failed to satisfy constraint: "
                              "Member must not be null" % c)
            continue
        v = params[name]
        if t == "string":
            if "min" in s and len(v) < s["min"]:
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must have "
                              "length greater than or equal to %d" % (v, c, s["min"]))
            elif "max" in s and len(v) > s["max"]:
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must have "
                              "length less than or equal to %d" % (v, c, s["max"]))
            elif "enum" in s and v not in s["enum"]:
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must "
                              "satisfy enum value set: [%s]" % (v, c, ", ".join(s["enum"])))
            elif "pattern" in s and v:
                rx = _py_pattern(s["pattern"])
                if rx is not None and not rx.fullmatch(v):
                    errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must "
                                  "satisfy regular expression pattern: %s" % (v, c, s["pattern"]))
        elif t in ("integer", "long"):
            try:
                iv = int(v)
            except ValueError:
                raise ApiError("MalformedInput", "Invalid value '%s' for parameter %s: "
                               "not an integer" % (v, name), 400)
            if "min" in s and iv < s["min"]:
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must have "
                              "value greater than or equal to %d" % (v, c, s["min"]))
            elif "max" in s and iv > s["max"]:
                errors.append("Value '%s' at '%s' failed to satisfy constraint: Member must have "
                              "value less than or equal to %d" % (v, c, s["max"]))
        elif t == "boolean":
            if v not in ("true", "false"):
                raise ApiError("MalformedInput", "Invalid value '%s' for boolean parameter %s"
                               % (v, name), 400)
    if errors:
        raise validation_error(errors)


# --------------------------------------------------------------------------------------
# the model


class Key:
    __slots__ = ("id", "secret", "status", "create_date", "last_used", "user", "account",
                 "ready_at")

    def __init__(self, kid, secret, status, create_date, last_used, user, account):
        self.id = kid
        self.secret = secret
        self.status = status
        self.create_date = create_date
        self.last_used = last_used  # None or {"date": dt, "service": s, "region": r}
        self.user = user  # None for a root key
        self.account = account
        self.ready_at = 0.0  # monotonic time from which the key authenticates

    def dump(self):
        lu = None
        if self.last_used:
            lu = {"date": iso_dump(self.last_used["date"]), "service": self.last_used["service"],
                  "region": self.last_used["region"]}
        return {"id": self.id, "secret": self.secret, "status": self.status,
                "create_date": iso_dump(self.create_date), "last_used": lu}


class User:
    __slots__ = ("name", "path", "user_id", "arn", "create_date", "password_enabled",
                 "password_last_used", "password_last_changed", "mfa_active", "tags", "groups",
                 "allow", "keys", "account")

    def dump(self):
        d = {"name": self.name, "path": self.path, "user_id": self.user_id, "arn": self.arn,
             "create_date": iso_dump(self.create_date),
             "password_enabled": self.password_enabled,
             "password_last_used": iso_dump(self.password_last_used),
             "password_last_changed": iso_dump(self.password_last_changed),
             "mfa_active": self.mfa_active,
             "tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
             "groups": list(self.groups), "keys": [k.dump() for k in self.keys]}
        if self.allow is not None:
            d["allow"] = list(self.allow)
        return d


class Group:
    __slots__ = ("name", "path", "group_id", "arn", "create_date")


class Role:
    __slots__ = ("name", "path", "role_id", "arn", "create_date", "trust", "allow",
                 "max_session_duration", "external_id", "account")

    def dump(self):
        d = {"name": self.name, "path": self.path, "role_id": self.role_id, "arn": self.arn,
             "create_date": iso_dump(self.create_date), "trust": list(self.trust),
             "max_session_duration": self.max_session_duration}
        if self.allow is not None:
            d["allow"] = list(self.allow)
        if self.external_id is not None:
            d["external_id"] = self.external_id
        return d


class Session:
    __slots__ = ("access_key_id", "secret", "token", "expiration", "account_id", "role",
                 "session_name", "assumed_role_id", "arn", "allow", "source", "caller",
                 "created", "last_used", "chained")

    def dump(self):
        return {"access_key_id": self.access_key_id, "secret": self.secret,
                "token": self.token, "expiration": iso_dump(self.expiration),
                "account": self.account_id, "role_arn": self.role.arn,
                "session_name": self.session_name, "arn": self.arn, "source": self.source,
                "caller": self.caller, "created": iso_dump(self.created),
                "last_used": ({"date": iso_dump(self.last_used["date"]),
                               "service": self.last_used["service"],
                               "region": self.last_used["region"]} if self.last_used else None)}


class Account:
    def __init__(self, aid):
        self.id = aid
        self.alias = None
        self.create_date = None
        self.users = {}  # lower name -> User
        self.groups = {}  # lower name -> Group
        self.roles = {}  # lower name -> Role
        self.root_password_last_used = None
        self.root_mfa_active = True
        self.root_keys = []
        self.report = None
        self.secrets = {}  # (region, name) -> dict
        self.params = {}  # (region, name) -> dict
        self._sorted = None

    def sorted_names(self):
        if self._sorted is None:
            self._sorted = sorted(self.users)
        return self._sorted

    def dirty(self):
        self._sorted = None


def _is_account_id(s):
    return isinstance(s, str) and len(s) == 12 and s.isdigit()


class Fault:
    def __init__(self, fid, spec):
        self.id = fid
        kind = spec.get("kind", "throttle")
        if kind not in ("throttle", "server_error", "reset", "truncate", "malformed", "slow"):
            raise LoadError("unknown fault kind %r" % kind)
        self.kind = kind
        action = spec.get("action")
        service = spec.get("service")
        if action and ":" in action:
            service, action = action.split(":", 1)
        self.action = action
        self.service = service
        self.account = spec.get("account")
        if self.account is not None and not _is_account_id(self.account):
            raise LoadError("fault account must be a 12-digit account id, not %r"
                            % (self.account,))
        self.probability = spec.get("probability")
        self.nth = spec.get("nth")
        self.count = spec.get("count")
        if self.count is None and self.nth is not None:
            self.count = 1
        self.delay_ms = spec.get("delay_ms")
        self.before = bool(spec.get("before", False))
        self.rng = random.Random(spec.get("seed"))
        self.seen = 0
        self.fired = 0

    def matches(self, service, action, account=None):
        if self.service and self.service != service:
            return False
        if self.account and self.account != account:
            return False
        if self.action and not fnmatch.fnmatchcase(action or "", self.action):
            return False
        return True

    def check(self):
        """Called for each matching call; True when the fault fires on this call."""
        self.seen += 1
        if self.count is not None and self.fired >= self.count:
            return False
        if self.nth is not None and self.seen < self.nth:
            return False
        if self.probability is not None and self.rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def dump(self):
        return {"id": self.id, "kind": self.kind, "service": self.service,
                "action": self.action, "account": self.account, "probability": self.probability, "nth": self.nth,
                "count": self.count, "delay_ms": self.delay_ms, "before": self.before,
                "seen": self.seen, "fired": self.fired}


class Bucket:
    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.t = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Principal:
    __slots__ = ("kind", "account", "arn", "user_id", "user", "session", "key", "allow")

    def __init__(self, kind, account, arn, user_id, user=None, session=None, key=None,
                 allow=None):
        self.kind = kind
        self.account = account
        self.arn = arn
        self.user_id = user_id
        self.user = user
        self.session = session
        self.key = key
        self.allow = allow


class Ctx:
    __slots__ = ("service", "action", "region", "params", "body", "principal", "now",
                 "request_id", "headers", "access_key_id", "signature_ok", "account_id",
                 "client_port", "issued_key_id")

    @classmethod
    def new(cls, headers, body, client_port, service=None, action=None):
        """One request's context, before routing and authentication."""
        ctx = cls()
        ctx.request_id = str(uuid.uuid4())
        ctx.headers = headers
        ctx.client_port = client_port
        ctx.access_key_id = None
        ctx.signature_ok = False
        ctx.principal = None
        ctx.account_id = None
        ctx.params = {}
        ctx.body = body
        ctx.region = None
        ctx.service = service
        ctx.action = action
        return ctx


class Response:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body


# --------------------------------------------------------------------------------------
# XML


def _ser(out, tag, val, ind):
    pad = "  " * ind
    if val is None:
        return
    if isinstance(val, list):
        if not val:
            out.append("%s<%s/>\n" % (pad, tag))
            return
        out.append("%s<%s>\n" % (pad, tag))
        for t, v in val:
            _ser(out, t, v, ind + 1)
        out.append("%s</%s>\n" % (pad, tag))
    else:
        if isinstance(val, bool):
            val = "true" if val else "false"
        out.append("%s<%s>%s</%s>\n" % (pad, tag, _xml_escape(str(val)), tag))


def xml_response(action, ns, result, request_id):
    out = ['<%sResponse xmlns="%s">\n' % (action, ns)]
    if result is not None:
        _ser(out, action + "Result", result, 1)
    out.append("  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n"
               % request_id)
    out.append("</%sResponse>\n" % action)
    return "".join(out).encode("utf-8")


def xml_error(ns, code, message, sender, request_id):
    out = ['<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
           % (ns, "Sender" if sender else "Receiver", _xml_escape(code))]
    if message is not None:
        out.append("    <Message>%s</Message>\n" % _xml_escape(message))
    out.append("  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n" % request_id)
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------------------
# the emulator


class Emulator:
    def __init__(self, config):
        self.lock = threading.RLock()
        self.log_lock = threading.Lock()
        self.clock = Clock()
        self.config = {"latency_ms": 0, "report_delay": 0.0, "propagation_delay": 0.0,
                       "rate_limit": None, "rate_burst": None, "date_format": "seconds",
                       "max_skew_seconds": 300, "log_limit": 50000,
                       # tests of a damaged report: this text instead of the real CSV
                       "report_content": None}
        self.config.update({k: v for k, v in config.items() if v is not None})
        self.accounts = {}
        self.keys = {}
        self.sessions = {}
        self.org = None
        self.web_identities = {}
        self.sso_tokens = {}  # access token -> entry (see _sso_token_entry)
        self.sso_refresh = {}  # refresh token -> the same entry
        self.faults = []
        self.fault_seq = 0
        self.buckets = {}
        self.calls = []
        self.call_seq = 0
        self.counters = {}
        self.port = None

    # ---------------------------------------------------------------- fixture load/dump

    def load(self, fx):
        """Replace the whole state with fixture fx (a dict)."""
        if not isinstance(fx, dict):
            raise LoadError("fixture must be a JSON object")
        # relative dates count from what clients see: with an absolute clock they are
        # given that time, frozen (IAMKEYS_TEST_NOW), while this clock runs on from it
        now = (parse_date(self.clock.absolute, None) if self.clock.mode == "absolute"
               else self.clock.now())
        accounts = {}
        keys = {}
        acc_list = fx.get("accounts", [])
        if isinstance(acc_list, dict):
            acc_list = [dict(v, id=k) for k, v in acc_list.items()]
        for a in acc_list:
            aid = str(a.get("id", ""))
            if not _is_account_id(aid):
                raise LoadError("account id must be 12 digits: %r" % aid)
            if aid in accounts:
                raise LoadError("duplicate account %s" % aid)
            acc = Account(aid)
            acc.alias = a.get("alias")
            acc.create_date = trunc(parse_date(a.get("create_date", "-3650d"), now))
            root = a.get("root") or {}
            acc.root_password_last_used = parse_date(root.get("password_last_used"), now)
            acc.root_mfa_active = bool(root.get("mfa_active", True))
            for k in root.get("keys", []):
                key = self._load_key(k, None, acc, now)
                if key.id in keys:
                    raise LoadError("duplicate key id %s" % key.id)
                keys[key.id] = key
                acc.root_keys.append(key)
            for g in a.get("groups", []):
                self._add_group(acc, g, now)
            for u in a.get("users", []):
                user = self._load_user(u, acc, now)
                if user.name.lower() in acc.users:
                    raise LoadError("duplicate user %s in %s" % (user.name, aid))
                acc.users[user.name.lower()] = user
                for key in user.keys:
                    if key.id in keys:
                        raise LoadError("duplicate key id %s" % key.id)
                    keys[key.id] = key
            for r in a.get("roles", []):
                self._load_role(r, acc, now)
            for s in a.get("secrets", []):
                self._seed_secret(acc, s, now)
            for p in a.get("parameters", []):
                self._seed_param(acc, p, now)
            accounts[aid] = acc
        for r in fx.get("roles", []):
            aid = str(r.get("account", ""))
            if aid not in accounts:
                raise LoadError("role %r: unknown account %r" % (r.get("name"), aid))
            self._load_role(r, accounts[aid], now)
        org = None
        o = fx.get("organization")
        if o:
            mgmt = str(o.get("management_account", ""))
            if not _is_account_id(mgmt):
                raise LoadError("organization.management_account must be 12 digits")
            oid = o.get("id") or ("o-" + _b32_from("org" + mgmt, 10).lower())
            org_accounts = []
            ids = set()
            for oa in o.get("accounts", []):
                oaid = str(oa.get("id", ""))
                if not _is_account_id(oaid):
                    raise LoadError("organization account id must be 12 digits: %r" % oaid)
                status = oa.get("status", "ACTIVE")
                if status not in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE"):
                    raise LoadError("bad organization account status %r" % status)
                ids.add(oaid)
                org_accounts.append({
                    "id": oaid, "name": oa.get("name", "account-" + oaid),
                    "email": oa.get("email", "aws+%s@example.com" % oaid), "status": status,
                    "joined_method": oa.get("joined_method",
                                            "CREATED" if oaid != mgmt else "INVITED"),
                    "joined": trunc(parse_date(oa.get("joined", "-1000d"), now))})
            if mgmt not in ids:
                org_accounts.insert(0, {
                    "id": mgmt, "name": "management", "email": "aws+%s@example.com" % mgmt,
                    "status": "ACTIVE", "joined_method": "INVITED",
                    "joined": trunc(parse_date("-1000d", now))})
            mgmt_email = next(x["email"] for x in org_accounts if x["id"] == mgmt)
            org = {"id": oid, "management_account": mgmt,
                   "management_email": o.get("management_email", mgmt_email),
                   "feature_set": o.get("feature_set", "ALL"), "accounts": org_accounts}
            root_service.load_org(fx, org)
        webs = {}
        wl = fx.get("web_identities", [])
        if isinstance(wl, dict):
            wl = [dict(v, token=k) for k, v in wl.items()]
        for w in wl:
            tok = w.get("token")
            if not tok:
                raise LoadError("web identity without token")
            roles = w.get("role_arn") or w.get("roles") or []
            if isinstance(roles, str):
                roles = [roles]
            webs[tok] = {"token": tok, "roles": list(roles),
                         "subject": w.get("subject", "subject-" + hashlib.sha1(
                             tok.encode()).hexdigest()[:12]),
                         "audience": w.get("audience", "sts.amazonaws.com"),
                         "provider": w.get("provider", "token.actions.githubusercontent.com"),
                         "expires": parse_date(w.get("expires"), now)}
        sso_tokens, sso_refresh = {}, {}
        sl = fx.get("sso_tokens", [])
        if isinstance(sl, dict):
            sl = [dict(v, access_token=k) for k, v in sl.items()]
        for spec in sl:
            e = _sso_token_entry(spec, now)
            sso_tokens[e["access_token"]] = e
            if e["refresh_token"]:
                sso_refresh[e["refresh_token"]] = e
        dynamodb = dynamodb_service.load_tables(fx)
        iampolicy = iampolicy_service.load(fx)
        with self.lock:
            self.accounts = accounts
            self.keys = keys
            self.dynamodb = dynamodb
            self.iampolicy = iampolicy
            self.sessions = {}
            self.org = org
            self.web_identities = webs
            self.sso_tokens = sso_tokens
            self.sso_refresh = sso_refresh
            self.buckets = {}
            for hook in LOAD_HOOKS:
                hook(self, fx)
            settings = fx.get("settings") or {}
            for k, v in settings.items():
                if k in self.config:
                    self.config[k] = v
        return {"accounts": len(accounts), "users": sum(len(a.users) for a in accounts.values()),
                "keys": len(keys)}

    def _load_key(self, k, user, acc, now):
        kid = k.get("id") or k.get("access_key_id")
        if not kid:
            raise LoadError("key without id")
        if not re.fullmatch(r"[A-Z0-9]{16,128}", kid):
            raise LoadError("bad key id %r" % kid)
        status = k.get("status", "Active")
        if status not in ("Active", "Inactive"):
            raise LoadError("bad key status %r" % status)
        lu = k.get("last_used")
        last = None
        if lu:
            if isinstance(lu, str):
                lu = {"date": lu}
            last = {"date": trunc(parse_date(lu.get("date", "-1d"), now)),
                    "service": lu.get("service", "iam"), "region": lu.get("region", "us-east-1")}
            if "raw_date" in lu:
                # GetAccessKeyLastUsed sends this text as LastUsedDate (a malformed date)
                last["raw_date"] = lu["raw_date"]
        return Key(kid, k.get("secret") or derived_secret(kid), status,
                   trunc(parse_date(k.get("create_date", "-1d"), now)), last, user, acc)

    def _add_group(self, acc, g, now):
        if isinstance(g, str):
            g = {"name": g}
        grp = Group()
        grp.name = g["name"]
        grp.path = g.get("path", "/")
        grp.group_id = g.get("group_id") or derived_id("AGPA", 17, acc.id + "/g/" + grp.name)
        grp.arn = g.get("arn") or "arn:aws:iam::%s:group%s%s" % (acc.id, grp.path, grp.name)
        grp.create_date = trunc(parse_date(g.get("create_date", "-1000d"), now))
        acc.groups[grp.name.lower()] = grp
        return grp

    def _load_user(self, u, acc, now):
        user = User()
        name = u.get("name") or u.get("user_name")
        if not name or not re.fullmatch(r"[\w+=,.@-]{1,64}", name, re.ASCII):
            raise LoadError("bad user name %r" % name)
        user.name = name
        user.path = u.get("path", "/")
        if not (user.path.startswith("/") and user.path.endswith("/")):
            raise LoadError("user %s: path must start and end with /" % name)
        user.user_id = u.get("user_id") or derived_id("AIDA", 17, acc.id + "/u/" + name)
        user.arn = u.get("arn") or "arn:aws:iam::%s:user%s%s" % (acc.id, user.path, name)
        user.create_date = trunc(parse_date(u.get("create_date", "-365d"), now))
        plu = u.get("password_last_used")
        if plu in ("no_information", "never"):
            plu = None
        user.password_last_used = trunc(parse_date(plu, now)) if plu else None
        pe = u.get("password_enabled")
        user.password_enabled = bool(pe) if pe is not None else user.password_last_used is not None
        plc = u.get("password_last_changed")
        user.password_last_changed = (trunc(parse_date(plc, now)) if plc else
                                      (user.create_date if user.password_enabled else None))
        user.mfa_active = bool(u.get("mfa_active", False))
        tags = u.get("tags") or {}
        if isinstance(tags, list):
            tags = {t["Key"]: t.get("Value", "") for t in tags}
        user.tags = dict(tags)
        user.groups = []
        for gname in u.get("groups", []):
            g = acc.groups.get(gname.lower()) or self._add_group(acc, gname, now)
            user.groups.append(g.name)
        allow = u.get("allow")
        user.allow = list(allow) if allow is not None else None
        user.account = acc
        user.keys = []
        for k in u.get("keys", []):
            user.keys.append(self._load_key(k, user, acc, now))
        if len(user.keys) > KEYS_PER_USER:
            raise LoadError("user %s has %d keys; IAM allows %d" % (name, len(user.keys),
                                                                   KEYS_PER_USER))
        user.keys.sort(key=lambda k: k.create_date)
        return user

    def _load_role(self, r, acc, now):
        role = Role()
        role.name = r["name"]
        role.path = r.get("path", "/")
        role.role_id = r.get("role_id") or derived_id("AROA", 17, acc.id + "/r/" + role.name)
        role.arn = r.get("arn") or "arn:aws:iam::%s:role%s%s" % (acc.id, role.path, role.name)
        role.create_date = trunc(parse_date(r.get("create_date", "-500d"), now))
        trust = r.get("trust", [acc.id])
        role.trust = [trust] if isinstance(trust, str) else list(trust)
        allow = r.get("allow")
        role.allow = list(allow) if allow is not None else None
        role.max_session_duration = int(r.get("max_session_duration", 3600))
        role.external_id = r.get("external_id")
        role.account = acc
        acc.roles[role.name.lower()] = role

    def _seed_secret(self, acc, s, now):
        region = s.get("region", "us-east-1")
        sec = self._new_secret(acc, region, s["name"], s.get("description"), s.get("kms_key_id"),
                               s.get("tags"), trunc(parse_date(s.get("create_date", "-30d"),
                                                               now)))
        if "value" in s or "binary" in s:
            self._put_secret_version(sec, s.get("value"), s.get("binary"), None, None,
                                     sec["created"])

    def _seed_param(self, acc, p, now):
        region = p.get("region", "us-east-1")
        self.accounts_param_put(acc, region, p["name"], p["value"], p.get("type", "String"),
                                p.get("description"), p.get("key_id"),
                                trunc(parse_date(p.get("last_modified", "-30d"), now)))

    def dump(self):
        with self.lock:
            accs = []
            for acc in self.accounts.values():
                accs.append({
                    "id": acc.id, "alias": acc.alias, "create_date": iso_dump(acc.create_date),
                    "root": {"password_last_used": iso_dump(acc.root_password_last_used),
                             "mfa_active": acc.root_mfa_active,
                             "keys": [k.dump() for k in acc.root_keys]},
                    "groups": [{"name": g.name, "path": g.path, "group_id": g.group_id,
                                "arn": g.arn, "create_date": iso_dump(g.create_date)}
                               for g in acc.groups.values()],
                    "users": [acc.users[n].dump() for n in acc.sorted_names()],
                    "roles": [r.dump() for r in acc.roles.values()],
                    "secrets": [self._dump_secret(s) for s in acc.secrets.values()],
                    "parameters": [{"name": p["name"], "value": p["value"], "type": p["type"],
                                    "region": p["region"], "version": p["version"],
                                    "description": p["description"],
                                    "last_modified": iso_dump(p["last_modified"])}
                                   for p in acc.params.values()],
                    "credential_report": self._dump_report(acc.report),
                    "dynamodb_tables": dynamodb_service.dump_tables(self, acc.id),
                    "user_policies": iampolicy_service.dump(self, acc.id)})
            org = None
            if self.org:
                org = dict(self.org)
                org["accounts"] = [dict(a, joined=iso_dump(a["joined"]))
                                   for a in self.org["accounts"]]
            return {
                "accounts": accs, "organization": org,
                "web_identities": [dict(w, expires=iso_dump(w["expires"]))
                                   for w in self.web_identities.values()],
                "sso_tokens": [_sso_token_dump(e) for e in self.sso_tokens.values()],
                "sessions": [s.dump() for s in self.sessions.values()],
                "clock": self.clock.info(), "settings": dict(self.config)}

    @staticmethod
    def _dump_report(rep):
        if not rep:
            return None
        return {"started": iso_dump(rep["started"]), "ready_at": iso_dump(rep["ready_at"]),
                "generated": iso_dump(rep["generated"])}

    @staticmethod
    def _dump_secret(s):
        return {"name": s["name"], "arn": s["arn"], "region": s["region"],
                "description": s["description"], "create_date": iso_dump(s["created"]),
                "tags": s["tags"],
                "versions": [{"id": vid, "value": v["value"],
                              "binary": (base64.b64encode(v["binary"]).decode()
                                         if v["binary"] is not None else None),
                              "stages": sorted(v["stages"]), "created": iso_dump(v["created"])}
                             for vid, v in s["versions"].items()]}

    # ---------------------------------------------------------------- call log

    def record(self, entry):
        with self.log_lock:
            self.call_seq += 1
            entry["seq"] = self.call_seq
            self.calls.append(entry)
            for hook in RECORD_HOOKS:
                hook(self, entry)
            lim = self.config.get("log_limit") or 0
            if lim and len(self.calls) > lim:
                del self.calls[:len(self.calls) - lim]
            name = "%s:%s" % (entry["service"], entry["action"])
            self.counters[name] = self.counters.get(name, 0) + 1

    # ---------------------------------------------------------------- request entry

    def handle_api(self, method, raw_path, raw_query, headers, body, client_host,
                   client_port=None):
        """Returns (Response, fault_or_None, log_entry)."""
        t0 = time.monotonic()
        lat = self.config.get("latency_ms") or 0
        if lat:
            time.sleep(lat / 1000.0)  # no lock held: threads sleep concurrently
        if not _boto_ready.is_set():
            _boto_ready.wait(30)
        ctx = Ctx.new(headers, body, client_port)
        fault = None
        try:
            query_pairs = parse_qsl(raw_query, keep_blank_values=True)
            target = headers.get("X-Amz-Target")
            # a first guess, so that even a malformed Authorization gets the right error shape
            ctx.service = TARGET_TO_SERVICE.get((target or "").split(".", 1)[0], "iam")
            auth = self._parse_auth(headers, query_pairs)
            service = auth["service"] if auth else None
            if service is None:
                if target and target.split(".", 1)[0] in TARGET_TO_SERVICE:
                    service = TARGET_TO_SERVICE[target.split(".", 1)[0]]
                else:
                    service = "sts"
                    form = self._form(headers, body, query_pairs)
                    if form.get("Version") == QUERY_SERVICES["iam"][0]:
                        service = "iam"
            ctx.service = service
            ctx.region = auth["region"] if auth else "us-east-1"
            if service in QUERY_SERVICES:
                params = self._form(headers, body, query_pairs)
                ctx.params = params
                ctx.action = params.get("Action")
            elif service in JSON_TARGETS:
                prefix = JSON_TARGETS[service]
                if target and target.startswith(prefix + "."):
                    ctx.action = target[len(prefix) + 1:]
                else:
                    ctx.action = None
            else:
                ctx.action = None
                raise ApiError("InvalidAction", "Service '%s' is not emulated by awsemu" % service,
                               400)
            # --- authentication
            if auth is None:
                if not (service == "sts" and ctx.action == "AssumeRoleWithWebIdentity"):
                    if service in QUERY_SERVICES:
                        raise ApiError("MissingAuthenticationToken",
                                       "Request is missing Authentication Token", 403)
                    raise ApiError("MissingAuthenticationTokenException",
                                   "Missing Authentication Token", 400)
            else:
                self._authenticate(ctx, method, raw_path, query_pairs, headers, body, auth)
            # --- protocol-level checks
            if service in QUERY_SERVICES:
                version = QUERY_SERVICES[service][0]
                if not ctx.action or ctx.params.get("Version") != version:
                    raise ApiError("InvalidAction", "Could not find operation %s for version %s"
                                   % (ctx.action or "", ctx.params.get("Version",
                                                                       "NO_VERSION_SPECIFIED")),
                                   400)
                if ctx.action not in HANDLERS.get(service, {}):
                    raise ApiError("InvalidAction", "Could not find operation %s for version %s"
                                   % (ctx.action, version), 400)
            else:
                if not ctx.action or ctx.action not in HANDLERS.get(service, {}):
                    raise ApiError("UnknownOperationException", None, 400)
                try:
                    ctx.params = json.loads(body.decode("utf-8") or "{}") if body else {}
                    if not isinstance(ctx.params, dict):
                        raise ValueError
                except ValueError:
                    raise ApiError("SerializationException", "Start of structure or map found "
                                   "where not expected.", 400)
            # --- rate limit, faults
            if ctx.principal is not None:
                self._rate_limit(ctx)
            fault = self._match_fault(service, ctx.action,
                                      ctx.principal.account.id if ctx.principal else None)
            if fault is not None:
                if fault.kind == "throttle":
                    raise self._throttle_error(service)
                if fault.kind == "server_error":
                    raise self._server_error(service)
                if fault.kind == "slow":
                    time.sleep((fault.delay_ms if fault.delay_ms is not None else 3000) / 1000.0)
                if fault.kind in ("reset", "truncate", "malformed") and fault.before:
                    # the action is not performed; the reply is an empty success, then damaged
                    resp = self._success(ctx, None)
                    return resp, fault, self._log_entry(ctx, 200, None, t0, fault)
            # --- dispatch
            handler = HANDLERS[service][ctx.action]
            with self.lock:
                ctx.now = self.clock.now()
                if service in QUERY_SERVICES:
                    validate_query_input(service, ctx.action, ctx.params)
                for check in REQUEST_CHECKS:
                    check(self, ctx)
                result = handler(self, ctx)
            resp = self._success(ctx, result)
        except ApiError as e:
            resp = self._error(ctx, e)
        entry = self._log_entry(ctx, resp.status, getattr(resp, "_code", None), t0, fault)
        return resp, fault, entry

    def handle_sso(self, method, raw_path, raw_query, headers, body, client_port=None):
        """IAM Identity Center (REST-JSON, unsigned): GET /federation/credentials (the
        portal's GetRoleCredentials) and POST /token (OIDC CreateToken). Returns
        (Response, fault_or_None, log_entry), as handle_api."""
        t0 = time.monotonic()
        lat = self.config.get("latency_ms") or 0
        if lat:
            time.sleep(lat / 1000.0)
        service, action, want_method = SSO_ROUTES[raw_path]
        ctx = Ctx.new(headers, body, client_port, service=service, action=action)
        m = re.match(r"(?:portal\.sso|oidc)(?:-fips)?\.([a-z0-9-]+)\.", headers.get("Host") or "")
        ctx.region = m.group(1) if m else None
        fault = None
        try:
            if method != want_method:
                raise ApiError("UnknownOperationException", None, 404)
            token, data = None, None
            if service == "sso":
                q = dict(parse_qsl(raw_query, keep_blank_values=True))
                ctx.params = {k: q[k] for k in ("account_id", "role_name") if k in q}
                ctx.account_id = q.get("account_id")
                token = headers.get("x-amz-sso_bearer_token")
            else:
                try:
                    data = json.loads(body.decode("utf-8") or "{}") if body else {}
                    if not isinstance(data, dict):
                        raise ValueError
                except ValueError:
                    raise _oidc_error("InvalidRequestException", "invalid_request",
                                      "The request body is not a JSON object")
                # logged without the secrets (clientSecret, refreshToken, codes)
                ctx.params = {k: data[k] for k in ("grantType", "clientId") if k in data}
            fault = self._match_fault(service, action, ctx.account_id)
            if fault is not None:
                if fault.kind == "throttle":
                    if service == "sso":
                        raise ApiError("TooManyRequestsException", "Rate exceeded", 429)
                    raise _oidc_error("SlowDownException", "slow_down", "Slow down", 400)
                if fault.kind == "server_error":
                    raise _oidc_error("InternalServerException", "server_error",
                                      "An internal error occurred", 500)
                if fault.kind == "slow":
                    time.sleep((fault.delay_ms if fault.delay_ms is not None else 3000) / 1000.0)
                if fault.kind in ("reset", "truncate", "malformed") and fault.before:
                    resp = Response(200, {"x-amzn-RequestId": ctx.request_id,
                                          "Content-Type": "application/json"}, b"{}")
                    return resp, fault, self._log_entry(ctx, 200, None, t0, fault)
            with self.lock:
                ctx.now = self.clock.now()
                if service == "sso":
                    result = sso_get_role_credentials(self, ctx, token)
                else:
                    result = oidc_create_token(self, ctx, data)
            resp = Response(200, {"x-amzn-RequestId": ctx.request_id,
                                  "Content-Type": "application/json"},
                            json.dumps(result, separators=(",", ":")).encode("utf-8"))
        except ApiError as e:
            hdr = {"x-amzn-RequestId": ctx.request_id, "Content-Type": "application/json",
                   "x-amzn-ErrorType": e.code}
            if "error" in e.extra:  # OIDC: RFC 6749 error members
                d = {"error": e.extra["error"], "error_description": e.message}
            else:
                d = {"message": e.message}
            resp = _ErrResponse(e.status, hdr, json.dumps(d, separators=(",", ":"))
                                .encode("utf-8"), e.code)
        entry = self._log_entry(ctx, resp.status, getattr(resp, "_code", None), t0, fault)
        return resp, fault, entry

    def add_sso_tokens(self, specs):
        """Register SSO access tokens (fixture entries of "sso_tokens"); returns them."""
        with self.lock:
            now = self.clock.now()
            added = [_sso_token_entry(spec, now) for spec in specs]
            for e in added:
                self.sso_tokens[e["access_token"]] = e
                if e["refresh_token"]:
                    self.sso_refresh[e["refresh_token"]] = e
            return [e["access_token"] for e in added]

    def _log_entry(self, ctx, status, code, t0, fault):
        p = ctx.principal
        logged = {}
        for k, v in (ctx.params or {}).items():
            if k in ("SecretString", "SecretBinary", "Value", "WebIdentityToken", "Action",
                     "Version"):
                continue
            logged[k] = v
        return {"time": iso_dump(self.clock.now()), "real_time": time.time(),
                "service": ctx.service, "action": ctx.action or "", "region": ctx.region,
                "account": p.account.id if p else ctx.account_id,
                "access_key_id": ctx.access_key_id, "principal": p.arn if p else None,
                "http_status": status, "error_code": code, "signature_ok": bool(ctx.signature_ok),
                "fault": fault.kind if fault else None, "request_id": ctx.request_id,
                "params": logged, "duration_ms": round((time.monotonic() - t0) * 1000.0, 3),
                # which connection (the client's port) and client: connection reuse and
                # the User-Agent are observable
                "client_port": getattr(ctx, "client_port", None),
                # STS: the key id of the credentials issued (CloudTrail's responseElements)
                "issued_key_id": getattr(ctx, "issued_key_id", None) if status == 200 else None,
                "user_agent": ctx.headers.get("User-Agent") if ctx.headers else None}

    @staticmethod
    def _form(headers, body, query_pairs):
        params = {}
        for k, v in query_pairs:
            if not k.startswith("X-Amz-"):
                params[k] = v
        ctype = (headers.get("Content-Type") or "").lower()
        if body and ("x-www-form-urlencoded" in ctype or not ctype):
            for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params[k] = v
        return params

    # ---------------------------------------------------------------- responses

    def _success(self, ctx, result):
        hdr = {"x-amzn-RequestId": ctx.request_id}
        if ctx.service in XML_FORMATS:
            body = XML_FORMATS[ctx.service][0](ctx, result)
            hdr["Content-Type"] = "text/xml;charset=UTF-8"
        elif ctx.service in QUERY_SERVICES:
            ns = QUERY_SERVICES[ctx.service][1]
            body = xml_response(ctx.action, ns, result, ctx.request_id)
            hdr["Content-Type"] = "text/xml"
        else:
            body = json.dumps(result if result is not None else {},
                              separators=(",", ":")).encode("utf-8")
            hdr["Content-Type"] = JSON_VERSIONS.get(ctx.service, ("application/x-amz-json-1.1",))[0]
        return Response(200, hdr, body)

    def _error(self, ctx, e):
        hdr = {"x-amzn-RequestId": ctx.request_id}
        hdr.update(e.headers)
        if ctx.service in JSON_TARGETS:
            if e.code in ("IncompleteSignature", "InvalidAction"):
                e.code = {"IncompleteSignature": "IncompleteSignatureException",
                          "InvalidAction": "UnknownOperationException"}[e.code]
                e.status = 400
            d = {"__type": e.code}
            if e.message is not None:
                d[json_message_key(ctx.service, e.code)] = e.message
            d.update(e.extra)
            hdr["Content-Type"] = "application/x-amz-json-1.1"
            hdr["x-amzn-ErrorType"] = e.code
            if ctx.service in JSON_VERSIONS:  # DynamoDB: the type in the body only
                hdr["Content-Type"], prefix = JSON_VERSIONS[ctx.service]
                d["__type"] = prefix + e.code
                del hdr["x-amzn-ErrorType"]
            body = json.dumps(d, separators=(",", ":")).encode("utf-8")
        elif ctx.service in XML_FORMATS:
            body = XML_FORMATS[ctx.service][1](ctx, e)
            hdr["Content-Type"] = "text/xml;charset=UTF-8"
        else:
            ns = QUERY_SERVICES.get(ctx.service, (None, IAM_NS))[1]
            body = xml_error(ns, e.code, e.message, e.sender, ctx.request_id)
            hdr["Content-Type"] = "text/xml"
        return _ErrResponse(e.status, hdr, body, e.code)

    def _throttle_error(self, service):
        if service in QUERY_SERVICES:
            return ApiError("Throttling", "Rate exceeded", 400)
        if service == "organizations":
            return ApiError("TooManyRequestsException", "AWS Organizations can't complete your "
                            "request because another request is already in progress. Try again "
                            "later.", 400, extra={"Type": "AWSOrganizations"})
        return ApiError("ThrottlingException", "Rate exceeded", 400)

    def _server_error(self, service):
        if service in SERVER_ERRORS:
            return SERVER_ERRORS[service]()
        if service == "iam":
            return ApiError("ServiceFailure", "The request processing has failed because of an "
                            "unknown error, exception or failure.", 500, sender=False)
        if service == "sts":
            return ApiError("InternalFailure", "The request processing has failed because of an "
                            "unknown error, exception or failure.", 500, sender=False)
        if service == "secretsmanager":
            return ApiError("InternalServiceError", "An error occurred on the server side.", 500)
        if service == "ssm":
            return ApiError("InternalServerError", "An error occurred on the server side.", 500)
        return ApiError("ServiceException", "AWS Organizations can't complete your request "
                        "because it encountered an internal error. Try again later.", 500)

    # ---------------------------------------------------------------- auth

    @staticmethod
    def _parse_auth(headers, query_pairs):
        authz = headers.get("Authorization")
        if authz:
            if not authz.startswith("AWS4-HMAC-SHA256 "):
                raise _incomplete("Unsupported authorization type or algorithm in Authorization "
                                  "header: %s" % authz.split(" ", 1)[0])
            parts = {}
            for p in authz[len("AWS4-HMAC-SHA256 "):].split(","):
                k, _, v = p.strip().partition("=")
                parts[k] = v
            for need in ("Credential", "SignedHeaders", "Signature"):
                if not parts.get(need):
                    raise _incomplete("Authorization header requires '%s' parameter. "
                                      "Authorization=%s" % (need, authz))
            cred = parts["Credential"]
            signed = parts["SignedHeaders"].split(";")
            sig = parts["Signature"]
            presigned = False
            date = headers.get("X-Amz-Date")
            if not date and headers.get("Date"):
                try:
                    date = amz_date(email.utils.parsedate_to_datetime(headers["Date"])
                                    .astimezone(UTC))
                except (TypeError, ValueError):
                    date = None
            token = headers.get("X-Amz-Security-Token")
            expires = None
        else:
            q = {}
            for k, v in query_pairs:
                q.setdefault(k, v)
            if "X-Amz-Algorithm" not in q and "X-Amz-Signature" not in q:
                return None
            if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
                raise _incomplete("Unsupported X-Amz-Algorithm")
            for need in ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature",
                         "X-Amz-Date"):
                if not q.get(need):
                    raise _incomplete("AWS query-string parameters must include '%s'." % need)
            cred = q["X-Amz-Credential"]
            signed = q["X-Amz-SignedHeaders"].split(";")
            sig = q["X-Amz-Signature"]
            date = q["X-Amz-Date"]
            token = q.get("X-Amz-Security-Token")
            expires = q.get("X-Amz-Expires")
            presigned = True
        scope = cred.split("/")
        if len(scope) != 5 or scope[4] != "aws4_request":
            raise _incomplete("Credential should be scoped to a valid region, not '%s'. "
                              % (scope[2] if len(scope) > 2 else ""))
        if not date:
            raise _incomplete("Authorization header requires existence of either a 'X-Amz-Date' "
                              "or a 'Date' header.")
        return {"key_id": scope[0], "scope_date": scope[1], "region": scope[2],
                "service": scope[3], "signed": [s.strip().lower() for s in signed],
                "signature": sig, "date": date, "token": token, "presigned": presigned,
                "expires": expires}

    def _authenticate(self, ctx, method, raw_path, query_pairs, headers, body, auth):
        svc = ctx.service
        q = svc in QUERY_SERVICES

        def fail(qcode, qstatus, jcode, msg):
            if q:
                return ApiError(qcode, msg, qstatus)
            return ApiError(jcode, msg, 400, headers={
                "x-amzn-ErrorType": jcode + ":http://internal.amazon.com/coral/"
                                            "com.amazon.coral.service/"})

        kid = auth["key_id"]
        ctx.access_key_id = kid
        with self.lock:
            now = self.clock.now()
            key = self.keys.get(kid)
            session = self.sessions.get(kid) if key is None else None
        if key is not None:
            ctx.account_id = key.account.id
            if key.status != "Active" or time.monotonic() < key.ready_at:
                raise fail("InvalidClientTokenId", 403, "UnrecognizedClientException",
                           MSG_INVALID_TOKEN)
            if auth["token"]:
                raise fail("InvalidClientTokenId", 403, "UnrecognizedClientException",
                           MSG_INVALID_TOKEN)
            secret = key.secret
        elif session is not None:
            ctx.account_id = session.account_id
            if not auth["token"] or not hmac.compare_digest(auth["token"], session.token):
                raise fail("InvalidClientTokenId", 403, "UnrecognizedClientException",
                           MSG_INVALID_TOKEN)
            secret = session.secret
        else:
            raise fail("InvalidClientTokenId", 403, "UnrecognizedClientException",
                       MSG_INVALID_TOKEN)
        # request time and scope checks
        try:
            req_time = datetime.datetime.strptime(auth["date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=UTC)
        except ValueError:
            raise fail("IncompleteSignature", 400, "IncompleteSignatureException",
                       "Date must be in ISO-8601 'basic format'. Got '%s'. See "
                       "http://en.wikipedia.org/wiki/ISO_8601" % auth["date"])
        if auth["scope_date"] != auth["date"][:8]:
            raise fail("SignatureDoesNotMatch", 403, "InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                       "of date from HTTP: '%s' != '%s', from '%s'."
                       % (auth["scope_date"], auth["date"][:8], auth["date"]))
        if svc in GLOBAL_REGION_SERVICES and auth["region"] != "us-east-1":
            raise fail("SignatureDoesNotMatch", 403, "InvalidSignatureException",
                       "Credential should be scoped to a valid region, not '%s'. "
                       % auth["region"])
        if not auth["presigned"] and "host" not in auth["signed"]:
            raise fail("SignatureDoesNotMatch", 403, "InvalidSignatureException",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                       "Authorization.")
        # signature (botocore's signer)
        if not self._signature_matches(method, raw_path, query_pairs, headers, body, auth, kid,
                                       secret):
            raise fail("SignatureDoesNotMatch", 403, "InvalidSignatureException",
                       MSG_BAD_SIGNATURE)
        ctx.signature_ok = True
        skew = float(self.config.get("max_skew_seconds") or 300)
        if auth["presigned"]:
            try:
                exp = int(auth["expires"] or 0)
            except ValueError:
                exp = 0
            if exp and now > req_time + datetime.timedelta(seconds=exp):
                raise fail("AccessDenied", 403, "AccessDeniedException", "Request has expired")
        lo = now - datetime.timedelta(seconds=skew)
        hi = now + datetime.timedelta(seconds=skew)
        mins = "%g min." % (skew / 60.0)
        if req_time < lo:
            raise fail("SignatureDoesNotMatch", 403, "InvalidSignatureException",
                       "Signature expired: %s is now earlier than %s (%s - %s)"
                       % (auth["date"], amz_date(lo), amz_date(now), mins))
        if req_time > hi:
            raise fail("SignatureDoesNotMatch", 403, "InvalidSignatureException",
                       "Signature not yet current: %s is still later than %s (%s + %s)"
                       % (auth["date"], amz_date(hi), amz_date(now), mins))
        with self.lock:
            now = trunc(self.clock.now())
            if key is not None:
                # the key may have been deleted or deactivated meanwhile
                if self.keys.get(kid) is not key or key.status != "Active":
                    raise fail("InvalidClientTokenId", 403, "UnrecognizedClientException",
                               MSG_INVALID_TOKEN)
                key.last_used = {"date": now, "service": svc, "region": auth["region"]}
                acc = key.account
                if key.user is None:
                    ctx.principal = Principal("root", acc, "arn:aws:iam::%s:root" % acc.id,
                                              acc.id, key=key)
                else:
                    u = key.user
                    ctx.principal = Principal("user", acc, u.arn, u.user_id, user=u, key=key,
                                              allow=u.allow)
            else:
                if now >= session.expiration:
                    raise fail("ExpiredToken", 403, "ExpiredTokenException", MSG_EXPIRED_TOKEN)
                session.last_used = {"date": now, "service": svc, "region": auth["region"]}
                acc = self.accounts.get(session.account_id)
                if acc is None:
                    raise fail("InvalidClientTokenId", 403, "UnrecognizedClientException",
                               MSG_INVALID_TOKEN)
                user = getattr(session, "user", None)  # a GetSessionToken session
                if user is not None:
                    ctx.principal = Principal("user", acc, user.arn, user.user_id, user=user,
                                              session=session, allow=user.allow)
                else:
                    ctx.principal = Principal("root" if root_service.is_root_session(session)
                                              else "role", acc, session.arn,
                                              session.assumed_role_id, session=session,
                                              allow=session.allow)

    @staticmethod
    def _signature_matches(method, raw_path, query_pairs, headers, body, auth, kid, secret):
        if "error" in _boto:
            raise ApiError("InternalFailure", "botocore unavailable: " + _boto["error"], 500,
                           sender=False)
        items = list(headers.items())
        creds = _boto["Credentials"](kid, secret, None)
        signer = _boto["Signer"](creds, auth["service"], auth["region"], auth["signed"], items)
        params = [(k, v) for k, v in query_pairs if k != "X-Amz-Signature"]
        host = headers.get("Host") or "localhost"
        req = _boto["AWSRequest"](method=method, url="http://%s%s" % (host, raw_path or "/"),
                                  data=body or b"")
        for k, v in items:
            req.headers[k] = v
        req.params = params
        req.context["timestamp"] = auth["date"]
        if not auth["presigned"]:
            declared = headers.get("X-Amz-Content-SHA256")
            if declared and declared != "UNSIGNED-PAYLOAD" and \
                    declared != hashlib.sha256(body or b"").hexdigest():
                return False
        try:
            creq = signer.canonical_request(req)
            sts = signer.string_to_sign(req, creq)
            expected = signer.signature(sts, req)
        except Exception:
            return False
        return hmac.compare_digest(expected, auth["signature"])

    def _rate_limit(self, ctx):
        rate = self.config.get("rate_limit")
        if not rate:
            return
        aid = ctx.principal.account.id
        with self.lock:
            b = self.buckets.get(aid)
            burst = self.config.get("rate_burst") or max(1.0, float(rate))
            if b is None or b.rate != float(rate) or b.burst != float(burst):
                b = self.buckets[aid] = Bucket(float(rate), float(burst))
            ok = b.take()
        if not ok:
            raise self._throttle_error(ctx.service)

    def _match_fault(self, service, action, account=None):
        with self.lock:
            for f in self.faults:
                if f.matches(service, action, account) and f.check():
                    return f
        return None

    def authorize(self, ctx, resource):
        """Raise AccessDenied unless the principal's allow-list permits service:action."""
        p = ctx.principal
        if p is None or p.allow is None:
            return
        act = "%s:%s" % (ctx.service, ctx.action)
        for pat in p.allow:
            if fnmatch.fnmatchcase(act.lower(), pat.lower()):
                return
        msg = ("User: %s is not authorized to perform: %s on resource: %s because no "
               "identity-based policy allows the %s action" % (p.arn, act, resource, act))
        if ctx.service in QUERY_SERVICES:
            raise ApiError("AccessDenied", msg, 403)
        raise ApiError("AccessDeniedException", msg, 400)

    # ---------------------------------------------------------------- helpers for handlers

    def fmt_date(self, dt):
        return iso_z(dt, millis=self.config.get("date_format") == "millis")

    def new_key_id(self, prefix="AKIA"):
        while True:
            kid = gen_id(prefix, 16)
            if kid not in self.keys and kid not in self.sessions:
                return kid

    def accounts_param_put(self, acc, region, name, value, ptype, description, key_id, when):
        cur = acc.params.get((region, name))
        version = (cur["version"] + 1) if cur else 1
        if name.startswith("/"):
            arn = "arn:aws:ssm:%s:%s:parameter%s" % (region, acc.id, name)
        else:
            arn = "arn:aws:ssm:%s:%s:parameter/%s" % (region, acc.id, name)
        history = cur["history"] if cur else {}
        p = {"name": name, "value": value, "type": ptype, "region": region, "version": version,
             "description": description, "key_id": key_id, "last_modified": when, "arn": arn,
             "history": history}
        history[version] = {"value": value, "type": ptype, "last_modified": when}
        acc.params[(region, name)] = p
        return p

    def _new_secret(self, acc, region, name, description, kms, tags, when):
        suffix = "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                         for _ in range(6))
        if isinstance(tags, dict):
            tags = [{"Key": k, "Value": v} for k, v in tags.items()]
        sec = {"name": name, "region": region, "description": description, "kms_key_id": kms,
               "tags": list(tags or []), "created": when, "last_changed": when,
               "last_accessed": None, "versions": {},
               "arn": "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (region, acc.id, name,
                                                                     suffix)}
        acc.secrets[(region, name)] = sec
        return sec

    @staticmethod
    def _put_secret_version(sec, value, binary, token, stages, when):
        vid = token or str(uuid.uuid4())
        stages = list(stages) if stages else ["AWSCURRENT"]
        if "AWSCURRENT" in stages:
            for v in sec["versions"].values():
                v["stages"].discard("AWSPREVIOUS")
            for v in sec["versions"].values():
                if "AWSCURRENT" in v["stages"]:
                    v["stages"].discard("AWSCURRENT")
                    v["stages"].add("AWSPREVIOUS")
        for v in sec["versions"].values():
            for st in stages:
                v["stages"].discard(st)
        sec["versions"][vid] = {"value": value, "binary": binary, "stages": set(stages),
                                "created": when}
        sec["last_changed"] = when
        return vid


class _ErrResponse(Response):
    __slots__ = ("_code",)

    def __init__(self, status, headers, body, code):
        super().__init__(status, headers, body)
        self._code = code


def _incomplete(msg):
    e = ApiError("IncompleteSignature", msg, 400)
    return e


# --------------------------------------------------------------------------------------
# IAM


def _paginate(ctx, items, kind):
    """Index-based pagination over a small list. Returns (page, truncated, marker)."""
    p = ctx.params
    max_items = int(p.get("MaxItems", 100))
    start = 0
    if "Marker" in p:
        start = _decode_marker(p["Marker"], kind)
    page = items[start:start + max_items]
    nxt = start + len(page)
    if nxt < len(items):
        return page, True, _encode_marker(kind, str(nxt))
    return page, False, None


def _encode_marker(kind, value):
    raw = ("%s\x00%s" % (kind, value)).encode("utf-8")
    return base64.b64encode(b"\x01" + raw).decode("ascii")


def _decode_marker(marker, kind):
    try:
        raw = base64.b64decode(marker.encode("ascii"), validate=True)
        if raw[:1] != b"\x01":
            raise ValueError
        k, _, v = raw[1:].decode("utf-8").partition("\x00")
        if k != kind:
            raise ValueError
        return int(v) if kind != "users" else v
    except (ValueError, UnicodeError):
        raise ApiError("ValidationError", "Invalid Marker: %s" % marker, 400)


def _user_or_404(acc, name):
    u = acc.users.get(name.lower())
    if u is None:
        raise ApiError("NoSuchEntity", "The user with name %s cannot be found." % name, 404)
    return u


def _target_user(emu, ctx, required=False):
    """The UserName parameter, or the caller itself when it is omitted."""
    p = ctx.principal
    name = ctx.params.get("UserName")
    acc = p.account
    if name is None:
        if p.kind == "user":
            emu.authorize(ctx, p.user.arn)
            return p.user
        if p.kind == "root":
            emu.authorize(ctx, p.arn)
            return None
        raise ApiError("ValidationError",
                       "Must specify userName when calling with non-User credentials", 400)
    u = acc.users.get(name.lower())
    emu.authorize(ctx, u.arn if u else "arn:aws:iam::%s:user/%s" % (acc.id, name))
    if u is None:
        raise ApiError("NoSuchEntity", "The user with name %s cannot be found." % name, 404)
    return u


def _user_xml(emu, u, with_tags=False):
    x = [("Path", u.path), ("UserName", u.name), ("UserId", u.user_id), ("Arn", u.arn),
         ("CreateDate", emu.fmt_date(u.create_date))]
    if u.password_last_used:
        x.append(("PasswordLastUsed", emu.fmt_date(u.password_last_used)))
    if with_tags and u.tags:
        x.append(("Tags", [("member", [("Key", k), ("Value", v)]) for k, v in u.tags.items()]))
    return x


def iam_list_users(emu, ctx):
    acc = ctx.principal.account
    emu.authorize(ctx, "arn:aws:iam::%s:user/" % acc.id)
    p = ctx.params
    max_items = int(p.get("MaxItems", 100))
    prefix = p.get("PathPrefix", "/")
    names = acc.sorted_names()
    start = 0
    if "Marker" in p:
        start = bisect.bisect_left(names, _decode_marker(p["Marker"], "users"))
    page = []
    i = start
    truncated = False
    marker = None
    while i < len(names):
        u = acc.users[names[i]]
        if u.path.startswith(prefix):
            if len(page) == max_items:
                truncated = True
                marker = _encode_marker("users", names[i])
                break
            page.append(u)
        i += 1
    res = [("IsTruncated", truncated),
           ("Users", [("member", _user_xml(emu, u)) for u in page])]
    if marker:
        res.append(("Marker", marker))
    return res


def iam_get_user(emu, ctx):
    u = _target_user(emu, ctx)
    if u is None:  # root
        acc = ctx.principal.account
        x = [("UserId", acc.id), ("Arn", "arn:aws:iam::%s:root" % acc.id),
             ("CreateDate", emu.fmt_date(acc.create_date))]
        if acc.root_password_last_used:
            x.append(("PasswordLastUsed", emu.fmt_date(acc.root_password_last_used)))
        return [("User", x)]
    return [("User", _user_xml(emu, u, with_tags=True))]


def iam_create_user(emu, ctx):
    acc = ctx.principal.account
    p = ctx.params
    name = p["UserName"]
    path = p.get("Path", "/")
    emu.authorize(ctx, "arn:aws:iam::%s:user%s%s" % (acc.id, path, name))
    if name.lower() in acc.users:
        raise ApiError("EntityAlreadyExists", "User with name %s already exists." % name, 409)
    tags = _member_structs(p, "Tags", ("Key", "Value"))
    _check_tags(tags)
    u = User()
    u.name = name
    u.path = path
    u.user_id = gen_id("AIDA", 17)
    u.arn = "arn:aws:iam::%s:user%s%s" % (acc.id, path, name)
    u.create_date = trunc(ctx.now)
    u.password_enabled = False
    u.password_last_used = None
    u.password_last_changed = None
    u.mfa_active = False
    u.tags = {t["Key"]: t.get("Value", "") for t in tags}
    u.groups = []
    u.allow = None
    u.keys = []
    u.account = acc
    acc.users[name.lower()] = u
    acc.dirty()
    return [("User", _user_xml(emu, u, with_tags=True))]


def iam_delete_user(emu, ctx):
    acc = ctx.principal.account
    name = ctx.params["UserName"]
    u = acc.users.get(name.lower())
    emu.authorize(ctx, u.arn if u else "arn:aws:iam::%s:user/%s" % (acc.id, name))
    if u is None:
        raise ApiError("NoSuchEntity", "The user with name %s cannot be found." % name, 404)
    if u.keys:
        raise ApiError("DeleteConflict", "Cannot delete entity, must delete access keys first.",
                       409)
    if u.groups:
        raise ApiError("DeleteConflict", "Cannot delete entity, must remove users from group "
                       "first.", 409)
    if u.password_enabled:
        raise ApiError("DeleteConflict", "Cannot delete entity, must delete login profile "
                       "first.", 409)
    del acc.users[name.lower()]
    acc.dirty()
    return None


def iam_list_access_keys(emu, ctx):
    u = _target_user(emu, ctx)
    keys = u.keys if u is not None else ctx.principal.account.root_keys
    page, truncated, marker = _paginate(ctx, keys, "keys")
    members = []
    for k in page:
        m = []
        if u is not None:
            m.append(("UserName", u.name))
        m += [("AccessKeyId", k.id), ("Status", k.status),
              ("CreateDate", emu.fmt_date(k.create_date))]
        members.append(("member", m))
    res = [("AccessKeyMetadata", members), ("IsTruncated", truncated)]
    if marker:
        res.append(("Marker", marker))
    if u is not None:
        res.insert(0, ("UserName", u.name))
    return res


def iam_create_access_key(emu, ctx):
    u = _target_user(emu, ctx)
    acc = ctx.principal.account
    keys = u.keys if u is not None else acc.root_keys
    if len(keys) >= KEYS_PER_USER:
        raise ApiError("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: %d"
                       % KEYS_PER_USER, 409)
    kid = emu.new_key_id()
    key = Key(kid, gen_secret(), "Active", trunc(ctx.now), None, u, acc)
    key.ready_at = time.monotonic() + float(emu.config.get("propagation_delay") or 0)
    keys.append(key)
    emu.keys[kid] = key
    x = []
    if u is not None:
        x.append(("UserName", u.name))
    x += [("AccessKeyId", kid), ("Status", "Active"), ("SecretAccessKey", key.secret),
          ("CreateDate", emu.fmt_date(key.create_date))]
    return [("AccessKey", x)]


def _find_user_key(emu, ctx):
    u = _target_user(emu, ctx)
    kid = ctx.params["AccessKeyId"]
    keys = u.keys if u is not None else ctx.principal.account.root_keys
    for k in keys:
        if k.id == kid:
            return u, keys, k
    raise ApiError("NoSuchEntity", "The Access Key with id %s cannot be found." % kid, 404)


def iam_update_access_key(emu, ctx):
    _, _, k = _find_user_key(emu, ctx)
    k.status = ctx.params["Status"]
    return None


def iam_delete_access_key(emu, ctx):
    _, keys, k = _find_user_key(emu, ctx)
    keys.remove(k)
    emu.keys.pop(k.id, None)
    return None


def iam_get_access_key_last_used(emu, ctx):
    kid = ctx.params["AccessKeyId"]
    acc = ctx.principal.account
    k = emu.keys.get(kid)
    if k is None or k.account is not acc:
        emu.authorize(ctx, "arn:aws:iam::%s:user/*" % acc.id)
        raise ApiError("NoSuchEntity", "The Access Key with id %s cannot be found." % kid, 404)
    emu.authorize(ctx, k.user.arn if k.user else "arn:aws:iam::%s:root" % acc.id)
    if k.last_used:
        lu = [("Region", k.last_used["region"]),
              ("LastUsedDate", k.last_used.get("raw_date") or emu.fmt_date(k.last_used["date"])),
              ("ServiceName", k.last_used["service"])]
    else:
        lu = [("Region", "N/A"), ("ServiceName", "N/A")]
    res = [("AccessKeyLastUsed", lu)]
    if k.user is not None:
        res.append(("UserName", k.user.name))
    return res


def _member_structs(params, name, fields):
    out = {}
    pre = name + ".member."
    for k, v in params.items():
        if k.startswith(pre):
            idx, _, field = k[len(pre):].partition(".")
            if idx.isdigit() and field in fields:
                out.setdefault(int(idx), {})[field] = v
    return [out[i] for i in sorted(out)]


def _member_scalars(params, name):
    out = {}
    pre = name + ".member."
    for k, v in params.items():
        if k.startswith(pre) and k[len(pre):].isdigit():
            out[int(k[len(pre):])] = v
    return [out[i] for i in sorted(out)]


_TAG_RX = re.compile(r"[\w .:/=+\-@]*", re.UNICODE)


def _check_tags(tags):
    errors = []
    for i, t in enumerate(tags, 1):
        k = t.get("Key")
        v = t.get("Value")
        if k is None:
            errors.append("Value null at 'tags.%d.member.key' failed to satisfy constraint: "
                          "Member must not be null" % i)
        elif not 1 <= len(k) <= 128:
            errors.append("Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: "
                          "Member must have length less than or equal to 128" % (k, i))
        elif not _TAG_RX.fullmatch(k):
            errors.append("Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: "
                          "Member must satisfy regular expression pattern: "
                          "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+" % (k, i))
        if v is None:
            errors.append("Value null at 'tags.%d.member.value' failed to satisfy constraint: "
                          "Member must not be null" % i)
        elif len(v) > 256:
            errors.append("Value '%s' at 'tags.%d.member.value' failed to satisfy constraint: "
                          "Member must have length less than or equal to 256" % (v, i))
    if errors:
        raise validation_error(errors)


def iam_tag_user(emu, ctx):
    u = _target_user(emu, ctx)
    tags = _member_structs(ctx.params, "Tags", ("Key", "Value"))
    _check_tags(tags)
    merged = dict(u.tags)
    for t in tags:
        merged[t["Key"]] = t["Value"]
    if len(merged) > TAGS_PER_USER:
        raise ApiError("LimitExceeded", "Cannot exceed quota for TagsPerUser: %d"
                       % TAGS_PER_USER, 409)
    u.tags = merged
    return None


def iam_untag_user(emu, ctx):
    u = _target_user(emu, ctx)
    for k in _member_scalars(ctx.params, "TagKeys"):
        u.tags.pop(k, None)
    return None


def iam_list_user_tags(emu, ctx):
    u = _target_user(emu, ctx)
    page, truncated, marker = _paginate(ctx, list(u.tags.items()), "tags")
    res = [("Tags", [("member", [("Key", k), ("Value", v)]) for k, v in page]),
           ("IsTruncated", truncated)]
    if marker:
        res.append(("Marker", marker))
    return res


def iam_list_groups_for_user(emu, ctx):
    u = _target_user(emu, ctx)
    acc = ctx.principal.account
    groups = [acc.groups[g.lower()] for g in u.groups if g.lower() in acc.groups]
    page, truncated, marker = _paginate(ctx, groups, "groups")
    res = [("Groups", [("member", [("Path", g.path), ("GroupName", g.name),
                                   ("GroupId", g.group_id), ("Arn", g.arn),
                                   ("CreateDate", emu.fmt_date(g.create_date))])
                       for g in page]),
           ("IsTruncated", truncated)]
    if marker:
        res.append(("Marker", marker))
    return res


def iam_get_account_authorization_details(emu, ctx):
    """Users (Path, Tags, GroupList...) and groups, paginated over users then groups.
    The emulator has no policies: the policy lists are empty; roles are listed bare."""
    emu.authorize(ctx, "*")
    acc = ctx.principal.account
    p = ctx.params
    filters = [v for k, v in sorted(p.items()) if k.startswith("Filter.member.")]
    for f in filters:
        if f not in ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"):
            raise ApiError("ValidationError", "1 validation error detected: Value '[%s]' at "
                           "'filter' failed to satisfy constraint: Member must satisfy "
                           "constraint: [Member must satisfy enum value set: [User, Role, "
                           "LocalManagedPolicy, Group, AWSManagedPolicy]]" % f, 400)
    want = set(filters) or {"User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}
    items = []
    if "User" in want:
        items += [("user", acc.users[n]) for n in acc.sorted_names()]
    if "Group" in want:
        items += [("group", acc.groups[n]) for n in sorted(acc.groups)]
    if "Role" in want:
        items += [("role", acc.roles[n]) for n in sorted(acc.roles)]
    page, truncated, marker = _paginate(ctx, items, "authdetails")
    users, groups, roles = [], [], []
    for kind, x in page:
        if kind == "user":
            d = [("Path", x.path), ("UserName", x.name), ("UserId", x.user_id),
                 ("Arn", x.arn), ("CreateDate", emu.fmt_date(x.create_date)),
                 ("UserPolicyList", []),
                 ("GroupList", [("member", acc.groups[g.lower()].name) for g in x.groups
                                if g.lower() in acc.groups]),
                 ("AttachedManagedPolicies", [])]
            if x.tags:
                d.append(("Tags", [("member", [("Key", k), ("Value", v)])
                                   for k, v in x.tags.items()]))
            users.append(("member", d))
        elif kind == "group":
            groups.append(("member", [("Path", x.path), ("GroupName", x.name),
                                      ("GroupId", x.group_id), ("Arn", x.arn),
                                      ("CreateDate", emu.fmt_date(x.create_date)),
                                      ("GroupPolicyList", []),
                                      ("AttachedManagedPolicies", [])]))
        else:
            roles.append(("member", [("Path", x.path), ("RoleName", x.name),
                                     ("RoleId", x.role_id), ("Arn", x.arn),
                                     ("CreateDate", emu.fmt_date(x.create_date)),
                                     ("InstanceProfileList", []), ("RolePolicyList", []),
                                     ("AttachedManagedPolicies", [])]))
    res = [("UserDetailList", users), ("GroupDetailList", groups), ("RoleDetailList", roles),
           ("Policies", []), ("IsTruncated", truncated)]
    if marker:
        res.append(("Marker", marker))
    return res


def iam_get_account_summary(emu, ctx):
    emu.authorize(ctx, "*")
    acc = ctx.principal.account
    mfa_users = sum(1 for u in acc.users.values() if u.mfa_active)
    summary = [
        ("Users", len(acc.users)), ("UsersQuota", 5000),
        ("Groups", len(acc.groups)), ("GroupsQuota", 300),
        ("Roles", len(acc.roles)), ("RolesQuota", 1000),
        ("ServerCertificates", 0), ("ServerCertificatesQuota", 20),
        ("UserPolicySizeQuota", 2048), ("GroupPolicySizeQuota", 5120),
        ("GroupsPerUserQuota", 10), ("SigningCertificatesPerUserQuota", 2),
        ("AccessKeysPerUserQuota", KEYS_PER_USER),
        ("MFADevices", mfa_users + (1 if acc.root_mfa_active else 0)),
        ("MFADevicesInUse", mfa_users + (1 if acc.root_mfa_active else 0)),
        ("AccountMFAEnabled", 1 if acc.root_mfa_active else 0),
        ("AccountAccessKeysPresent", 1 if acc.root_keys else 0),
        ("AccountSigningCertificatesPresent", 0),
        ("AttachedPoliciesPerGroupQuota", 10), ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10), ("Policies", 0), ("PoliciesQuota", 1500),
        ("PolicySizeQuota", 6144), ("PolicyVersionsInUse", 0),
        ("PolicyVersionsInUseQuota", 10000), ("VersionsPerPolicyQuota", 5),
        ("GlobalEndpointTokenVersion", 1)]
    return [("SummaryMap", [("entry", [("key", k), ("value", v)]) for k, v in summary])]


def _report_state(emu, acc, now):
    """Advance the report (lazily builds the CSV when it becomes ready)."""
    rep = acc.report
    if rep and rep["generated"] is None and now >= rep["ready_at"]:
        rep["generated"] = trunc(rep["ready_at"])
        raw = emu.config.get("report_content")
        rep["content"] = raw.encode() if raw is not None else build_credential_report(acc, now)
    return rep


def iam_generate_credential_report(emu, ctx):
    emu.authorize(ctx, "*")
    acc = ctx.principal.account
    now = ctx.now
    rep = _report_state(emu, acc, now)
    ttl = datetime.timedelta(seconds=REPORT_TTL)
    if rep and rep["started"] + ttl > now:
        if rep["generated"] is not None:
            return [("State", "COMPLETE")]
        return [("State", "INPROGRESS")]
    delay = float(emu.config.get("report_delay") or 0)
    acc.report = {"started": now, "ready_at": now + datetime.timedelta(seconds=delay),
                  "generated": None, "content": None}
    return [("Description", "No report exists. Starting a new report generation task"),
            ("State", "STARTED")]


def iam_get_credential_report(emu, ctx):
    emu.authorize(ctx, "*")
    acc = ctx.principal.account
    rep = _report_state(emu, acc, ctx.now)
    if rep is None:
        raise ApiError("ReportNotPresent", None, 410)
    if rep["generated"] is None:
        raise ApiError("ReportInProgress", "The request was rejected because the credential "
                       "report is still being generated.", 404)
    if ctx.now - rep["generated"] > datetime.timedelta(seconds=REPORT_TTL):
        raise ApiError("ReportExpired", "The request was rejected because the most recent "
                       "credential report has expired. To generate a new credential report, use "
                       "GenerateCredentialReport.", 410)
    return [("Content", base64.b64encode(rep["content"]).decode("ascii")),
            ("ReportFormat", "text/csv"), ("GeneratedTime", emu.fmt_date(rep["generated"]))]


def _key_cols(keys):
    cols = []
    ks = sorted(keys, key=lambda k: k.create_date)[:2]
    for i in range(2):
        if i < len(ks):
            k = ks[i]
            lu = k.last_used
            cols += ["TRUE" if k.status == "Active" else "FALSE", iso_report(k.create_date),
                     iso_report(lu["date"]) if lu else "N/A",
                     lu["region"] if lu else "N/A", lu["service"] if lu else "N/A"]
        else:
            cols += ["FALSE", "N/A", "N/A", "N/A", "N/A"]
    return cols


def build_credential_report(acc, now):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REPORT_HEADER)
    root = ["<root_account>", "arn:aws:iam::%s:root" % acc.id, iso_report(acc.create_date),
            "not_supported",
            iso_report(acc.root_password_last_used) if acc.root_password_last_used
            else "no_information",
            "not_supported", "not_supported", "TRUE" if acc.root_mfa_active else "FALSE"]
    w.writerow(root + _key_cols(acc.root_keys) + ["FALSE", "N/A", "FALSE", "N/A"])
    for n in acc.sorted_names():
        u = acc.users[n]
        if u.password_enabled:
            pw = ["TRUE", iso_report(u.password_last_used) if u.password_last_used
                  else "no_information",
                  iso_report(u.password_last_changed) if u.password_last_changed else "N/A",
                  "N/A"]
        else:
            pw = ["FALSE", iso_report(u.password_last_used) if u.password_last_used else "N/A",
                  "N/A", "N/A"]
        w.writerow([u.name, u.arn, iso_report(u.create_date)] + pw +
                   ["TRUE" if u.mfa_active else "FALSE"] + _key_cols(u.keys) +
                   ["FALSE", "N/A", "FALSE", "N/A"])
    return buf.getvalue().rstrip("\n").encode("utf-8")


# --------------------------------------------------------------------------------------
# STS


def _session_xml(emu, sess):
    return [("Credentials", [("AccessKeyId", sess.access_key_id),
                             ("SecretAccessKey", sess.secret),
                             ("SessionToken", sess.token),
                             ("Expiration", emu.fmt_date(sess.expiration))]),
            ("AssumedRoleUser", [("AssumedRoleId", sess.assumed_role_id), ("Arn", sess.arn)])]


def sts_get_caller_identity(emu, ctx):
    p = ctx.principal
    return [("Arn", p.arn), ("UserId", p.user_id), ("Account", p.account.id)]


def _parse_role_arn(emu, arn):
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(?:[\x21-\x7f]*/)?([\w+=,.@-]+)", arn or "",
                     re.ASCII)
    if not m:
        return None
    acc = emu.accounts.get(m.group(1))
    if acc is None:
        return None
    role = acc.roles.get(m.group(2).lower())
    if role is None or role.arn != arn:
        return None
    return role


def _trusts(role, p):
    for t in role.trust:
        if t == "*":
            return True
        if _is_account_id(t) and t == p.account.id:
            return True
        if t == "arn:aws:iam::%s:root" % p.account.id:
            return True
        if p.kind == "user" and t == p.user.arn:
            return True
        if p.kind == "role" and t == p.session.role.arn:
            return True
    return False


def _new_session(emu, ctx, role, session_name, duration, source, caller):
    s = Session()
    s.access_key_id = emu.new_key_id("ASIA")
    s.secret = gen_secret()
    s.token = "FwoGZXIvYXdzE" + base64.b64encode(os.urandom(240)).decode("ascii")
    s.created = trunc(ctx.now)
    s.expiration = s.created + datetime.timedelta(seconds=duration)
    s.account_id = role.account.id
    s.role = role
    s.session_name = session_name
    s.assumed_role_id = "%s:%s" % (role.role_id, session_name)
    s.arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (role.account.id, role.name, session_name)
    s.allow = list(role.allow) if role.allow is not None else None
    s.source = source
    s.caller = caller
    s.last_used = None
    s.chained = False
    emu.sessions[s.access_key_id] = s
    return s


def sts_assume_role(emu, ctx):
    p = ctx.principal
    arn = ctx.params["RoleArn"]
    emu.authorize(ctx, arn)
    role = _parse_role_arn(emu, arn)
    denied = ApiError("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on "
                      "resource: %s" % (p.arn, arn), 403)
    if role is None or not _trusts(role, p):
        raise denied
    if role.external_id is not None and ctx.params.get("ExternalId") != role.external_id:
        raise denied
    duration = int(ctx.params.get("DurationSeconds", 3600))
    if p.kind == "role" and duration > 3600:
        raise ApiError("ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                       "session limit for roles assumed by role chaining.", 400)
    if duration > role.max_session_duration:
        raise ApiError("ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.", 400)
    s = _new_session(emu, ctx, role, ctx.params["RoleSessionName"], duration, "AssumeRole",
                     p.arn)
    s.chained = p.kind == "role"
    ctx.issued_key_id = s.access_key_id
    res = _session_xml(emu, s)
    if "SourceIdentity" in ctx.params:
        res.append(("SourceIdentity", ctx.params["SourceIdentity"]))
    return res


def sts_assume_role_with_web_identity(emu, ctx):
    arn = ctx.params["RoleArn"]
    tok = ctx.params["WebIdentityToken"]
    w = emu.web_identities.get(tok)
    if w is None:
        raise ApiError("InvalidIdentityToken", "The web identity token that was passed could "
                       "not be validated by Amazon Web Services. Get a new identity token from "
                       "the identity provider and then retry the request.", 400)
    if w["expires"] is not None and ctx.now >= w["expires"]:
        raise ApiError("ExpiredTokenException", "Token expired: current date/time %d must be "
                       "before the expiration date/time%d" % (int(ctx.now.timestamp()),
                                                             int(w["expires"].timestamp())), 400)
    role = _parse_role_arn(emu, arn)
    if role is None or (w["roles"] and arn not in w["roles"]):
        raise ApiError("AccessDenied", "Not authorized to perform "
                       "sts:AssumeRoleWithWebIdentity", 403)
    duration = int(ctx.params.get("DurationSeconds", 3600))
    if duration > role.max_session_duration:
        raise ApiError("ValidationError", "The requested DurationSeconds exceeds the "
                       "MaxSessionDuration set for this role.", 400)
    ctx.account_id = role.account.id
    s = _new_session(emu, ctx, role, ctx.params["RoleSessionName"], duration,
                     "AssumeRoleWithWebIdentity", w["subject"])
    res = _session_xml(emu, s)
    res.insert(0, ("SubjectFromWebIdentityToken", w["subject"]))
    res += [("Provider", w["provider"]), ("Audience", w["audience"])]
    return res


# --------------------------------------------------------------------------------------
# IAM Identity Center: the SSO portal (GetRoleCredentials) and OIDC (CreateToken)

SSO_ROUTES = {"/federation/credentials": ("sso", "GetRoleCredentials", "GET"),
              "/token": ("sso-oidc", "CreateToken", "POST")}
MSG_SSO_UNAUTHORIZED = "Session token not found or invalid"


def _sso_token_entry(spec, now):
    """A fixture entry of "sso_tokens" -> the emulator's record of an issued token."""
    if not isinstance(spec, dict):
        raise LoadError("sso token must be an object")
    tok = spec.get("access_token")
    if not tok or not isinstance(tok, str):
        raise LoadError("sso token without access_token")
    roles = []
    for r in spec.get("roles", []):
        if isinstance(r, str):  # "111111111111/RoleName"
            acc, _, name = r.partition("/")
        else:
            acc, name = str(r.get("account", "")), r.get("role")
        if not _is_account_id(acc) or not name:
            raise LoadError("sso token role must be {account: 12 digits, role: NAME}: %r" % (r,))
        roles.append((acc, name))
    user = spec.get("user", "sso-user@example.com")
    if not re.fullmatch(r"[\w+=,.@-]{2,64}", user, re.ASCII):
        raise LoadError("bad sso user %r" % user)
    return {"access_token": tok, "expires": parse_date(spec.get("expires", "+8h"), now),
            "user": user, "roles": roles, "refresh_token": spec.get("refresh_token"),
            "client_id": spec.get("client_id"), "client_secret": spec.get("client_secret"),
            "registration_expires": parse_date(spec.get("registration_expires", "+90d"), now),
            "session_duration": int(spec.get("session_duration", 3600)),
            "expires_in": int(spec.get("expires_in", 8 * 3600)),
            "refreshed_from": spec.get("refreshed_from")}


def _sso_token_dump(e):
    return dict(e, expires=iso_dump(e["expires"]),
                registration_expires=iso_dump(e["registration_expires"]),
                roles=[{"account": a, "role": r} for a, r in e["roles"]])


def _oidc_error(code, error, description, status=400):
    return ApiError(code, description, status, extra={"error": error})


def _sso_role(acc, name):
    """The role behind a permission set: named NAME, or AWSReservedSSO_NAME_<suffix>."""
    if acc is None:
        return None
    role = acc.roles.get(name.lower())
    if role is not None:
        return role
    prefix = ("AWSReservedSSO_%s_" % name).lower()
    for key, r in sorted(acc.roles.items()):
        if key.startswith(prefix):
            return r
    return None


def sso_get_role_credentials(emu, ctx, token):
    acc_id = ctx.params.get("account_id")
    role_name = ctx.params.get("role_name")
    e = emu.sso_tokens.get(token) if token else None
    if e is None or (e["expires"] is not None and ctx.now >= e["expires"]):
        raise ApiError("UnauthorizedException", MSG_SSO_UNAUTHORIZED, 401)
    if not acc_id or not role_name:
        raise ApiError("InvalidRequestException", "account_id and role_name are required", 400)
    role = _sso_role(emu.accounts.get(acc_id), role_name)
    if (acc_id, role_name) not in e["roles"] or role is None:
        raise ApiError("ForbiddenException", "No access", 403)
    s = _new_session(emu, ctx, role, e["user"], e["session_duration"], "GetRoleCredentials",
                     "sso:%s" % e["user"])
    return {"roleCredentials": {"accessKeyId": s.access_key_id, "secretAccessKey": s.secret,
                                "sessionToken": s.token,
                                "expiration": int(s.expiration.timestamp()) * 1000}}


def oidc_create_token(emu, ctx, data):
    for k in ("clientId", "clientSecret", "grantType"):
        if not isinstance(data.get(k), str) or not data[k]:
            raise _oidc_error("InvalidRequestException", "invalid_request",
                              "Missing required parameter: %s" % k)
    if data["grantType"] != "refresh_token":
        raise _oidc_error("UnsupportedGrantTypeException", "unsupported_grant_type",
                          "Unsupported grant type: %s" % data["grantType"])
    rt = data.get("refreshToken")
    if not isinstance(rt, str) or not rt:
        raise _oidc_error("InvalidRequestException", "invalid_request",
                          "Missing required parameter: refreshToken")
    e = emu.sso_refresh.get(rt)
    if e is None:
        raise _oidc_error("InvalidGrantException", "invalid_grant",
                          "Invalid refresh token provided")
    if data["clientId"] != e["client_id"] or \
            not hmac.compare_digest(data["clientSecret"], e["client_secret"] or ""):
        raise _oidc_error("InvalidClientException", "invalid_client", "Invalid client provided",
                          401)
    if e["registration_expires"] is not None and ctx.now >= e["registration_expires"]:
        raise _oidc_error("InvalidClientException", "invalid_client",
                          "Client registration has expired", 401)
    # a new access token with the same grants; the refresh token is rotated
    fresh = dict(e, access_token="emu-sso-access-" + gen_secret().replace("/", "_")
                 .replace("+", "-"),
                 refresh_token="emu-sso-refresh-" + gen_secret().replace("/", "_")
                 .replace("+", "-"),
                 expires=trunc(ctx.now) + datetime.timedelta(seconds=e["expires_in"]),
                 refreshed_from=e["access_token"])
    del emu.sso_refresh[rt]
    e["refresh_token"] = None
    emu.sso_tokens[fresh["access_token"]] = fresh
    emu.sso_refresh[fresh["refresh_token"]] = fresh
    return {"accessToken": fresh["access_token"], "tokenType": "Bearer",
            "expiresIn": e["expires_in"], "refreshToken": fresh["refresh_token"]}


# --------------------------------------------------------------------------------------
# Secrets Manager


def _sm_find(emu, ctx, sid, allow_missing=False):
    acc = ctx.principal.account
    region = ctx.region
    sec = acc.secrets.get((region, sid))
    if sec is None:
        for s in acc.secrets.values():
            if s["region"] != region:
                continue
            if s["arn"] == sid or s["arn"][:-7] == sid:
                sec = s
                break
    if sec is None and not allow_missing:
        emu.authorize(ctx, sid)
        raise ApiError("ResourceNotFoundException",
                       "Secrets Manager can't find the specified secret.", 400)
    if sec is not None:
        emu.authorize(ctx, sec["arn"])
    return sec


def _sm_required(ctx, *names):
    for n in names:
        if n not in ctx.params or ctx.params[n] is None:
            raise ApiError("InvalidParameterException", "Invalid parameter: %s is required." % n,
                           400)


def _sm_value(ctx):
    s = ctx.params.get("SecretString")
    b = ctx.params.get("SecretBinary")
    if s is not None and b is not None:
        raise ApiError("InvalidParameterException", "You can't specify both a binary secret "
                       "value and a string secret value in the same secret.", 400)
    if b is not None:
        try:
            b = base64.b64decode(b)
        except ValueError:
            raise ApiError("InvalidParameterException", "Invalid base64 SecretBinary.", 400)
    return s, b


def sm_create_secret(emu, ctx):
    _sm_required(ctx, "Name")
    name = ctx.params["Name"]
    acc = ctx.principal.account
    if not re.fullmatch(r"[\w/+=.@-]{1,512}", name, re.ASCII):
        raise ApiError("InvalidParameterException", "Invalid name. Must be a valid name "
                       "containing alphanumeric characters, or any of the following: -/_+=.@!",
                       400)
    emu.authorize(ctx, "arn:aws:secretsmanager:%s:%s:secret:%s" % (ctx.region, acc.id, name))
    if (ctx.region, name) in acc.secrets:
        raise ApiError("ResourceExistsException", "The operation failed because the secret %s "
                       "already exists." % name, 400)
    s, b = _sm_value(ctx)
    sec = emu._new_secret(acc, ctx.region, name, ctx.params.get("Description"),
                          ctx.params.get("KmsKeyId"), ctx.params.get("Tags"), ctx.now)
    out = {"ARN": sec["arn"], "Name": name}
    if s is not None or b is not None:
        out["VersionId"] = emu._put_secret_version(sec, s, b, ctx.params.get("ClientRequestToken"),
                                                   None, ctx.now)
    return out


def sm_put_secret_value(emu, ctx):
    _sm_required(ctx, "SecretId")
    sec = _sm_find(emu, ctx, ctx.params["SecretId"])
    s, b = _sm_value(ctx)
    if s is None and b is None:
        raise ApiError("InvalidRequestException", "You must provide either SecretString or "
                       "SecretBinary.", 400)
    token = ctx.params.get("ClientRequestToken")
    if token and token in sec["versions"]:
        v = sec["versions"][token]
        if v["value"] == s and v["binary"] == b:
            return {"ARN": sec["arn"], "Name": sec["name"], "VersionId": token,
                    "VersionStages": sorted(v["stages"])}
        raise ApiError("ResourceExistsException", "You can't modify an existing version, you "
                       "can only create a new version.", 400)
    vid = emu._put_secret_version(sec, s, b, token, ctx.params.get("VersionStages"), ctx.now)
    return {"ARN": sec["arn"], "Name": sec["name"], "VersionId": vid,
            "VersionStages": sorted(sec["versions"][vid]["stages"])}


def sm_get_secret_value(emu, ctx):
    _sm_required(ctx, "SecretId")
    sec = _sm_find(emu, ctx, ctx.params["SecretId"])
    vid = ctx.params.get("VersionId")
    stage = ctx.params.get("VersionStage")
    v = None
    if vid:
        v = sec["versions"].get(vid)
        if v is None or (stage and stage not in v["stages"]):
            raise ApiError("ResourceNotFoundException", "Secrets Manager can't find the "
                           "specified secret value for VersionId: %s" % vid, 400)
    else:
        stage = stage or "AWSCURRENT"
        for k, cand in sec["versions"].items():
            if stage in cand["stages"]:
                vid, v = k, cand
                break
        if v is None:
            raise ApiError("ResourceNotFoundException", "Secrets Manager can't find the "
                           "specified secret value for staging label: %s" % stage, 400)
    sec["last_accessed"] = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = {"ARN": sec["arn"], "Name": sec["name"], "VersionId": vid,
           "VersionStages": sorted(v["stages"]), "CreatedDate": epoch(v["created"])}
    if v["value"] is not None:
        out["SecretString"] = v["value"]
    if v["binary"] is not None:
        out["SecretBinary"] = base64.b64encode(v["binary"]).decode("ascii")
    return out


def sm_describe_secret(emu, ctx):
    _sm_required(ctx, "SecretId")
    sec = _sm_find(emu, ctx, ctx.params["SecretId"])
    out = {"ARN": sec["arn"], "Name": sec["name"]}
    if sec["description"] is not None:
        out["Description"] = sec["description"]
    if sec["kms_key_id"]:
        out["KmsKeyId"] = sec["kms_key_id"]
    out["LastChangedDate"] = epoch(sec["last_changed"])
    if sec["last_accessed"]:
        out["LastAccessedDate"] = epoch(sec["last_accessed"])
    if sec["tags"]:
        out["Tags"] = sec["tags"]
    out["VersionIdsToStages"] = {vid: sorted(v["stages"]) for vid, v in sec["versions"].items()
                                 if v["stages"]}
    out["CreatedDate"] = epoch(sec["created"])
    return out


# --------------------------------------------------------------------------------------
# SSM


def _ssm_name(ctx):
    name = ctx.params.get("Name")
    if not name:
        raise validation_error(["Value null at 'name' failed to satisfy constraint: Member must "
                                "not be null"], "ValidationException")
    return name


def _ssm_arn(ctx, name):
    acc = ctx.principal.account
    if name.startswith("/"):
        return "arn:aws:ssm:%s:%s:parameter%s" % (ctx.region, acc.id, name)
    return "arn:aws:ssm:%s:%s:parameter/%s" % (ctx.region, acc.id, name)


def ssm_put_parameter(emu, ctx):
    name = _ssm_name(ctx)
    if "Value" not in ctx.params:
        raise validation_error(["Value null at 'value' failed to satisfy constraint: Member "
                                "must not be null"], "ValidationException")
    emu.authorize(ctx, _ssm_arn(ctx, name))
    acc = ctx.principal.account
    ptype = ctx.params.get("Type")
    if ptype is not None and ptype not in ("String", "StringList", "SecureString"):
        raise validation_error(["Value '%s' at 'type' failed to satisfy constraint: Member must "
                                "satisfy enum value set: [SecureString, StringList, String]"
                                % ptype], "ValidationException")
    cur = acc.params.get((ctx.region, name))
    if cur is not None and not ctx.params.get("Overwrite"):
        raise ApiError("ParameterAlreadyExists", "The parameter already exists. To overwrite "
                       "this value, set the overwrite option in the request to true.", 400)
    if cur is None and ptype is None:
        raise ApiError("ValidationException", "A parameter type is required when you create a "
                       "parameter.", 400)
    p = emu.accounts_param_put(acc, ctx.region, name, ctx.params["Value"],
                               ptype or cur["type"],
                               ctx.params.get("Description", cur["description"] if cur else None),
                               ctx.params.get("KeyId"), ctx.now)
    return {"Version": p["version"], "Tier": "Standard"}


def _fake_ciphertext(value, name):
    blob = b"\x01\x02\x02\x00x" + hashlib.sha256(("awsemu-kms:" + name).encode()).digest() + \
        bytes(b ^ 0x5A for b in value.encode("utf-8"))
    return base64.b64encode(blob).decode("ascii")


def ssm_get_parameter(emu, ctx):
    full = _ssm_name(ctx)
    name, sel_version = full, None
    m = re.fullmatch(r"(.+):(\d+)", full)
    if m:
        name, sel_version = m.group(1), int(m.group(2))
    emu.authorize(ctx, _ssm_arn(ctx, name))
    acc = ctx.principal.account
    p = acc.params.get((ctx.region, name))
    if p is None:
        raise ApiError("ParameterNotFound", None, 400)
    value, ptype, version, modified = p["value"], p["type"], p["version"], p["last_modified"]
    if sel_version is not None:
        h = p["history"].get(sel_version)
        if h is None:
            raise ApiError("ParameterVersionNotFound", "Systems Manager could not find version "
                           "%d of %s. Verify the version and try again." % (sel_version, name),
                           400)
        value, ptype, version, modified = h["value"], h["type"], sel_version, h["last_modified"]
    if ptype == "SecureString" and not ctx.params.get("WithDecryption"):
        value = _fake_ciphertext(value, name)
    out = {"Name": name, "Type": ptype, "Value": value, "Version": version,
           "LastModifiedDate": epoch(modified), "ARN": p["arn"], "DataType": "text"}
    if sel_version is not None:
        out["Selector"] = ":%d" % sel_version
    return {"Parameter": out}


# --------------------------------------------------------------------------------------
# Organizations


def _org_for(emu, ctx):
    org = emu.org
    aid = ctx.principal.account.id
    if org is None or not any(a["id"] == aid for a in org["accounts"]):
        raise ApiError("AWSOrganizationsNotInUseException", "Your account is not a member of an "
                       "organization.", 400)
    return org


def org_describe_organization(emu, ctx):
    org = _org_for(emu, ctx)
    emu.authorize(ctx, "*")
    mgmt = org["management_account"]
    return {"Organization": {
        "Id": org["id"], "Arn": "arn:aws:organizations::%s:organization/%s" % (mgmt, org["id"]),
        "FeatureSet": org["feature_set"],
        "MasterAccountArn": "arn:aws:organizations::%s:account/%s/%s" % (mgmt, org["id"], mgmt),
        "MasterAccountId": mgmt, "MasterAccountEmail": org["management_email"],
        "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}}


def org_list_accounts(emu, ctx):
    org = _org_for(emu, ctx)
    emu.authorize(ctx, "*")
    if ctx.principal.account.id != org["management_account"]:
        raise ApiError("AccessDeniedException", "You don't have permissions to access this "
                       "resource.", 400)
    mr = ctx.params.get("MaxResults", 20)
    if not isinstance(mr, int) or isinstance(mr, bool) or not 1 <= mr <= 20:
        raise ApiError("InvalidInputException", "You provided a value that does not match the "
                       "required pattern.", 400, extra={"Reason": "MAX_VALUE_EXCEEDED"
                                                        if isinstance(mr, int) else
                                                        "INVALID_ENUM"})
    start = 0
    tok = ctx.params.get("NextToken")
    if tok is not None:
        try:
            raw = base64.b64decode(tok.encode("ascii"), validate=True).decode()
            oid, _, idx = raw.partition("|")
            if oid != org["id"]:
                raise ValueError
            start = int(idx)
        except (ValueError, UnicodeError):
            raise ApiError("InvalidInputException", "You specified an invalid value for "
                           "nextToken. You must get the value from the response to a previous "
                           "call to the API.", 400, extra={"Reason": "INVALID_NEXT_TOKEN"})
    accs = org["accounts"]
    page = accs[start:start + mr]
    mgmt = org["management_account"]
    out = {"Accounts": [{
        "Id": a["id"], "Arn": "arn:aws:organizations::%s:account/%s/%s" % (mgmt, org["id"],
                                                                           a["id"]),
        "Email": a["email"], "Name": a["name"], "Status": a["status"],
        "JoinedMethod": a["joined_method"], "JoinedTimestamp": epoch(a["joined"])}
        for a in page]}
    if start + mr < len(accs):
        out["NextToken"] = base64.b64encode(("%s|%d" % (org["id"], start + mr)).encode()
                                            ).decode("ascii")
    return out


HANDLERS = {
    "iam": {
        "ListUsers": iam_list_users, "GetUser": iam_get_user, "CreateUser": iam_create_user,
        "DeleteUser": iam_delete_user, "ListAccessKeys": iam_list_access_keys,
        "CreateAccessKey": iam_create_access_key, "UpdateAccessKey": iam_update_access_key,
        "DeleteAccessKey": iam_delete_access_key,
        "GetAccessKeyLastUsed": iam_get_access_key_last_used,
        "GenerateCredentialReport": iam_generate_credential_report,
        "GetCredentialReport": iam_get_credential_report, "TagUser": iam_tag_user,
        "UntagUser": iam_untag_user, "ListUserTags": iam_list_user_tags,
        "ListGroupsForUser": iam_list_groups_for_user,
        "GetAccountSummary": iam_get_account_summary,
        "GetAccountAuthorizationDetails": iam_get_account_authorization_details,
    },
    "sts": {
        "GetCallerIdentity": sts_get_caller_identity, "AssumeRole": sts_assume_role,
        "AssumeRoleWithWebIdentity": sts_assume_role_with_web_identity,
    },
    "secretsmanager": {
        "CreateSecret": sm_create_secret, "PutSecretValue": sm_put_secret_value,
        "GetSecretValue": sm_get_secret_value, "DescribeSecret": sm_describe_secret,
    },
    "ssm": {"PutParameter": ssm_put_parameter, "GetParameter": ssm_get_parameter},
    "organizations": {"ListAccounts": org_list_accounts,
                      "DescribeOrganization": org_describe_organization},
}


# run before every handler (under the lock): (emulator, ctx), raise ApiError to refuse
REQUEST_CHECKS = []

dynamodb_service.register(sys.modules[__name__])
cloudtrail_service.register(sys.modules[__name__])
sns_service.register(sys.modules[__name__])
ec2_service.register(sys.modules[__name__])
root_service.register(sys.modules[__name__])
iampolicy_service.register(sys.modules[__name__])


# --------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every keep-alive reply.
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server_version = "awsemu"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("awsemu: %s %s\n" % (self.address_string(), fmt % args))

    def date_time_string(self, timestamp=None):
        """The Date header follows the emulated clock, as AWS's follows its own."""
        if timestamp is None:
            timestamp = self.server.emu.clock.now().timestamp()
        return email.utils.formatdate(timestamp, usegmt=True)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        raw_path, _, raw_query = self.path.partition("?")
        emu = self.server.emu
        if raw_path.startswith("/_emu/") or raw_path == "/_emu":
            return self._control(raw_path, raw_query, body)
        if raw_path in SSO_ROUTES:
            resp, fault, entry = emu.handle_sso(self.command, raw_path, raw_query, self.headers,
                                                body, client_port=self.client_address[1])
        else:
            resp, fault, entry = emu.handle_api(self.command, raw_path, raw_query,
                                                self.headers, body, self.client_address[0],
                                                client_port=self.client_address[1])
        body_out = resp.body
        # the call is logged before the reply goes out, so a client that has its answer
        # always finds its call in the log
        if fault is not None and fault.kind == "reset":
            entry["http_status"] = 0
            entry["error_code"] = "ConnectionReset"
            emu.record(entry)
            self._reset()
            return
        if fault is not None and fault.kind == "truncate":
            entry["error_code"] = "TruncatedBody"
        emu.record(entry)
        if fault is not None and fault.kind == "malformed" and resp.status == 200:
            body_out = _malform(resp.body, resp.headers.get("Content-Type", ""))
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body_out)))
        if fault is not None and fault.kind == "truncate":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body_out[:max(1, len(body_out) // 2)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body_out)

    def _reset(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _handle

    def _json(self, status, obj):
        body = json.dumps(obj, indent=None, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, path, query, body):
        emu = self.server.emu
        if self.client_address[0] not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return self._json(403, {"error": "control endpoints are loopback-only"})
        q = dict(parse_qsl(query))
        m = self.command
        try:
            data = json.loads(body.decode("utf-8")) if body else {}
        except ValueError as e:
            return self._json(400, {"error": "bad JSON: %s" % e})
        try:
            if path == "/_emu/health":
                return self._json(200, {"ok": True, "pid": os.getpid(), "port": emu.port,
                                        "botocore": _boto_ready.is_set()})
            if path == "/_emu/state":
                if m == "GET":
                    return self._json(200, emu.dump())
                if m in ("POST", "PUT"):
                    return self._json(200, dict(emu.load(data), ok=True))
            if path == "/_emu/clock":
                if m in ("POST", "PUT"):
                    with emu.lock:
                        emu.clock.set(data.get("offset_seconds"), data.get("now"),
                                      data.get("advance_seconds"))
                with emu.lock:
                    return self._json(200, emu.clock.info())
            if path == "/_emu/calls":
                if m == "DELETE":
                    with emu.log_lock:
                        emu.calls = []
                        emu.counters = {}
                    return self._json(200, {"ok": True})
                since = int(q.get("since", 0))
                with emu.log_lock:
                    calls = [c for c in emu.calls if c["seq"] > since] if since else \
                        list(emu.calls)
                return self._json(200, calls)
            if path == "/_emu/calls/reset" and m == "POST":
                with emu.log_lock:
                    emu.calls = []
                    emu.counters = {}
                return self._json(200, {"ok": True})
            if path == "/_emu/counters":
                with emu.log_lock:
                    return self._json(200, dict(emu.counters))
            if path == "/_emu/faults":
                if m == "DELETE":
                    with emu.lock:
                        emu.faults = []
                    return self._json(200, {"ok": True})
                if m in ("POST", "PUT"):
                    specs = data if isinstance(data, list) else [data]
                    ids = []
                    with emu.lock:
                        for spec in specs:
                            emu.fault_seq += 1
                            emu.faults.append(Fault(emu.fault_seq, spec))
                            ids.append(emu.fault_seq)
                    return self._json(200, {"ok": True, "ids": ids})
                with emu.lock:
                    return self._json(200, [f.dump() for f in emu.faults])
            if path == "/_emu/faults/clear" and m == "POST":
                with emu.lock:
                    emu.faults = []
                return self._json(200, {"ok": True})
            if path in CONTROL_HANDLERS:
                return self._json(200, CONTROL_HANDLERS[path](emu, m, data, q))
            if path == "/_emu/config":
                if m in ("POST", "PUT"):
                    with emu.lock:
                        for k, v in data.items():
                            if k not in emu.config:
                                raise LoadError("unknown config key %r" % k)
                            emu.config[k] = v
                        emu.buckets = {}
                with emu.lock:
                    return self._json(200, dict(emu.config))
            if path == "/_emu/sso/tokens":
                if m == "DELETE":
                    with emu.lock:
                        emu.sso_tokens = {}
                        emu.sso_refresh = {}
                    return self._json(200, {"ok": True})
                if m in ("POST", "PUT"):
                    specs = data if isinstance(data, list) else [data]
                    return self._json(200, {"ok": True, "tokens": emu.add_sso_tokens(specs)})
                with emu.lock:
                    return self._json(200, [_sso_token_dump(e) for e in emu.sso_tokens.values()])
            for hook in CONTROL_HOOKS:
                r = hook(emu, m, path, data)
                if r is not None:
                    return self._json(*r)
            if path == "/_emu/keys/propagate" and m == "POST":
                with emu.lock:
                    for k in emu.keys.values():
                        k.ready_at = 0.0
                return self._json(200, {"ok": True})
            return self._json(404, {"error": "no such control endpoint: %s %s" % (m, path)})
        except (LoadError, KeyError, TypeError, ValueError) as e:
            return self._json(400, {"error": "%s: %s" % (type(e).__name__, e)})


def _malform(body, ctype):
    cut = body[:max(1, len(body) // 2)]
    if "xml" in ctype:
        return cut + b"<<</ broken &xml"
    return cut + b"{\"broken"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    verbose = False


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local AWS emulator for iamkeys tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="fixture JSON file to load at startup")
    ap.add_argument("--latency-ms", type=float, default=None)
    ap.add_argument("--port-file")
    ap.add_argument("--report-delay", type=float, default=None)
    ap.add_argument("--propagation-delay", type=float, default=None)
    ap.add_argument("--rate-limit", type=float, default=None)
    ap.add_argument("--rate-burst", type=float, default=None)
    ap.add_argument("--clock-offset", type=float, default=None,
                    help="start with the emulated clock this many seconds ahead")
    ap.add_argument("--now", help="start with the emulated clock at this ISO 8601 time")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    cli_cfg = {"latency_ms": a.latency_ms, "report_delay": a.report_delay,
               "propagation_delay": a.propagation_delay, "rate_limit": a.rate_limit,
               "rate_burst": a.rate_burst}
    emu = Emulator(cli_cfg)
    if a.clock_offset is not None or a.now:
        emu.clock.set(a.clock_offset, a.now)
    if a.state:
        with open(a.state) as f:
            emu.load(json.load(f))
        for k, v in cli_cfg.items():  # explicit flags win over fixture settings
            if v is not None:
                emu.config[k] = v
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.emu = emu
    srv.verbose = a.verbose
    emu.port = srv.server_address[1]
    if a.port_file:
        tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % emu.port)
        os.replace(tmp, a.port_file)
    sys.stdout.write("awsemu listening on 127.0.0.1:%d\n" % emu.port)
    sys.stdout.flush()
    # botocore takes ~0.4 s to import: after the port is reported, while the client starts
    threading.Thread(target=_import_botocore, daemon=True).start()

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
