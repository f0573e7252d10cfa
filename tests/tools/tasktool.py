#!/usr/bin/python3
"""tasktool.py - encodes requests for the tasks service and decodes what it
publishes, for tests/integration/test_tasks.sh.

Run with Debian's /usr/bin/python3 (python3-protobuf); the protobuf classes
come from $CRM_PY_GEN (tests/run.sh generates them) or build/gen/py. Events
go into a fake source's append-only file EVENTS (tests/tools/timersrc.py
serve), under its lock.

  tasktool.py encode TYPE JSON [--patch OLD_HEX NEW_HEX]
      Prints the hex of crm.v1.TYPE (tasks.proto) made from JSON (protobuf's
      JSON mapping, e.g. {"requestKey": "k", "deadlineMs": "1"} or the field
      names as in the .proto). --patch replaces bytes in the result (to put
      bytes no string may hold, e.g. not UTF-8).

  tasktool.py request EVENTS TYPE JSON [--correlation-id C] [--live 0|1]
                      [--patch OLD_HEX NEW_HEX]
      Appends an event of TYPE (TaskRequested, ActivityRequested,
      ActivityCancelRequested) with that payload as source "bench".
      Prints its sequence.

  tasktool.py bulk EVENTS --count N --prefix P [--responsible U] [--coexecutor U]
      Appends N TaskRequested: request key P<i>, title "Задача <i>", record
      "lead:<i>". Prints the last sequence.

  tasktool.py decode
      Reads lines "SEQUENCE TYPE HEX" (psql -At of sequence, type and
      encode(envelope, 'hex') from tasks.outbox) on stdin and prints one JSON
      object per event: sequence, type, correlation_id, causation_id and the
      payload's fields (TaskCreated, TaskCompleted, NotificationRequested,
      TimerRequested, TimerCancelRequested; names as in the .proto).
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.environ.get("CRM_PY_GEN", os.path.join(ROOT, "build", "gen", "py")))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from google.protobuf import json_format  # noqa: E402
from crm.v1 import bus_pb2, notifier_pb2, tasks_pb2, timer_pb2  # noqa: E402
from timersrc import Appender, live_of, parse_opts  # noqa: E402

DECODERS = {
    "TaskCreated": tasks_pb2.TaskCreated,
    "TaskCompleted": tasks_pb2.TaskCompleted,
    "NotificationRequested": notifier_pb2.NotificationRequested,
    "TimerRequested": timer_pb2.TimerRequested,
    "TimerCancelRequested": timer_pb2.TimerCancelRequested,
}


def encode(type_, text, patches):
    msg = getattr(tasks_pb2, type_)()
    json_format.Parse(text, msg)
    data = msg.SerializeToString()
    for old, new in patches:
        data = data.replace(bytes.fromhex(old), bytes.fromhex(new))
    return data


def split_patches(args):
    """(args without --patch pairs, [(old, new), ...])"""
    rest, patches, i = [], [], 0
    while i < len(args):
        if args[i] == "--patch":
            patches.append((args[i + 1], args[i + 2]))
            i += 3
        else:
            rest.append(args[i])
            i += 1
    return rest, patches


def cmd_encode(args):
    args, patches = split_patches(args)
    print(encode(args[0], args[1], patches).hex())
    return 0


def cmd_request(args):
    args, patches = split_patches(args)
    path, type_, text = args[0], args[1], args[2]
    opts = parse_opts(args[3:])
    app = Appender(path, "bench")
    seq = app.add(type_, encode(type_, text, patches), opts.get("correlation_id", ""), live_of(opts))
    app.close()
    print(seq)
    return 0


def cmd_bulk(args):
    path = args[0]
    opts = parse_opts(args[1:])
    app = Appender(path, "bench")
    for i in range(int(opts["count"])):
        req = tasks_pb2.TaskRequested(request_key="%s%d" % (opts["prefix"], i), title="Задача %d" % i,
                                      record="lead:%d" % (i + 1), responsible=opts.get("responsible", "ivanov"))
        if "coexecutor" in opts:
            req.coexecutors.append(opts["coexecutor"])
        app.add("TaskRequested", req.SerializeToString(), "lead:%d" % (i + 1))
    app.close()
    print(app.seq)
    return 0


def cmd_decode(args):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        seq, type_, hexdata = line.split(" ", 2)
        env = bus_pb2.Envelope()
        env.ParseFromString(bytes.fromhex(hexdata))
        out = {"sequence": int(seq), "type": type_, "correlation_id": env.correlation_id,
               "causation_id": env.causation_id}
        if type_ in DECODERS:
            msg = DECODERS[type_]()
            msg.ParseFromString(env.payload)
            out.update(json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                                 including_default_value_fields=True))
        print(json.dumps(out, ensure_ascii=False))
    return 0


def main(argv):
    commands = {"encode": cmd_encode, "request": cmd_request, "bulk": cmd_bulk, "decode": cmd_decode}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
