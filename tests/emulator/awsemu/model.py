"""The emulator's model: constants and hook tables, botocore loading, dates and the clock,
ids and secrets, errors, input validation, accounts, users, keys, groups, roles, sessions."""

import dataclasses
import datetime
import hashlib
import json
import os
import random
import re
import threading


UTC = datetime.timezone.utc


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


@dataclasses.dataclass(slots=True, eq=False)
class Principal:
    kind: str
    account: object
    arn: str
    user_id: str
    user: object = None
    session: object = None
    key: object = None
    allow: object = None


# run before every handler (under the lock): (emulator, ctx), raise ApiError to refuse
REQUEST_CHECKS = []
