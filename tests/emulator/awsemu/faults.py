"""Fault injection, the rate limit's token buckets and damaged replies."""

import fnmatch
import random
import time

from .model import ApiError, _is_account_id, LoadError, QUERY_SERVICES, SERVER_ERRORS


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


def _malform(body, ctype):
    cut = body[:max(1, len(body) // 2)]
    if "xml" in ctype:
        return cut + b"<<</ broken &xml"
    return cut + b"{\"broken"


class FaultsMixin:
    """Methods of Emulator (server.py)."""

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
