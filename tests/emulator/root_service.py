"""Centralized root access for awsemu: STS AssumeRoot and IAM ListOrganizationsFeatures.

AssumeRoot (query protocol, STS 2011-06-15; Action=AssumeRoot with
TargetPrincipal, TaskPolicyArn.arn and DurationSeconds) gives a session of the
target account's root user, limited by the task policy:

    arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials
        iam:ListAccessKeys, iam:GetAccessKeyLastUsed, iam:GetUser,
        iam:GetLoginProfile, iam:ListMFADevices, iam:ListSigningCertificates
    arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials
        the same, and iam:UpdateAccessKey, iam:DeleteAccessKey,
        iam:DeleteLoginProfile, iam:DeactivateMFADevice,
        iam:DeleteSigningCertificate

Requests signed with the session act as the account's root user (ListAccessKeys
without UserName lists root's keys) and anything the task policy does not allow
is AccessDenied. The call is refused (AccessDenied) unless the caller is an IAM
user or role (not root) in the management account or the delegated
administrator for IAM, RootCredentialsManagement is enabled (what these task
policies need), and the target is another
ACTIVE account of the organization; DurationSeconds above 900 is a
ValidationError.

ListOrganizationsFeatures (IAM 2010-05-08): OrganizationId and EnabledFeatures
(RootCredentialsManagement, RootSessions). Outside an organization:
OrganizationNotFoundException; from an account that is neither the management
account nor the delegated administrator:
AccountNotManagementOrDelegatedAdministratorException; when the organization
has not enabled IAM's trusted access: ServiceAccessNotEnabledException.

In a fixture the organization says:

    "organization": {..., "root_access": {
        "features": ["RootCredentialsManagement", "RootSessions"],  # absent: no
                                                                     # trusted access
        "delegated_admin": "222222222222",          # optional
        "assume_root_denied": ["333333333333"]}}    # AssumeRoot of these: AccessDenied

Root principals and their keys come from each account's "root": {"keys": [...]}.
Self-contained: awsemu/__init__.py calls register(module) and load_org(fx, org).
"""
import datetime
import re

AUDIT_POLICY = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"
DELETE_POLICY = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials"
_READ = ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:GetUser",
         "iam:GetLoginProfile", "iam:ListMFADevices", "iam:ListSigningCertificates",
         "sts:GetCallerIdentity"]
TASK_POLICIES = {
    AUDIT_POLICY: _READ,
    DELETE_POLICY: _READ + ["iam:UpdateAccessKey", "iam:DeleteAccessKey",
                            "iam:DeleteLoginProfile", "iam:DeactivateMFADevice",
                            "iam:DeleteSigningCertificate"],
}
FEATURES = ("RootCredentialsManagement", "RootSessions")
MAX_DURATION = 900

_emu = None  # the awsemu module, set by register()


class _RootRole:
    """What a root session stands for (Session.role: its arn and name)."""
    __slots__ = ("arn", "name", "account", "role_id")

    def __init__(self, acc):
        self.account = acc
        self.arn = "arn:aws:iam::%s:root" % acc.id
        self.name = "root"
        self.role_id = acc.id


def load_org(fx, org):
    """Adds the fixture's organization.root_access to org (awsemu's dict)."""
    o = fx.get("organization") or {}
    ra = o.get("root_access")
    if org is None:
        return
    if ra is None:
        org["root_access"] = None
        return
    if not isinstance(ra, dict):
        raise _emu.LoadError("organization.root_access must be an object")
    feats = ra.get("features")
    if feats is not None:
        for f in feats:
            if f not in FEATURES:
                raise _emu.LoadError("unknown root access feature %r" % f)
        feats = list(feats)
    admin = ra.get("delegated_admin")
    if admin is not None and not _emu._is_account_id(str(admin)):
        raise _emu.LoadError("root_access.delegated_admin must be 12 digits")
    denied = [str(a) for a in ra.get("assume_root_denied", []) or []]
    for a in denied:
        if not _emu._is_account_id(a):
            raise _emu.LoadError("root_access.assume_root_denied: 12-digit ids, not %r" % a)
    org["root_access"] = {"features": feats, "delegated_admin": str(admin) if admin else None,
                          "assume_root_denied": denied}


def _root_access(emu):
    org = emu.org
    return (org or {}).get("root_access")


def _is_admin(org, aid):
    ra = org.get("root_access") or {}
    return aid == org["management_account"] or aid == ra.get("delegated_admin")


def iam_list_organizations_features(emu, ctx):
    p = ctx.principal
    emu.authorize(ctx, "*")
    org = emu.org
    if org is None or not any(a["id"] == p.account.id for a in org["accounts"]):
        raise _emu.ApiError("OrganizationNotFoundException",
                            "The request failed because your account is not a member of an "
                            "organization.", 400)
    if not _is_admin(org, p.account.id):
        raise _emu.ApiError("AccountNotManagementOrDelegatedAdministratorException",
                            "The request was rejected because the account making the request "
                            "is not the management account or delegated administrator account "
                            "for centralized root access.", 400)
    ra = org.get("root_access")
    if ra is None or ra.get("features") is None:
        raise _emu.ApiError("ServiceAccessNotEnabledException",
                            "The request was rejected because trusted access for IAM is not "
                            "enabled in AWS Organizations.", 400)
    return [("OrganizationId", org["id"]),
            ("EnabledFeatures", [("member", f) for f in ra["features"]])]


def _target_account(emu, target):
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):root|(\d{12})", target or "")
    return (m.group(1) or m.group(2)) if m else None


def sts_assume_root(emu, ctx):
    p = ctx.principal
    params = ctx.params
    target = params.get("TargetPrincipal")
    policy = params.get("TaskPolicyArn.arn")
    missing = [n for n, v in (("targetPrincipal", target), ("taskPolicyArn", policy))
               if v is None]
    if missing:
        raise _emu.validation_error(["Value null at '%s' failed to satisfy constraint: Member "
                                     "must not be null" % n for n in missing])
    try:
        duration = int(params.get("DurationSeconds", MAX_DURATION))
    except ValueError:
        raise _emu.ApiError("ValidationError", "DurationSeconds must be a number", 400)
    if not 0 <= duration <= MAX_DURATION:
        raise _emu.ApiError("ValidationError", "1 validation error detected: Value '%d' at "
                            "'durationSeconds' failed to satisfy constraint: Member must have "
                            "value less than or equal to %d" % (duration, MAX_DURATION), 400)
    if policy not in TASK_POLICIES:
        raise _emu.ApiError("ValidationError", "The TaskPolicyArn %s is not a valid root task "
                            "policy." % policy, 400)
    aid = _target_account(emu, target)
    if aid is None:
        raise _emu.ApiError("ValidationError", "TargetPrincipal must be an account id or an "
                            "account root ARN", 400)
    resource = "arn:aws:iam::%s:root" % aid
    emu.authorize(ctx, resource)
    denied = _emu.ApiError("AccessDenied", "User: %s is not authorized to perform: "
                           "sts:AssumeRoot on resource: %s" % (p.arn, resource), 403)
    org = emu.org
    if p.kind == "root" or org is None or not _is_admin(org, p.account.id):
        raise denied
    ra = org.get("root_access") or {}
    # the root-credentials task policies need RootCredentialsManagement
    if "RootCredentialsManagement" not in (ra.get("features") or []):
        raise denied
    member = next((a for a in org["accounts"] if a["id"] == aid), None)
    if member is None or member["status"] != "ACTIVE" or aid == org["management_account"]:
        raise denied
    if aid in ra.get("assume_root_denied", []):
        raise denied
    acc = emu.accounts.get(aid)
    if acc is None:
        raise denied
    s = _emu.Session()
    s.access_key_id = emu.new_key_id("ASIA")
    s.secret = _emu.gen_secret()
    s.token = "IQoJb3JpZ2luX2VjE" + _emu.gen_secret() + _emu.gen_secret()
    s.created = _emu.trunc(ctx.now)
    s.expiration = s.created + datetime.timedelta(seconds=duration)
    s.account_id = aid
    s.role = _RootRole(acc)
    s.session_name = "root"
    s.assumed_role_id = aid
    s.arn = resource
    s.allow = list(TASK_POLICIES[policy])
    s.source = "AssumeRoot"
    s.caller = p.arn
    s.last_used = None
    s.chained = False
    emu.sessions[s.access_key_id] = s
    return [("Credentials", [("AccessKeyId", s.access_key_id),
                             ("SecretAccessKey", s.secret),
                             ("SessionToken", s.token),
                             ("Expiration", emu.fmt_date(s.expiration))])]


def is_root_session(session):
    return session is not None and session.source == "AssumeRoot"


def register(awsemu):
    """Adds the calls to awsemu's handler tables."""
    global _emu
    _emu = awsemu
    awsemu.HANDLERS["sts"]["AssumeRoot"] = sts_assume_root
    awsemu.HANDLERS["iam"]["ListOrganizationsFeatures"] = iam_list_organizations_features
