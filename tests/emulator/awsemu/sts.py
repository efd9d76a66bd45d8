"""STS (awsQuery): GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity."""

import base64
import datetime
import os
import re

from .model import ApiError, gen_secret, _is_account_id, Session, trunc


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


HANDLERS = {
    "GetCallerIdentity": sts_get_caller_identity, "AssumeRole": sts_assume_role,
    "AssumeRoleWithWebIdentity": sts_assume_role_with_web_identity,
}
