# tests/kube/emu_present.py
#
# What the emulator shows clients besides objects: discovery documents (/api, /apis,
# APIResourceList per group/version), the OpenAPI v3 index and per-group/version documents that
# kubectl reads (it checks there that PATCH accepts fieldValidation, to leave validation to the
# server, and `kubectl explain` reads the custom resources' schemas), and server-side printing:
# meta.k8s.io/v1 Table with the CRD's additionalPrinterColumns for custom resources, a few
# familiar columns for some built-in types, and NAME / AGE otherwise.
# Standard library only.

import calendar
import hashlib
import json
import time

import emu_select

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]


# --- discovery ----------------------------------------------------------------------------

def group_versions(types):
    """{group: [versions, preferred first]} over the served types."""
    out = {}
    for rt in types:
        vs = out.setdefault(rt.group, [])
        for v in [rt.version] + [x for x in rt.versions if x != rt.version]:
            if v not in vs:
                vs.append(v)
    return out


def api_group_list(types):
    groups = []
    for g, vs in sorted(group_versions(types).items()):
        if not g:
            continue
        groups.append(api_group(g, vs))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group, versions):
    gvs = [{"groupVersion": "%s/%s" % (group, v), "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs,
            "preferredVersion": gvs[0]}


def api_resource_list(types, group, version):
    res = []
    for rt in sorted(types, key=lambda t: t.plural):
        if rt.group != group or version not in rt.versions:
            continue
        r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
             "kind": rt.kind, "verbs": VERBS}
        if rt.short_names:
            r["shortNames"] = rt.short_names
        if rt.categories:
            r["categories"] = rt.categories
        res.append(r)
        if rt.status:
            res.append({"name": rt.plural + "/status", "singularName": "",
                        "namespaced": rt.namespaced, "kind": rt.kind, "verbs": SUB_VERBS})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": "%s/%s" % (group, version) if group else version,
            "resources": res}


# --- OpenAPI v3 ---------------------------------------------------------------------------

def _gv_path(group, version):
    return "apis/%s/%s" % (group, version) if group else "api/%s" % version


def _definition_name(rt, version):
    rev = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return "%s.%s.%s" % (rev, version, rt.kind)


def openapi_doc(store, group, version):
    """The OpenAPI v3 document of one group/version."""
    paths, schemas = {}, {}
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
    for rt in store.served_types():
        if rt.group != group or version not in rt.versions:
            continue
        gvk = {"group": group, "version": version, "kind": rt.kind}
        prefix = "/" + _gv_path(group, version)
        item = prefix + ("/namespaces/{namespace}/" if rt.namespaced else "/") + rt.plural + \
            "/{name}"
        ref = {"$ref": "#/components/schemas/" + _definition_name(rt, version)}
        content = {ct: {"schema": {"type": "object"}} for ct in
                   ("application/json-patch+json", "application/merge-patch+json",
                    "application/apply-patch+yaml")}
        paths[item] = {
            "get": {"operationId": "read" + rt.kind, "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk,
                    "responses": {"200": {"description": "OK", "content": {
                        "application/json": {"schema": ref}}}}},
            "patch": {"operationId": "patch" + rt.kind, "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk, "parameters": params,
                      "requestBody": {"content": content, "required": True},
                      "responses": {"200": {"description": "OK", "content": {
                          "application/json": {"schema": ref}}}}},
        }
        schemas[_definition_name(rt, version)] = _schema_for(store, rt, version, gvk)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": schemas}}


def _schema_for(store, rt, version, gvk):
    base = {"type": "object", "x-kubernetes-group-version-kind": [gvk],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True}}}
    if rt.is_custom():
        sch = (store.version_spec(rt, version).get("schema") or {}).get("openAPIV3Schema") or {}
        merged = json.loads(json.dumps(sch))
        merged.setdefault("properties", {}).update(
            {k: v for k, v in base["properties"].items() if k not in merged["properties"]})
        merged["type"] = "object"
        merged["x-kubernetes-group-version-kind"] = [gvk]
        return merged
    base["x-kubernetes-preserve-unknown-fields"] = True
    return base


def openapi_index(store):
    paths = {}
    for g, vs in sorted(group_versions(store.served_types()).items()):
        for v in vs:
            doc = json.dumps(openapi_doc(store, g, v), sort_keys=True).encode()
            h = hashlib.sha512(doc).hexdigest().upper()
            paths[_gv_path(g, v)] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" %
                                     (_gv_path(g, v), h)}
    return {"paths": paths}


# --- Table --------------------------------------------------------------------------------

def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    y = h // (24 * 365)
    if y < 8:
        return "%dy%dd" % (y, (h // 24) % 365)
    return "%dy" % y


def _age(ts):
    try:
        t = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return ts
    return human_duration(time.time() - t)


_NAME_COL = {"name": "Name", "type": "string", "format": "name", "priority": 0,
             "description": "Name must be unique within a namespace."}
_AGE_COL = {"name": "Age", "type": "string", "format": "", "priority": 0,
            "description": "CreationTimestamp is a timestamp representing the server time when "
                           "this object was created."}


def _ports(svc):
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += ":%s" % p["nodePort"]
        out.append("%s/%s" % (s, p.get("protocol", "TCP")))
    return ",".join(out) or "<none>"


def _slice_eps(es):
    addrs = [a for ep in es.get("endpoints") or [] for a in ep.get("addresses") or []]
    return ",".join(addrs) or "<unset>"


# kind -> list of (column name, function(obj) -> cell)
_BUILTIN_COLUMNS = {
    "Namespace": [("Status", lambda o: (o.get("status") or {}).get("phase", ""))],
    "Pod": [("Status", lambda o: (o.get("status") or {}).get("phase", "")),
            ("IP", lambda o: (o.get("status") or {}).get("podIP", "<none>")),
            ("Node", lambda o: (o.get("spec") or {}).get("nodeName", "<none>"))],
    "Service": [("Type", lambda o: (o.get("spec") or {}).get("type", "")),
                ("Cluster-IP", lambda o: (o.get("spec") or {}).get("clusterIP", "<none>")),
                ("Port(s)", _ports)],
    "EndpointSlice": [("AddressType", lambda o: o.get("addressType", "")),
                      ("Ports", lambda o: ",".join(str(p.get("port")) for p in
                                                   o.get("ports") or []) or "<unset>"),
                      ("Endpoints", _slice_eps)],
    "Lease": [("Holder", lambda o: (o.get("spec") or {}).get("holderIdentity", ""))],
    "Event": [("Type", lambda o: o.get("type", "")),
              ("Reason", lambda o: o.get("reason", "")),
              ("Object", lambda o: "%s/%s" % (
                  ((o.get("involvedObject") or {}).get("kind") or "").lower(),
                  (o.get("involvedObject") or {}).get("name", ""))),
              ("Message", lambda o: o.get("message", ""))],
}


def _cell(values, typ):
    if not values:
        return None
    if len(values) > 1:
        return ",".join(json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                        for v in values)
    v = values[0]
    if typ == "date":
        return _age(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if typ == "string" and not isinstance(v, str):
        return str(v).lower() if isinstance(v, bool) else str(v)
    return v


def table_columns(store, rt, version):
    """(columnDefinitions, function(obj) -> cells)."""
    if rt.is_custom():
        cols = store.version_spec(rt, version).get("additionalPrinterColumns") or []
        if cols:
            defs = [_NAME_COL] + [{"name": c["name"], "type": c.get("type", "string"),
                                   "format": c.get("format", ""),
                                   "description": c.get("description", ""),
                                   "priority": c.get("priority", 0)} for c in cols]

            def cells(o, cols=cols):
                out = [o["metadata"]["name"]]
                for c in cols:
                    try:
                        vals = emu_select.jsonpath(o, c["jsonPath"])
                    except ValueError:
                        vals = []
                    out.append(_cell(vals, c.get("type", "string")))
                return out
            return defs, cells
    extra = _BUILTIN_COLUMNS.get(rt.kind, [])
    defs = [_NAME_COL] + [{"name": n, "type": "string", "format": "", "description": "",
                           "priority": 0} for n, _ in extra] + [_AGE_COL]

    def cells(o, extra=extra):
        return [o["metadata"]["name"]] + [f(o) for _, f in extra] + \
            [_age(o["metadata"].get("creationTimestamp"))]
    return defs, cells


def to_table(store, rt, version, objs, list_meta, include="Metadata"):
    defs, cells = table_columns(store, rt, version)
    rows = []
    for o in objs:
        row = {"cells": cells(o)}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": o["metadata"]}
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": defs, "rows": rows}
