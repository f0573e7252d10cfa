#!/usr/bin/python3
"""bus.py - a test tool that speaks the CRM bus with raw sockets.

Run with Debian's /usr/bin/python3 (python3-zmq, python3-protobuf). The
protobuf classes come from build/gen/py (tests/run.sh generates them), or
from $CRM_PY_GEN.

  bus.py status ENDPOINT [--wait S] [--pid PID] [--service NAME]
      Sends Status to a command endpoint until a StatusReply comes back
      (resending every second) and prints it as one JSON line. With --pid,
      gives up as soon as that process has exited. Exit 0 on an answer.

  bus.py command ENDPOINT (--raw-hex HEX | --type T [--payload-hex HEX]
                           [--pad N]) [--timeout MS]
      Sends one command frame and prints the Reply as JSON:
      {"command_id", "type", "error": {"code", "message", "fields", "retryable"}}.
      --raw-hex sends those bytes as the body; --pad adds an unknown field of
      N bytes (to make a command too large). Exit 0 if any Reply came back.

  bus.py submit-lead ENDPOINT [--FIELD VALUE ...] [--timeout MS]
      Sends SubmitLead with the given LeadReceived fields (source_system,
      external_id, name, phone, email, company, comment, responsible; use
      --FIELD=@N to send N times "x") and prints the Reply as JSON, with the
      SubmitLeadReply decoded into "result".

  bus.py intake ENDPOINT [--times N] [--garbage HEX] [--topic T] [--FIELD V ...]
               [--then-external-id X] [--when-file PATH]
      Connects a PUB (an XPUB, to see the subscription) to the leads intake
      endpoint, waits until the SUB has subscribed, and publishes N times
      [topic][LeadReceived] (or [topic][garbage bytes]); then, on the same
      connection, the same lead with external id X. --when-file: once
      subscribed, waits until PATH exists before publishing.

  bus.py call ENDPOINT TYPE [JSON] [--sender S] [--timeout MS]
      Sends command TYPE (e.g. MoveLead, ShowLead, ListTimers) with the
      crm.v1 message of that name built from JSON (protobuf's JSON mapping,
      field names as in the .proto; default {}) and prints the Reply as JSON
      with the payload decoded into "result" (64-bit integers as strings).

  bus.py calls ENDPOINT JSON [--timeout MS]
      Sends several commands at once on one connection, before reading any
      reply (so that the service is likely to apply them in one batch), and
      prints each one's Reply as call does, one line per command in the
      order sent. JSON: an array of {"type": T, "message": JSON, "sender": S}
      (the message of SubmitLead is a LeadReceived, of others the crm.v1
      message named T).

  bus.py subscribe ENDPOINT [--count N] [--type T] [--timeout S]
      Connects a SUB to a service's PUB endpoint (base port + 1), prints
      "subscribed" once its first Heartbeat came (so the subscription is
      live), then one JSON line per event (of type T, if given):
      {"type", "sequence", "correlation_id", "causation_id", "payload"}, the
      payload decoded. Exits after N events (0: until the timeout, default
      60 s); exit 1 if fewer came.

  bus.py replay ENDPOINT --from N [--max M] [--timeout S]
      Sends one ReplayRequest to a service's replay endpoint (base port + 2)
      and prints the ReplayReply as one JSON line: {"first_sequence",
      "latest_sequence", "more", "error", "events": [{"sequence", "event_id",
      "hex"}]}, hex the envelope as stored, sequence and event_id its own. Exit 1 if
      no reply came.

  bus.py decode
      Reads hex-encoded Envelopes, one per line (e.g. SELECT encode(envelope,
      'hex') FROM leads.outbox), and prints each as subscribe does.

  bus.py fake-source NAME PORT
      Acts as service NAME with base port PORT: binds an XPUB on PORT+1 and
      a ROUTER on PORT+2, answers ReplayRequests from the events it holds,
      publishes a Heartbeat every 200 ms, and reads JSON commands, one per
      line, from stdin:
        {"op": "wait_sub"}                  wait for a subscriber (prints "subscribed")
        {"op": "raw", "topic": T, "hex": H} publish [T][bytes]
        {"op": "event", "seq": N, "type": T, "live": true,
         "payload_hex": H | "message": JSON (a crm.v1 message of type T) |
         "request_key": K, "recipient": R, "text": X,
         "correlation_id": C, "source": S, "hold": true,
         "patch": [[OLD_HEX, NEW_HEX], ...]}
                                            hold an Envelope (served by replay
                                            unless hold is false) and publish
                                            it if live; source: another sender
        {"op": "replay", "enabled": false}  answer ReplayRequests with an error (or again serve them)
        {"op": "quit"}
      It prints one line per thing it does ("replay from=N count=M ...").
"""
import json
import os
import sys
import time
import uuid

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("CRM_PY_GEN", os.path.join(ROOT, "build", "gen", "py")))

from crm.v1 import bus_pb2, command_pb2, deals_pb2, leads_pb2, notifier_pb2, tasks_pb2, timer_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

MODULES = (command_pb2, leads_pb2, deals_pb2, notifier_pb2, tasks_pb2, timer_pb2, bus_pb2)


def message_class(name):
    for m in MODULES:
        if hasattr(m, name):
            return getattr(m, name)
    raise SystemExit("bus.py: no crm.v1 message %r" % name)


def to_json(msg):
    return json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                      including_default_value_fields=True)


def decode(name, data):
    try:
        msg = message_class(name)()
        msg.ParseFromString(data)
        return to_json(msg)
    except (SystemExit, Exception):
        return {"undecoded_hex": data.hex()}

LEAD_FIELDS = ("source_system", "external_id", "name", "phone", "email", "company",
               "comment", "responsible")


def say(*args):
    print(*args, flush=True)


def reply_json(frame):
    reply = command_pb2.Reply()
    reply.ParseFromString(frame)
    out = {"command_id": reply.command_id, "type": reply.type}
    if reply.HasField("error"):
        out["error"] = {"code": reply.error.code, "message": reply.error.message,
                        "fields": list(reply.error.fields), "retryable": reply.error.retryable}
    else:
        out["error"] = None
    return reply, out


def dealer(ctx, endpoint):
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    return sock


def recv_reply(sock, command_id, deadline):
    """Returns the Reply frame for command_id (or any, if command_id is None)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if not sock.poll(int(left * 1000) + 1):
            return None
        frames = sock.recv_multipart()
        body = frames[-1]
        if command_id is None:
            return body
        reply = command_pb2.Reply()
        try:
            reply.ParseFromString(body)
        except Exception:
            continue
        # "" too: a command that could not be decoded (or was too large to
        # be) is answered without its id
        if reply.command_id in (command_id, ""):
            return body


def cmd_status(args):
    endpoint = args[0]
    opts = parse_opts(args[1:])
    wait = float(opts.get("wait", "5"))
    pid = int(opts["pid"]) if "pid" in opts else None
    ctx = zmq.Context()
    sock = dealer(ctx, endpoint)
    deadline = time.monotonic() + wait
    ids = set()
    next_send = 0.0
    while time.monotonic() < deadline:
        if pid is not None and not os.path.exists("/proc/%d" % pid):
            say(json.dumps({"error": "process %d exited" % pid}))
            return 3
        now = time.monotonic()
        if now >= next_send:
            cid = str(uuid.uuid4())
            ids.add(cid)
            cmd = command_pb2.Command(type="Status", command_id=cid, sender="tests",
                                      payload=command_pb2.StatusRequest().SerializeToString())
            sock.send(cmd.SerializeToString(), zmq.DONTWAIT)
            next_send = now + 1.0
        if not sock.poll(200):
            continue
        body = sock.recv_multipart()[-1]
        reply = command_pb2.Reply()
        try:
            reply.ParseFromString(body)
        except Exception:
            continue
        if reply.command_id not in ids:
            continue
        if reply.HasField("error") or reply.type != "StatusReply":
            say(json.dumps({"error": "bad reply", "reply": reply_json(body)[1]}))
            return 1
        st = command_pb2.StatusReply()
        st.ParseFromString(reply.payload)
        if "service" in opts and st.service != opts["service"]:
            say(json.dumps({"error": "endpoint %s is service %r" % (endpoint, st.service)}))
            return 4
        if pid is not None and st.pid != pid:
            say(json.dumps({"error": "endpoint %s answered by pid %d, not %d" % (endpoint, st.pid, pid)}))
            return 4
        say(json.dumps({
            "service": st.service, "last_sequence": st.last_sequence,
            "dead_letters": st.dead_letters, "pid": st.pid, "database_up": st.database_up,
            "started_ms": st.started_ms, "outbox_retained": st.outbox_retained,
            "sources": [{"source": s.source, "applied_sequence": s.applied_sequence,
                         "latest_sequence": s.latest_sequence, "lag": s.lag} for s in st.sources]}))
        return 0
    say(json.dumps({"error": "no Status reply from %s within %gs" % (endpoint, wait)}))
    return 1


def parse_opts(args):
    opts = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise SystemExit("bus.py: unexpected argument %r" % a)
        if "=" in a:
            k, v = a[2:].split("=", 1)
        else:
            k, v = a[2:], args[i + 1]
            i += 1
        opts[k.replace("-", "_")] = v
        i += 1
    return opts


def lead_from(opts):
    lead = leads_pb2.LeadReceived()
    for f in LEAD_FIELDS:
        if f in opts:
            v = opts[f]
            if v.startswith("@"):
                v = "x" * int(v[1:])
            setattr(lead, f, v)
    return lead


def call(endpoint, body, command_id, timeout_ms):
    ctx = zmq.Context()
    sock = dealer(ctx, endpoint)
    sock.send(body)
    frame = recv_reply(sock, command_id, time.monotonic() + timeout_ms / 1000.0)
    sock.close()
    ctx.term()
    return frame


def cmd_command(args):
    endpoint = args[0]
    opts = parse_opts(args[1:])
    timeout = int(opts.get("timeout", "10000"))
    if "raw_hex" in opts:
        body, cid = bytes.fromhex(opts["raw_hex"]), None
    else:
        cid = str(uuid.uuid4())
        cmd = command_pb2.Command(type=opts.get("type", ""), command_id=cid, sender="tests",
                                  payload=bytes.fromhex(opts.get("payload_hex", "")))
        body = cmd.SerializeToString()
        if "pad" in opts:
            # field 15, wire type 2 (length-delimited): unknown to Command, skipped by decoders
            n = int(opts["pad"])
            body += b"\x7a" + encode_varint(n) + b"p" * n
    frame = call(endpoint, body, cid, timeout)
    if frame is None:
        say(json.dumps({"error": "timeout"}))
        return 1
    say(json.dumps(reply_json(frame)[1]))
    return 0


def encode_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def cmd_submit_lead(args):
    endpoint = args[0]
    opts = parse_opts(args[1:])
    timeout = int(opts.get("timeout", "10000"))
    cid = str(uuid.uuid4())
    cmd = command_pb2.Command(type="SubmitLead", command_id=cid, sender="tests",
                              payload=lead_from(opts).SerializeToString())
    frame = call(endpoint, cmd.SerializeToString(), cid, timeout)
    if frame is None:
        say(json.dumps({"error": "timeout"}))
        return 1
    reply, out = reply_json(frame)
    if out["error"] is None and reply.type == "SubmitLeadReply":
        r = leads_pb2.SubmitLeadReply()
        r.ParseFromString(reply.payload)
        out["result"] = {"lead_id": r.lead_id, "created": r.created}
    say(json.dumps(out))
    return 0


def cmd_call(args):
    endpoint, kind = args[0], args[1]
    rest = args[2:]
    body = "{}"
    if rest and not rest[0].startswith("--"):
        body, rest = rest[0], rest[1:]
    opts = parse_opts(rest)
    payload = json_format.Parse(body, message_class(kind)())
    cid = str(uuid.uuid4())
    cmd = command_pb2.Command(type=kind, command_id=cid, sender=opts.get("sender", "tests"),
                              payload=payload.SerializeToString())
    frame = call(endpoint, cmd.SerializeToString(), cid, int(opts.get("timeout", "10000")))
    if frame is None:
        say(json.dumps({"error": "timeout"}))
        return 1
    reply, out = reply_json(frame)
    if out["error"] is None and reply.type:
        out["result"] = decode(reply.type, reply.payload)
    say(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_calls(args):
    endpoint, items = args[0], json.loads(args[1])
    opts = parse_opts(args[2:])
    deadline = time.monotonic() + int(opts.get("timeout", "10000")) / 1000.0
    ctx = zmq.Context()
    sock = dealer(ctx, endpoint)
    ids = []
    for item in items:
        kind = "LeadReceived" if item["type"] == "SubmitLead" else item["type"]
        payload = json_format.Parse(json.dumps(item.get("message", {})), message_class(kind)())
        cid = str(uuid.uuid4())
        ids.append(cid)
        cmd = command_pb2.Command(type=item["type"], command_id=cid, sender=item.get("sender", "tests"),
                                  payload=payload.SerializeToString())
        sock.send(cmd.SerializeToString())
    replies = {}
    while len(replies) < len(ids):
        frame = recv_reply(sock, None, deadline)
        if frame is None:
            break
        reply, out = reply_json(frame)
        if out["error"] is None and reply.type:
            out["result"] = decode(reply.type, reply.payload)
        replies[reply.command_id] = out
    sock.close()
    ctx.term()
    for cid in ids:
        say(json.dumps(replies.get(cid, {"error": "timeout"}), ensure_ascii=False))
    return 0 if len(replies) == len(ids) else 1


def cmd_subscribe(args):
    endpoint = args[0]
    opts = parse_opts(args[1:])
    count = int(opts.get("count", "0"))
    want = opts.get("type")
    deadline = time.monotonic() + float(opts.get("timeout", "60"))
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    live = False
    seen = 0
    while time.monotonic() < deadline and (count == 0 or seen < count):
        if not sub.poll(200):
            continue
        frames = sub.recv_multipart()
        if len(frames) != 2:
            continue
        topic = frames[0].decode(errors="replace")
        if topic.endswith(".Heartbeat"):
            if not live:
                live = True
                say("subscribed")
            continue
        env = bus_pb2.Envelope()
        try:
            env.ParseFromString(frames[1])
        except Exception:
            continue
        if want and env.type != want:
            continue
        seen += 1
        say(json.dumps(envelope_json(env), ensure_ascii=False))
    sub.close()
    ctx.term()
    return 0 if count == 0 or seen >= count else 1


def cmd_replay(args):
    endpoint = args[0]
    opts = parse_opts(args[1:])
    ctx = zmq.Context()
    sock = dealer(ctx, endpoint)
    req = bus_pb2.ReplayRequest(from_sequence=int(opts["from"]), max_count=int(opts.get("max", "0")))
    sock.send(req.SerializeToString())
    frame = recv_reply(sock, None, time.monotonic() + float(opts.get("timeout", "10")))
    sock.close()
    ctx.term()
    if frame is None:
        say("no ReplayReply from %s" % endpoint)
        return 1
    rep = bus_pb2.ReplayReply()
    rep.ParseFromString(frame)
    events = []
    for data in rep.events:
        env = bus_pb2.Envelope()
        env.ParseFromString(data)
        events.append({"sequence": env.sequence, "event_id": env.event_id, "hex": data.hex()})
    say(json.dumps({"first_sequence": rep.first_sequence, "latest_sequence": rep.latest_sequence,
                    "more": rep.more, "error": rep.error, "events": events}))
    return 0


def envelope_json(env):
    return {"type": env.type, "sequence": env.sequence, "correlation_id": env.correlation_id,
            "causation_id": env.causation_id, "payload": decode(env.type, env.payload)}


def cmd_decode(args):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        env = bus_pb2.Envelope()
        env.ParseFromString(bytes.fromhex(line.split()[-1]))
        say(json.dumps(envelope_json(env), ensure_ascii=False))
    return 0


def wait_subscription(xpub, timeout_s):
    if not xpub.poll(int(timeout_s * 1000)):
        return False
    xpub.recv()
    return True


def cmd_intake(args):
    endpoint = args[0]
    opts = parse_opts(args[1:])
    times = int(opts.get("times", "1"))
    topic = opts.get("topic", "LeadReceived").encode()
    body = bytes.fromhex(opts["garbage"]) if "garbage" in opts else lead_from(opts).SerializeToString()
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.linger = 5000
    pub.connect(endpoint)
    if not wait_subscription(pub, float(opts.get("wait", "30"))):
        say("no subscriber at %s" % endpoint)
        return 1
    say("subscribed")
    if "when_file" in opts:     # connected and subscribed: publish on cue
        while not os.path.exists(opts["when_file"]):
            time.sleep(0.05)
    for _ in range(times):
        pub.send_multipart([topic, body])
    say("published %d" % times)
    if "then_external_id" in opts:
        lead = lead_from(opts)
        lead.external_id = opts["then_external_id"]
        lead.name = "marker " + lead.external_id
        pub.send_multipart([topic, lead.SerializeToString()])
        say("published %s" % lead.external_id)
    pub.close()     # lingers until sent
    ctx.term()
    return 0


class FakeSource:
    def __init__(self, name, port):
        self.name = name
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.linger = 0
        self.pub.bind("tcp://127.0.0.1:%d" % (port + 1))
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.linger = 0
        self.router.bind("tcp://127.0.0.1:%d" % (port + 2))
        self.events = {}        # seq -> encoded Envelope
        self.subscribed = False
        self.waiting_sub = False
        self.replay_enabled = True

    def latest(self):
        return max(self.events) if self.events else 0

    def heartbeat(self):
        hb = bus_pb2.Heartbeat(source=self.name, latest_sequence=self.latest(),
                               time_ms=int(time.time() * 1000))
        self.pub.send_multipart([(self.name + ".Heartbeat").encode(), hb.SerializeToString()])

    def on_sub(self):
        msg = self.pub.recv()
        if msg[:1] == b"\x01":
            say("subscription %r" % msg[1:].decode(errors="replace"))
            self.subscribed = True
            if self.waiting_sub:
                self.waiting_sub = False
                say("subscribed")

    def on_replay(self):
        frames = self.router.recv_multipart()
        req = bus_pb2.ReplayRequest()
        try:
            req.ParseFromString(frames[-1])
        except Exception:
            say("replay malformed request")
            return
        if not self.replay_enabled:
            say("replay from=%d refused" % req.from_sequence)
            rep = bus_pb2.ReplayReply(latest_sequence=self.latest(), error="replay disabled by the test")
            self.router.send_multipart(frames[:-1] + [rep.SerializeToString()])
            return
        rep = bus_pb2.ReplayReply(latest_sequence=self.latest(),
                                  first_sequence=min(self.events) if self.events else 0)
        seq = max(req.from_sequence, 1)
        limit = req.max_count or 1000
        while seq in self.events and len(rep.events) < limit:
            rep.events.append(self.events[seq])
            seq += 1
        say("replay from=%d max=%d count=%d latest=%d" % (req.from_sequence, req.max_count,
                                                          len(rep.events), self.latest()))
        self.router.send_multipart(frames[:-1] + [rep.SerializeToString()])

    def on_command(self, line):
        line = line.strip()
        if not line:
            return True
        op = json.loads(line)
        kind = op["op"]
        if kind == "quit":
            return False
        if kind == "wait_sub":
            if self.subscribed:
                say("subscribed")
            else:
                self.waiting_sub = True
        elif kind == "replay":
            self.replay_enabled = bool(op["enabled"])
            say("replay enabled=%s" % self.replay_enabled)
        elif kind == "raw":
            self.pub.send_multipart([op["topic"].encode(), bytes.fromhex(op["hex"])])
            say("published raw on %s" % op["topic"])
        elif kind == "event":
            if "payload_hex" in op:
                payload = bytes.fromhex(op["payload_hex"])
            elif "message" in op:
                payload = json_format.ParseDict(op["message"], message_class(op["type"])()).SerializeToString()
            else:
                payload = notifier_pb2.NotificationRequested(
                    request_key=op.get("request_key", ""), recipient=op.get("recipient", ""),
                    text=op.get("text", "")).SerializeToString()
            env = bus_pb2.Envelope(event_id=str(uuid.uuid4()), source=op.get("source", self.name),
                                   sequence=int(op["seq"]), type=op["type"],
                                   time_ms=int(time.time() * 1000),
                                   correlation_id=op.get("correlation_id", ""),
                                   causation_id="tests", payload=payload)
            data = env.SerializeToString()
            for old, new in op.get("patch", []):     # e.g. bytes no string may hold
                data = data.replace(bytes.fromhex(old), bytes.fromhex(new))
            if op.get("hold", True):
                self.events[env.sequence] = data
            if op.get("live", True):
                self.pub.send_multipart([("%s.%s" % (self.name, env.type)).encode(), data])
            say("event seq=%d type=%s live=%s" % (env.sequence, env.type, op.get("live", True)))
        else:
            say("unknown op %r" % kind)
        return True

    def run(self):
        poller = zmq.Poller()
        poller.register(self.pub, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        poller.register(sys.stdin.fileno(), zmq.POLLIN)
        say("ready")
        next_hb = time.monotonic()
        buf = b""
        while True:
            now = time.monotonic()
            if now >= next_hb:
                self.heartbeat()
                next_hb = now + 0.2
            for sock, _ in poller.poll(max(1, int((next_hb - time.monotonic()) * 1000))):
                if sock is self.pub:
                    self.on_sub()
                elif sock is self.router:
                    self.on_replay()
                else:
                    chunk = os.read(sys.stdin.fileno(), 65536)
                    if not chunk:     # the test is over
                        say("eof")
                        return 0
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if not self.on_command(line.decode()):
                            say("quit")
                            return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "status":
        return cmd_status(args)
    if cmd == "command":
        return cmd_command(args)
    if cmd == "submit-lead":
        return cmd_submit_lead(args)
    if cmd == "intake":
        return cmd_intake(args)
    if cmd == "call":
        return cmd_call(args)
    if cmd == "calls":
        return cmd_calls(args)
    if cmd == "subscribe":
        return cmd_subscribe(args)
    if cmd == "decode":
        return cmd_decode(args)
    if cmd == "replay":
        return cmd_replay(args)
    if cmd == "fake-source":
        return FakeSource(args[0], int(args[1])).run()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
