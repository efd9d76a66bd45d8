"""IAM Identity Center: the portal's GetRoleCredentials and OIDC's CreateToken (REST-JSON,
unsigned, routed by path)."""

import datetime
import hmac
import json
import re
import time
from urllib.parse import parse_qsl

from .model import ApiError, gen_secret, _is_account_id, iso_dump, LoadError, parse_date, trunc
from .sts import _new_session
from .wire import Ctx, _ErrResponse, Response


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


class SsoMixin:
    """Methods of Emulator (server.py)."""

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
