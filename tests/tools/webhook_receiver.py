#!/usr/bin/python3
"""webhook_receiver.py - a real HTTP server that records what the notifier's
webhooks POST, for the tests (stdlib http.server only).

  webhook_receiver.py serve PORT OUT [--fail-first N] [--status CODE]
      Listens on 127.0.0.1:PORT; appends one JSON line per request to OUT:
      {"n", "method", "path", "headers": {lowercased name: value},
       "body_hex", "status"}. Answers the first N requests with HTTP 500,
      the others with CODE (default 200). Prints "ready" once listening.

  webhook_receiver.py show OUT SECRET
      One JSON line per recorded request: {"n", "status", "path",
      "content_type", "signature", "signature_ok" (HMAC-SHA256 of the body
      with SECRET, recomputed here), "body" (parsed JSON), "raw" (the body
      as text)}.
"""
import hashlib
import hmac
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(args):
    port, out = int(args[0]), args[1]
    fail_first, status = 0, 200
    rest = args[2:]
    while rest:
        if rest[0] == "--fail-first":
            fail_first = int(rest[1])
        elif rest[0] == "--status":
            status = int(rest[1])
        else:
            print("unknown option %s" % rest[0], file=sys.stderr)
            return 2
        rest = rest[2:]
    lock = threading.Lock()
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                count[0] += 1
                n = count[0]
                code = 500 if n <= fail_first else status
                record = {"n": n, "method": self.command, "path": self.path,
                          "headers": {k.lower(): v for k, v in self.headers.items()},
                          "body_hex": body.hex(), "status": code}
                with open(out, "a") as f:
                    f.write(json.dumps(record) + "\n")
            reply = b"ok" if code < 300 else b"try again later"
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *a):
            sys.stderr.write("%s\n" % (fmt % a))

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()
    return 0


def show(args):
    out, secret = args[0], args[1].encode()
    with open(out) as f:
        for line in f:
            r = json.loads(line)
            body = bytes.fromhex(r["body_hex"])
            sig = r["headers"].get("x-crm-signature", "")
            want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            try:
                parsed = json.loads(body.decode("utf-8"))
            except ValueError:
                parsed = None
            print(json.dumps({"n": r["n"], "status": r["status"], "path": r["path"],
                              "content_type": r["headers"].get("content-type", ""),
                              "signature": sig, "signature_ok": hmac.compare_digest(sig, want),
                              "body": parsed, "raw": body.decode("utf-8", "replace")},
                             ensure_ascii=False))
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("serve", "show"):
        print(__doc__)
        return 2
    return serve(argv[2:]) if argv[1] == "serve" else show(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
