"""A local HTTPS webhook receiver for tests of --notify webhook:https://...

    with WebhookReceiver(tmpdir) as hook:
        env["AWS_CA_BUNDLE"] = hook.ca_file      # iamkeys trusts the test CA
        ... iamkeys rotate --notify webhook:%s ... % hook.url
        hook.bodies()                             # the JSON bodies POSTed, in order
        hook.fail_with(500)                       # later POSTs answer 500 (None: 200 again)

At start it makes a throwaway CA and a server certificate for 127.0.0.1 and
localhost with openssl(1) in tmpdir, then serves TLS on an ephemeral loopback
port in a thread. Every POST is recorded (path, headers, raw body) whatever the
answer; anything else is 405.
"""
import json
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _openssl(*args, cwd):
    subprocess.run(("openssl",) + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(directory):
    """(ca.pem, server.pem, server.key) in directory: a CA and a cert it signed for 127.0.0.1."""
    d = directory
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=iamkeys test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
             cwd=d)
    return (os.path.join(d, "ca.pem"), os.path.join(d, "server.pem"),
            os.path.join(d, "server.key"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        hook = self.server.hook
        with hook.lock:
            hook.requests.append({"path": self.path, "headers": dict(self.headers.items()),
                                  "body": body})
            status = hook.status
        out = b"ok" if status == 200 else b"error"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _refuse(self):
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_PUT = do_DELETE = _refuse


class WebhookReceiver:
    def __init__(self, directory, path="/hook/T000/B000"):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.path = path
        self.lock = threading.Lock()
        self.requests = []
        self.status = 200
        self._server = None

    def start(self):
        self.ca_file, cert, key = make_ca(self.directory)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.daemon_threads = True
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        srv.hook = self
        self._server = srv
        self.port = srv.server_address[1]
        self.url = "https://127.0.0.1:%d%s" % (self.port, self.path)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def fail_with(self, status):
        with self.lock:
            self.status = status or 200

    def raw_bodies(self):
        with self.lock:
            return [r["body"] for r in self.requests]

    def bodies(self):
        return [json.loads(b.decode("utf-8")) for b in self.raw_bodies()]

    def reset(self):
        with self.lock:
            del self.requests[:]
