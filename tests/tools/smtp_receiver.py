#!/usr/bin/python3
"""smtp_receiver.py - a real SMTP server that records what the notifier
sends, for the tests (the stdlib smtpd module of Debian 12's Python 3.11).

  smtp_receiver.py serve PORT OUT
      Listens on 127.0.0.1:PORT; appends one JSON line per message to OUT:
      {"mail_from", "rcpt_to": [...], "data_hex"} (the bytes after DATA).
      Prints "ready" once listening.

  smtp_receiver.py show OUT
      One JSON line per message, parsed with the email package: {"mail_from",
      "rcpt_to", "from", "to", "date", "message_id", "subject" (RFC 2047
      decoded), "subject_raw", "content_type", "charset",
      "transfer_encoding", "notification_id", "correlation_id", "body"
      (decoded text), "max_line" (longest raw line, bytes)}. (smtpd hands
      over lines joined by LF, whatever came on the wire.)
"""
import json
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asyncore  # noqa: E402
import smtpd  # noqa: E402
from email import policy  # noqa: E402
from email.header import decode_header, make_header  # noqa: E402
from email.parser import BytesParser  # noqa: E402


def serve(args):
    port, out = int(args[0]), args[1]

    class Server(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            with open(out, "a") as f:
                f.write(json.dumps({"mail_from": mailfrom, "rcpt_to": rcpttos, "data_hex": data.hex()}) + "\n")
            return None     # 250 OK

    Server(("127.0.0.1", port), None, decode_data=False)
    print("ready", flush=True)
    asyncore.loop(timeout=0.2)
    return 0


def show(args):
    with open(args[0]) as f:
        for line in f:
            r = json.loads(line)
            raw = bytes.fromhex(r["data_hex"])
            msg = BytesParser(policy=policy.compat32).parsebytes(raw)
            subject_raw = msg.get("Subject", "")
            lines = raw.split(b"\n")
            print(json.dumps({
                "mail_from": r["mail_from"], "rcpt_to": r["rcpt_to"],
                "from": msg.get("From"), "to": msg.get("To"), "date": msg.get("Date"),
                "message_id": msg.get("Message-ID"),
                "subject": str(make_header(decode_header(subject_raw))),
                "subject_raw": subject_raw,
                "content_type": msg.get_content_type(), "charset": msg.get_content_charset(),
                "transfer_encoding": msg.get("Content-Transfer-Encoding"),
                "notification_id": msg.get("X-CRM-Notification-Id"),
                "correlation_id": msg.get("X-CRM-Correlation-Id"),
                "body": msg.get_payload(decode=True).decode(msg.get_content_charset() or "ascii"),
                "max_line": max(len(l) for l in lines),
            }, ensure_ascii=False))
    return 0


def main(argv):
    if len(argv) < 2 or argv[1] not in ("serve", "show"):
        print(__doc__)
        return 2
    return serve(argv[2:]) if argv[1] == "serve" else show(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
