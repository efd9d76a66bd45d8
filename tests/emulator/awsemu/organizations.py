"""Organizations (JSON 1.1): DescribeOrganization, ListAccounts."""

import base64

from .model import ApiError, epoch


# --------------------------------------------------------------------------------------
# Organizations


def _org_for(emu, ctx):
    org = emu.org
    aid = ctx.principal.account.id
    if org is None or not any(a["id"] == aid for a in org["accounts"]):
        raise ApiError("AWSOrganizationsNotInUseException", "Your account is not a member of an "
                       "organization.", 400)
    return org


def org_describe_organization(emu, ctx):
    org = _org_for(emu, ctx)
    emu.authorize(ctx, "*")
    mgmt = org["management_account"]
    return {"Organization": {
        "Id": org["id"], "Arn": "arn:aws:organizations::%s:organization/%s" % (mgmt, org["id"]),
        "FeatureSet": org["feature_set"],
        "MasterAccountArn": "arn:aws:organizations::%s:account/%s/%s" % (mgmt, org["id"], mgmt),
        "MasterAccountId": mgmt, "MasterAccountEmail": org["management_email"],
        "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]}}


def org_list_accounts(emu, ctx):
    org = _org_for(emu, ctx)
    emu.authorize(ctx, "*")
    if ctx.principal.account.id != org["management_account"]:
        raise ApiError("AccessDeniedException", "You don't have permissions to access this "
                       "resource.", 400)
    mr = ctx.params.get("MaxResults", 20)
    if not isinstance(mr, int) or isinstance(mr, bool) or not 1 <= mr <= 20:
        raise ApiError("InvalidInputException", "You provided a value that does not match the "
                       "required pattern.", 400, extra={"Reason": "MAX_VALUE_EXCEEDED"
                                                        if isinstance(mr, int) else
                                                        "INVALID_ENUM"})
    start = 0
    tok = ctx.params.get("NextToken")
    if tok is not None:
        try:
            raw = base64.b64decode(tok.encode("ascii"), validate=True).decode()
            oid, _, idx = raw.partition("|")
            if oid != org["id"]:
                raise ValueError
            start = int(idx)
        except (ValueError, UnicodeError):
            raise ApiError("InvalidInputException", "You specified an invalid value for "
                           "nextToken. You must get the value from the response to a previous "
                           "call to the API.", 400, extra={"Reason": "INVALID_NEXT_TOKEN"})
    accs = org["accounts"]
    page = accs[start:start + mr]
    mgmt = org["management_account"]
    out = {"Accounts": [{
        "Id": a["id"], "Arn": "arn:aws:organizations::%s:account/%s/%s" % (mgmt, org["id"],
                                                                           a["id"]),
        "Email": a["email"], "Name": a["name"], "Status": a["status"],
        "JoinedMethod": a["joined_method"], "JoinedTimestamp": epoch(a["joined"])}
        for a in page]}
    if start + mr < len(accs):
        out["NextToken"] = base64.b64encode(("%s|%d" % (org["id"], start + mr)).encode()
                                            ).decode("ascii")
    return out


HANDLERS = {"ListAccounts": org_list_accounts,
            "DescribeOrganization": org_describe_organization}
