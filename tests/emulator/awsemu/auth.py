"""SigV4 verification (botocore's own signer) and the allow-list authorization."""

import datetime
import email.utils
import fnmatch
import hashlib
import hmac
import time

import root_service  # tests/emulator/ (on sys.path: see __init__.py)

from .model import (
    amz_date, ApiError, _boto, GLOBAL_REGION_SERVICES, MSG_BAD_SIGNATURE, MSG_EXPIRED_TOKEN,
    MSG_INVALID_TOKEN, Principal, QUERY_SERVICES, trunc, UTC)
from .wire import _incomplete


class AuthMixin:
    """Methods of Emulator (server.py)."""

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
