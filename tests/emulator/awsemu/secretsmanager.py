"""Secrets Manager (JSON 1.1): CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret."""

import base64
import random
import re
import uuid

from .model import ApiError, epoch


# --------------------------------------------------------------------------------------
# Secrets Manager


def _sm_find(emu, ctx, sid, allow_missing=False):
    acc = ctx.principal.account
    region = ctx.region
    sec = acc.secrets.get((region, sid))
    if sec is None:
        for s in acc.secrets.values():
            if s["region"] != region:
                continue
            if s["arn"] == sid or s["arn"][:-7] == sid:
                sec = s
                break
    if sec is None and not allow_missing:
        emu.authorize(ctx, sid)
        raise ApiError("ResourceNotFoundException",
                       "Secrets Manager can't find the specified secret.", 400)
    if sec is not None:
        emu.authorize(ctx, sec["arn"])
    return sec


def _sm_required(ctx, *names):
    for n in names:
        if n not in ctx.params or ctx.params[n] is None:
            raise ApiError("InvalidParameterException", "Invalid parameter: %s is required." % n,
                           400)


def _sm_value(ctx):
    s = ctx.params.get("SecretString")
    b = ctx.params.get("SecretBinary")
    if s is not None and b is not None:
        raise ApiError("InvalidParameterException", "You can't specify both a binary secret "
                       "value and a string secret value in the same secret.", 400)
    if b is not None:
        try:
            b = base64.b64decode(b)
        except ValueError:
            raise ApiError("InvalidParameterException", "Invalid base64 SecretBinary.", 400)
    return s, b


def sm_create_secret(emu, ctx):
    _sm_required(ctx, "Name")
    name = ctx.params["Name"]
    acc = ctx.principal.account
    if not re.fullmatch(r"[\w/+=.@-]{1,512}", name, re.ASCII):
        raise ApiError("InvalidParameterException", "Invalid name. Must be a valid name "
                       "containing alphanumeric characters, or any of the following: -/_+=.@!",
                       400)
    emu.authorize(ctx, "arn:aws:secretsmanager:%s:%s:secret:%s" % (ctx.region, acc.id, name))
    if (ctx.region, name) in acc.secrets:
        raise ApiError("ResourceExistsException", "The operation failed because the secret %s "
                       "already exists." % name, 400)
    s, b = _sm_value(ctx)
    sec = emu._new_secret(acc, ctx.region, name, ctx.params.get("Description"),
                          ctx.params.get("KmsKeyId"), ctx.params.get("Tags"), ctx.now)
    out = {"ARN": sec["arn"], "Name": name}
    if s is not None or b is not None:
        out["VersionId"] = emu._put_secret_version(sec, s, b, ctx.params.get("ClientRequestToken"),
                                                   None, ctx.now)
    return out


def sm_put_secret_value(emu, ctx):
    _sm_required(ctx, "SecretId")
    sec = _sm_find(emu, ctx, ctx.params["SecretId"])
    s, b = _sm_value(ctx)
    if s is None and b is None:
        raise ApiError("InvalidRequestException", "You must provide either SecretString or "
                       "SecretBinary.", 400)
    token = ctx.params.get("ClientRequestToken")
    if token and token in sec["versions"]:
        v = sec["versions"][token]
        if v["value"] == s and v["binary"] == b:
            return {"ARN": sec["arn"], "Name": sec["name"], "VersionId": token,
                    "VersionStages": sorted(v["stages"])}
        raise ApiError("ResourceExistsException", "You can't modify an existing version, you "
                       "can only create a new version.", 400)
    vid = emu._put_secret_version(sec, s, b, token, ctx.params.get("VersionStages"), ctx.now)
    return {"ARN": sec["arn"], "Name": sec["name"], "VersionId": vid,
            "VersionStages": sorted(sec["versions"][vid]["stages"])}


def sm_get_secret_value(emu, ctx):
    _sm_required(ctx, "SecretId")
    sec = _sm_find(emu, ctx, ctx.params["SecretId"])
    vid = ctx.params.get("VersionId")
    stage = ctx.params.get("VersionStage")
    v = None
    if vid:
        v = sec["versions"].get(vid)
        if v is None or (stage and stage not in v["stages"]):
            raise ApiError("ResourceNotFoundException", "Secrets Manager can't find the "
                           "specified secret value for VersionId: %s" % vid, 400)
    else:
        stage = stage or "AWSCURRENT"
        for k, cand in sec["versions"].items():
            if stage in cand["stages"]:
                vid, v = k, cand
                break
        if v is None:
            raise ApiError("ResourceNotFoundException", "Secrets Manager can't find the "
                           "specified secret value for staging label: %s" % stage, 400)
    sec["last_accessed"] = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    out = {"ARN": sec["arn"], "Name": sec["name"], "VersionId": vid,
           "VersionStages": sorted(v["stages"]), "CreatedDate": epoch(v["created"])}
    if v["value"] is not None:
        out["SecretString"] = v["value"]
    if v["binary"] is not None:
        out["SecretBinary"] = base64.b64encode(v["binary"]).decode("ascii")
    return out


def sm_describe_secret(emu, ctx):
    _sm_required(ctx, "SecretId")
    sec = _sm_find(emu, ctx, ctx.params["SecretId"])
    out = {"ARN": sec["arn"], "Name": sec["name"]}
    if sec["description"] is not None:
        out["Description"] = sec["description"]
    if sec["kms_key_id"]:
        out["KmsKeyId"] = sec["kms_key_id"]
    out["LastChangedDate"] = epoch(sec["last_changed"])
    if sec["last_accessed"]:
        out["LastAccessedDate"] = epoch(sec["last_accessed"])
    if sec["tags"]:
        out["Tags"] = sec["tags"]
    out["VersionIdsToStages"] = {vid: sorted(v["stages"]) for vid, v in sec["versions"].items()
                                 if v["stages"]}
    out["CreatedDate"] = epoch(sec["created"])
    return out


HANDLERS = {
    "CreateSecret": sm_create_secret, "PutSecretValue": sm_put_secret_value,
    "GetSecretValue": sm_get_secret_value, "DescribeSecret": sm_describe_secret,
}


class SecretsMixin:
    """Methods of Emulator (server.py)."""

    def _new_secret(self, acc, region, name, description, kms, tags, when):
        suffix = "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                         for _ in range(6))
        if isinstance(tags, dict):
            tags = [{"Key": k, "Value": v} for k, v in tags.items()]
        sec = {"name": name, "region": region, "description": description, "kms_key_id": kms,
               "tags": list(tags or []), "created": when, "last_changed": when,
               "last_accessed": None, "versions": {},
               "arn": "arn:aws:secretsmanager:%s:%s:secret:%s-%s" % (region, acc.id, name,
                                                                     suffix)}
        acc.secrets[(region, name)] = sec
        return sec

    @staticmethod
    def _put_secret_version(sec, value, binary, token, stages, when):
        vid = token or str(uuid.uuid4())
        stages = list(stages) if stages else ["AWSCURRENT"]
        if "AWSCURRENT" in stages:
            for v in sec["versions"].values():
                v["stages"].discard("AWSPREVIOUS")
            for v in sec["versions"].values():
                if "AWSCURRENT" in v["stages"]:
                    v["stages"].discard("AWSCURRENT")
                    v["stages"].add("AWSPREVIOUS")
        for v in sec["versions"].values():
            for st in stages:
                v["stages"].discard(st)
        sec["versions"][vid] = {"value": value, "binary": binary, "stages": set(stages),
                                "created": when}
        sec["last_changed"] = when
        return vid
