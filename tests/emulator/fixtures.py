"""Fixture generators for the AWS emulator (tests/emulator/awsemu/).

Every generator returns a plain dict in the fixture format documented in README.md.
Dates are relative to the emulator clock at load time ("-95d" = 95 days ago), so the
same fixture means the same key ages whenever it is loaded.  Everything is
deterministic: the same arguments give byte-identical fixtures.
"""
import hashlib
import random
import re

ACCOUNT_ID = "111111111111"
ADMIN_USER = "admin"
ADMIN_KEY_ID = "AKIAADMIN00000000001"
ADMIN_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYADMINKEY01"
AUDITOR_ROLE = "iamkeys-auditor"
CI_ROLE = "iamkeys-ci"
WEB_IDENTITY_TOKEN = "emu-web-identity-token-0001"
ORG_ID = "o-emu0example"
ORG_ROLE = "OrganizationAccountAccessRole"

READ_ONLY_ACTIONS = ["iam:List*", "iam:Get*", "iam:GenerateCredentialReport",
                     "sts:GetCallerIdentity", "organizations:List*", "organizations:Describe*"]

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _digest(seed, n):
    d = hashlib.sha256(seed.encode()).digest()
    while len(d) < n:
        d += hashlib.sha256(d).digest()
    return d[:n]


def key_id(seed):
    """A realistic long-lived key id ("AKIA" + 16 base32 characters) derived from seed."""
    return "AKIA" + "".join(_B32[b % 32] for b in _digest("key:" + seed, 16))


def secret_for(seed):
    """A 40-character secret derived from seed."""
    return "".join(_SECRET_CHARS[b % 64] for b in _digest("secret:" + seed, 40))


def user_id(seed):
    return "AIDA" + "".join(_B32[b % 32] for b in _digest("user:" + seed, 17))


def key(seed, age_days, status="Active", last_used_days=None, service="iam",
        region="us-east-1"):
    """A key dict; last_used_days=None means never used."""
    kid = key_id(seed)
    return {"id": kid, "secret": secret_for(seed), "status": status,
            "create_date": "-%sd" % age_days,
            "last_used": (None if last_used_days is None else
                          {"date": _rel(last_used_days), "service": service, "region": region})}


def _rel(days):
    if isinstance(days, str):
        return days
    if days == 0:
        return "-1m"
    return "-%sd" % days


def admin_user():
    return {"name": ADMIN_USER, "path": "/", "user_id": "AIDAADMIN000000000001",
            "create_date": "-800d", "password_last_used": "-1d", "mfa_active": True,
            "groups": ["Admins"], "allow": ["*"], "tags": {"team": "platform"},
            "keys": [{"id": ADMIN_KEY_ID, "secret": ADMIN_SECRET, "status": "Active",
                      "create_date": "-30d",
                      "last_used": {"date": "-1h", "service": "iam", "region": "us-east-1"}}]}


def _roles(account_id):
    return [
        {"name": AUDITOR_ROLE, "path": "/", "trust": [account_id], "allow": READ_ONLY_ACTIONS},
        {"name": CI_ROLE, "path": "/", "trust": [account_id], "allow": ["*"]},
    ]


def _web_identities(account_id):
    return [{"token": WEB_IDENTITY_TOKEN,
             "role_arn": "arn:aws:iam::%s:role/%s" % (account_id, CI_ROLE),
             "subject": "repo:example/iamkeys:ref:refs/heads/main",
             "audience": "sts.amazonaws.com",
             "provider": "token.actions.githubusercontent.com"}]


def _account(account_id, users, roles=None):
    return {"id": account_id, "alias": "emu-%s" % account_id, "create_date": "-2000d",
            "root": {"password_last_used": "-40d", "mfa_active": True, "keys": []},
            "groups": [{"name": "Admins", "path": "/"}, {"name": "Developers", "path": "/"}],
            "users": users, "roles": roles if roles is not None else _roles(account_id)}


def admin_fixture(extra_users=()):
    """One account (111111111111) with the 'admin' user (ADMIN_KEY_ID / ADMIN_SECRET,
    allowed everything), the iamkeys-auditor (read-only) and iamkeys-ci roles, and a
    web-identity token (WEB_IDENTITY_TOKEN) for iamkeys-ci.  extra_users are appended."""
    users = [admin_user()] + [dict(u) for u in extra_users]
    return {"accounts": [_account(ACCOUNT_ID, users)],
            "web_identities": _web_identities(ACCOUNT_ID)}


def example_account():
    """A realistic single account for the demo and CLI tests: a few dozen users whose keys
    cover every interesting case.  Users and what they exercise:

      alice    young key in use (10d)          bob      60d, used via s3
      carol    89d (just under 90)             dave     95d, in use
      erin     200d, last used 150d ago        frank    400d, never used
      grace    two active keys (100d + 5d)     heidi    inactive 300d key
      ivan     3d, never used                  judy     /engineering/ path, 120d
      mallory  tag iamkeys:exempt=true, 500d   oscar    Developers group, 91d
      peggy    console-only user, no keys      trent    /service-accounts/, 365d, busy
      victor   active 30d + inactive 200d      walter   exactly 90d
      yvonne   180d, inactive, never used      zoe      two old keys (150d, 130d)
      svc-*    service accounts with paths      dev01..dev14  a spread of ages
    plus admin (30d key).
    """
    s = "example/"
    u = []

    def add(name, keys, **kw):
        d = {"name": name, "path": kw.pop("path", "/"), "user_id": user_id(s + name),
             "create_date": kw.pop("create_date", "-900d"), "keys": keys}
        d.update(kw)
        u.append(d)

    add("alice", [key(s + "alice", 10, last_used_days=1)], groups=["Developers"],
        password_last_used="-1d", tags={"team": "web"})
    add("bob", [key(s + "bob", 60, last_used_days=2, service="s3", region="eu-west-1")],
        groups=["Developers"])
    add("carol", [key(s + "carol", 89, last_used_days=3)])
    add("dave", [key(s + "dave", 95, last_used_days=1, service="ec2", region="us-west-2")])
    add("erin", [key(s + "erin", 200, last_used_days=150)])
    add("frank", [key(s + "frank", 400)])
    add("grace", [key(s + "grace/1", 100, last_used_days=6),
                  key(s + "grace/2", 5, last_used_days=0)], mfa_active=True)
    add("heidi", [key(s + "heidi", 300, status="Inactive", last_used_days=250)])
    add("ivan", [key(s + "ivan", 3)])
    add("judy", [key(s + "judy", 120, last_used_days=10)], path="/engineering/")
    add("mallory", [key(s + "mallory", 500, last_used_days=2)],
        tags={"iamkeys:exempt": "true", "owner": "security"})
    add("oscar", [key(s + "oscar", 91, last_used_days=30)], groups=["Developers"])
    add("peggy", [], password_last_used="-12d", mfa_active=True)
    add("trent", [key(s + "trent", 365, last_used_days=0, service="sqs")],
        path="/service-accounts/", tags={"owner": "batch"})
    add("victor", [key(s + "victor/1", 200, status="Inactive", last_used_days=190),
                   key(s + "victor/2", 30, last_used_days=1)])
    add("walter", [key(s + "walter", 90, last_used_days=4)])
    add("yvonne", [key(s + "yvonne", 180, status="Inactive")])
    add("zoe", [key(s + "zoe/1", 150, last_used_days=140),
                key(s + "zoe/2", 130, last_used_days=20)])
    add("svc-backup", [key(s + "svc-backup", 700, last_used_days=0, service="s3")],
        path="/service-accounts/", tags={"iamkeys:exempt": "true"})
    add("svc-deploy", [key(s + "svc-deploy", 45, last_used_days=0, service="cloudformation")],
        path="/service-accounts/")
    add("svc-metrics", [key(s + "svc-metrics", 250, last_used_days=1)],
        path="/service-accounts/", tags={"owner": "observability"})
    ages = [1, 7, 15, 29, 44, 61, 75, 88, 92, 110, 135, 190, 260, 330]
    for i, age in enumerate(ages, 1):
        name = "dev%02d" % i
        used = None if i % 5 == 0 else max(0, min(age - 1, (i * 7) % 40))
        add(name, [key(s + name, age, last_used_days=used, service="iam")],
            groups=["Developers"], path="/engineering/" if i % 3 == 0 else "/",
            password_last_used="-%dd" % (i * 3) if i % 4 == 0 else None)
    for d in u:
        if d.get("password_last_used") is None:
            d.pop("password_last_used", None)
    fx = admin_fixture(extra_users=u)
    fx["accounts"][0]["alias"] = "example-corp"
    return fx


def _many_user_records(account_id, n, keys_per_user, seed, prefix="user"):
    rng = random.Random("%s/%s" % (seed, account_id))
    users = []
    for i in range(n):
        name = "%s%05d" % (prefix, i)
        nkeys = int((i + 1) * keys_per_user) - int(i * keys_per_user)
        keys = []
        for j in range(nkeys):
            r = rng.random()
            if r < 0.75:
                age = rng.randint(1, 85)
            else:
                age = rng.randint(95, 700)
            inactive = age > 90 and rng.random() < 0.1
            lr = rng.random()
            if lr < 0.1:
                used = None
            else:
                used = min(age - 1, int(rng.random() ** 3 * age)) if age > 1 else 0
                used = max(0, used)
            keys.append(key("%s/%s/%d/%d" % (seed, account_id, i, j), age,
                            status="Inactive" if inactive else "Active", last_used_days=used))
        d = {"name": name, "path": "/eng/" if i % 10 == 3 else "/",
             "user_id": user_id("%s/%s/%d" % (seed, account_id, i)),
             "create_date": "-%dd" % (max(k_age(k) for k in keys) + 1 if keys else 30),
             "keys": keys}
        if i % 100 == 7:
            d["tags"] = {"iamkeys:exempt": "true"}
        if i % 25 == 11:
            d["groups"] = ["Developers"]
        users.append(d)
    return users


def k_age(k):
    """Age in days of a fixture key whose create_date is relative ("-95d")."""
    m = re.fullmatch(r"-(\d+(?:\.\d+)?)d", k["create_date"])
    return float(m.group(1)) if m else 0.0


def many_users(n, keys_per_user=1.5, seed=1, include_admin=True):
    """n users "user00000".. with a deterministic mix of key ages: about three quarters
    1-85 days old, a quarter 95-700 days (never 86-94, so a 90-day policy is unambiguous).
    keys_per_user may be fractional (1.5 gives 2,500 two-key users of 5,000). ~10% of
    keys were never used; ~10% of old keys are Inactive; every 100th user (i % 100 == 7)
    carries iamkeys:exempt=true; every 10th (i % 10 == 3) has path /eng/.  The admin user
    comes on top of the n users unless include_admin=False."""
    users = _many_user_records(ACCOUNT_ID, n, keys_per_user, seed)
    if include_admin:
        users = [admin_user()] + users
    return {"accounts": [_account(ACCOUNT_ID, users)],
            "web_identities": _web_identities(ACCOUNT_ID)}


def member_account_id(i):
    """The id of the i-th member account (1-based): 200000000001, 200000000002, ..."""
    return "%012d" % (200000000000 + i)


def organization(n_accounts, users_per_account, suspended=0, keys_per_user=1.0, seed=1):
    """An organization of n_accounts accounts in total: the management account
    111111111111 (with admin + users_per_account users) and n_accounts-1 member accounts
    member_account_id(1..) each with users_per_account users and an
    OrganizationAccountAccessRole trusting the management account.  The last `suspended`
    member accounts are SUSPENDED."""
    mgmt_users = [admin_user()] + _many_user_records(ACCOUNT_ID, users_per_account,
                                                     keys_per_user, seed)
    accounts = [_account(ACCOUNT_ID, mgmt_users)]
    org_accounts = [{"id": ACCOUNT_ID, "name": "management", "email": "aws-mgmt@example.com",
                     "status": "ACTIVE", "joined": "-1500d", "joined_method": "INVITED"}]
    members = max(0, n_accounts - 1)
    for i in range(1, members + 1):
        aid = member_account_id(i)
        roles = [{"name": ORG_ROLE, "path": "/", "trust": [ACCOUNT_ID]},
                 {"name": AUDITOR_ROLE, "path": "/", "trust": [ACCOUNT_ID],
                  "allow": READ_ONLY_ACTIONS}]
        accounts.append(_account(aid, _many_user_records(aid, users_per_account,
                                                         keys_per_user, seed), roles))
        org_accounts.append({
            "id": aid, "name": "member-%03d" % i, "email": "aws-member-%03d@example.com" % i,
            "status": "SUSPENDED" if i > members - suspended else "ACTIVE",
            "joined": "-%dd" % (1000 - i), "joined_method": "CREATED"})
    return {"accounts": accounts,
            "organization": {"id": ORG_ID, "management_account": ACCOUNT_ID,
                             "feature_set": "ALL", "accounts": org_accounts},
            "web_identities": _web_identities(ACCOUNT_ID)}


SSO_ACCESS_TOKEN = "emu-sso-access-token-0001"
SSO_REFRESH_TOKEN = "emu-sso-refresh-token-0001"
SSO_CLIENT_ID = "emu-sso-client-0001"
SSO_CLIENT_SECRET = "emu-sso-client-secret-0001"


def sso_token(access_token=SSO_ACCESS_TOKEN, roles=(), expires="+8h", user="alice@example.com",
              refresh_token=None, client_id=SSO_CLIENT_ID, client_secret=SSO_CLIENT_SECRET,
              registration_expires="+90d", **extra):
    """An entry of the fixture's "sso_tokens" (or for Emulator.add_sso_tokens): an IAM
    Identity Center access token allowed GetRoleCredentials for roles, a list of
    (account, role name) pairs; each role name is an IAM role of that account, named
    NAME or AWSReservedSSO_NAME_<suffix>. With refresh_token, CreateToken refreshes it."""
    d = {"access_token": access_token, "expires": expires, "user": user,
         "roles": [{"account": a, "role": r} for a, r in roles],
         "refresh_token": refresh_token, "client_id": client_id,
         "client_secret": client_secret, "registration_expires": registration_expires}
    d.update(extra)
    return d


def iter_keys(fixture):
    """Yield (account_id, user_name, key_dict) for every user key in a fixture."""
    for acc in fixture.get("accounts", []):
        for u in acc.get("users", []):
            for k in u.get("keys", []):
                yield acc["id"], u["name"], k


def with_lock_table(fx, name="iamkeys-locks", region="us-east-1", account=None):
    """fx with an empty DynamoDB table for iamkeys' --lock dynamodb:NAME (partition key
    LockID, a string) in the first account (or account)."""
    for a in fx["accounts"]:
        if account is None or a["id"] == account:
            a.setdefault("dynamodb_tables", []).append(
                {"name": name, "region": region, "key": "LockID", "items": []})
            break
    return fx


ROOT_FEATURES = ["RootCredentialsManagement", "RootSessions"]


def root_access_organization(features=ROOT_FEATURES, delegated_admin=None):
    """organization(6, 0) with centralized root access (features; None = IAM's trusted
    access not enabled) and root keys in the members: member 1 has a root key used an hour
    ago, member 2 one last used 200 days ago, member 3 none, member 4 a root key and
    AssumeRoot denied, member 5 a root key that is Inactive and never used."""
    fx = organization(6, 0)
    roots = {1: [key("root-1", 400, last_used_days="-1h")],
             2: [key("root-2", 900, last_used_days=200)],
             3: [],
             4: [key("root-4", 300, last_used_days=10)],
             5: [key("root-5", 700, status="Inactive")]}
    for acc in fx["accounts"]:
        for i, keys in roots.items():
            if acc["id"] == member_account_id(i):
                acc["root"]["keys"] = keys
    ra = {"assume_root_denied": [member_account_id(4)]}
    if features is not None:
        ra["features"] = list(features)
    if delegated_admin:
        ra["delegated_admin"] = delegated_admin
    fx["organization"]["root_access"] = ra
    return fx
