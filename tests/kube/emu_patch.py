# tests/kube/emu_patch.py
#
# The three patch formats kube-apiserver accepts on PATCH:
#   application/merge-patch+json           RFC 7386 JSON merge patch (lists replace, null deletes)
#   application/strategic-merge-patch+json Kubernetes strategic merge patch, built-in types only:
#       lists merge by their patch merge key where the Go types say so (containers by name,
#       container ports by containerPort, Service ports by port, env by name, volumes by name,
#       volumeMounts by mountPath, conditions by type, ownerReferences by uid, finalizers as a
#       set of strings); every other list is replaced, as lists without a strategy are.
#       Directives: $patch (replace | delete | merge), $retainKeys, $setElementOrder/<list>,
#       $deleteFromPrimitiveList/<list>; null deletes a key.
#   application/json-patch+json            RFC 6902 (add, remove, replace, move, copy, test)
# Errors raise PatchError; the server turns them into 422 / 400 Status bodies.
# Standard library only.

import copy


class PatchError(Exception):
    pass


# --- RFC 7386 ---------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# --- strategic merge patch ---------------------------------------------------------------

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# last field name -> merge key, for lists whose key does not depend on where they are
_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath",
    "volumeDevices": "devicePath", "imagePullSecrets": "name", "hostAliases": "ip",
    "conditions": "type", "ownerReferences": "uid", "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# lists of strings merged as sets
_PRIMITIVE_SETS = ("finalizers",)


def _list_strategy(kind, path):
    """('merge', key) | ('set',) | ('replace',) for the list at `path` (field names only)."""
    last = path[-1]
    parent = path[-2] if len(path) > 1 else None
    if last == "ports":
        if parent in _CONTAINER_LISTS:
            return ("merge", "containerPort")
        if kind == "Service" and path == ("spec", "ports"):
            return ("merge", "port")
        return ("replace",)
    if last == "secrets" and kind == "ServiceAccount" and path == ("secrets",):
        return ("merge", "name")
    if last in _PRIMITIVE_SETS and parent == "metadata":
        return ("set",)
    if last in _MERGE_KEYS:
        return ("merge", _MERGE_KEYS[last])
    return ("replace",)


def _strip(v):
    """Removes patch directives from content that replaces what was there."""
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items()
                if not k.startswith("$") and x is not None}
    if isinstance(v, list):
        return [_strip(x) for x in v]
    return v


def strategic_merge(original, patch, kind):
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _smp_map(original if isinstance(original, dict) else {}, patch, kind, ())


def _smp_map(orig, patch, kind, path):
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise PatchError('unknown patch type: "%s" in map' % directive)
    out = copy.deepcopy(orig)
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            fld = k.split("/", 1)[1]
            if isinstance(out.get(fld), list) and isinstance(v, list):
                out[fld] = [x for x in out[fld] if x not in v]
            continue
        if k.startswith("$"):
            raise PatchError("unknown directive %s" % k)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            merged = _smp_map(out[k] if isinstance(out.get(k), dict) else {}, v, kind, path + (k,))
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            out[k] = _smp_list(out[k] if isinstance(out.get(k), list) else [], v, kind,
                               path + (k,))
        else:
            out[k] = v
    for fld, order in orders.items():
        if isinstance(out.get(fld), list) and isinstance(order, list):
            out[fld] = _reorder(out[fld], order, _list_strategy(kind, path + (fld,)))
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        out = {k: v for k, v in out.items() if k in keep}
    return out


def _key_of(item, key):
    return item.get(key) if isinstance(item, dict) else item


def _reorder(items, order, strategy):
    key = strategy[1] if strategy[0] == "merge" else None
    want = [_key_of(o, key) if key else o for o in order]
    listed = [x for w in want for x in items if (_key_of(x, key) if key else x) == w]
    rest = [x for x in items if x not in listed]
    return listed + rest


def _smp_list(orig, patch, kind, path):
    strategy = _list_strategy(kind, path)
    if any(isinstance(p, dict) and p.get("$patch") == "replace" and len(p) == 1 for p in patch):
        return [_strip(p) for p in patch
                if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    if strategy[0] == "replace":
        return _strip(patch)
    if strategy[0] == "set":
        out = list(orig)
        for p in patch:
            if p not in out:
                out.append(p)
        return out
    key = strategy[1]
    out = copy.deepcopy(orig)
    for p in patch:
        if not isinstance(p, dict):
            raise PatchError("%s: element of a list merged by %s is not an object" %
                             (".".join(path), key))
        if key not in p:
            raise PatchError("map: %s does not contain declared merge key: %s" % (p, key))
        idx = next((i for i, x in enumerate(out)
                    if isinstance(x, dict) and x.get(key) == p[key]), None)
        if p.get("$patch") == "delete":
            if idx is not None:
                del out[idx]
            continue
        if idx is None:
            out.append(_smp_map({}, p, kind, path))
        else:
            out[idx] = _smp_map(out[idx], p, kind, path)
    return out


# --- RFC 6902 ----------------------------------------------------------------------------

def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise PatchError("doc is missing path: %s" % path)
    return cur


def _get(doc, path):
    parts = _pointer(path)
    if not parts:
        return doc
    par = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(par, dict) and last in par:
        return par[last]
    if isinstance(par, list) and last.isdigit() and int(last) < len(par):
        return par[int(last)]
    raise PatchError("doc is missing path: %s" % path)


def _remove(doc, path):
    parts = _pointer(path)
    par = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(par, dict) and last in par:
        return par.pop(last)
    if isinstance(par, list) and last.isdigit() and int(last) < len(par):
        return par.pop(int(last))
    raise PatchError("doc is missing path: %s" % path)


def _add(doc, path, value, replace=False):
    parts = _pointer(path)
    if not parts:
        return value
    par = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(par, dict):
        if replace and last not in par:
            raise PatchError("doc is missing key: %s" % path)
        par[last] = value
    elif isinstance(par, list):
        if last == "-" and not replace:
            par.append(value)
        elif last.isdigit() and int(last) <= len(par) - (1 if replace else 0):
            if replace:
                par[int(last)] = value
            else:
                par.insert(int(last), value)
        else:
            raise PatchError("index out of bounds: %s" % path)
    else:
        raise PatchError("doc is missing path: %s" % path)
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json patch must be a JSON array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("invalid operation %r" % (op,))
        name, path = op["op"], op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise PatchError('missing value for op "%s"' % name)
        if name == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif name == "remove":
            _remove(doc, path)
        elif name == "replace":
            doc = _add(doc, path, copy.deepcopy(op["value"]), replace=True)
        elif name == "move":
            v = _remove(doc, op.get("from", ""))
            doc = _add(doc, path, v)
        elif name == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, op.get("from", ""))))
        elif name == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError("testing value %s failed" % path)
        else:
            raise PatchError('unexpected kind: "%s"' % name)
    return doc
