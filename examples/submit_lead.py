#!/usr/bin/python3
"""Submit a lead to the CRM by request/reply and print its id.

A ZeroMQ DEALER sends one crm.v1.Command {type "SubmitLead", payload: an
encoded crm.v1.LeadReceived} to the leads service's command endpoint and
reads one crm.v1.Reply (sent after the lead is committed). Needs only the
.proto files: the Python classes are generated with protoc into build/gen/py.

  /usr/bin/python3 examples/submit_lead.py --external-id order-7 --name 'Анна' --phone '+7 900 111-22-33'

Debian 12: apt-get install python3-zmq python3-protobuf protobuf-compiler.
"""
import argparse, os, pathlib, subprocess, sys, time, uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
GEN = ROOT / "build" / "gen" / "py"
protos = sorted(str(p) for p in (ROOT / "proto").glob("crm/v1/*.proto"))
GEN.mkdir(parents=True, exist_ok=True)
subprocess.run(["protoc", f"--proto_path={ROOT / 'proto'}", f"--python_out={GEN}", *protos], check=True)
sys.path.insert(0, str(GEN))

import zmq  # noqa: E402
from crm.v1 import command_pb2, leads_pb2  # noqa: E402

port = int(os.environ.get("CRM_LEADS_PORT", "5550"))
host = os.environ.get("CRM_LEADS_HOST", "127.0.0.1")
ap = argparse.ArgumentParser(description="Submit a lead (request/reply).")
ap.add_argument("--endpoint", default=f"tcp://{host}:{port}", help="leads command endpoint")
ap.add_argument("--source-system", default="example")
ap.add_argument("--external-id", required=True)
for field in ("name", "phone", "email", "company", "comment", "responsible"):
    ap.add_argument(f"--{field}", default="")
args = ap.parse_args()

lead = leads_pb2.LeadReceived(source_system=args.source_system, external_id=args.external_id,
                              name=args.name, phone=args.phone, email=args.email,
                              company=args.company, comment=args.comment,
                              responsible=args.responsible)
command = command_pb2.Command(type="SubmitLead", command_id=str(uuid.uuid4()),
                              sender="examples/submit_lead.py", payload=lead.SerializeToString())

sock = zmq.Context.instance().socket(zmq.DEALER)
sock.linger = 0
sock.connect(args.endpoint)
# The same lead again is the same lead, so resending after a timeout or an
# UNAVAILABLE (retryable) reply is safe. Give up after about 10 s.
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    sock.send(command.SerializeToString())              # DEALER: one frame, [Command]
    if not sock.poll(3000):
        print(f"no reply from {args.endpoint} within 3 s", file=sys.stderr)
        continue
    reply = command_pb2.Reply.FromString(sock.recv())    # [Reply]
    if reply.HasField("error"):
        print(f"{reply.error.code}: {reply.error.message} {list(reply.error.fields)}", file=sys.stderr)
        if reply.error.retryable:
            time.sleep(1)
            continue
        sys.exit(1)
    result = leads_pb2.SubmitLeadReply.FromString(reply.payload)
    print(f"lead {result.lead_id} {'created' if result.created else 'already known'}")
    sys.exit(0)
print("giving up", file=sys.stderr)
sys.exit(1)
