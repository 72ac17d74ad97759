# tests/kube/emu_builtin.py
#
# The built-in resource types the emulator serves, with the part of kube-apiserver's defaulting
# and validation (pkg/apis/*/validation) that a controller can trip over:
#   names        DNS-1123 subdomain by default; DNS-1123 label for namespaces, DNS-1035 label
#                for services, path segments for RBAC objects, <plural>.<group> for CRDs;
#   labels       qualified-name keys, 63-character values;
#   Service      ports required, port/targetPort/nodePort ranges, nodePort only for NodePort and
#                LoadBalancer, type enum, clusterIP immutable; nodePort clashes are checked by
#                the store (it sees every Service);
#   EndpointSlice addressType required and immutable, addresses valid for it and not special
#                (unspecified, loopback, link-local, link-local multicast), ports, hostname;
#   Lease        leaseDurationSeconds > 0, leaseTransitions >= 0; wrong types and timestamps
#                that are not RFC 3339 with microseconds fail to decode (400, as in Go);
#   Pod / Deployment / DaemonSet  containers with name and image, selector matching the template;
#   RBAC         rules need verbs, roleRef required and immutable;
#   Secret / ConfigMap  key names, base64 data, stringData folded into data;
#   CRD          names, scope, exactly one storage version, a structural schema per version;
#   PersistentVolumeClaim  accessModes and resources.requests.storage required.
# Everything else is stored as given. Standard library only.

import base64
import ipaddress
import json
import re

import emu_schema
from emu_errors import (DUPLICATE, FORBIDDEN, FieldError, INVALID, NOT_SUPPORTED, REQUIRED,
                        TYPE_INVALID)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# metav1.MicroTime is parsed with RFC3339Micro: exactly six fractional digits
MICROTIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")

NODEPORT_MIN, NODEPORT_MAX = 30000, 32767


class DecodeError(Exception):
    """The body does not decode into the Go type (kube-apiserver answers 400, not 422)."""


class ResourceType:
    """One served resource: group/version/plural plus how to treat its objects."""

    def __init__(self, group, version, plural, kind, namespaced, short_names=(),
                 status=False, generation=False, categories=(), crd=None,
                 unconditional_update=True, name_check="subdomain"):
        self.group = group
        self.version = version
        self.versions = [version]
        self.plural = plural
        self.kind = kind
        self.singular = kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.status = status
        self.generation = generation
        self.categories = list(categories)
        self.crd = crd                  # the CRD object for custom resources
        self.unconditional_update = unconditional_update
        self.name_check = name_check

    @property
    def key(self):
        return (self.group, self.plural)

    def api_version(self, version=None):
        v = version or self.version
        return "%s/%s" % (self.group, v) if self.group else v

    def is_custom(self):
        return self.crd is not None


def builtin_types():
    R = ResourceType
    return [
        R("", "v1", "namespaces", "Namespace", False, ["ns"], status=True, name_check="label"),
        R("", "v1", "pods", "Pod", True, ["po"], status=True, categories=["all"]),
        R("", "v1", "services", "Service", True, ["svc"], status=True, categories=["all"],
          name_check="dns1035"),
        R("", "v1", "events", "Event", True, ["ev"]),
        R("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
        R("", "v1", "secrets", "Secret", True),
        R("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
        R("", "v1", "nodes", "Node", False, ["no"], status=True),
        R("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"],
          status=True),
        R("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
        R("coordination.k8s.io", "v1", "leases", "Lease", True),
        R("rbac.authorization.k8s.io", "v1", "roles", "Role", True, name_check="segment"),
        R("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True,
          name_check="segment"),
        R("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False,
          name_check="segment"),
        R("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
          name_check="segment"),
        R("apps", "v1", "deployments", "Deployment", True, ["deploy"], status=True,
          generation=True, categories=["all"]),
        R("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], status=True, generation=True,
          categories=["all"]),
        R("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
          False, ["crd", "crds"], status=True, generation=True, unconditional_update=False,
          name_check="crd"),
    ]


# --- generic metadata ---------------------------------------------------------------------

def _len_ok(errs, path, v, n):
    if len(v) > n:
        errs.append(FieldError(INVALID, path, v, "must be no more than %d characters" % n))
        return False
    return True


def check_name(rt, name, path="metadata.name"):
    errs = []
    if rt.name_check == "label":
        if not _len_ok(errs, path, name, 63) or not DNS1123_LABEL.match(name):
            errs.append(FieldError(INVALID, path, name, "a lowercase RFC 1123 label must "
                                   "consist of lower case alphanumeric characters or '-', and "
                                   "must start and end with an alphanumeric character"))
    elif rt.name_check == "dns1035":
        if not _len_ok(errs, path, name, 63) or not DNS1035_LABEL.match(name):
            errs.append(FieldError(INVALID, path, name, "a DNS-1035 label must consist of lower "
                                   "case alphanumeric characters or '-', start with an "
                                   "alphabetic character, and end with an alphanumeric "
                                   "character"))
    elif rt.name_check == "segment":
        if name in (".", "..") or "/" in name or "%" in name:
            errs.append(FieldError(INVALID, path, name, "may not contain '/' or '%'"))
    else:
        if not _len_ok(errs, path, name, 253) or not DNS1123_SUB.match(name):
            errs.append(FieldError(INVALID, path, name, "a lowercase RFC 1123 subdomain must "
                                   "consist of lower case alphanumeric characters, '-' or '.', "
                                   "and must start and end with an alphanumeric character"))
    return errs


def check_labels(labels, path="metadata.labels"):
    errs = []
    if labels is None:
        return errs
    if not isinstance(labels, dict):
        return [FieldError(TYPE_INVALID, path, labels, "must be a map of strings")]
    for k, v in labels.items():
        errs.extend(_check_qualified(k, path))
        if not isinstance(v, str):
            errs.append(FieldError(TYPE_INVALID, "%s[%s]" % (path, k), v, "must be a string"))
        elif len(v) > 63 or not LABEL_VALUE.match(v):
            errs.append(FieldError(INVALID, "%s[%s]" % (path, k), v, "a valid label must be an "
                                   "empty string or consist of alphanumeric characters, '-', '_'"
                                   " or '.', and must start and end with an alphanumeric "
                                   "character"))
    return errs


def _check_qualified(k, path):
    name, prefix = k, None
    if "/" in k:
        prefix, name = k.split("/", 1)
    if (prefix is not None and (not prefix or len(prefix) > 253 or
                                not DNS1123_SUB.match(prefix))) or \
            not name or len(name) > 63 or not QUALIFIED_NAME.match(name):
        return [FieldError(INVALID, path, k, "name part must consist of alphanumeric characters,"
                           " '-', '_' or '.', and must start and end with an alphanumeric "
                           "character")]
    return []


def check_annotations(ann, path="metadata.annotations"):
    if ann is None:
        return []
    if not isinstance(ann, dict):
        return [FieldError(TYPE_INVALID, path, ann, "must be a map of strings")]
    errs = []
    total = 0
    for k, v in ann.items():
        errs.extend(_check_qualified(k.lower(), path))
        if not isinstance(v, str):
            errs.append(FieldError(TYPE_INVALID, "%s[%s]" % (path, k), v, "must be a string"))
        else:
            total += len(k) + len(v)
    if total > 256 * 1024:
        errs.append(FieldError("FieldValueTooLong", path, "", ": may not be more than 262144 "
                               "bytes"))
    return errs


# --- per-kind validation ------------------------------------------------------------------

def _port_ok(p):
    return isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 65535


def _protocol(errs, path, proto):
    if proto not in ("TCP", "UDP", "SCTP"):
        errs.append(FieldError(NOT_SUPPORTED, path, proto, supported=["SCTP", "TCP", "UDP"]))


def validate_service(obj, old):
    errs = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError(REQUIRED, "spec")]
    stype = spec.get("type", "ClusterIP")
    types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    if stype not in types:
        errs.append(FieldError(NOT_SUPPORTED, "spec.type", stype, supported=types))
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and stype != "ExternalName" and not headless:
        errs.append(FieldError(REQUIRED, "spec.ports"))
    names, seen = set(), set()
    for i, p in enumerate(ports):
        path = "spec.ports[%d]" % i
        if not isinstance(p, dict):
            errs.append(FieldError(INVALID, path, p, "must be an object"))
            continue
        name = p.get("name", "")
        if len(ports) > 1 and not name:
            errs.append(FieldError(REQUIRED, path + ".name"))
        elif name:
            if not DNS1123_LABEL.match(name) or len(name) > 63:
                errs.append(FieldError(INVALID, path + ".name", name, "a lowercase RFC 1123 "
                                       "label must consist of lower case alphanumeric "
                                       "characters or '-'"))
            if name in names:
                errs.append(FieldError(DUPLICATE, path + ".name", name))
            names.add(name)
        if not _port_ok(p.get("port")):
            errs.append(FieldError(REQUIRED if p.get("port") is None else INVALID,
                                   path + ".port", p.get("port"),
                                   "" if p.get("port") is None else
                                   "must be between 1 and 65535, inclusive"))
        _protocol(errs, path + ".protocol", p.get("protocol", "TCP"))
        key = (p.get("port"), p.get("protocol", "TCP"))
        if key in seen:
            errs.append(FieldError(DUPLICATE, path, {"port": key[0], "protocol": key[1]}))
        seen.add(key)
        tp = p.get("targetPort")
        if isinstance(tp, str):
            if not IANA_SVC_NAME.match(tp) or len(tp) > 15:
                errs.append(FieldError(INVALID, path + ".targetPort", tp, "must contain only "
                                       "alpha-numeric characters (a-z, 0-9), and hyphens (-)"))
        elif tp is not None and not _port_ok(tp):
            errs.append(FieldError(INVALID, path + ".targetPort", tp, "must be between 1 and "
                                   "65535, inclusive"))
        np_ = p.get("nodePort")
        if np_ not in (None, 0):
            if stype not in ("NodePort", "LoadBalancer"):
                errs.append(FieldError(FORBIDDEN, path + ".nodePort", detail="may not be used "
                                       "when `type` is '%s'" % stype))
            elif not isinstance(np_, int) or isinstance(np_, bool) or \
                    not NODEPORT_MIN <= np_ <= NODEPORT_MAX:
                errs.append(FieldError(INVALID, path + ".nodePort", np_, "provided port is not "
                                       "in the valid range. The range of valid ports is "
                                       "%d-%d" % (NODEPORT_MIN, NODEPORT_MAX)))
    sel = spec.get("selector")
    if sel is not None:
        errs.extend(check_labels(sel, "spec.selector"))
    if old is not None:
        oip = (old.get("spec") or {}).get("clusterIP")
        nip = spec.get("clusterIP")
        if oip and nip and oip != nip and old["spec"].get("type") != "ExternalName":
            errs.append(FieldError(INVALID, "spec.clusterIPs[0]", [nip], "may not change once "
                                   "set"))
    return errs


def default_service(obj, old):
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            if "targetPort" not in p and p.get("port") is not None:
                p["targetPort"] = p["port"]
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if old is not None:
        ospec = old.get("spec") or {}
        # as the real Service REST storage does (patchAllocatedValues): an update that leaves
        # allocated values out keeps them
        for f in ("clusterIP", "clusterIPs"):
            if f in ospec and not spec.get(f):
                spec[f] = ospec[f]
        if spec["type"] in ("NodePort", "LoadBalancer"):
            oldports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                        for p in ospec.get("ports") or [] if isinstance(p, dict)}
            for p in spec.get("ports") or []:
                if isinstance(p, dict) and not p.get("nodePort"):
                    np_ = oldports.get((p.get("port"), p.get("protocol", "TCP")))
                    if np_:
                        p["nodePort"] = np_
    obj.setdefault("status", {"loadBalancer": {}})


def _special_ip(ip):
    if ip.is_unspecified:
        return "may not be unspecified (0.0.0.0, ::)"
    if ip.is_loopback:
        return "may not be in the loopback range (127.0.0.0/8, ::1/128)"
    if ip.version == 4 and ip in ipaddress.ip_network("169.254.0.0/16") or \
            ip.version == 6 and ip in ipaddress.ip_network("fe80::/10"):
        return "may not be in the link-local range (169.254.0.0/16, fe80::/10)"
    if ip.version == 4 and ip in ipaddress.ip_network("224.0.0.0/24") or \
            ip.version == 6 and ip in ipaddress.ip_network("ff02::/16"):
        return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
    return None


def validate_endpointslice(obj, old, allow_loopback=False):
    errs = []
    at = obj.get("addressType")
    types = ["FQDN", "IPv4", "IPv6"]
    if at is None:
        errs.append(FieldError(REQUIRED, "addressType"))
    elif at not in types:
        errs.append(FieldError(NOT_SUPPORTED, "addressType", at, supported=types))
    if old is not None and old.get("addressType") != at:
        errs.append(FieldError(INVALID, "addressType", at, "field is immutable"))
    eps = obj.get("endpoints")
    if eps is None:
        eps = []
    if not isinstance(eps, list):
        return errs + [FieldError(TYPE_INVALID, "endpoints", eps, "must be a list")]
    if len(eps) > 1000:
        errs.append(FieldError("FieldValueTooMany", "endpoints", len(eps),
                               ": must have at most 1000 items"))
    for i, ep in enumerate(eps):
        errs.extend(_validate_endpoint(ep, "endpoints[%d]" % i, at, allow_loopback))
    ports = obj.get("ports") or []
    names = set()
    for i, p in enumerate(ports):
        path = "ports[%d]" % i
        if not isinstance(p, dict):
            errs.append(FieldError(INVALID, path, p, "must be an object"))
            continue
        name = p.get("name", "")
        if name and (len(name) > 63 or not DNS1123_LABEL.match(name)):
            errs.append(FieldError(INVALID, path + ".name", name, "a lowercase RFC 1123 label "
                                   "must consist of lower case alphanumeric characters or '-'"))
        if name in names:
            errs.append(FieldError(DUPLICATE, path + ".name", name))
        names.add(name)
        if p.get("port") is not None and not (_port_ok(p["port"]) or p["port"] == 0):
            errs.append(FieldError(INVALID, path + ".port", p["port"], "must be between 0 and "
                                   "65535, inclusive"))
        _protocol(errs, path + ".protocol", p.get("protocol", "TCP"))
    return errs


def _validate_endpoint(ep, path, at, allow_loopback):
    errs = []
    if not isinstance(ep, dict):
        return [FieldError(INVALID, path, ep, "must be an object")]
    addrs = ep.get("addresses")
    if not addrs:
        return [FieldError(REQUIRED, path + ".addresses", detail="must contain at least 1 "
                           "address")]
    if not isinstance(addrs, list) or len(addrs) > 100:
        return [FieldError(INVALID, path + ".addresses", addrs, "must be a list of at most "
                           "100 addresses")]
    for j, a in enumerate(addrs):
        apath = "%s.addresses[%d]" % (path, j)
        if at in ("IPv4", "IPv6"):
            try:
                ip = ipaddress.ip_address(a) if isinstance(a, str) else None
            except ValueError:
                ip = None
            if ip is None or "IPv%d" % ip.version != at or \
                    (at == "IPv4" and not re.match(r"^\d+\.\d+\.\d+\.\d+$", a)):
                errs.append(FieldError(INVALID, apath, a, "must be a valid %s address" % at))
                continue
            why = _special_ip(ip)
            if why and not (allow_loopback and ip.is_loopback):
                errs.append(FieldError(INVALID, apath, a, why))
        elif at == "FQDN":
            if not isinstance(a, str) or len(a) > 253 or not DNS1123_SUB.match(a):
                errs.append(FieldError(INVALID, apath, a, "must be a valid FQDN"))
    hn = ep.get("hostname")
    if hn is not None and (not isinstance(hn, str) or not DNS1123_LABEL.match(hn)):
        errs.append(FieldError(INVALID, path + ".hostname", hn, "a lowercase RFC 1123 label "
                               "must consist of lower case alphanumeric characters or '-'"))
    cond = ep.get("conditions") or {}
    for c in ("ready", "serving", "terminating"):
        if c in cond and cond[c] is not None and not isinstance(cond[c], bool):
            errs.append(FieldError(TYPE_INVALID, "%s.conditions.%s" % (path, c), cond[c],
                                   "must be a boolean"))
    nn = ep.get("nodeName")
    if nn is not None and (not isinstance(nn, str) or not DNS1123_SUB.match(nn)):
        errs.append(FieldError(INVALID, path + ".nodeName", nn, "must be a valid node name"))
    return errs


def validate_lease(obj, old):
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        raise DecodeError("json: cannot unmarshal %s into Go struct field Lease.spec of type "
                          "v1.LeaseSpec" % type(spec).__name__)
    hid = spec.get("holderIdentity")
    if hid is not None and not isinstance(hid, str):
        raise DecodeError("json: cannot unmarshal number into Go struct field "
                          "LeaseSpec.spec.holderIdentity of type string")
    for f in ("leaseDurationSeconds", "leaseTransitions"):
        v = spec.get(f)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise DecodeError("json: cannot unmarshal %s into Go struct field LeaseSpec.spec.%s "
                              "of type int32" % (json.dumps(v), f))
    for f in ("acquireTime", "renewTime"):
        v = spec.get(f)
        if v is not None and (not isinstance(v, str) or not MICROTIME.match(v)):
            raise DecodeError('parsing time %s as "2006-01-02T15:04:05.000000Z07:00": cannot '
                              'parse it as a MicroTime (spec.%s)' % (json.dumps(v), f))
    errs = []
    v = spec.get("leaseDurationSeconds")
    if v is not None and v <= 0:
        errs.append(FieldError(INVALID, "spec.leaseDurationSeconds", v,
                               "must be greater than 0"))
    v = spec.get("leaseTransitions")
    if v is not None and v < 0:
        errs.append(FieldError(INVALID, "spec.leaseTransitions", v, "must be greater than or "
                               "equal to 0"))
    return errs


def _validate_pod_spec(spec, path):
    errs = []
    if not isinstance(spec, dict):
        return [FieldError(REQUIRED, path)]
    conts = spec.get("containers")
    if not conts:
        return [FieldError(REQUIRED, path + ".containers")]
    names = set()
    for i, c in enumerate(conts):
        cp = "%s.containers[%d]" % (path, i)
        if not isinstance(c, dict):
            errs.append(FieldError(INVALID, cp, c, "must be an object"))
            continue
        n = c.get("name")
        if not n:
            errs.append(FieldError(REQUIRED, cp + ".name"))
        elif not DNS1123_LABEL.match(n):
            errs.append(FieldError(INVALID, cp + ".name", n, "a lowercase RFC 1123 label must "
                                   "consist of lower case alphanumeric characters or '-'"))
        elif n in names:
            errs.append(FieldError(DUPLICATE, cp + ".name", n))
        names.add(n)
        if not c.get("image"):
            errs.append(FieldError(REQUIRED, cp + ".image"))
        for j, p in enumerate(c.get("ports") or []):
            if not _port_ok((p or {}).get("containerPort")):
                errs.append(FieldError(INVALID, "%s.ports[%d].containerPort" % (cp, j),
                                       (p or {}).get("containerPort"), "must be between 1 and "
                                       "65535, inclusive"))
    return errs


def validate_pod(obj, old):
    return _validate_pod_spec(obj.get("spec"), "spec")


def _selector_matches(sel, labels):
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and labels.get(key) in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def validate_workload(obj, old):
    errs = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError(REQUIRED, "spec")]
    sel = spec.get("selector")
    tmpl = spec.get("template") or {}
    if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        errs.append(FieldError(REQUIRED, "spec.selector"))
    else:
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        if not _selector_matches(sel, labels):
            errs.append(FieldError(INVALID, "spec.template.metadata.labels", labels,
                                   "`selector` does not match template `labels`"))
        if old is not None and (old.get("spec") or {}).get("selector") != sel:
            errs.append(FieldError(INVALID, "spec.selector", sel, "field is immutable"))
    errs.extend(_validate_pod_spec(tmpl.get("spec"), "spec.template.spec"))
    r = spec.get("replicas")
    if r is not None and (not isinstance(r, int) or r < 0):
        errs.append(FieldError(INVALID, "spec.replicas", r, "must be greater than or equal to "
                               "0"))
    strat = spec.get("strategy") or {}
    if obj.get("kind") == "Deployment" and strat.get("type") == "Recreate" and \
            strat.get("rollingUpdate") is not None:
        errs.append(FieldError(FORBIDDEN, "spec.strategy.rollingUpdate", detail="may not be "
                               "specified when strategy `type` is 'Recreate'"))
    return errs


def default_workload(obj, old):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if obj.get("kind") == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strat = spec.setdefault("strategy", {})
        if isinstance(strat, dict):
            strat.setdefault("type", "RollingUpdate")
            if strat["type"] == "RollingUpdate":
                strat.setdefault("rollingUpdate", {"maxUnavailable": "25%", "maxSurge": "25%"})
    else:
        spec.setdefault("revisionHistoryLimit", 10)
        us = spec.setdefault("updateStrategy", {})
        if isinstance(us, dict):
            us.setdefault("type", "RollingUpdate")
            if us["type"] == "RollingUpdate":
                us.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})


def validate_rbac(obj, old):
    errs = []
    kind = obj.get("kind")
    if kind in ("Role", "ClusterRole"):
        for i, r in enumerate(obj.get("rules") or []):
            if not isinstance(r, dict) or not r.get("verbs"):
                errs.append(FieldError(REQUIRED, "rules[%d].verbs" % i, detail="verbs must "
                                       "contain at least one value"))
            elif not r.get("nonResourceURLs") and not r.get("resources"):
                errs.append(FieldError(REQUIRED, "rules[%d].resources" % i, detail="resource "
                                       "rules must supply at least one resource"))
        return errs
    ref = obj.get("roleRef")
    if not isinstance(ref, dict) or not ref.get("name") or not ref.get("kind"):
        errs.append(FieldError(REQUIRED, "roleRef"))
    elif ref.get("kind") not in ("Role", "ClusterRole"):
        errs.append(FieldError(NOT_SUPPORTED, "roleRef.kind", ref.get("kind"),
                               supported=["ClusterRole", "Role"]))
    elif kind == "ClusterRoleBinding" and ref.get("kind") != "ClusterRole":
        errs.append(FieldError(NOT_SUPPORTED, "roleRef.kind", ref.get("kind"),
                               supported=["ClusterRole"]))
    if old is not None and old.get("roleRef") != ref:
        errs.append(FieldError(INVALID, "roleRef", ref, "cannot change roleRef"))
    for i, s in enumerate(obj.get("subjects") or []):
        path = "subjects[%d]" % i
        if not isinstance(s, dict) or not s.get("name"):
            errs.append(FieldError(REQUIRED, path + ".name"))
            continue
        if s.get("kind") not in ("ServiceAccount", "User", "Group"):
            errs.append(FieldError(NOT_SUPPORTED, path + ".kind", s.get("kind"),
                                   supported=["Group", "ServiceAccount", "User"]))
        elif s["kind"] == "ServiceAccount" and kind == "ClusterRoleBinding" and \
                not s.get("namespace"):
            errs.append(FieldError(REQUIRED, path + ".namespace"))
    return errs


def _check_keys(errs, data, path):
    if data is None:
        return
    if not isinstance(data, dict):
        errs.append(FieldError(TYPE_INVALID, path, data, "must be a map"))
        return
    for k in data:
        if not CONFIG_KEY.match(k) or len(k) > 253:
            errs.append(FieldError(INVALID, path, k, "a valid config key must consist of "
                                   "alphanumeric characters, '-', '_' or '.'"))


def validate_configmap(obj, old):
    errs = []
    _check_keys(errs, obj.get("data"), "data")
    _check_keys(errs, obj.get("binaryData"), "binaryData")
    if old is not None and old.get("immutable") and \
            (old.get("data") != obj.get("data") or old.get("binaryData") != obj.get(
                "binaryData")):
        errs.append(FieldError(FORBIDDEN, "data", detail="field is immutable when `immutable` "
                               "is set"))
    return errs


def validate_secret(obj, old):
    errs = []
    _check_keys(errs, obj.get("data"), "data")
    for k, v in (obj.get("data") or {}).items():
        try:
            base64.b64decode(v, validate=True)
        except (ValueError, TypeError):
            errs.append(FieldError(INVALID, "data[%s]" % k, "<secret contents redacted>",
                                   "illegal base64 data"))
    if old is not None and old.get("type") != obj.get("type"):
        errs.append(FieldError(INVALID, "type", obj.get("type"), "field is immutable"))
    if old is not None and old.get("immutable") and old.get("data") != obj.get("data"):
        errs.append(FieldError(FORBIDDEN, "data", detail="field is immutable when `immutable` "
                               "is set"))
    return errs


def default_secret(obj, old):
    obj.setdefault("type", "Opaque")
    sd = obj.pop("stringData", None)
    if isinstance(sd, dict):
        data = obj.setdefault("data", {})
        for k, v in sd.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def validate_pvc(obj, old):
    errs = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError(REQUIRED, "spec")]
    if not spec.get("accessModes"):
        errs.append(FieldError(REQUIRED, "spec.accessModes"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        errs.append(FieldError(REQUIRED, "spec.resources[storage]"))
    return errs


def validate_event(obj, old):
    io = obj.get("involvedObject")
    ns = (obj.get("metadata") or {}).get("namespace")
    if isinstance(io, dict) and io.get("namespace") and io["namespace"] != ns:
        return [FieldError(INVALID, "involvedObject.namespace", io["namespace"],
                           "does not match event.namespace")]
    return []


def validate_crd(obj, old):
    errs = []
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [FieldError(REQUIRED, "spec")]
    group = spec.get("group")
    names = spec.get("names") or {}
    if not group or "." not in group:
        errs.append(FieldError(INVALID, "spec.group", group, "should be a domain with at least "
                               "one dot"))
    for f in ("plural", "kind"):
        if not names.get(f):
            errs.append(FieldError(REQUIRED, "spec.names." + f))
    plural = names.get("plural") or ""
    if plural and not DNS1123_LABEL.match(plural):
        errs.append(FieldError(INVALID, "spec.names.plural", plural, "a lowercase RFC 1123 "
                               "label must consist of lower case alphanumeric characters or "
                               "'-'"))
    name = (obj.get("metadata") or {}).get("name")
    if plural and group and name != "%s.%s" % (plural, group):
        errs.append(FieldError(INVALID, "metadata.name", name, "must be spec.names.plural+\".\""
                               "+spec.group"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(FieldError(NOT_SUPPORTED, "spec.scope", spec.get("scope"),
                               supported=["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        errs.append(FieldError(REQUIRED, "spec.versions", detail="must have exactly one version "
                               "marked as storage version"))
    storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
    if versions and len(storage) != 1:
        errs.append(FieldError(INVALID, "spec.versions", versions, "must have exactly one "
                               "version marked as storage version"))
    for i, v in enumerate(versions):
        if not isinstance(v, dict) or not v.get("name"):
            errs.append(FieldError(REQUIRED, "spec.versions[%d].name" % i))
            continue
        sch = (v.get("schema") or {}).get("openAPIV3Schema")
        for e in emu_schema.check_structural(sch, "spec.versions[%d].schema.openAPIV3Schema" % i):
            errs.append(e)
        for j, col in enumerate(v.get("additionalPrinterColumns") or []):
            cp = "spec.versions[%d].additionalPrinterColumns[%d]" % (i, j)
            if not col.get("name"):
                errs.append(FieldError(REQUIRED, cp + ".name"))
            if col.get("type") not in ("integer", "number", "string", "boolean", "date"):
                errs.append(FieldError(NOT_SUPPORTED, cp + ".type", col.get("type"),
                                       supported=["boolean", "date", "integer", "number",
                                                  "string"]))
            if not str(col.get("jsonPath", "")).startswith("."):
                errs.append(FieldError(INVALID, cp + ".jsonPath", col.get("jsonPath"),
                                       "must be a simple json path starting with ."))
    if old is not None:
        ospec = old.get("spec") or {}
        if ospec.get("group") != group:
            errs.append(FieldError(INVALID, "spec.group", group, "field is immutable"))
        if ospec.get("scope") != spec.get("scope"):
            errs.append(FieldError(INVALID, "spec.scope", spec.get("scope"), "field is "
                                   "immutable"))
    return errs


def default_crd(obj, old):
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})


VALIDATORS = {
    "Service": validate_service,
    "Lease": validate_lease,
    "Pod": validate_pod,
    "Deployment": validate_workload,
    "DaemonSet": validate_workload,
    "Role": validate_rbac,
    "ClusterRole": validate_rbac,
    "RoleBinding": validate_rbac,
    "ClusterRoleBinding": validate_rbac,
    "ConfigMap": validate_configmap,
    "Secret": validate_secret,
    "Event": validate_event,
    "PersistentVolumeClaim": validate_pvc,
    "CustomResourceDefinition": validate_crd,
}

DEFAULTERS = {
    "Service": default_service,
    "Deployment": default_workload,
    "DaemonSet": default_workload,
    "Secret": default_secret,
    "CustomResourceDefinition": default_crd,
}
