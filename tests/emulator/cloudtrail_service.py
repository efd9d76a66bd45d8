"""CloudTrail for awsemu: the management events of every request, and LookupEvents.

Every authenticated request the emulator answers is recorded as a CloudTrail
management event of the principal's account, in the region it was signed for
(IAM and Organizations: us-east-1), with eventTime (the emulator's clock),
eventSource (<service>.amazonaws.com), eventName, awsRegion, sourceIPAddress
(127.0.0.1), userAgent, userIdentity (type, principalId, arn, accountId,
accessKeyId, userName), requestID, eventID and errorCode/errorMessage.

LookupEvents (JSON 1.1, X-Amz-Target
com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents) answers as
AWS does: at most one LookupAttributes entry (AccessKeyId, EventName,
EventSource, Username, EventId, ReadOnly), StartTime/EndTime in epoch seconds,
MaxResults 1 to 50 (default 50), NextToken, newest first, each event's
CloudTrailEvent a JSON string; events older than 90 days are gone. At most 2
requests per second per account and region: ThrottlingException beyond.

Control (loopback): POST /_emu/cloudtrail/events with a list of events to add
({"access_key_id", "event_name", "event_source", "region", "source_ip",
"user_agent", "time": ISO 8601 or "-2d"/"-3h", "account", "user_name",
"error_code", "response_elements", "cloudtrail_event": a raw string that
replaces the JSON}); GET lists them; DELETE forgets them all. A fixture load
starts with none.
"""
import datetime
import json
import re
import threading
import uuid

SERVICE = "cloudtrail"
TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
RATE = 2.0  # LookupEvents requests per second per account and region
RETENTION_DAYS = 90
ATTRIBUTES = ("AccessKeyId", "EventName", "EventSource", "Username", "EventId", "ReadOnly",
              "ResourceType", "ResourceName")

_ApiError = None  # awsemu.ApiError, set by register()
_awsemu = None
_lock = threading.Lock()


def _state(emu):
    st = getattr(emu, "cloudtrail", None)
    if st is None:
        st = emu.cloudtrail = {"events": [], "buckets": {}, "seq": 0}
    return st


def _utc(dt):
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.timezone.utc)


def _iso(dt):
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(emu, v):
    if v is None:
        return _utc(emu.clock.now())
    m = re.fullmatch(r"-(\d+)([dhms])", str(v))
    if m:
        mult = {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
        return _utc(emu.clock.now()) - datetime.timedelta(seconds=int(m.group(1)) * mult)
    v = re.sub(r"\.\d+Z$", "Z", str(v))  # the call log's times have microseconds
    return datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def _event(emu, spec):
    """One stored event from a spec (recorded or injected)."""
    st = _state(emu)
    st["seq"] += 1
    when = _parse_time(emu, spec.get("time")).replace(microsecond=0)  # as CloudTrail's
    key = spec.get("access_key_id")
    account = spec.get("account") or next(iter(emu.accounts), "123456789012")
    user = spec.get("user_name")
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": spec.get("identity_type", "IAMUser"),
                         "principalId": spec.get("principal_id", "AIDAEMULATOR"),
                         "arn": spec.get("arn") or ("arn:aws:iam::%s:user/%s" % (account, user)
                                                    if user else None),
                         "accountId": account, "accessKeyId": key, "userName": user},
        "eventTime": _iso(when),
        "eventSource": spec.get("event_source", "iam.amazonaws.com"),
        "eventName": spec.get("event_name", "GetUser"),
        "awsRegion": spec.get("region", "us-east-1"),
        "sourceIPAddress": spec.get("source_ip", "127.0.0.1"),
        "userAgent": spec.get("user_agent") or "",
        "requestParameters": spec.get("request_parameters"),
        "responseElements": spec.get("response_elements"),
        "requestID": spec.get("request_id") or str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": bool(spec.get("read_only", True)),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }
    if spec.get("error_code"):
        detail["errorCode"] = spec["error_code"]
        detail["errorMessage"] = spec.get("error_message", "")
    raw = spec.get("cloudtrail_event")
    return {"seq": st["seq"], "time": when, "account": account, "region": detail["awsRegion"],
            "detail": detail, "raw": raw if raw is not None else json.dumps(detail)}


def record_hook(emu, entry):
    """Every authenticated request becomes a management event."""
    if not entry.get("access_key_id") or not entry.get("signature_ok") or not entry.get("action"):
        return
    principal = entry.get("principal") or ""
    user = principal.rsplit("/", 1)[-1] if ":user/" in principal else None
    region = entry.get("region") or "us-east-1"
    if entry.get("service") in _awsemu.GLOBAL_REGION_SERVICES:
        region = "us-east-1"
    ev = _event(emu, {
        "access_key_id": entry["access_key_id"], "account": entry.get("account"),
        "user_name": user, "arn": principal or None,
        "identity_type": "IAMUser" if user else "AssumedRole",
        "event_source": "%s.amazonaws.com" % entry.get("service"),
        "event_name": entry["action"], "region": region,
        "user_agent": entry.get("user_agent"), "request_id": entry.get("request_id"),
        "error_code": entry.get("error_code"), "time": entry.get("time"),
        "read_only": entry["action"].startswith(("Get", "List", "Describe", "Lookup")),
        "response_elements": ({"credentials": {"accessKeyId": entry["issued_key_id"]}}
                              if entry.get("issued_key_id") else None),
    })
    with _lock:
        _state(emu)["events"].append(ev)


def load_hook(emu, fx):
    with _lock:
        emu.cloudtrail = {"events": [], "buckets": {}, "seq": 0}
        for spec in fx.get("cloudtrail_events", []):
            emu.cloudtrail["events"].append(_event(emu, spec))


def control_events(emu, method, data, query):
    st = _state(emu)
    if method == "DELETE":
        with _lock:
            st["events"] = []
        return {"ok": True}
    if method in ("POST", "PUT"):
        specs = data if isinstance(data, list) else [data]
        with _lock:
            for spec in specs:
                st["events"].append(_event(emu, spec))
        return {"ok": True, "count": len(specs)}
    with _lock:
        return [dict(e["detail"], _raw=e["raw"]) for e in st["events"]]


def _epoch(v, name):
    if isinstance(v, (int, float)):
        return datetime.datetime.fromtimestamp(v, datetime.timezone.utc)
    if isinstance(v, str):
        try:
            return datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    raise _ApiError("InvalidTimeRangeException", "Invalid %s" % name, 400)


def _matches(ev, attr):
    if attr is None:
        return True
    k, v = attr
    d = ev["detail"]
    if k == "AccessKeyId":
        return d["userIdentity"].get("accessKeyId") == v
    if k == "EventName":
        return d["eventName"] == v
    if k == "EventSource":
        return d["eventSource"] == v
    if k == "Username":
        return d["userIdentity"].get("userName") == v
    if k == "EventId":
        return d["eventID"] == v
    if k == "ReadOnly":
        return str(d["readOnly"]).lower() == v.lower()
    return False


def lookup_events(emu, ctx):
    emu.authorize(ctx, "*")
    p = ctx.params
    account = ctx.principal.account.id
    st = _state(emu)
    with _lock:
        b = st["buckets"].get((account, ctx.region))
        if b is None:
            # the rate limit's token bucket (awsemu/faults.py), its burst one second's worth
            rate = float(emu.config.get("cloudtrail_tps") or RATE)
            b = st["buckets"][(account, ctx.region)] = _awsemu.Bucket(rate, rate)
        ok = b.take()
    if not ok:
        raise _ApiError("ThrottlingException", "Rate exceeded", 400)
    attrs = p.get("LookupAttributes") or []
    if not isinstance(attrs, list) or len(attrs) > 1:
        raise _ApiError("InvalidLookupAttributesException",
                        "You cannot specify more than one lookup attribute", 400)
    attr = None
    if attrs:
        a = attrs[0]
        if not isinstance(a, dict) or a.get("AttributeKey") not in ATTRIBUTES or \
                not a.get("AttributeValue"):
            raise _ApiError("InvalidLookupAttributesException", "Invalid lookup attribute", 400)
        attr = (a["AttributeKey"], a["AttributeValue"])
    now = _utc(ctx.now)
    start = _epoch(p["StartTime"], "StartTime") if "StartTime" in p else None
    end = _epoch(p["EndTime"], "EndTime") if "EndTime" in p else now
    if start is not None and start > end:
        raise _ApiError("InvalidTimeRangeException",
                        "Start time must be before end time", 400)
    limit = p.get("MaxResults", 50)
    if not isinstance(limit, int) or not 1 <= limit <= 50:
        raise _ApiError("InvalidMaxResultsException", "MaxResults must be 1 to 50", 400)
    oldest = now - datetime.timedelta(days=RETENTION_DAYS)
    with _lock:
        found = [e for e in st["events"]
                 if e["account"] == account and e["region"] == ctx.region
                 and e["time"] >= oldest and (start is None or e["time"] >= start)
                 and e["time"] <= end and _matches(e, attr)]
    found.sort(key=lambda e: (e["time"], e["seq"]), reverse=True)
    offset = 0
    token = p.get("NextToken")
    if token is not None:
        m = re.fullmatch(r"emu-(\d+)", str(token))
        if not m:
            raise _ApiError("InvalidNextTokenException", "Invalid NextToken", 400)
        offset = int(m.group(1))
    page = found[offset:offset + limit]
    out = {"Events": [{
        "EventId": e["detail"]["eventID"], "EventName": e["detail"]["eventName"],
        "ReadOnly": str(e["detail"]["readOnly"]).lower(),
        "AccessKeyId": e["detail"]["userIdentity"].get("accessKeyId"),
        "EventTime": e["time"].timestamp(), "EventSource": e["detail"]["eventSource"],
        "Username": e["detail"]["userIdentity"].get("userName"),
        "Resources": [], "CloudTrailEvent": e["raw"]} for e in page]}
    if offset + limit < len(found):
        out["NextToken"] = "emu-%d" % (offset + limit)
    return out


HANDLERS = {"LookupEvents": lookup_events}


def register(awsemu):
    """Adds the service, the recording hook and the control path to awsemu."""
    global _ApiError, _awsemu
    _ApiError = awsemu.ApiError
    _awsemu = awsemu
    awsemu.JSON_TARGETS[SERVICE] = TARGET_PREFIX
    awsemu.TARGET_TO_SERVICE[TARGET_PREFIX] = SERVICE
    awsemu.HANDLERS[SERVICE] = HANDLERS
    awsemu.RECORD_HOOKS.append(record_hook)
    awsemu.LOAD_HOOKS.append(load_hook)
    awsemu.CONTROL_HANDLERS["/_emu/cloudtrail/events"] = control_events
