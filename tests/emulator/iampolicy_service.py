"""IAM user policies and STS GetSessionToken for awsemu.

IAM (query protocol, as the rest of awsemu's IAM): PutUserPolicy, GetUserPolicy,
DeleteUserPolicy, ListUserPolicies (inline policies), AttachUserPolicy,
ListAttachedUserPolicies (managed policies, by ARN; of their documents only the
AWSCompromisedKeyQuarantine ones, V1 to V3, are emulated: they deny what AWS's deny in
IAM and CloudTrail, MANAGED_DENIES). GetUserPolicy returns the document URL-encoded, as
IAM does. GetAccountAuthorizationDetails lists both in UserPolicyList and
AttachedManagedPolicies.

STS GetSessionToken: session credentials (ASIA...) of the calling IAM user, with an issue
time (aws:TokenIssueTime) and DurationSeconds 900..129600 (default 43200). Like AWS,
they cannot be requested with session credentials, they cannot call IAM unless MFA was
given (SerialNumber and TokenCode), nor STS other than AssumeRole and GetCallerIdentity.

Policy evaluation: every request of an IAM user (its keys or its sessions) is checked
against the explicit Deny statements of the user's inline policies, before the action
runs. Supported: Action / NotAction (strings or lists, * and ? wildcards, case-insensitive),
Resource "*" (a statement whose Resource is anything else does not match), and Condition
operators DateLessThan, DateLessThanEquals, DateGreaterThan, DateGreaterThanEquals on
aws:TokenIssueTime (present only for session credentials, so such a statement never
matches a long-term key) and aws:CurrentTime. A statement with any other condition
operator or key does not match. GetCallerIdentity is never denied (as in AWS).

Fixture, per user:

    "inline_policies": {"name": {policy document (object) or its JSON text}},
    "attached_policies": ["arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2", ...]

The state dump lists them per account as "user_policies":
[{"user": name, "inline_policies": {...}, "attached_policies": [...]}].

Self-contained: awsemu/__init__.py registers it with register(module), calls load(fx) /
dump(emu, account) from its fixture load and dump, and runs REQUEST_CHECKS.
"""
import datetime
import fnmatch
import json
import re
import urllib.parse

_aws = None  # the awsemu module, set by register()

POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
POLICY_ARN = re.compile(r"arn:aws:iam::(aws|\d{12}):policy/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,128})",
                        re.ASCII)
INLINE_LIMIT = 2048  # IAM's aggregate size of a user's inline policies (no whitespace)
ATTACHED_LIMIT = 10


def _err(code, message, status=400):
    return _aws.ApiError(code, message, status)


def _state(emu):
    st = getattr(emu, "iampolicy", None)
    if st is None:
        st = emu.iampolicy = {"inline": {}, "attached": {}}
    return st


def _ukey(user):
    return (user.account.id, user.name.lower())


# ----------------------------------------------------------------------------- fixture

def _parse_doc(text):
    try:
        doc = json.loads(text)
    except ValueError:
        raise _err("MalformedPolicyDocument", "Syntax errors in policy.")
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise _err("MalformedPolicyDocument", "Syntax errors in policy.")
    st = doc["Statement"]
    for s in (st if isinstance(st, list) else [st]):
        if not isinstance(s, dict) or s.get("Effect") not in ("Allow", "Deny"):
            raise _err("MalformedPolicyDocument", "Syntax errors in policy.")
        if ("Action" in s) == ("NotAction" in s):
            raise _err("MalformedPolicyDocument", "Syntax errors in policy.")
        for op, kv in (s.get("Condition") or {}).items():
            if op.startswith("Date") and isinstance(kv, dict):
                for v in kv.values():
                    for x in (v if isinstance(v, list) else [v]):
                        if _date(x) is None:
                            raise _err("MalformedPolicyDocument",
                                       "The policy failed legacy parsing")
    return doc


def load(fx):
    """The policy state of fixture fx: {"inline": {(acc, user): {name: text}},
    "attached": {(acc, user): [arn]}}."""
    inline, attached = {}, {}
    accs = fx.get("accounts", [])
    if isinstance(accs, dict):
        accs = [dict(v, id=k) for k, v in accs.items()]
    for a in accs:
        for u in a.get("users", []) or []:
            name = (u.get("name") or u.get("user_name") or "").lower()
            k = (str(a.get("id")), name)
            for pname, doc in (u.get("inline_policies") or {}).items():
                text = doc if isinstance(doc, str) else json.dumps(doc)
                try:
                    _parse_doc(text)
                except _aws.ApiError:
                    raise _aws.LoadError("user %s: malformed inline policy %s" % (name, pname))
                inline.setdefault(k, {})[pname] = text
            for arn in u.get("attached_policies") or []:
                if not POLICY_ARN.fullmatch(arn):
                    raise _aws.LoadError("user %s: bad policy ARN %r" % (name, arn))
                attached.setdefault(k, []).append(arn)
    return {"inline": inline, "attached": attached}


def dump(emu, account):
    st = _state(emu)
    names = sorted({u for (a, u) in list(st["inline"]) + list(st["attached"]) if a == account})
    out = []
    for n in names:
        pol = st["inline"].get((account, n), {})
        att = st["attached"].get((account, n), [])
        if pol or att:
            acc = emu.accounts.get(account)
            u = acc.users.get(n) if acc else None
            out.append({"user": u.name if u else n,
                        "inline_policies": {k: json.loads(v) for k, v in sorted(pol.items())},
                        "attached_policies": list(att)})
    return out


# ----------------------------------------------------------------------------- IAM handlers

def _user(emu, ctx):
    return _aws._target_user(emu, ctx, required=True)


def _policy_name(ctx):
    n = ctx.params["PolicyName"]
    if not POLICY_NAME.fullmatch(n):
        raise _err("ValidationError", "The specified value for policyName is invalid. It must "
                   "contain only alphanumeric characters and/or the following: +=,.@_-")
    return n


def iam_put_user_policy(emu, ctx):
    u = _user(emu, ctx)
    name = _policy_name(ctx)
    text = ctx.params["PolicyDocument"]
    _parse_doc(text)
    pols = dict(_state(emu)["inline"].get(_ukey(u), {}))
    pols[name] = text
    size = sum(len(re.sub(r"\s", "", t)) for t in pols.values())
    if size > INLINE_LIMIT:
        raise _err("LimitExceeded", "Maximum policy size of %d bytes exceeded for user %s"
                   % (INLINE_LIMIT, u.name), 409)
    _state(emu)["inline"][_ukey(u)] = pols
    return None


def _inline_or_404(emu, u, name):
    pols = _state(emu)["inline"].get(_ukey(u), {})
    if name not in pols:
        raise _err("NoSuchEntity", "The user policy with name %s cannot be found." % name, 404)
    return pols


def iam_get_user_policy(emu, ctx):
    u = _user(emu, ctx)
    name = _policy_name(ctx)
    pols = _inline_or_404(emu, u, name)
    return [("UserName", u.name), ("PolicyName", name),
            ("PolicyDocument", urllib.parse.quote(pols[name], safe=""))]


def iam_delete_user_policy(emu, ctx):
    u = _user(emu, ctx)
    name = _policy_name(ctx)
    pols = _inline_or_404(emu, u, name)
    del pols[name]
    return None


def _page(ctx, items, kind):
    return _aws._paginate(ctx, items, kind)


def iam_list_user_policies(emu, ctx):
    u = _user(emu, ctx)
    names = sorted(_state(emu)["inline"].get(_ukey(u), {}))
    page, truncated, marker = _page(ctx, names, "userpolicies")
    res = [("PolicyNames", [("member", n) for n in page]), ("IsTruncated", truncated)]
    if marker:
        res.append(("Marker", marker))
    return res


def iam_attach_user_policy(emu, ctx):
    u = _user(emu, ctx)
    arn = ctx.params["PolicyArn"]
    m = POLICY_ARN.fullmatch(arn)
    if not m:
        raise _err("InvalidInput", "ARN %s is not valid." % arn)
    att = _state(emu)["attached"].setdefault(_ukey(u), [])
    if arn not in att:
        if len(att) >= ATTACHED_LIMIT:
            raise _err("LimitExceeded", "Cannot exceed quota for PoliciesPerUser: %d"
                       % ATTACHED_LIMIT, 409)
        att.append(arn)
    return None


def iam_list_attached_user_policies(emu, ctx):
    u = _user(emu, ctx)
    prefix = ctx.params.get("PathPrefix", "/")
    arns = []
    for arn in _state(emu)["attached"].get(_ukey(u), []):
        path = "/" + arn.split(":policy/", 1)[1].rsplit("/", 1)[0] + "/" \
            if "/" in arn.split(":policy/", 1)[1] else "/"
        if path.replace("//", "/").startswith(prefix):
            arns.append(arn)
    page, truncated, marker = _page(ctx, arns, "attachedpolicies")
    res = [("AttachedPolicies", [("member", [("PolicyName", a.rsplit("/", 1)[1]),
                                             ("PolicyArn", a)]) for a in page]),
           ("IsTruncated", truncated)]
    if marker:
        res.append(("Marker", marker))
    return res


def _wrap_authorization_details(orig):
    """GetAccountAuthorizationDetails with each user's inline and attached policies."""
    def handler(emu, ctx):
        res = orig(emu, ctx)
        st = _state(emu)
        acc = ctx.principal.account
        for k, v in res:
            if k != "UserDetailList":
                continue
            for _, d in v:
                name = next(x for f, x in d if f == "UserName")
                key = (acc.id, name.lower())
                pols = st["inline"].get(key, {})
                att = st["attached"].get(key, [])
                for i, (f, x) in enumerate(d):
                    if f == "UserPolicyList":
                        d[i] = (f, [("member", [("PolicyName", n), ("PolicyDocument",
                                                urllib.parse.quote(pols[n], safe=""))])
                                    for n in sorted(pols)])
                    elif f == "AttachedManagedPolicies":
                        d[i] = (f, [("member", [("PolicyName", a.rsplit("/", 1)[1]),
                                                ("PolicyArn", a)]) for a in att])
        return res
    return handler


# ----------------------------------------------------------------------------- STS

def _session_class():
    class UserSession(_aws.Session):
        """A GetSessionToken session: the user's own permissions, with an issue time."""
        __slots__ = ("user", "mfa")

        def dump(self):
            return {"access_key_id": self.access_key_id, "secret": self.secret,
                    "token": self.token, "expiration": _aws.iso_dump(self.expiration),
                    "account": self.account_id, "user_arn": self.user.arn,
                    "arn": self.arn, "source": self.source, "caller": self.caller,
                    "created": _aws.iso_dump(self.created), "mfa": self.mfa,
                    "last_used": ({"date": _aws.iso_dump(self.last_used["date"]),
                                   "service": self.last_used["service"],
                                   "region": self.last_used["region"]}
                                  if self.last_used else None)}
    return UserSession


UserSession = None


def sts_get_session_token(emu, ctx):
    p = ctx.principal
    if p.session is not None:
        raise _err("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
    duration = int(ctx.params.get("DurationSeconds", 43200 if p.kind == "user" else 3600))
    if duration < 900 or duration > 129600:
        raise _err("ValidationError", "1 validation error detected: Value '%d' at "
                   "'durationSeconds' failed to satisfy constraint: Member must have value "
                   "%s" % (duration, "greater than or equal to 900" if duration < 900
                           else "less than or equal to 129600"))
    if p.kind == "root":
        duration = min(duration, 3600)
    s = UserSession()
    s.access_key_id = emu.new_key_id("ASIA")
    s.secret = _aws.gen_secret()
    s.token = "FwoGZXIvYXdzE" + _aws.base64.b64encode(_aws.os.urandom(240)).decode("ascii")
    s.created = _aws.trunc(ctx.now)
    s.expiration = s.created + datetime.timedelta(seconds=duration)
    s.account_id = p.account.id
    s.role = None
    s.user = p.user
    s.session_name = None
    s.assumed_role_id = p.user_id
    s.arn = p.arn
    s.allow = p.allow
    s.source = "GetSessionToken"
    s.caller = p.arn
    s.last_used = None
    s.chained = False
    s.mfa = bool(ctx.params.get("SerialNumber") and ctx.params.get("TokenCode"))
    emu.sessions[s.access_key_id] = s
    ctx.issued_key_id = s.access_key_id
    return [("Credentials", [("AccessKeyId", s.access_key_id),
                             ("SecretAccessKey", s.secret),
                             ("SessionToken", s.token),
                             ("Expiration", emu.fmt_date(s.expiration))])]


# ----------------------------------------------------------------------------- evaluation

def _date(v):
    if not isinstance(v, str):
        return None
    try:
        d = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d


_DATE_OPS = {"DateLessThan": lambda a, b: a < b, "DateLessThanEquals": lambda a, b: a <= b,
             "DateGreaterThan": lambda a, b: a > b,
             "DateGreaterThanEquals": lambda a, b: a >= b}


def _as_list(v):
    return v if isinstance(v, list) else [v]


def _condition_holds(cond, keys):
    for op, kv in (cond or {}).items():
        f = _DATE_OPS.get(op)
        if f is None or not isinstance(kv, dict):
            return False
        for k, vals in kv.items():
            have = keys.get(k.lower())
            if have is None:
                return False
            if not any(_date(x) is not None and f(have, _date(x)) for x in _as_list(vals)):
                return False
    return True


def _statement_matches(s, act, keys):
    if "Action" in s:
        if not any(fnmatch.fnmatchcase(act, a.lower()) for a in _as_list(s["Action"])):
            return False
    elif any(fnmatch.fnmatchcase(act, a.lower()) for a in _as_list(s["NotAction"])):
        return False
    if "*" not in _as_list(s.get("Resource", "*")):
        return False
    return _condition_holds(s.get("Condition"), keys)


# What the quarantine policies AWS attaches to a user with an exposed key deny, for the
# services the emulator has (AWS's lists also name EC2, Lambda, Lightsail and others).
_QUARANTINE_V1 = ["iam:AttachGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy",
                  "iam:ChangePassword", "iam:CreateAccessKey", "iam:CreateInstanceProfile",
                  "iam:CreateLoginProfile", "iam:CreateRole", "iam:CreateUser",
                  "iam:DetachUserPolicy", "iam:PutUserPermissionsBoundary",
                  "iam:PutUserPolicy", "iam:UpdateAccessKey",
                  "iam:UpdateAccountPasswordPolicy", "iam:UpdateUser"]
_QUARANTINE_V2 = sorted(_QUARANTINE_V1 + [
    "cloudtrail:LookupEvents", "iam:AddUserToGroup", "iam:CreatePolicyVersion",
    "iam:PassRole", "iam:PutGroupPolicy", "iam:PutRolePolicy", "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy", "iam:UpdateLoginProfile"])
MANAGED_DENIES = {"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine": _QUARANTINE_V1,
                  "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2": _QUARANTINE_V2,
                  "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3": _QUARANTINE_V2}


def explicit_deny(emu, user, session, act, now):
    """The name of the inline policy or the ARN of the attached quarantine policy of user
    that denies act ("service:Action"), or None."""
    keys = {"aws:currenttime": now}
    if session is not None:
        keys["aws:tokenissuetime"] = session.created
    for arn in _state(emu)["attached"].get(_ukey(user), []):
        if any(a.lower() == act.lower() for a in MANAGED_DENIES.get(arn, [])):
            return arn
    for name, text in sorted(_state(emu)["inline"].get(_ukey(user), {}).items()):
        doc = json.loads(text)
        for s in _as_list(doc.get("Statement", [])):
            if s.get("Effect") == "Deny" and _statement_matches(s, act.lower(), keys):
                return name
    return None


def check_request(emu, ctx):
    """Runs before every handler (awsemu REQUEST_CHECKS): explicit denies of the user's
    inline policies, and what GetSessionToken credentials may not call."""
    p = ctx.principal
    if p is None or p.kind != "user" or p.user is None:
        return
    if ctx.service == "sts" and ctx.action == "GetCallerIdentity":
        return
    act = "%s:%s" % (ctx.service, ctx.action)
    sess = p.session if isinstance(p.session, UserSession) else None
    if sess is not None:
        if ctx.service == "iam" and not sess.mfa:
            raise _err("AccessDenied", "User: %s is not authorized to perform: %s because no "
                       "MFA authentication information is included in the request"
                       % (p.arn, act), 403)
        if ctx.service == "sts" and ctx.action != "AssumeRole":
            raise _err("AccessDenied", "User: %s is not authorized to perform: %s with "
                       "session credentials" % (p.arn, act), 403)
    if explicit_deny(emu, p.user, sess, act, ctx.now):
        msg = ("User: %s is not authorized to perform: %s on resource: * with an explicit "
               "deny in an identity-based policy" % (p.arn, act))
        if ctx.service in _aws.QUERY_SERVICES:
            raise _err("AccessDenied", msg, 403)
        raise _aws.ApiError("AccessDeniedException", msg, 400)


HANDLERS_IAM = {
    "PutUserPolicy": iam_put_user_policy, "GetUserPolicy": iam_get_user_policy,
    "DeleteUserPolicy": iam_delete_user_policy, "ListUserPolicies": iam_list_user_policies,
    "AttachUserPolicy": iam_attach_user_policy,
    "ListAttachedUserPolicies": iam_list_attached_user_policies,
}


def register(awsemu):
    """Adds the calls to awsemu's routing tables and the policy check to its requests."""
    global _aws, UserSession
    _aws = awsemu
    UserSession = _session_class()
    awsemu.HANDLERS["iam"].update(HANDLERS_IAM)
    awsemu.HANDLERS["iam"]["GetAccountAuthorizationDetails"] = _wrap_authorization_details(
        awsemu.HANDLERS["iam"]["GetAccountAuthorizationDetails"])
    awsemu.HANDLERS["sts"]["GetSessionToken"] = sts_get_session_token
    awsemu.REQUEST_CHECKS.append(check_request)
