"""SSM (JSON 1.1): PutParameter, GetParameter."""

import base64
import hashlib
import re

from .model import ApiError, epoch, validation_error


# --------------------------------------------------------------------------------------
# SSM


def _ssm_name(ctx):
    name = ctx.params.get("Name")
    if not name:
        raise validation_error(["Value null at 'name' failed to satisfy constraint: Member must "
                                "not be null"], "ValidationException")
    return name


def _ssm_arn(ctx, name):
    acc = ctx.principal.account
    if name.startswith("/"):
        return "arn:aws:ssm:%s:%s:parameter%s" % (ctx.region, acc.id, name)
    return "arn:aws:ssm:%s:%s:parameter/%s" % (ctx.region, acc.id, name)


def ssm_put_parameter(emu, ctx):
    name = _ssm_name(ctx)
    if "Value" not in ctx.params:
        raise validation_error(["Value null at 'value' failed to satisfy constraint: Member "
                                "must not be null"], "ValidationException")
    emu.authorize(ctx, _ssm_arn(ctx, name))
    acc = ctx.principal.account
    ptype = ctx.params.get("Type")
    if ptype is not None and ptype not in ("String", "StringList", "SecureString"):
        raise validation_error(["Value '%s' at 'type' failed to satisfy constraint: Member must "
                                "satisfy enum value set: [SecureString, StringList, String]"
                                % ptype], "ValidationException")
    cur = acc.params.get((ctx.region, name))
    if cur is not None and not ctx.params.get("Overwrite"):
        raise ApiError("ParameterAlreadyExists", "The parameter already exists. To overwrite "
                       "this value, set the overwrite option in the request to true.", 400)
    if cur is None and ptype is None:
        raise ApiError("ValidationException", "A parameter type is required when you create a "
                       "parameter.", 400)
    p = emu.accounts_param_put(acc, ctx.region, name, ctx.params["Value"],
                               ptype or cur["type"],
                               ctx.params.get("Description", cur["description"] if cur else None),
                               ctx.params.get("KeyId"), ctx.now)
    return {"Version": p["version"], "Tier": "Standard"}


def _fake_ciphertext(value, name):
    blob = b"\x01\x02\x02\x00x" + hashlib.sha256(("awsemu-kms:" + name).encode()).digest() + \
        bytes(b ^ 0x5A for b in value.encode("utf-8"))
    return base64.b64encode(blob).decode("ascii")


def ssm_get_parameter(emu, ctx):
    full = _ssm_name(ctx)
    name, sel_version = full, None
    m = re.fullmatch(r"(.+):(\d+)", full)
    if m:
        name, sel_version = m.group(1), int(m.group(2))
    emu.authorize(ctx, _ssm_arn(ctx, name))
    acc = ctx.principal.account
    p = acc.params.get((ctx.region, name))
    if p is None:
        raise ApiError("ParameterNotFound", None, 400)
    value, ptype, version, modified = p["value"], p["type"], p["version"], p["last_modified"]
    if sel_version is not None:
        h = p["history"].get(sel_version)
        if h is None:
            raise ApiError("ParameterVersionNotFound", "Systems Manager could not find version "
                           "%d of %s. Verify the version and try again." % (sel_version, name),
                           400)
        value, ptype, version, modified = h["value"], h["type"], sel_version, h["last_modified"]
    if ptype == "SecureString" and not ctx.params.get("WithDecryption"):
        value = _fake_ciphertext(value, name)
    out = {"Name": name, "Type": ptype, "Value": value, "Version": version,
           "LastModifiedDate": epoch(modified), "ARN": p["arn"], "DataType": "text"}
    if sel_version is not None:
        out["Selector"] = ":%d" % sel_version
    return {"Parameter": out}


HANDLERS = {"PutParameter": ssm_put_parameter, "GetParameter": ssm_get_parameter}


class SsmMixin:
    """Methods of Emulator (server.py)."""

    def accounts_param_put(self, acc, region, name, value, ptype, description, key_id, when):
        cur = acc.params.get((region, name))
        version = (cur["version"] + 1) if cur else 1
        if name.startswith("/"):
            arn = "arn:aws:ssm:%s:%s:parameter%s" % (region, acc.id, name)
        else:
            arn = "arn:aws:ssm:%s:%s:parameter/%s" % (region, acc.id, name)
        history = cur["history"] if cur else {}
        p = {"name": name, "value": value, "type": ptype, "region": region, "version": version,
             "description": description, "key_id": key_id, "last_modified": when, "arn": arn,
             "history": history}
        history[version] = {"value": value, "type": ptype, "last_modified": when}
        acc.params[(region, name)] = p
        return p
