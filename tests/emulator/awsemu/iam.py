"""IAM (awsQuery): users, access keys, tags, groups, account summary, credential report."""

import base64
import bisect
import csv
import datetime
import io
import re
import time

from .model import (
    ApiError, gen_id, gen_secret, iso_report, Key, KEYS_PER_USER, REPORT_HEADER, REPORT_TTL,
    TAGS_PER_USER, trunc, User, validation_error)
from .wire import _decode_marker, _encode_marker, _paginate


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


HANDLERS = {
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
}
