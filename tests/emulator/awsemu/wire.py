"""Wire helpers: the request context, responses, awsQuery XML, pagination markers."""

import base64
import dataclasses
import uuid

from .model import ApiError


def _xml_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclasses.dataclass(slots=True, eq=False)
class Ctx:
    """One request's context: set up before routing and authentication (new), filled in
    by them and by the handler."""
    headers: dict
    body: bytes
    client_port: int
    service: str = None
    action: str = None
    request_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))
    region: str = None
    params: dict = dataclasses.field(default_factory=dict)
    principal: object = None
    now: object = None
    access_key_id: str = None
    signature_ok: bool = False
    account_id: str = None
    issued_key_id: str = None

    @classmethod
    def new(cls, headers, body, client_port, service=None, action=None):
        """One request's context, before routing and authentication."""
        return cls(headers, body, client_port, service=service, action=action)


@dataclasses.dataclass(slots=True, eq=False)
class Response:
    status: int
    headers: dict
    body: bytes


# --------------------------------------------------------------------------------------
# XML


def _ser(out, tag, val, ind):
    pad = "  " * ind
    if val is None:
        return
    if isinstance(val, list):
        if not val:
            out.append("%s<%s/>\n" % (pad, tag))
            return
        out.append("%s<%s>\n" % (pad, tag))
        for t, v in val:
            _ser(out, t, v, ind + 1)
        out.append("%s</%s>\n" % (pad, tag))
    else:
        if isinstance(val, bool):
            val = "true" if val else "false"
        out.append("%s<%s>%s</%s>\n" % (pad, tag, _xml_escape(str(val)), tag))


def xml_response(action, ns, result, request_id):
    out = ['<%sResponse xmlns="%s">\n' % (action, ns)]
    if result is not None:
        _ser(out, action + "Result", result, 1)
    out.append("  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n"
               % request_id)
    out.append("</%sResponse>\n" % action)
    return "".join(out).encode("utf-8")


def xml_error(ns, code, message, sender, request_id):
    out = ['<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
           % (ns, "Sender" if sender else "Receiver", _xml_escape(code))]
    if message is not None:
        out.append("    <Message>%s</Message>\n" % _xml_escape(message))
    out.append("  </Error>\n  <RequestId>%s</RequestId>\n</ErrorResponse>\n" % request_id)
    return "".join(out).encode("utf-8")


class _ErrResponse(Response):
    __slots__ = ("_code",)

    def __init__(self, status, headers, body, code):
        super().__init__(status, headers, body)
        self._code = code


def _incomplete(msg):
    e = ApiError("IncompleteSignature", msg, 400)
    return e


# --------------------------------------------------------------------------------------
# IAM


def _paginate(ctx, items, kind):
    """Index-based pagination over a small list. Returns (page, truncated, marker)."""
    p = ctx.params
    max_items = int(p.get("MaxItems", 100))
    start = 0
    if "Marker" in p:
        start = _decode_marker(p["Marker"], kind)
    page = items[start:start + max_items]
    nxt = start + len(page)
    if nxt < len(items):
        return page, True, _encode_marker(kind, str(nxt))
    return page, False, None


def _encode_marker(kind, value):
    raw = ("%s\x00%s" % (kind, value)).encode("utf-8")
    return base64.b64encode(b"\x01" + raw).decode("ascii")


def _decode_marker(marker, kind):
    try:
        raw = base64.b64decode(marker.encode("ascii"), validate=True)
        if raw[:1] != b"\x01":
            raise ValueError
        k, _, v = raw[1:].decode("utf-8").partition("\x00")
        if k != kind:
            raise ValueError
        return int(v) if kind != "users" else v
    except (ValueError, UnicodeError):
        raise ApiError("ValidationError", "Invalid Marker: %s" % marker, 400)
