#!/usr/bin/python3
"""prom.py - reads a service's GET /metrics (Prometheus text format 0.0.4).

  prom.py check SOURCE
      Parses it strictly: every sample belongs to a family announced by a
      HELP and a TYPE line before it, names and labels are well formed,
      values are numbers, counters are not negative, a histogram's buckets
      are cumulative, end with le="+Inf" equal to its _count, and come with
      _sum. Prints "ok: N families, M samples"; exit 1 with the problem.

  prom.py get SOURCE NAME [LABEL=VALUE ...]
      Prints the value of the one sample NAME with those labels (others may
      be present); exit 1 if none or several match.

  prom.py sum SOURCE NAME [LABEL=VALUE ...]
      Prints the sum of the matching samples (0 if none).

SOURCE is a file, or an http:// URL fetched with urllib (exit 1 unless 200).
"""
import re
import sys
import urllib.request

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? (\S+)$" % NAME)
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def read(source):
    if source.startswith("http://"):
        with urllib.request.urlopen(source, timeout=10) as r:
            if r.status != 200:
                raise SystemExit("GET %s: %d" % (source, r.status))
            ctype = r.headers.get("Content-Type", "")
            if not ctype.startswith("text/plain") or "version=0.0.4" not in ctype:
                raise SystemExit("GET %s: Content-Type %r" % (source, ctype))
            return r.read().decode("utf-8")
    with open(source, encoding="utf-8") as f:
        return f.read()


def labels_of(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise ValueError("bad labels {%s}" % text)
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse(text):
    """[(name, labels, value)], {family: type}; raises ValueError."""
    helps, types, samples = set(), {}, []
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                raise ValueError("line %d: bad TYPE: %r" % (n, line))
            if parts[2] not in helps:
                raise ValueError("line %d: TYPE before HELP for %s" % (n, parts[2]))
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError("line %d: not a sample: %r" % (n, line))
        name, labels, value = m.group(1), labels_of(m.group(3) or ""), float(m.group(4))
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                family = name[: -len(suffix)]
        if family not in types:
            raise ValueError("line %d: sample of %s before its HELP/TYPE" % (n, family))
        if types[family] == "counter" and value < 0:
            raise ValueError("line %d: negative counter" % n)
        samples.append((name, labels, value))
    return samples, types


def check_histograms(samples, types):
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for name, labels, value in samples:
            if name.startswith(family + "_"):
                key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                series.setdefault(key, {"buckets": [], "sum": None, "count": None})
                s = series[key]
                if name == family + "_bucket":
                    s["buckets"].append((labels["le"], value))
                elif name == family + "_sum":
                    s["sum"] = value
                elif name == family + "_count":
                    s["count"] = value
        for key, s in series.items():
            b = s["buckets"]
            if not b or b[-1][0] != "+Inf":
                raise ValueError("%s%s: no le=\"+Inf\" bucket last" % (family, dict(key)))
            bounds = [float(le) for le, _ in b]
            if bounds != sorted(bounds):
                raise ValueError("%s: buckets out of order" % family)
            counts = [v for _, v in b]
            if counts != sorted(counts):
                raise ValueError("%s: buckets not cumulative: %s" % (family, counts))
            if s["count"] != counts[-1] or s["sum"] is None:
                raise ValueError("%s: _count %s != +Inf bucket %s, or no _sum" % (family, s["count"], counts[-1]))


def matching(samples, name, wanted):
    return [v for n, labels, v in samples if n == name and all(labels.get(k) == x for k, x in wanted.items())]


def fmt(v):
    return str(int(v)) if v == int(v) else repr(v)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "get", "sum"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        samples, types = parse(read(argv[2]))
        if argv[1] == "check":
            check_histograms(samples, types)
            print("ok: %d families, %d samples" % (len(types), len(samples)))
            return 0
    except (ValueError, OSError) as e:
        print("prom.py: %s" % e, file=sys.stderr)
        return 1
    wanted = dict(a.split("=", 1) for a in argv[4:])
    values = matching(samples, argv[3], wanted)
    if argv[1] == "sum":
        print(fmt(sum(values)))
        return 0
    if len(values) != 1:
        print("prom.py: %d samples match %s %s" % (len(values), argv[3], wanted), file=sys.stderr)
        return 1
    print(fmt(values[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
