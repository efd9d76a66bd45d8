"""Amazon SNS for awsemu: Publish, the call iamkeys' --notify sns:TOPIC_ARN makes.

awsQuery (Action=Publish&Version=2010-03-31), signed for "sns" in the region of
the endpoint. A topic is any well-formed ARN arn:<partition>:sns:<region>:<account>:<name>
of the caller's account in the request's region (AWS: "You can publish messages only
to topics and endpoints in the same Amazon Web Services Region"); another account or
region is NotFound, a malformed ARN InvalidParameter. MessageAttributes arrive as
MessageAttributes.entry.N.Name / .Value.DataType / .Value.StringValue.

Each published message is recorded, in order: GET /_emu/sns/messages returns
{"messages": [{"MessageId", "TopicArn", "Subject", "Message", "MessageAttributes":
{name: {"DataType", "StringValue"}}, "region", "access_key_id"}]};
POST /_emu/sns/messages/reset clears them. Faults apply as to any service
(service "sns", action "Publish"): server_error answers InternalError 500.

Self-contained: awsemu/__init__.py registers it with register(module).
"""
import re
import uuid

SERVICE = "sns"
VERSION = "2010-03-31"
NS = "http://sns.amazonaws.com/doc/2010-03-31/"
MAX_MESSAGE = 262144

_ApiError = None  # awsemu.ApiError, set by register()

_ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):sns:([a-z0-9-]+):(\d{12}):"
                  r"([A-Za-z0-9_-]{1,256}(\.fifo)?)")


def _messages(emu):
    m = getattr(emu, "sns_messages", None)
    if m is None:
        m = emu.sns_messages = []
    return m


def _attributes(params):
    attrs = {}
    n = 1
    while "MessageAttributes.entry.%d.Name" % n in params:
        p = "MessageAttributes.entry.%d." % n
        name = params[p + "Name"]
        dtype = params.get(p + "Value.DataType")
        value = params.get(p + "Value.StringValue")
        if not name or not dtype:
            raise _ApiError("ParameterValueInvalid", "The message attribute '%s' must contain "
                            "non-empty message attribute value and type." % name, 400)
        if dtype.split(".")[0] not in ("String", "Number", "Binary"):
            raise _ApiError("ParameterValueInvalid", "The message attribute '%s' has an invalid "
                            "message attribute type, the set of supported type prefixes is "
                            "Binary, Number, and String." % name, 400)
        if dtype.startswith(("String", "Number")) and not value:
            raise _ApiError("ParameterValueInvalid", "The message attribute '%s' must contain "
                            "non-empty message attribute value for message attribute type '%s'."
                            % (name, dtype), 400)
        if name in attrs:
            raise _ApiError("ParameterValueInvalid", "The message attribute '%s' is duplicated."
                            % name, 400)
        attrs[name] = {"DataType": dtype, "StringValue": value}
        n += 1
    if len(attrs) > 10:
        raise _ApiError("InvalidParameter", "Invalid parameter: MessageAttributes: too many "
                        "attributes (at most 10)", 400)
    return attrs


def sns_publish(emu, ctx):
    p = ctx.params
    arn = p.get("TopicArn") or p.get("TargetArn")
    if not arn:
        raise _ApiError("InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: "
                        "no value for required parameter", 400)
    m = _ARN.fullmatch(arn)
    if not m:
        raise _ApiError("InvalidParameter", "Invalid parameter: TopicArn", 400)
    account = ctx.principal.account.id if ctx.principal else None
    if m.group(2) != ctx.region or m.group(3) != account:
        raise _ApiError("NotFound", "Topic does not exist", 404)
    msg = p.get("Message")
    if not msg:
        raise _ApiError("InvalidParameter", "Invalid parameter: Empty message", 400)
    if len(msg.encode("utf-8")) > MAX_MESSAGE:
        raise _ApiError("InvalidParameter", "Invalid parameter: Message too long", 400)
    subject = p.get("Subject")
    if subject is not None and (len(subject) >= 100 or any(ord(c) < 32 or ord(c) > 126
                                                           for c in subject)):
        raise _ApiError("InvalidParameter", "Invalid parameter: Subject", 400)
    attrs = _attributes(p)
    mid = str(uuid.uuid4())
    _messages(emu).append({"MessageId": mid, "TopicArn": arn, "Subject": subject,
                           "Message": msg, "MessageAttributes": attrs, "region": ctx.region,
                           "access_key_id": getattr(ctx, "access_key_id", None)})
    return [("MessageId", mid)]


def server_error():
    return _ApiError("InternalError", "Internal Error", 500, sender=False)


def control(emu, method, path, data):
    """(status, json) for /_emu/sns/..., or None when path is not ours."""
    if path == "/_emu/sns/messages" and method == "GET":
        with emu.lock:
            return 200, {"messages": list(_messages(emu))}
    if path == "/_emu/sns/messages/reset" and method == "POST":
        with emu.lock:
            del _messages(emu)[:]
        return 200, {"ok": True}
    return None


HANDLERS = {"Publish": sns_publish}


def register(awsemu):
    """Adds the service to awsemu's routing tables."""
    global _ApiError
    _ApiError = awsemu.ApiError
    awsemu.QUERY_SERVICES[SERVICE] = (VERSION, NS)
    awsemu.HANDLERS[SERVICE] = HANDLERS
    awsemu.SERVER_ERRORS[SERVICE] = server_error
    awsemu.CONTROL_HOOKS.append(control)
