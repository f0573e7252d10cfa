#!/usr/bin/python3
"""Publish a lead to the CRM, fire and forget.

A ZeroMQ PUB connects to the leads intake (port P+3 of the leads service,
5553 by default; the intake is a SUB that binds) and sends two frames:
["LeadReceived"][encoded crm.v1.LeadReceived]. Nothing is sent back: the lead
is stored once per (source_system, external_id), so publishing it again is
harmless; an invalid one is dead-lettered (leads.dead_letter). Needs only the
.proto files: the Python classes are generated with protoc into build/gen/py.

  /usr/bin/python3 examples/publish_lead.py --external-id order-8 --name 'Олег' --email oleg@example.ru

Debian 12: apt-get install python3-zmq python3-protobuf protobuf-compiler.
"""
import argparse, os, pathlib, subprocess, sys, time

ROOT = pathlib.Path(__file__).resolve().parent.parent
GEN = ROOT / "build" / "gen" / "py"
protos = sorted(str(p) for p in (ROOT / "proto").glob("crm/v1/*.proto"))
GEN.mkdir(parents=True, exist_ok=True)
subprocess.run(["protoc", f"--proto_path={ROOT / 'proto'}", f"--python_out={GEN}", *protos], check=True)
sys.path.insert(0, str(GEN))

import zmq  # noqa: E402
from crm.v1 import leads_pb2  # noqa: E402

port = int(os.environ.get("CRM_LEADS_PORT", "5550")) + 3
host = os.environ.get("CRM_LEADS_HOST", "127.0.0.1")
ap = argparse.ArgumentParser(description="Publish a lead to the leads intake (no reply).")
ap.add_argument("--endpoint", default=f"tcp://{host}:{port}", help="leads intake endpoint")
ap.add_argument("--source-system", default="example")
ap.add_argument("--external-id", required=True)
for field in ("name", "phone", "email", "company", "comment", "responsible"):
    ap.add_argument(f"--{field}", default="")
args = ap.parse_args()

lead = leads_pb2.LeadReceived(source_system=args.source_system, external_id=args.external_id,
                              name=args.name, phone=args.phone, email=args.email,
                              company=args.company, comment=args.comment,
                              responsible=args.responsible)

pub = zmq.Context.instance().socket(zmq.PUB)
pub.linger = 2000           # on close, wait up to 2 s for the frames to leave
pub.connect(args.endpoint)
# A PUB drops what it sends before the subscriber's subscription has arrived
# ("slow joiner"): a long-lived publisher connects once at start-up; a
# one-shot one like this waits a moment first.
time.sleep(0.5)
pub.send_multipart([b"LeadReceived", lead.SerializeToString()])
pub.close()
print(f"published lead {args.source_system}/{args.external_id} to {args.endpoint}")
