"""The Emulator (routing of API, SSO and control requests, the call log), the HTTP server
and main()."""

import argparse
import email.utils
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl

from .auth import AuthMixin
from .faults import Fault, FaultsMixin, _malform
from .model import (
    ApiError, _boto_ready, Clock, CONTROL_HANDLERS, CONTROL_HOOKS, gen_id, IAM_NS,
    _import_botocore, iso_dump, iso_z, json_message_key, JSON_TARGETS, JSON_VERSIONS,
    LoadError, QUERY_SERVICES, RECORD_HOOKS, REQUEST_CHECKS, TARGET_TO_SERVICE,
    validate_query_input, XML_FORMATS)
from .secretsmanager import SecretsMixin
from .ssm import SsmMixin
from .sso import SSO_ROUTES, _sso_token_dump, SsoMixin
from .state import StateMixin
from .wire import Ctx, _ErrResponse, Response, xml_error, xml_response
from . import iam, organizations, secretsmanager, ssm, sts


# --------------------------------------------------------------------------------------
# the emulator


class Emulator(StateMixin, AuthMixin, FaultsMixin, SsoMixin, SecretsMixin, SsmMixin):
    def __init__(self, config):
        self.lock = threading.RLock()
        self.log_lock = threading.Lock()
        self.clock = Clock()
        self.config = {"latency_ms": 0, "report_delay": 0.0, "propagation_delay": 0.0,
                       "rate_limit": None, "rate_burst": None, "date_format": "seconds",
                       "max_skew_seconds": 300, "log_limit": 50000,
                       # LookupEvents a second per account and region (CloudTrail: 2)
                       "cloudtrail_tps": None,
                       # tests of a damaged report: this text instead of the real CSV
                       "report_content": None}
        self.config.update({k: v for k, v in config.items() if v is not None})
        self.accounts = {}
        self.keys = {}
        self.sessions = {}
        self.org = None
        self.web_identities = {}
        self.sso_tokens = {}  # access token -> entry (see _sso_token_entry)
        self.sso_refresh = {}  # refresh token -> the same entry
        self.faults = []
        self.fault_seq = 0
        self.buckets = {}
        self.calls = []
        self.call_seq = 0
        self.counters = {}
        self.port = None

    # ---------------------------------------------------------------- call log

    def record(self, entry):
        with self.log_lock:
            self.call_seq += 1
            entry["seq"] = self.call_seq
            self.calls.append(entry)
            for hook in RECORD_HOOKS:
                hook(self, entry)
            lim = self.config.get("log_limit") or 0
            if lim and len(self.calls) > lim:
                del self.calls[:len(self.calls) - lim]
            name = "%s:%s" % (entry["service"], entry["action"])
            self.counters[name] = self.counters.get(name, 0) + 1

    # ---------------------------------------------------------------- request entry

    def handle_api(self, method, raw_path, raw_query, headers, body, client_host,
                   client_port=None):
        """Returns (Response, fault_or_None, log_entry)."""
        t0 = time.monotonic()
        lat = self.config.get("latency_ms") or 0
        if lat:
            time.sleep(lat / 1000.0)  # no lock held: threads sleep concurrently
        if not _boto_ready.is_set():
            _boto_ready.wait(30)
        ctx = Ctx.new(headers, body, client_port)
        fault = None
        try:
            query_pairs = parse_qsl(raw_query, keep_blank_values=True)
            target = headers.get("X-Amz-Target")
            # a first guess, so that even a malformed Authorization gets the right error shape
            ctx.service = TARGET_TO_SERVICE.get((target or "").split(".", 1)[0], "iam")
            auth = self._parse_auth(headers, query_pairs)
            service = auth["service"] if auth else None
            if service is None:
                if target and target.split(".", 1)[0] in TARGET_TO_SERVICE:
                    service = TARGET_TO_SERVICE[target.split(".", 1)[0]]
                else:
                    service = "sts"
                    form = self._form(headers, body, query_pairs)
                    if form.get("Version") == QUERY_SERVICES["iam"][0]:
                        service = "iam"
            ctx.service = service
            ctx.region = auth["region"] if auth else "us-east-1"
            if service in QUERY_SERVICES:
                params = self._form(headers, body, query_pairs)
                ctx.params = params
                ctx.action = params.get("Action")
            elif service in JSON_TARGETS:
                prefix = JSON_TARGETS[service]
                if target and target.startswith(prefix + "."):
                    ctx.action = target[len(prefix) + 1:]
                else:
                    ctx.action = None
            else:
                ctx.action = None
                raise ApiError("InvalidAction", "Service '%s' is not emulated by awsemu" % service,
                               400)
            # --- authentication
            if auth is None:
                if not (service == "sts" and ctx.action == "AssumeRoleWithWebIdentity"):
                    if service in QUERY_SERVICES:
                        raise ApiError("MissingAuthenticationToken",
                                       "Request is missing Authentication Token", 403)
                    raise ApiError("MissingAuthenticationTokenException",
                                   "Missing Authentication Token", 400)
            else:
                self._authenticate(ctx, method, raw_path, query_pairs, headers, body, auth)
            # --- protocol-level checks
            if service in QUERY_SERVICES:
                version = QUERY_SERVICES[service][0]
                if not ctx.action or ctx.params.get("Version") != version:
                    raise ApiError("InvalidAction", "Could not find operation %s for version %s"
                                   % (ctx.action or "", ctx.params.get("Version",
                                                                       "NO_VERSION_SPECIFIED")),
                                   400)
                if ctx.action not in HANDLERS.get(service, {}):
                    raise ApiError("InvalidAction", "Could not find operation %s for version %s"
                                   % (ctx.action, version), 400)
            else:
                if not ctx.action or ctx.action not in HANDLERS.get(service, {}):
                    raise ApiError("UnknownOperationException", None, 400)
                try:
                    ctx.params = json.loads(body.decode("utf-8") or "{}") if body else {}
                    if not isinstance(ctx.params, dict):
                        raise ValueError
                except ValueError:
                    raise ApiError("SerializationException", "Start of structure or map found "
                                   "where not expected.", 400)
            # --- rate limit, faults
            if ctx.principal is not None:
                self._rate_limit(ctx)
            fault = self._match_fault(service, ctx.action,
                                      ctx.principal.account.id if ctx.principal else None)
            if fault is not None:
                if fault.kind == "throttle":
                    raise self._throttle_error(service)
                if fault.kind == "server_error":
                    raise self._server_error(service)
                if fault.kind == "slow":
                    time.sleep((fault.delay_ms if fault.delay_ms is not None else 3000) / 1000.0)
                if fault.kind in ("reset", "truncate", "malformed") and fault.before:
                    # the action is not performed; the reply is an empty success, then damaged
                    resp = self._success(ctx, None)
                    return resp, fault, self._log_entry(ctx, 200, None, t0, fault)
            # --- dispatch
            handler = HANDLERS[service][ctx.action]
            with self.lock:
                ctx.now = self.clock.now()
                if service in QUERY_SERVICES:
                    validate_query_input(service, ctx.action, ctx.params)
                for check in REQUEST_CHECKS:
                    check(self, ctx)
                result = handler(self, ctx)
            resp = self._success(ctx, result)
        except ApiError as e:
            resp = self._error(ctx, e)
        entry = self._log_entry(ctx, resp.status, getattr(resp, "_code", None), t0, fault)
        return resp, fault, entry

    def _log_entry(self, ctx, status, code, t0, fault):
        p = ctx.principal
        logged = {}
        for k, v in (ctx.params or {}).items():
            if k in ("SecretString", "SecretBinary", "Value", "WebIdentityToken", "Action",
                     "Version"):
                continue
            logged[k] = v
        return {"time": iso_dump(self.clock.now()), "real_time": time.time(),
                "service": ctx.service, "action": ctx.action or "", "region": ctx.region,
                "account": p.account.id if p else ctx.account_id,
                "access_key_id": ctx.access_key_id, "principal": p.arn if p else None,
                "http_status": status, "error_code": code, "signature_ok": bool(ctx.signature_ok),
                "fault": fault.kind if fault else None, "request_id": ctx.request_id,
                "params": logged, "duration_ms": round((time.monotonic() - t0) * 1000.0, 3),
                # which connection (the client's port) and client: connection reuse and
                # the User-Agent are observable
                "client_port": getattr(ctx, "client_port", None),
                # STS: the key id of the credentials issued (CloudTrail's responseElements)
                "issued_key_id": getattr(ctx, "issued_key_id", None) if status == 200 else None,
                "user_agent": ctx.headers.get("User-Agent") if ctx.headers else None}

    @staticmethod
    def _form(headers, body, query_pairs):
        params = {}
        for k, v in query_pairs:
            if not k.startswith("X-Amz-"):
                params[k] = v
        ctype = (headers.get("Content-Type") or "").lower()
        if body and ("x-www-form-urlencoded" in ctype or not ctype):
            for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params[k] = v
        return params

    # ---------------------------------------------------------------- responses

    def _success(self, ctx, result):
        hdr = {"x-amzn-RequestId": ctx.request_id}
        if ctx.service in XML_FORMATS:
            body = XML_FORMATS[ctx.service][0](ctx, result)
            hdr["Content-Type"] = "text/xml;charset=UTF-8"
        elif ctx.service in QUERY_SERVICES:
            ns = QUERY_SERVICES[ctx.service][1]
            body = xml_response(ctx.action, ns, result, ctx.request_id)
            hdr["Content-Type"] = "text/xml"
        else:
            body = json.dumps(result if result is not None else {},
                              separators=(",", ":")).encode("utf-8")
            hdr["Content-Type"] = JSON_VERSIONS.get(ctx.service, ("application/x-amz-json-1.1",))[0]
        return Response(200, hdr, body)

    def _error(self, ctx, e):
        hdr = {"x-amzn-RequestId": ctx.request_id}
        hdr.update(e.headers)
        if ctx.service in JSON_TARGETS:
            if e.code in ("IncompleteSignature", "InvalidAction"):
                e.code = {"IncompleteSignature": "IncompleteSignatureException",
                          "InvalidAction": "UnknownOperationException"}[e.code]
                e.status = 400
            d = {"__type": e.code}
            if e.message is not None:
                d[json_message_key(ctx.service, e.code)] = e.message
            d.update(e.extra)
            hdr["Content-Type"] = "application/x-amz-json-1.1"
            hdr["x-amzn-ErrorType"] = e.code
            if ctx.service in JSON_VERSIONS:  # DynamoDB: the type in the body only
                hdr["Content-Type"], prefix = JSON_VERSIONS[ctx.service]
                d["__type"] = prefix + e.code
                del hdr["x-amzn-ErrorType"]
            body = json.dumps(d, separators=(",", ":")).encode("utf-8")
        elif ctx.service in XML_FORMATS:
            body = XML_FORMATS[ctx.service][1](ctx, e)
            hdr["Content-Type"] = "text/xml;charset=UTF-8"
        else:
            ns = QUERY_SERVICES.get(ctx.service, (None, IAM_NS))[1]
            body = xml_error(ns, e.code, e.message, e.sender, ctx.request_id)
            hdr["Content-Type"] = "text/xml"
        return _ErrResponse(e.status, hdr, body, e.code)

    # ---------------------------------------------------------------- helpers for handlers

    def fmt_date(self, dt):
        return iso_z(dt, millis=self.config.get("date_format") == "millis")

    def new_key_id(self, prefix="AKIA"):
        while True:
            kid = gen_id(prefix, 16)
            if kid not in self.keys and kid not in self.sessions:
                return kid


# the handlers by service and action, assembled from the service modules; the services in
# their own files outside the package add theirs when __init__.py registers them
HANDLERS = {
    "iam": iam.HANDLERS,
    "sts": sts.HANDLERS,
    "secretsmanager": secretsmanager.HANDLERS,
    "ssm": ssm.HANDLERS,
    "organizations": organizations.HANDLERS,
}


# --------------------------------------------------------------------------------------
# HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every keep-alive reply.
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server_version = "awsemu"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("awsemu: %s %s\n" % (self.address_string(), fmt % args))

    def date_time_string(self, timestamp=None):
        """The Date header follows the emulated clock, as AWS's follows its own."""
        if timestamp is None:
            timestamp = self.server.emu.clock.now().timestamp()
        return email.utils.formatdate(timestamp, usegmt=True)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        raw_path, _, raw_query = self.path.partition("?")
        emu = self.server.emu
        if raw_path.startswith("/_emu/") or raw_path == "/_emu":
            return self._control(raw_path, raw_query, body)
        if raw_path in SSO_ROUTES:
            resp, fault, entry = emu.handle_sso(self.command, raw_path, raw_query, self.headers,
                                                body, client_port=self.client_address[1])
        else:
            resp, fault, entry = emu.handle_api(self.command, raw_path, raw_query,
                                                self.headers, body, self.client_address[0],
                                                client_port=self.client_address[1])
        body_out = resp.body
        # the call is logged before the reply goes out, so a client that has its answer
        # always finds its call in the log
        if fault is not None and fault.kind == "reset":
            entry["http_status"] = 0
            entry["error_code"] = "ConnectionReset"
            emu.record(entry)
            self._reset()
            return
        if fault is not None and fault.kind == "truncate":
            entry["error_code"] = "TruncatedBody"
        emu.record(entry)
        if fault is not None and fault.kind == "malformed" and resp.status == 200:
            body_out = _malform(resp.body, resp.headers.get("Content-Type", ""))
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body_out)))
        if fault is not None and fault.kind == "truncate":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body_out[:max(1, len(body_out) // 2)])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body_out)

    def _reset(self):
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _handle

    def _json(self, status, obj):
        body = json.dumps(obj, indent=None, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, path, query, body):
        emu = self.server.emu
        if self.client_address[0] not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return self._json(403, {"error": "control endpoints are loopback-only"})
        q = dict(parse_qsl(query))
        m = self.command
        try:
            data = json.loads(body.decode("utf-8")) if body else {}
        except ValueError as e:
            return self._json(400, {"error": "bad JSON: %s" % e})
        try:
            if path == "/_emu/health":
                return self._json(200, {"ok": True, "pid": os.getpid(), "port": emu.port,
                                        "botocore": _boto_ready.is_set()})
            if path == "/_emu/state":
                if m == "GET":
                    return self._json(200, emu.dump())
                if m in ("POST", "PUT"):
                    return self._json(200, dict(emu.load(data), ok=True))
            if path == "/_emu/clock":
                if m in ("POST", "PUT"):
                    with emu.lock:
                        emu.clock.set(data.get("offset_seconds"), data.get("now"),
                                      data.get("advance_seconds"))
                with emu.lock:
                    return self._json(200, emu.clock.info())
            if path == "/_emu/calls":
                if m == "DELETE":
                    with emu.log_lock:
                        emu.calls = []
                        emu.counters = {}
                    return self._json(200, {"ok": True})
                since = int(q.get("since", 0))
                with emu.log_lock:
                    calls = [c for c in emu.calls if c["seq"] > since] if since else \
                        list(emu.calls)
                return self._json(200, calls)
            if path == "/_emu/calls/reset" and m == "POST":
                with emu.log_lock:
                    emu.calls = []
                    emu.counters = {}
                return self._json(200, {"ok": True})
            if path == "/_emu/counters":
                with emu.log_lock:
                    return self._json(200, dict(emu.counters))
            if path == "/_emu/faults":
                if m == "DELETE":
                    with emu.lock:
                        emu.faults = []
                    return self._json(200, {"ok": True})
                if m in ("POST", "PUT"):
                    specs = data if isinstance(data, list) else [data]
                    ids = []
                    with emu.lock:
                        for spec in specs:
                            emu.fault_seq += 1
                            emu.faults.append(Fault(emu.fault_seq, spec))
                            ids.append(emu.fault_seq)
                    return self._json(200, {"ok": True, "ids": ids})
                with emu.lock:
                    return self._json(200, [f.dump() for f in emu.faults])
            if path == "/_emu/faults/clear" and m == "POST":
                with emu.lock:
                    emu.faults = []
                return self._json(200, {"ok": True})
            if path in CONTROL_HANDLERS:
                return self._json(200, CONTROL_HANDLERS[path](emu, m, data, q))
            if path == "/_emu/config":
                if m in ("POST", "PUT"):
                    with emu.lock:
                        for k, v in data.items():
                            if k not in emu.config:
                                raise LoadError("unknown config key %r" % k)
                            emu.config[k] = v
                        emu.buckets = {}
                with emu.lock:
                    return self._json(200, dict(emu.config))
            if path == "/_emu/sso/tokens":
                if m == "DELETE":
                    with emu.lock:
                        emu.sso_tokens = {}
                        emu.sso_refresh = {}
                    return self._json(200, {"ok": True})
                if m in ("POST", "PUT"):
                    specs = data if isinstance(data, list) else [data]
                    return self._json(200, {"ok": True, "tokens": emu.add_sso_tokens(specs)})
                with emu.lock:
                    return self._json(200, [_sso_token_dump(e) for e in emu.sso_tokens.values()])
            for hook in CONTROL_HOOKS:
                r = hook(emu, m, path, data)
                if r is not None:
                    return self._json(*r)
            if path == "/_emu/keys/propagate" and m == "POST":
                with emu.lock:
                    for k in emu.keys.values():
                        k.ready_at = 0.0
                return self._json(200, {"ok": True})
            return self._json(404, {"error": "no such control endpoint: %s %s" % (m, path)})
        except (LoadError, KeyError, TypeError, ValueError) as e:
            return self._json(400, {"error": "%s: %s" % (type(e).__name__, e)})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    verbose = False


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local AWS emulator for iamkeys tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", help="fixture JSON file to load at startup")
    ap.add_argument("--latency-ms", type=float, default=None)
    ap.add_argument("--port-file")
    ap.add_argument("--report-delay", type=float, default=None)
    ap.add_argument("--propagation-delay", type=float, default=None)
    ap.add_argument("--rate-limit", type=float, default=None)
    ap.add_argument("--rate-burst", type=float, default=None)
    ap.add_argument("--cloudtrail-tps", type=float, default=None,
                    help="LookupEvents a second per account and region (default 2, as AWS)")
    ap.add_argument("--clock-offset", type=float, default=None,
                    help="start with the emulated clock this many seconds ahead")
    ap.add_argument("--now", help="start with the emulated clock at this ISO 8601 time")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)

    cli_cfg = {"latency_ms": a.latency_ms, "report_delay": a.report_delay,
               "propagation_delay": a.propagation_delay, "rate_limit": a.rate_limit,
               "rate_burst": a.rate_burst, "cloudtrail_tps": a.cloudtrail_tps}
    emu = Emulator(cli_cfg)
    if a.clock_offset is not None or a.now:
        emu.clock.set(a.clock_offset, a.now)
    if a.state:
        with open(a.state) as f:
            emu.load(json.load(f))
        for k, v in cli_cfg.items():  # explicit flags win over fixture settings
            if v is not None:
                emu.config[k] = v
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.emu = emu
    srv.verbose = a.verbose
    emu.port = srv.server_address[1]
    if a.port_file:
        tmp = "%s.tmp.%d" % (a.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % emu.port)
        os.replace(tmp, a.port_file)
    sys.stdout.write("awsemu listening on 127.0.0.1:%d\n" % emu.port)
    sys.stdout.flush()
    # botocore takes ~0.4 s to import: after the port is reported, while the client starts
    threading.Thread(target=_import_botocore, daemon=True).start()

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0
