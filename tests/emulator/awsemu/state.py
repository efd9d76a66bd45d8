"""Fixture load and state dump."""

import base64
import hashlib
import re

import dynamodb_service  # tests/emulator/ (on sys.path: see __init__.py)
import iampolicy_service  # tests/emulator/ (on sys.path: see __init__.py)
import root_service  # tests/emulator/ (on sys.path: see __init__.py)

from .model import (
    Account, _b32_from, derived_id, derived_secret, Group, _is_account_id, iso_dump, Key,
    KEYS_PER_USER, LOAD_HOOKS, LoadError, parse_date, Role, trunc, User)
from .sso import _sso_token_dump, _sso_token_entry

# an IAM user, group or role: the prefix of its id, and the letter its id is derived with
_ID_PREFIX = {"user": ("AIDA", "u"), "group": ("AGPA", "g"), "role": ("AROA", "r")}


def _identity(spec, acc, now, kind, name, path, default_age):
    """The id, ARN and creation date of the IAM user, group or role (kind) that spec names:
    the fixture's own, or derived from the account, the name and the path."""
    prefix, letter = _ID_PREFIX[kind]
    ident = spec.get(kind + "_id") or derived_id(prefix, 17, acc.id + "/%s/" % letter + name)
    arn = spec.get("arn") or "arn:aws:iam::%s:%s%s%s" % (acc.id, kind, path, name)
    return ident, arn, trunc(parse_date(spec.get("create_date", default_age), now))


class StateMixin:
    """Methods of Emulator (server.py)."""

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
        grp.group_id, grp.arn, grp.create_date = _identity(g, acc, now, "group", grp.name,
                                                           grp.path, "-1000d")
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
        user.user_id, user.arn, user.create_date = _identity(u, acc, now, "user", name,
                                                             user.path, "-365d")
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
        role.role_id, role.arn, role.create_date = _identity(r, acc, now, "role", role.name,
                                                             role.path, "-500d")
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
