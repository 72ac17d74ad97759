# tests/kube/emu_select.py
#
# Label and field selectors as kube-apiserver parses them (k8s.io/apimachinery/pkg/labels and
# pkg/fields), plus the small JSONPath subset printer columns use.
#   labelSelector: comma-separated requirements: key, !key, key=v, key==v, key!=v,
#                  key in (a,b), key notin (a,b)
#   fieldSelector: metadata.name / metadata.namespace (and a few per-type fields) with
#                  =, ==, !=
#   JSONPath:      .a.b, .a[0].b, .a[*].b, .a['x.y'], .metadata.labels.app\.kubernetes\.io/name
# Parse errors raise ValueError; the server answers 400 BadRequest.
# Standard library only.

import re

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VAL = r"[-A-Za-z0-9_.]*"


def _split_top(s):
    """Splits on commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise ValueError("unbalanced parentheses in selector %r" % s)
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()] if s.strip() else []


def parse_labels(sel):
    """Returns a list of (key, op, values); op in =, !=, in, notin, exists, !exists."""
    reqs = []
    for part in _split_top(sel or ""):
        m = re.fullmatch(r"(%s)\s+(in|notin)\s*\(([^)]*)\)" % _KEY, part)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            for v in vals:
                if not re.fullmatch(_VAL, v):
                    raise ValueError("invalid label value: %r" % v)
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.fullmatch(r"!\s*(%s)" % _KEY, part)
        if m:
            reqs.append((m.group(1), "!exists", []))
            continue
        m = re.fullmatch(r"(%s)\s*(==|!=|=)\s*(%s)" % (_KEY, _VAL), part)
        if m:
            op = "=" if m.group(2) in ("=", "==") else "!="
            reqs.append((m.group(1), op, [m.group(3)]))
            continue
        m = re.fullmatch(_KEY, part)
        if m:
            reqs.append((part, "exists", []))
            continue
        raise ValueError("unable to parse requirement: %r" % part)
    return reqs


def match_labels(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and (not has or v != vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and (not has or v not in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


# fields each kind can be selected by, beyond metadata.name and metadata.namespace
EXTRA_FIELDS = {
    "Pod": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
            "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"),
    "Event": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
}


def parse_fields(sel, kind, namespaced):
    reqs = []
    allowed = ["metadata.name"] + (["metadata.namespace"] if namespaced else []) + \
        list(EXTRA_FIELDS.get(kind, ()))
    for part in _split_top(sel or ""):
        m = re.fullmatch(r"([A-Za-z.]+)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise ValueError("invalid selector: '%s'; can't understand '%s'" % (sel, part))
        if m.group(1) not in allowed:
            raise ValueError('"%s" is not a known field selector: only "%s"' %
                             (m.group(1), '", "'.join(allowed)))
        reqs.append((m.group(1), "=" if m.group(2) != "!=" else "!=", m.group(3)))
    return reqs


def _field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict) and path == "source":
        return cur.get("component", "")
    return str(cur)


def match_fields(reqs, obj):
    for path, op, val in reqs:
        got = _field_value(obj, path)
        if (op == "=") != (got == val):
            return False
    return True


# --- JSONPath subset ----------------------------------------------------------------------

def _jp_tokens(path):
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    toks, i = [], 0
    while i < len(path):
        ch = path[i]
        if ch == ".":
            i += 1
            name = ""
            while i < len(path) and path[i] not in ".[":
                if path[i] == "\\" and i + 1 < len(path):
                    name += path[i + 1]
                    i += 2
                    continue
                name += path[i]
                i += 1
            if name:
                toks.append(("field", name))
        elif ch == "[":
            j = path.index("]", i)
            inner = path[i + 1:j].strip()
            if inner == "*":
                toks.append(("all", None))
            elif inner.lstrip("-").isdigit():
                toks.append(("index", int(inner)))
            else:
                toks.append(("field", inner.strip("'\"")))
            i = j + 1
        else:
            raise ValueError("unsupported JSONPath %r" % path)
    return toks


def jsonpath(obj, path):
    """Returns the list of values the path selects (empty when missing)."""
    cur = [obj]
    for kind, arg in _jp_tokens(path):
        nxt = []
        for c in cur:
            if kind == "field" and isinstance(c, dict) and arg in c:
                nxt.append(c[arg])
            elif kind == "index" and isinstance(c, list) and -len(c) <= arg < len(c):
                nxt.append(c[arg])
            elif kind == "all":
                if isinstance(c, list):
                    nxt.extend(c)
                elif isinstance(c, dict):
                    nxt.extend(c.values())
        cur = nxt
    return cur
