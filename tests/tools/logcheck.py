#!/usr/bin/python3
"""logcheck.py - checks and searches the services' JSON-lines logs.

  logcheck.py json FILE...
      Every line of every FILE (a service's stdout, named <service>[-I].log)
      must be a JSON object with string fields ts (ISO 8601 UTC), level
      (debug|info|warn|error), service (the file's service) and msg.
      Prints each offending line; exit 1 if any. Prints "N lines ok" otherwise.

  logcheck.py find FILE [--level L] [--msg TEXT] [--field K=SUBSTRING ...] [--count]
      Exit 0 if some line matches all conditions (msg equal, field values
      containing SUBSTRING); --count prints how many lines match.
"""
import json
import os
import re
import sys

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LEVELS = {"debug", "info", "warn", "error"}


def check_json(files):
    bad = 0
    total = 0
    for path in files:
        service = os.path.basename(path).rsplit(".", 1)[0].split("-", 1)[0]
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                total += 1
                where = "%s:%d" % (os.path.basename(path), n)
                try:
                    line = raw.decode("utf-8")
                    obj = json.loads(line)
                except Exception as e:  # noqa: BLE001
                    print("%s: not a JSON line (%s): %r" % (where, e, raw[:200]))
                    bad += 1
                    continue
                problems = []
                if not isinstance(obj, dict):
                    problems.append("not an object")
                else:
                    for key in ("ts", "level", "service", "msg"):
                        if not isinstance(obj.get(key), str):
                            problems.append("no string %r" % key)
                    if isinstance(obj.get("ts"), str) and not TS.match(obj["ts"]):
                        problems.append("ts %r is not ISO 8601 UTC" % obj["ts"])
                    if obj.get("level") not in LEVELS:
                        problems.append("level %r" % obj.get("level"))
                    if obj.get("service") != service:
                        problems.append("service %r in %s's log" % (obj.get("service"), service))
                if problems:
                    print("%s: %s: %s" % (where, ", ".join(problems), line.strip()[:200]))
                    bad += 1
    if bad == 0:
        print("%d lines ok" % total)
    return 1 if bad else 0


def find(args):
    path = args[0]
    level = msg = None
    fields = []
    count = False
    i = 1
    while i < len(args):
        a = args[i]
        if a == "--level":
            level = args[i + 1]
            i += 1
        elif a == "--msg":
            msg = args[i + 1]
            i += 1
        elif a == "--field":
            k, v = args[i + 1].split("=", 1)
            fields.append((k, v))
            i += 1
        elif a == "--count":
            count = True
        i += 1
    n = 0
    if os.path.exists(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if level and obj.get("level") != level:
                    continue
                if msg and obj.get("msg") != msg:
                    continue
                if any(v not in str(obj.get(k, "")) for k, v in fields):
                    continue
                n += 1
    if count:
        print(n)
    return 0 if n else 1


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    if argv[1] == "json":
        return check_json(argv[2:])
    if argv[1] == "find":
        return find(argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
