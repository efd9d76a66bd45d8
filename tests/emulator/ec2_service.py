"""Amazon EC2 for awsemu: DescribeRegions, the call behind iamkeys' --regions all.

The EC2 query protocol (version 2016-11-15): an awsQuery form (Action=DescribeRegions&
Version=2016-11-15, RegionName.N, AllRegions) signed for "ec2" in any region, answered with
EC2's own XML, no Result wrapper and a lower-case requestId:

  <DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>...</requestId>
    <regionInfo><item><regionName>eu-west-1</regionName>
      <regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint>
      <optInStatus>opt-in-not-required</optInStatus></item>...</regionInfo>
  </DescribeRegionsResponse>

and errors as <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
</Response>. A principal whose allow-list lacks ec2:DescribeRegions gets
UnauthorizedOperation (403), as EC2 answers, not AccessDenied.

The regions enabled for the accounts are the 17 that need no opt-in, unless a fixture's
"ec2_regions" (or an account's own "ec2_regions" in the fixture, for that account's
principals) or the control path says otherwise: GET /_emu/ec2/regions returns
{"enabled": [...]}, PUT/POST with {"enabled": [...]} sets them. AllRegions=true adds the
opt-in regions that are not enabled, as not-opted-in.

Self-contained: awsemu/__init__.py registers it with register(module).
"""
SERVICE = "ec2"
VERSION = "2016-11-15"
NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

DEFAULT = ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
           "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1",
           "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
           "us-west-2"]
OPT_IN = ["af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "eu-south-1",
          "eu-central-2", "me-south-1", "me-central-1", "il-central-1"]

_ApiError = None  # awsemu.ApiError, set by register()
_esc = None


def _enabled(emu):
    r = getattr(emu, "ec2_regions", None)
    if r is None:
        r = emu.ec2_regions = list(DEFAULT)
    return r


def describe_regions(emu, ctx):
    try:
        emu.authorize(ctx, "*")
    except _ApiError:
        raise _ApiError("UnauthorizedOperation", "You are not authorized to perform this "
                        "operation. User: %s is not authorized to perform: ec2:DescribeRegions "
                        "because no identity-based policy allows the ec2:DescribeRegions action"
                        % ctx.principal.arn, 403)
    p = ctx.params
    if any(k.startswith("Filter.") for k in p):
        raise _ApiError("InvalidParameterValue", "awsemu: DescribeRegions filters are not "
                        "emulated", 400)
    all_regions = str(p.get("AllRegions", "false")).lower() == "true"
    own = getattr(emu, "ec2_account_regions", {})
    enabled = own.get(ctx.principal.account.id) or _enabled(emu)
    out = [(r, "opt-in-not-required" if r in DEFAULT else "opted-in") for r in enabled]
    if all_regions:
        out += [(r, "not-opted-in") for r in OPT_IN if r not in enabled]
    names = [v for k, v in sorted(p.items()) if k.startswith("RegionName.")]
    if names:
        known = dict(out)
        for n in names:
            if n not in known:
                raise _ApiError("InvalidParameterValue", "Invalid region: %s" % n, 400)
        out = [(n, known[n]) for n in names]
    return out


def success(ctx, result):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<%sResponse xmlns="%s">\n'
           '    <requestId>%s</requestId>\n    <regionInfo>\n' % (ctx.action, NS, ctx.request_id)]
    for name, status in result or []:
        out.append("        <item>\n            <regionName>%s</regionName>\n"
                   "            <regionEndpoint>ec2.%s.amazonaws.com</regionEndpoint>\n"
                   "            <optInStatus>%s</optInStatus>\n        </item>\n"
                   % (_esc(name), _esc(name), status))
    out.append("    </regionInfo>\n</%sResponse>\n" % ctx.action)
    return "".join(out).encode("utf-8")


def error(ctx, e):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
            '<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>'
            % (_esc(e.code), _esc(e.message or ""), ctx.request_id)).encode("utf-8")


def server_error():
    return _ApiError("InternalError", "An internal error has occurred", 500, sender=False)


def load_hook(emu, fx):
    emu.ec2_regions = list(fx.get("ec2_regions") or DEFAULT)
    # an account of the fixture may have its own ("ec2_regions" in the account)
    emu.ec2_account_regions = {a["id"]: list(a["ec2_regions"]) for a in fx.get("accounts", [])
                               if a.get("ec2_regions")}


def control_regions(emu, method, data, query):
    if method in ("POST", "PUT"):
        regions = (data or {}).get("enabled")
        if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
            return {"error": "expected {\"enabled\": [region, ...]}"}
        with emu.lock:
            emu.ec2_regions = list(regions)
    with emu.lock:
        return {"enabled": list(_enabled(emu))}


HANDLERS = {"DescribeRegions": describe_regions}


def register(awsemu):
    """Adds the service to awsemu's routing tables."""
    global _ApiError, _esc
    _ApiError = awsemu.ApiError
    _esc = awsemu._xml_escape
    awsemu.QUERY_SERVICES[SERVICE] = (VERSION, NS)
    awsemu.XML_FORMATS[SERVICE] = (success, error)
    awsemu.HANDLERS[SERVICE] = HANDLERS
    awsemu.SERVER_ERRORS[SERVICE] = server_error
    awsemu.LOAD_HOOKS.append(load_hook)
    awsemu.CONTROL_HANDLERS["/_emu/ec2/regions"] = control_regions
