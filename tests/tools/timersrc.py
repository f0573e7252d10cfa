#!/usr/bin/python3
"""timersrc.py - a fake source service that asks the timer service for
timers, and decoders for what the timer service says back.

Run with Debian's /usr/bin/python3 (python3-zmq, python3-protobuf); the
protobuf classes come from $CRM_PY_GEN (tests/run.sh generates them) or
build/gen/py.

The source's events live in an append-only file, EVENTS (one JSON line per
event: {"seq": N, "live": bool, "env": "<Envelope hex>"}), so that the
source survives its own restart and every command below is a separate
process. Appending commands lock EVENTS (flock) and take the next sequence.

  timersrc.py serve NAME PORT EVENTS
      Acts as service NAME with base port PORT: an XPUB on PORT+1, a replay
      ROUTER on PORT+2 answering ReplayRequests from EVENTS, a Heartbeat
      every 200 ms. Follows EVENTS: each event appended with live=true is
      published [NAME.<type>][Envelope] as soon as it is seen (within 20 ms);
      a "republish" line publishes an event already held again (a duplicate
      delivery). Prints "ready", "subscription ...", "replay from=N count=M
      latest=L", "published seq=N" lines.

  timersrc.py schedule EVENTS --key K (--due-ms MS | --due-in-ms MS) [--owner O]
                       [--payload-hex H | --payload-bytes N] [--correlation-id C]
                       [--source NAME] [--live 0|1]
      Appends a TimerRequested (owner defaults to the source, NAME default
      "bench"; --due-in-ms is relative to now; --payload-bytes: N bytes "p").
      Prints "seq due_ms".

  timersrc.py cancel EVENTS --key K [--owner O] [--source NAME] [--live 0|1]
      Appends a TimerCancelRequested. Prints the sequence.

  timersrc.py raw EVENTS --type T --payload-hex H [--source NAME] [--live 0|1]
      Appends an event of type T with exactly these payload bytes.

  timersrc.py bulk EVENTS --count N --prefix P --first-due-ms MS --spacing-ms S
                   [--shuffle SEED] [--source NAME] [--live 0|1]
      Appends N TimerRequested: key P<i>, due MS + i*S, payload i (decimal
      text), correlation id "bulk:<i>"; with --shuffle in a random order (so
      that sequence order is not due order). Prints the last sequence.

  timersrc.py republish EVENTS --seq N
      Asks the serving source to publish event N again, live.

  timersrc.py latest EVENTS
      Prints the last sequence in EVENTS (0 if none).

  timersrc.py decode
      Reads lines "SEQUENCE HEX" (psql -At of sequence and
      encode(envelope, 'hex') from timer.outbox) on stdin and prints one JSON
      object per TimerFired: sequence, key, owner, due_ms, fired_ms,
      payload_hex, correlation_id, causation_id, time_ms.

  timersrc.py listen ENDPOINT OUT
      Subscribes to timer.TimerFired and timer.Heartbeat at ENDPOINT (the
      timer's PUB) and appends one JSON object per message to OUT:
      {"topic", "recv_ms", "sequence", "key", "due_ms", "fired_ms"} for a
      TimerFired, {"topic", "recv_ms", "time_ms", "latest_sequence"} for a
      Heartbeat. Runs until killed.
"""
import fcntl
import json
import os
import random
import sys
import time
import uuid

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("CRM_PY_GEN", os.path.join(ROOT, "build", "gen", "py")))

from crm.v1 import bus_pb2, timer_pb2  # noqa: E402


def say(*args):
    print(*args, flush=True)


def now_ms():
    return int(time.time() * 1000)


def parse_opts(args, flags=()):
    opts = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise SystemExit("timersrc.py: unexpected argument %r" % a)
        if "=" in a:
            k, v = a[2:].split("=", 1)
        elif a[2:] in flags:
            k, v = a[2:], "1"
        else:
            if i + 1 >= len(args):
                raise SystemExit("timersrc.py: %s needs a value" % a)
            k, v = a[2:], args[i + 1]
            i += 1
        opts[k.replace("-", "_")] = v
        i += 1
    return opts


# ---------------------------------------------------------------- the file

def read_records(path, offset=0):
    """Complete JSON lines of path from byte offset: (records, new offset)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    records = [json.loads(line) for line in data[:end].split(b"\n") if line.strip()]
    return records, offset + end + 1


class Appender:
    """Appends events to EVENTS under an exclusive lock, numbering them."""

    def __init__(self, path, source):
        self.path = path
        self.source = source
        self.f = open(path, "a+b")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        records, _ = read_records(path)
        self.seq = max([r["seq"] for r in records if "seq" in r and "env" in r], default=0)
        self.lines = []

    def add(self, type_, payload, correlation_id="", live=True):
        self.seq += 1
        env = bus_pb2.Envelope(event_id=str(uuid.uuid4()), source=self.source, sequence=self.seq,
                               type=type_, time_ms=now_ms(), correlation_id=correlation_id,
                               causation_id="tests", payload=payload)
        self.lines.append(json.dumps({"seq": self.seq, "live": bool(live),
                                      "env": env.SerializeToString().hex()}))
        return self.seq

    def close(self):
        if self.lines:
            self.f.write(("\n".join(self.lines) + "\n").encode())
            self.f.flush()
            os.fsync(self.f.fileno())
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def live_of(opts):
    return opts.get("live", "1") not in ("0", "false", "no")


def cmd_schedule(path, args):
    opts = parse_opts(args)
    source = opts.get("source", "bench")
    if "due_ms" in opts:
        due = int(opts["due_ms"])
    elif "due_in_ms" in opts:
        due = now_ms() + int(opts["due_in_ms"])
    else:
        raise SystemExit("timersrc.py schedule: --due-ms or --due-in-ms is required")
    payload = bytes.fromhex(opts.get("payload_hex", ""))
    if "payload_bytes" in opts:
        payload = b"p" * int(opts["payload_bytes"])
    req = timer_pb2.TimerRequested(key=opts.get("key", ""), due_ms=due, owner=opts.get("owner", source),
                                   payload=payload)
    app = Appender(path, source)
    seq = app.add("TimerRequested", req.SerializeToString(), opts.get("correlation_id", ""), live_of(opts))
    app.close()
    say("%d %d" % (seq, due))
    return 0


def cmd_cancel(path, args):
    opts = parse_opts(args)
    source = opts.get("source", "bench")
    req = timer_pb2.TimerCancelRequested(key=opts.get("key", ""), owner=opts.get("owner", source))
    app = Appender(path, source)
    seq = app.add("TimerCancelRequested", req.SerializeToString(), opts.get("correlation_id", ""),
                  live_of(opts))
    app.close()
    say(seq)
    return 0


def cmd_raw(path, args):
    opts = parse_opts(args)
    app = Appender(path, opts.get("source", "bench"))
    seq = app.add(opts["type"], bytes.fromhex(opts.get("payload_hex", "")), opts.get("correlation_id", ""),
                  live_of(opts))
    app.close()
    say(seq)
    return 0


def cmd_bulk(path, args):
    opts = parse_opts(args)
    source = opts.get("source", "bench")
    count = int(opts["count"])
    first = int(opts["first_due_ms"])
    spacing = int(opts["spacing_ms"])
    order = list(range(count))
    if "shuffle" in opts:
        random.Random(int(opts["shuffle"])).shuffle(order)
    app = Appender(path, source)
    for i in order:
        req = timer_pb2.TimerRequested(key="%s%d" % (opts["prefix"], i), due_ms=first + i * spacing,
                                       owner=opts.get("owner", source), payload=str(i).encode())
        app.add("TimerRequested", req.SerializeToString(), "bulk:%d" % i, live_of(opts))
    app.close()
    say(app.seq)
    return 0


def cmd_republish(path, args):
    opts = parse_opts(args)
    with open(path, "ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write((json.dumps({"republish": int(opts["seq"])}) + "\n").encode())
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)
    return 0


def cmd_latest(path, args):
    records, _ = read_records(path)
    say(max([r["seq"] for r in records if "env" in r], default=0))
    return 0


# ---------------------------------------------------------------- serving

class Source:
    def __init__(self, name, port, path):
        self.name = name
        self.path = path
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.XPUB)
        self.pub.linger = 0
        self.pub.sndhwm = 0         # never drop: a test counts on each event
        self.pub.bind("tcp://127.0.0.1:%d" % (port + 1))
        self.router = self.ctx.socket(zmq.ROUTER)
        self.router.linger = 0
        self.router.bind("tcp://127.0.0.1:%d" % (port + 2))
        self.events = {}            # seq -> encoded Envelope
        self.offset = 0
        self.loaded = False         # the file's existing events are not published again

    def latest(self):
        return max(self.events) if self.events else 0

    def follow(self):
        records, self.offset = read_records(self.path, self.offset)
        for r in records:
            if "republish" in r:
                seq = r["republish"]
                if self.loaded and seq in self.events:
                    self.publish(seq)
                continue
            data = bytes.fromhex(r["env"])
            self.events[r["seq"]] = data
            if self.loaded and r.get("live", True):
                self.publish(r["seq"])
        if not self.loaded:
            say("loaded %d events from %s" % (len(self.events), self.path))
            self.loaded = True

    def publish(self, seq):
        env = bus_pb2.Envelope()
        env.ParseFromString(self.events[seq])
        self.pub.send_multipart([("%s.%s" % (self.name, env.type)).encode(), self.events[seq]])
        say("published seq=%d type=%s" % (seq, env.type))

    def heartbeat(self):
        hb = bus_pb2.Heartbeat(source=self.name, latest_sequence=self.latest(), time_ms=now_ms())
        self.pub.send_multipart([(self.name + ".Heartbeat").encode(), hb.SerializeToString()])

    def on_sub(self):
        msg = self.pub.recv()
        if msg[:1] == b"\x01":
            say("subscription %r" % msg[1:].decode(errors="replace"))

    def on_replay(self):
        frames = self.router.recv_multipart()
        req = bus_pb2.ReplayRequest()
        try:
            req.ParseFromString(frames[-1])
        except Exception:  # noqa: BLE001
            say("replay malformed request")
            return
        rep = bus_pb2.ReplayReply(latest_sequence=self.latest(),
                                  first_sequence=min(self.events) if self.events else 0)
        seq = max(req.from_sequence, 1)
        limit = min(req.max_count or 1000, 1000)
        size = 0
        while seq in self.events and len(rep.events) < limit and size < 4 << 20:
            rep.events.append(self.events[seq])
            size += len(self.events[seq])
            seq += 1
        # Stopped at a cap with more to come: say so (ReplayReply.more, where
        # the generated classes have it), so that the consumer asks again.
        if seq in self.events and "more" in bus_pb2.ReplayReply.DESCRIPTOR.fields_by_name:
            rep.more = True
        say("replay from=%d max=%d count=%d latest=%d" % (req.from_sequence, req.max_count,
                                                          len(rep.events), self.latest()))
        self.router.send_multipart(frames[:-1] + [rep.SerializeToString()])

    def run(self):
        self.follow()
        poller = zmq.Poller()
        poller.register(self.pub, zmq.POLLIN)
        poller.register(self.router, zmq.POLLIN)
        say("ready")
        next_hb = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_hb:
                self.heartbeat()
                next_hb = now + 0.2
            for sock, _ in poller.poll(20):
                if sock is self.pub:
                    self.on_sub()
                else:
                    self.on_replay()
            self.follow()


# ---------------------------------------------------------------- decoding

def fired_json(env):
    fired = timer_pb2.TimerFired()
    fired.ParseFromString(env.payload)
    return {"sequence": env.sequence, "key": fired.key, "owner": fired.owner, "due_ms": fired.due_ms,
            "fired_ms": fired.fired_ms, "payload_hex": fired.payload.hex(),
            "correlation_id": env.correlation_id, "causation_id": env.causation_id,
            "time_ms": env.time_ms}


def cmd_decode(args):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        seq, hexenv = line.split(None, 1) if " " in line else ("0", line)
        env = bus_pb2.Envelope()
        env.ParseFromString(bytes.fromhex(hexenv.replace("|", "")))
        if env.type != "TimerFired":
            continue
        if int(seq) and env.sequence != int(seq):
            raise SystemExit("outbox row %s holds an envelope with sequence %d" % (seq, env.sequence))
        say(json.dumps(fired_json(env)))
    return 0


def cmd_listen(args):
    endpoint, out = args[0], args[1]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.rcvhwm = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"timer.TimerFired")
    sub.setsockopt(zmq.SUBSCRIBE, b"timer.Heartbeat")
    sub.connect(endpoint)
    with open(out, "a") as f:
        while True:
            frames = sub.recv_multipart()
            recv = time.time() * 1000
            if len(frames) != 2:
                continue
            topic = frames[0].decode(errors="replace")
            if topic == "timer.Heartbeat":
                hb = bus_pb2.Heartbeat()
                hb.ParseFromString(frames[1])
                rec = {"topic": topic, "recv_ms": recv, "time_ms": hb.time_ms,
                       "latest_sequence": hb.latest_sequence}
            else:
                env = bus_pb2.Envelope()
                env.ParseFromString(frames[1])
                rec = fired_json(env)
                rec["topic"] = topic
                rec["recv_ms"] = recv
            f.write(json.dumps(rec) + "\n")
            f.flush()


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "serve":
        return Source(args[0], int(args[1]), args[2]).run()
    if cmd == "decode":
        return cmd_decode(args)
    if cmd == "listen":
        return cmd_listen(args)
    table = {"schedule": cmd_schedule, "cancel": cmd_cancel, "raw": cmd_raw, "bulk": cmd_bulk,
             "republish": cmd_republish, "latest": cmd_latest}
    if cmd in table and args:
        return table[cmd](args[0], args[1:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
