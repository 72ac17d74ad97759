# tests/kube/emu_schema.py
#
# Structural OpenAPI v3 schemas of CustomResourceDefinitions, applied to a custom resource the
# way kube-apiserver does on every write (apiextensions-apiserver: pruning, then nulls, then
# defaulting, then validation):
#   1. prune fields the schema does not know (unless x-kubernetes-preserve-unknown-fields),
#      remembering their paths for fieldValidation=Strict/Warn;
#   2. drop null values of non-nullable fields that have no default;
#   3. apply `default`s (missing fields, and non-nullable nulls);
#   4. validate: type, enum, required, minimum/maximum (+exclusive), min/maxLength, pattern,
#      min/maxItems, min/maxProperties, items, properties, additionalProperties,
#      x-kubernetes-int-or-string, nullable. `format` is not checked, as the real server
#      accepts most formats leniently; CEL rules (x-kubernetes-validations) are ignored.
# Messages follow kube-openapi's validator ("spec.readport in body should be less than or
# equal to 32767"). Patterns are ECMA/RE2 regexes; Python's re understands the common subset.
# Standard library only.

import copy
import re

from emu_errors import (FieldError, INVALID, NOT_SUPPORTED, REQUIRED, TOO_LONG, TOO_MANY,
                        TYPE_INVALID)

_ROOT_META = ("apiVersion", "kind", "metadata")


def _join(path, key):
    return key if not path else path + "." + key


def _child_schema(s, key):
    props = s.get("properties") or {}
    if key in props:
        return props[key]
    ap = s.get("additionalProperties")
    if isinstance(ap, dict):
        return ap
    return None


def _keeps_unknown(s):
    return bool(s.get("x-kubernetes-preserve-unknown-fields")) or \
        s.get("additionalProperties") is True


def prune(obj, schema, pruned, path="", root=True):
    """Removes unknown fields in place; appends their paths to `pruned`."""
    if schema is None:
        return
    if isinstance(obj, dict):
        embedded = root or schema.get("x-kubernetes-embedded-resource")
        for key in list(obj.keys()):
            if embedded and key in _ROOT_META:
                continue
            sub = _child_schema(schema, key)
            if sub is not None:
                prune(obj[key], sub, pruned, _join(path, key), False)
            elif not _keeps_unknown(schema):
                pruned.append(_join(path, key))
                del obj[key]
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(obj):
                prune(v, items, pruned, "%s[%d]" % (path, i), False)


def prune_nulls(obj, schema):
    """Drops non-nullable nulls without a default (they would fail validation otherwise)."""
    if schema is None or not isinstance(obj, (dict, list)):
        return
    if isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for v in obj:
                prune_nulls(v, items)
        return
    for key in list(obj.keys()):
        sub = _child_schema(schema, key)
        if sub is None:
            continue
        if obj[key] is None:
            if not sub.get("nullable") and "default" not in sub:
                del obj[key]
        else:
            prune_nulls(obj[key], sub)


def apply_defaults(obj, schema):
    if schema is None:
        return
    if isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for v in obj:
                apply_defaults(v, items)
        return
    if not isinstance(obj, dict):
        return
    for key, sub in (schema.get("properties") or {}).items():
        if "default" in sub and (key not in obj or (obj[key] is None and not sub.get("nullable"))):
            obj[key] = copy.deepcopy(sub["default"])
    for key, v in obj.items():
        sub = _child_schema(schema, key)
        if sub is not None:
            apply_defaults(v, sub)


def _type_ok(v, t):
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    return True


def _go_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _check_scalar(v, s, path, errs):
    fld = path or "<root>"
    if "enum" in s and v not in s["enum"]:
        errs.append(FieldError(NOT_SUPPORTED, path, v, supported=s["enum"]))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "maximum" in s:
            if s.get("exclusiveMaximum") and v >= s["maximum"]:
                errs.append(FieldError(INVALID, path, v, "%s in body should be less than %s" %
                                       (fld, s["maximum"])))
            elif v > s["maximum"]:
                errs.append(FieldError(INVALID, path, v, "%s in body should be less than or "
                                       "equal to %s" % (fld, s["maximum"])))
        if "minimum" in s:
            if s.get("exclusiveMinimum") and v <= s["minimum"]:
                errs.append(FieldError(INVALID, path, v, "%s in body should be greater than %s" %
                                       (fld, s["minimum"])))
            elif v < s["minimum"]:
                errs.append(FieldError(INVALID, path, v, "%s in body should be greater than or "
                                       "equal to %s" % (fld, s["minimum"])))
    if isinstance(v, str):
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append(FieldError(TOO_LONG, path, v, ": may not be more than %d bytes" %
                                   s["maxLength"]))
        if "minLength" in s and len(v) < s["minLength"]:
            errs.append(FieldError(INVALID, path, v, "%s in body should be at least %d chars "
                                   "long" % (fld, s["minLength"])))
        if "pattern" in s and not re.search(s["pattern"], v):
            errs.append(FieldError(INVALID, path, v, "%s in body should match '%s'" %
                                   (fld, s["pattern"])))


def validate(v, s, path="", errs=None, root=True):
    """Returns the list of FieldError of value v against schema s."""
    if errs is None:
        errs = []
    if s is None:
        return errs
    fld = path or "<root>"
    if v is None:
        if not s.get("nullable"):
            t = s.get("type", "object")
            errs.append(FieldError(TYPE_INVALID, path, None, "%s in body must be of type %s: "
                                   '"null"' % (fld, t)))
        return errs
    if s.get("x-kubernetes-int-or-string"):
        if not (isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))):
            errs.append(FieldError(TYPE_INVALID, path, v, "%s in body must be of type "
                                   "integer-or-string: %s" % (fld, _go_type(v))))
            return errs
    elif s.get("type") and not _type_ok(v, s["type"]):
        errs.append(FieldError(TYPE_INVALID, path, v, '%s in body must be of type %s: "%s"' %
                               (fld, s["type"], _go_type(v))))
        return errs
    if isinstance(v, dict):
        _validate_object(v, s, path, errs, root)
    elif isinstance(v, list):
        _validate_array(v, s, path, errs)
    else:
        _check_scalar(v, s, path, errs)
    return errs


def _validate_object(v, s, path, errs, root):
    fld = path or "<root>"
    for req in s.get("required") or []:
        if req not in v:
            errs.append(FieldError(REQUIRED, _join(path, req)))
    if "maxProperties" in s and len(v) > s["maxProperties"]:
        errs.append(FieldError(TOO_MANY, path, len(v), ": must have at most %d items" %
                               s["maxProperties"]))
    if "minProperties" in s and len(v) < s["minProperties"]:
        errs.append(FieldError(INVALID, path, len(v), "%s in body should have at least %d "
                               "properties" % (fld, s["minProperties"])))
    for key, val in v.items():
        if root and key in _ROOT_META:
            continue
        sub = _child_schema(s, key)
        if sub is not None:
            validate(val, sub, _join(path, key), errs, False)


def _validate_array(v, s, path, errs):
    fld = path or "<root>"
    if "maxItems" in s and len(v) > s["maxItems"]:
        errs.append(FieldError(TOO_MANY, path, len(v), ": must have at most %d items" %
                               s["maxItems"]))
    if "minItems" in s and len(v) < s["minItems"]:
        errs.append(FieldError(INVALID, path, len(v), "%s in body should have at least %d "
                               "items" % (fld, s["minItems"])))
    items = s.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(v):
            validate(item, items, "%s[%d]" % (path, i), errs, False)
    if s.get("x-kubernetes-list-type") == "set" or s.get("uniqueItems"):
        seen = []
        for i, item in enumerate(v):
            if item in seen:
                errs.append(FieldError("FieldValueDuplicate", "%s[%d]" % (path, i), item))
            seen.append(item)
    if s.get("x-kubernetes-list-type") == "map":
        keys = s.get("x-kubernetes-list-map-keys") or []
        seen = []
        for i, item in enumerate(v):
            if isinstance(item, dict):
                k = tuple(item.get(x) for x in keys)
                if k in seen:
                    errs.append(FieldError("FieldValueDuplicate", "%s[%d]" % (path, i),
                                           dict(zip(keys, k))))
                seen.append(k)


def process(obj, schema):
    """Prunes, drops nulls, defaults, validates obj in place: returns (errors, pruned_paths)."""
    pruned = []
    if schema is None:
        return [], pruned
    prune(obj, schema, pruned)
    prune_nulls(obj, schema)
    apply_defaults(obj, schema)
    body = {k: v for k, v in obj.items() if k not in _ROOT_META}
    errs = validate(body, schema)
    return errs, pruned


def check_structural(schema, path="openAPIV3Schema"):
    """A light structural-schema check of a CRD version's schema: a list of FieldError."""
    errs = []
    if not isinstance(schema, dict):
        return [FieldError(REQUIRED, path, detail="schemas are required")]
    _walk_structural(schema, path, errs, True)
    return errs


def _walk_structural(s, path, errs, root):
    if not isinstance(s, dict):
        errs.append(FieldError(INVALID, path, s, "must be an object"))
        return
    t = s.get("type")
    if t is None and not (s.get("x-kubernetes-int-or-string") or
                          s.get("x-kubernetes-preserve-unknown-fields")) and not root:
        errs.append(FieldError(REQUIRED, path + ".type", detail="must not be empty for "
                               "specified object fields"))
    if root and t not in (None, "object"):
        errs.append(FieldError(INVALID, path + ".type", t, "must be object at the root"))
    if t is not None and t not in ("object", "array", "string", "integer", "number", "boolean"):
        errs.append(FieldError(NOT_SUPPORTED, path + ".type", t,
                               supported=["array", "boolean", "integer", "number", "object",
                                          "string"]))
    if "pattern" in s:
        try:
            re.compile(s["pattern"])
        except re.error as e:
            errs.append(FieldError(INVALID, path + ".pattern", s["pattern"], str(e)))
    if s.get("properties") and isinstance(s.get("additionalProperties"), dict):
        errs.append(FieldError("FieldValueForbidden", path + ".additionalProperties",
                               detail="additionalProperties and properties are mutual "
                                      "exclusive"))
    for k, sub in (s.get("properties") or {}).items():
        _walk_structural(sub, "%s.properties[%s]" % (path, k), errs, False)
    if isinstance(s.get("items"), dict):
        _walk_structural(s["items"], path + ".items", errs, False)
    elif t == "array":
        errs.append(FieldError(REQUIRED, path + ".items", detail="must be specified"))
    if isinstance(s.get("additionalProperties"), dict):
        _walk_structural(s["additionalProperties"], path + ".additionalProperties", errs, False)
