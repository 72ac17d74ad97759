# tests/kube/emu_store.py
#
# The object store behind the API-server emulator: what etcd plus the generic registry
# (k8s.io/apiserver/pkg/registry/generic/registry.Store) do for every resource type.
#   - one global resourceVersion counter; every write takes the next value, as etcd's revision;
#   - a bounded history of watch events (ADDED / MODIFIED / DELETED with the object before and
#     after, so selector watches see objects enter and leave); a resourceVersion older than the
#     window is "Expired" (410), as after an etcd compaction;
#   - create / update / patch / delete with the apiserver's rules: generateName, uid,
#     creationTimestamp, generation bumped when anything but metadata (and status, for types
#     with a status subresource) changes, status ignored on the main resource and only status
#     taken on /status, optimistic concurrency on resourceVersion (409 Conflict), unconditional
#     update only where the type allows it (not custom resources), a no-op update writes
#     nothing, finalizers and deletionTimestamp, ownerReference garbage collection (background),
#     namespace and CRD deletion: Terminating at once, emptied shortly after (--finalize-delay,
#     as their controllers do), removed when nothing is left;
#   - custom resources served as soon as their CRD is created, pruned, defaulted and validated
#     with the CRD's schema;
#   - Service clusterIP and nodePort allocation, with "provided port is already allocated".
# Stored objects are never mutated in place: every write stores a new dict, so history entries
# and readers can share them. All methods take the store lock; watchers wait on its condition.
# Standard library only.

import base64
import collections
import copy
import json
import os
import random
import threading
import time
import uuid

import emu_builtin
import emu_patch
import emu_schema
import emu_select
from emu_builtin import ResourceType
from emu_errors import (ApiError, FieldError, FORBIDDEN, INVALID, already_exists, bad_request,
                        conflict, expired, forbidden, invalid, not_found, unsupported_media)

Event = collections.namedtuple("Event", "rv key ns type obj prev")

PATCH_MERGE = "application/merge-patch+json"
PATCH_STRATEGIC = "application/strategic-merge-patch+json"
PATCH_JSON = "application/json-patch+json"
PATCH_APPLY = "application/apply-patch+yaml"

_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                "deletionGracePeriodSeconds", "generation", "selfLink", "managedFields")


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _meta(obj):
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _content_without(obj, drop):
    return {k: v for k, v in obj.items() if k not in drop}


class Store:
    def __init__(self, history=1000, allow_loopback_endpoints=False, finalize_delay=0.5):
        self.lock = threading.RLock()
        self.save_lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.rv = 0
        self.compacted = 0          # events with rv <= compacted are gone
        self.history_max = max(1, history)
        self.history = collections.deque()
        self.objects = {}           # (group, plural) -> {(ns, name): obj}
        self.types = {}             # (group, plural) -> ResourceType
        self.watch_gen = 0          # bumped to close every open watch
        self.closing = False
        self.dirty = False
        self.allow_loopback = allow_loopback_endpoints
        self.finalize_delay = finalize_delay   # namespace / CRD content cleanup, as controllers
        self.next_cluster_ip = 10
        for rt in emu_builtin.builtin_types():
            self._register(rt)
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(self.types[("", "namespaces")], None, None,
                        {"metadata": {"name": ns}})

    # --- types ---------------------------------------------------------------------------

    def _register(self, rt):
        self.types[rt.key] = rt
        self.objects.setdefault(rt.key, {})

    def find_type(self, group, version, plural):
        """The ResourceType serving group/version/plural, or None."""
        with self.lock:
            rt = self.types.get((group, plural))
            if rt is None or version not in rt.versions:
                return None
            return rt

    def served_types(self):
        with self.lock:
            return list(self.types.values())

    def _crd_changed(self, crd):
        """(Re)registers the custom resource type a CRD defines."""
        spec = crd["spec"]
        names = spec["names"]
        served = [v for v in spec["versions"] if v.get("served", True)]
        storage = next(v for v in spec["versions"] if v.get("storage"))
        key = (spec["group"], names["plural"])
        rt = self.types.get(key)
        if rt is None or not rt.is_custom():
            rt = ResourceType(spec["group"], storage["name"], names["plural"], names["kind"],
                              spec["scope"] == "Namespaced", names.get("shortNames") or [],
                              generation=True, unconditional_update=False)
        rt.version = storage["name"]
        rt.versions = [v["name"] for v in served]
        rt.kind = names["kind"]
        rt.singular = names.get("singular") or names["kind"].lower()
        rt.short_names = list(names.get("shortNames") or [])
        rt.categories = list(names.get("categories") or [])
        rt.status = "status" in (storage.get("subresources") or {})
        rt.crd = crd
        self._register(rt)

    def version_spec(self, rt, version):
        """The CRD's entry in spec.versions for `version` (custom resources only)."""
        for v in rt.crd["spec"]["versions"]:
            if v["name"] == version:
                return v
        return {}

    # --- events --------------------------------------------------------------------------

    def _record(self, rt, etype, obj, prev):
        ev = Event(self.rv, rt.key, _meta(obj).get("namespace"), etype, obj, prev)
        self.history.append(ev)
        while len(self.history) > self.history_max:
            self.compacted = self.history.popleft().rv
        self.dirty = True
        self.cond.notify_all()

    def compact(self):
        """Forgets every event so far, as an etcd compaction at the current revision."""
        with self.lock:
            self.history.clear()
            self.compacted = self.rv
            self.cond.notify_all()

    def close_watches(self):
        with self.lock:
            self.watch_gen += 1
            self.cond.notify_all()

    def events_after(self, rv):
        """Events with resourceVersion > rv; raises ApiError 410 when some were compacted."""
        if rv < self.compacted:
            raise expired("too old resource version: %d (%d)" % (rv, self.compacted + 1))
        if not self.history or self.history[-1].rv <= rv:
            return []
        # rvs in history are strictly increasing but not dense: find the start by bisection
        lo, hi = 0, len(self.history)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.history[mid].rv <= rv:
                lo = mid + 1
            else:
                hi = mid
        return [self.history[i] for i in range(lo, len(self.history))]

    # --- helpers -------------------------------------------------------------------------

    def _bucket(self, rt):
        return self.objects.setdefault(rt.key, {})

    def _get(self, rt, ns, name):
        return self._bucket(rt).get((ns if rt.namespaced else None, name))

    def get(self, rt, ns, name):
        with self.lock:
            obj = self._get(rt, ns, name)
            if obj is None:
                raise not_found(rt.group, rt.plural, name)
            return obj

    def _check_namespace(self, rt, ns, name):
        if not rt.namespaced:
            return
        nso = self._get(self.types[("", "namespaces")], None, ns)
        if nso is None:
            raise not_found("", "namespaces", ns)
        if _meta(nso).get("deletionTimestamp"):
            raise forbidden(rt.group, rt.plural, name, "unable to create new content in "
                            "namespace %s because it is being terminated" % ns)

    def _check_body(self, rt, version, body, ns, name=None):
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        want = rt.api_version(version)
        if body.get("kind") not in (None, "", rt.kind):
            raise bad_request("%s in version \"%s\" cannot be handled as a %s: the kind in the "
                              "data (%s) does not match the expected kind" %
                              (rt.kind, version or rt.version, rt.kind, body.get("kind")))
        if body.get("apiVersion") not in (None, "", want):
            raise bad_request("the API version in the data (%s) does not match the expected API "
                              "version (%s)" % (body.get("apiVersion"), want))
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise bad_request("metadata must be a JSON object")
        meta = meta or {}
        if rt.namespaced and meta.get("namespace") not in (None, "", ns):
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        if name is not None and meta.get("name") not in (None, "", name):
            raise bad_request("the name of the object (%s) does not match the name on the URL "
                              "(%s)" % (meta.get("name"), name))

    def _normalize(self, rt, body, ns):
        obj = copy.deepcopy(body)
        obj["apiVersion"] = rt.api_version()
        obj["kind"] = rt.kind
        meta = obj.setdefault("metadata", {})
        for k in _SERVER_META:
            meta.pop(k, None)
        if rt.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        for k in ("labels", "annotations", "ownerReferences", "finalizers"):
            if k in meta and meta[k] in (None, {}, []):
                del meta[k]
        return obj

    # --- validation ----------------------------------------------------------------------

    def _prepare(self, rt, obj, old, field_validation):
        """Defaults and validates obj in place. Returns warnings; raises ApiError."""
        errs, pruned = [], []
        meta = obj["metadata"]
        name = meta.get("name", "")
        errs.extend(emu_builtin.check_name(rt, name))
        errs.extend(emu_builtin.check_labels(meta.get("labels")))
        errs.extend(emu_builtin.check_annotations(meta.get("annotations")))
        fins = meta.get("finalizers")
        if fins is not None:
            if not isinstance(fins, list) or not all(isinstance(f, str) for f in fins):
                errs.append(FieldError(INVALID, "metadata.finalizers", fins, "must be a list of "
                                       "strings"))
            else:
                for f in fins:
                    errs.extend(emu_builtin._check_qualified(f, "metadata.finalizers"))
                if old is not None and _meta(old).get("deletionTimestamp"):
                    added = set(fins) - set(_meta(old).get("finalizers") or [])
                    if added:
                        errs.append(FieldError(FORBIDDEN, "metadata.finalizers", detail="no new "
                                               "finalizers can be added if the object is being "
                                               "deleted, found new finalizers %s" %
                                               json.dumps(sorted(added))))
        if rt.is_custom():
            schema = (self.version_spec(rt, rt.version).get("schema") or {}).get(
                "openAPIV3Schema")
            serrs, pruned = emu_schema.process(obj, schema)
            errs.extend(serrs)
        else:
            d = emu_builtin.DEFAULTERS.get(rt.kind)
            if d:
                d(obj, old)
            try:
                if rt.kind == "EndpointSlice":
                    errs.extend(emu_builtin.validate_endpointslice(obj, old, self.allow_loopback))
                else:
                    v = emu_builtin.VALIDATORS.get(rt.kind)
                    if v:
                        errs.extend(v(obj, old))
            except emu_builtin.DecodeError as e:
                raise bad_request('%s in version "%s" cannot be handled as a %s: %s' %
                                  (rt.kind, rt.version, rt.kind, e))
            if rt.kind == "Service" and not errs:
                errs.extend(self._allocate_service(obj))
        if errs:
            raise invalid(rt.group, rt.kind, name, errs)
        warnings = []
        if pruned:
            if field_validation == "Strict":
                raise bad_request('%s in version "%s" cannot be handled as a %s: strict decoding '
                                  'error: %s' % (rt.kind, rt.version, rt.kind, ", ".join(
                                      'unknown field "%s"' % p for p in pruned)))
            if field_validation != "Ignore":
                warnings = ['unknown field "%s"' % p for p in pruned]
        return warnings

    def _allocate_service(self, svc):
        spec = svc["spec"]
        me = (_meta(svc).get("namespace"), _meta(svc).get("name"))
        if spec.get("type") != "ExternalName" and not spec.get("clusterIP"):
            n = self.next_cluster_ip
            self.next_cluster_ip += 1
            spec["clusterIP"] = "10.96.%d.%d" % (n // 250, n % 250 + 1)
        if spec.get("clusterIP") and spec.get("type") != "ExternalName":
            spec["clusterIPs"] = [spec["clusterIP"]]
        used = {}
        for key, other in self._bucket(self.types[("", "services")]).items():
            if key == me:
                continue
            for p in (other.get("spec") or {}).get("ports") or []:
                if p.get("nodePort"):
                    used[p["nodePort"]] = key
        errs, mine = [], set()
        for i, p in enumerate(spec.get("ports") or []):
            np_ = p.get("nodePort")
            if not np_:
                continue
            if np_ in used:
                errs.append(FieldError(INVALID, "spec.ports[%d].nodePort" % i, np_,
                                       "provided port is already allocated"))
            elif np_ in mine:
                errs.append(FieldError("FieldValueDuplicate", "spec.ports[%d].nodePort" % i,
                                       np_))
            mine.add(np_)
        if spec.get("type") in ("NodePort", "LoadBalancer") and not errs:
            free = (p for p in range(emu_builtin.NODEPORT_MIN, emu_builtin.NODEPORT_MAX + 1)
                    if p not in used and p not in mine)
            for p in spec.get("ports") or []:
                if not p.get("nodePort"):
                    p["nodePort"] = next(free)
        return errs

    # --- create --------------------------------------------------------------------------

    def create(self, rt, version, ns, body, dry_run=False, field_validation="Warn"):
        """Stores a new object. Returns (object, warnings)."""
        with self.lock:
            self._check_body(rt, version, body, ns)
            meta = body.get("metadata") or {}
            if meta.get("resourceVersion"):
                raise bad_request("resourceVersion should not be set on objects to be created")
            obj = self._normalize(rt, body, ns)
            meta = obj["metadata"]
            if not meta.get("name"):
                gen = meta.get("generateName")
                if not gen:
                    raise invalid(rt.group, rt.kind, "", [FieldError(
                        "FieldValueRequired", "metadata.name",
                        detail="name or generateName is required")])
                meta["name"] = self._generate_name(rt, ns, gen)
            name = meta["name"]
            self._check_namespace(rt, ns, name)
            if rt.is_custom():
                crd = self._get(self.types[("apiextensions.k8s.io", "customresourcedefinitions")],
                                None, "%s.%s" % (rt.plural, rt.group))
                if crd is None or _meta(crd).get("deletionTimestamp"):
                    raise ApiError(405, "MethodNotAllowed", "create not allowed while custom "
                                   "resource definition is terminating")
            if self._get(rt, ns, name) is not None:
                raise already_exists(rt.group, rt.plural, name)
            self._reset_status_on_create(rt, obj)
            warnings = self._prepare(rt, obj, None, field_validation)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if rt.generation:
                meta["generation"] = 1
            if dry_run:
                return obj, warnings
            if rt.kind == "CustomResourceDefinition":
                obj["status"] = self._crd_status(obj)
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            self._bucket(rt)[(ns if rt.namespaced else None, name)] = obj
            self._record(rt, "ADDED", obj, None)
            if rt.kind == "CustomResourceDefinition":
                self._crd_changed(obj)
            return obj, warnings

    def _generate_name(self, rt, ns, prefix):
        for _ in range(20):
            name = prefix[:58] + "".join(random.choice(_NAME_CHARS) for _ in range(5))
            if self._get(rt, ns, name) is None:
                return name
        raise already_exists(rt.group, rt.plural, prefix)

    def _reset_status_on_create(self, rt, obj):
        if not rt.status:
            return
        if rt.kind == "Pod":
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif rt.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
            spec = obj.setdefault("spec", {})
            if isinstance(spec, dict):
                spec.setdefault("finalizers", ["kubernetes"])
        elif rt.kind == "Node":
            return
        elif rt.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}
        else:
            obj.pop("status", None)

    def _crd_status(self, crd):
        spec = crd["spec"]
        ts = now_rfc3339()
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        conds = [{"type": t, "status": "True", "lastTransitionTime": ts, "reason": r,
                  "message": m} for t, r, m in (
            ("NamesAccepted", "NoConflicts", "no conflicts found"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"))]
        old = crd.get("status") or {}
        stored = list(old.get("storedVersions") or [])
        for s in storage:
            if s not in stored:
                stored.append(s)
        return {"acceptedNames": copy.deepcopy(spec["names"]), "conditions": conds,
                "storedVersions": stored}

    # --- update --------------------------------------------------------------------------

    def update(self, rt, version, ns, name, body, subresource=None, dry_run=False,
               field_validation="Warn", require_rv=True):
        """PUT semantics. Returns (object, warnings)."""
        with self.lock:
            old = self._get(rt, ns, name)
            if old is None:
                raise not_found(rt.group, rt.plural, name)
            self._check_body(rt, version, body, ns, name)
            want_rv = (body.get("metadata") or {}).get("resourceVersion")
            if want_rv:
                if str(want_rv) != _meta(old)["resourceVersion"]:
                    raise conflict(rt.group, rt.plural, name)
            elif require_rv and not rt.unconditional_update:
                raise invalid(rt.group, rt.kind, name, [FieldError(
                    INVALID, "metadata.resourceVersion", "0x0",
                    "must be specified for an update")])
            new = self._merge_for_update(rt, old, body, ns, subresource)
            warnings = self._prepare(rt, new, old, field_validation)
            self._bump_generation(rt, old, new)
            return self._commit_update(rt, old, new, dry_run), warnings

    def _merge_for_update(self, rt, old, body, ns, subresource):
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in body:
                new["status"] = copy.deepcopy(body["status"])
            else:
                new.pop("status", None)
            return new
        new = self._normalize(rt, body, ns)
        new["metadata"]["name"] = _meta(old)["name"]
        if rt.status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        om = _meta(old)
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "generation", "resourceVersion"):
            if k in om:
                new["metadata"][k] = om[k]
        return new

    def _bump_generation(self, rt, old, new):
        if not rt.generation:
            return
        drop = ("metadata", "status") if rt.status else ("metadata",)
        if _content_without(old, drop) != _content_without(new, drop):
            new["metadata"]["generation"] = int(_meta(old).get("generation") or 0) + 1

    def _commit_update(self, rt, old, new, dry_run):
        if new == old or dry_run:
            return old if new == old else new
        meta = new["metadata"]
        container = rt.kind in ("Namespace", "CustomResourceDefinition")
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not container:
            # the last finalizer is gone: the update becomes the deletion (one DELETED event)
            return self._remove(rt, new)
        if rt.kind == "CustomResourceDefinition":
            new["status"] = self._crd_status(new) if not meta.get("deletionTimestamp") else \
                new.get("status")
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        self._bucket(rt)[(meta.get("namespace") if rt.namespaced else None, meta["name"])] = new
        self._record(rt, "MODIFIED", new, old)
        if rt.kind == "CustomResourceDefinition" and not meta.get("deletionTimestamp"):
            self._crd_changed(new)
        if container and meta.get("deletionTimestamp"):
            return self._sweep_container(rt, new) or new
        return new

    # --- patch ---------------------------------------------------------------------------

    def patch(self, rt, version, ns, name, content_type, patch, subresource=None,
              dry_run=False, field_validation="Warn"):
        """PATCH semantics for the three patch formats. Returns (object, warnings)."""
        with self.lock:
            old = self._get(rt, ns, name)
            if old is None:
                raise not_found(rt.group, rt.plural, name)
            cur = copy.deepcopy(old)
            cur["apiVersion"] = rt.api_version(version)
            try:
                if content_type == PATCH_MERGE:
                    doc = emu_patch.merge_patch(cur, patch)
                elif content_type == PATCH_STRATEGIC:
                    if rt.is_custom():
                        raise unsupported_media([PATCH_JSON, PATCH_MERGE, PATCH_APPLY])
                    doc = emu_patch.strategic_merge(cur, patch, rt.kind)
                elif content_type == PATCH_JSON:
                    doc = emu_patch.json_patch(cur, patch)
                else:
                    media = [PATCH_JSON, PATCH_MERGE]
                    if not rt.is_custom():
                        media.append(PATCH_STRATEGIC)
                    raise unsupported_media(media)
            except emu_patch.PatchError as e:
                raise ApiError(422, "Invalid", "the server rejected our request due to an error "
                               "in our request: %s" % e)
            if not isinstance(doc, dict):
                raise bad_request("the patch produced something that is not an object")
            doc.setdefault("metadata", {})
            if not isinstance(doc["metadata"], dict):
                raise bad_request("metadata must be a JSON object")
            # a resourceVersion left in the result is a precondition, as in the real patcher
            if doc["metadata"].get("resourceVersion") in (None, ""):
                doc["metadata"]["resourceVersion"] = _meta(old)["resourceVersion"]
            return self.update(rt, version, ns, name, doc, subresource, dry_run,
                               field_validation, require_rv=False)

    # --- delete --------------------------------------------------------------------------

    def delete(self, rt, ns, name, options=None, dry_run=False):
        """DELETE semantics: returns the object (gone, or marked for deletion)."""
        options = options or {}
        with self.lock:
            obj = self._get(rt, ns, name)
            if obj is None:
                raise not_found(rt.group, rt.plural, name)
            pre = options.get("preconditions") or {}
            meta = _meta(obj)
            if pre.get("uid") and pre["uid"] != meta.get("uid"):
                raise conflict(rt.group, rt.plural, name, "Precondition failed: UID in "
                               "precondition: %s, UID in object meta: %s" %
                               (pre["uid"], meta.get("uid")))
            if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
                raise conflict(rt.group, rt.plural, name, "Precondition failed: ResourceVersion "
                               "in precondition: %s, ResourceVersion in object meta: %s" %
                               (pre["resourceVersion"], meta["resourceVersion"]))
            if dry_run:
                return obj
            orphan = options.get("propagationPolicy") == "Orphan" or \
                options.get("orphanDependents") is True
            return self._delete(rt, obj, orphan)

    def _delete(self, rt, obj, orphan=False):
        meta = _meta(obj)
        container = rt.kind in ("Namespace", "CustomResourceDefinition")
        if meta.get("finalizers") or container:
            if not meta.get("deletionTimestamp"):
                new = copy.deepcopy(obj)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                if rt.kind == "Namespace":
                    new.setdefault("status", {})["phase"] = "Terminating"
                self.rv += 1
                new["metadata"]["resourceVersion"] = str(self.rv)
                self._bucket(rt)[self._key(rt, new)] = new
                self._record(rt, "MODIFIED", new, obj)
                obj = new
                if container:
                    self._schedule_cleanup(rt, _meta(obj)["name"])
            return obj
        return self._remove(rt, obj, orphan)

    def _schedule_cleanup(self, rt, name):
        """Empties a namespace / CRD being deleted a little later, as the namespace controller
        and the CRD finalizer do, then removes it once nothing is left."""
        def run():
            with self.lock:
                cur = self._get(rt, None, name)
                if self.closing or cur is None or not _meta(cur).get("deletionTimestamp"):
                    return
                self._empty_container(rt, cur)
                self._sweep_container(rt, cur)
        if self.finalize_delay <= 0:
            run()
            return
        t = threading.Timer(self.finalize_delay, run)
        t.daemon = True
        t.start()

    def _key(self, rt, obj):
        m = _meta(obj)
        return (m.get("namespace") if rt.namespaced else None, m["name"])

    def _remove(self, rt, obj, orphan=False):
        self._bucket(rt).pop(self._key(rt, obj), None)
        self.rv += 1
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.rv)
        self._record(rt, "DELETED", gone, obj)
        if rt.kind == "CustomResourceDefinition":
            spec = obj["spec"]
            key = (spec["group"], spec["names"]["plural"])
            if key in self.types and self.types[key].is_custom():
                del self.types[key]
                self.objects.pop(key, None)
        if not orphan:
            self._collect_dependents(_meta(obj).get("uid"))
        ns = _meta(obj).get("namespace")
        if rt.namespaced and ns:
            nst = self.types[("", "namespaces")]
            nso = self._get(nst, None, ns)
            if nso is not None and _meta(nso).get("deletionTimestamp"):
                self._sweep_container(nst, nso)
        if rt.is_custom():
            crdt = self.types[("apiextensions.k8s.io", "customresourcedefinitions")]
            crd = self._get(crdt, None, "%s.%s" % (rt.plural, rt.group))
            if crd is not None and _meta(crd).get("deletionTimestamp"):
                self._sweep_container(crdt, crd)
        return gone

    def _contents(self, rt, container):
        if rt.kind == "Namespace":
            name = _meta(container)["name"]
            return [(t, o) for t in list(self.types.values()) if t.namespaced
                    for (ns, _), o in list(self._bucket(t).items()) if ns == name]
        spec = container["spec"]
        t = self.types.get((spec["group"], spec["names"]["plural"]))
        if t is None or not t.is_custom():
            return []
        return [(t, o) for o in list(self._bucket(t).values())]

    def _empty_container(self, rt, container):
        for t, o in self._contents(rt, container):
            if self._get(t, _meta(o).get("namespace"), _meta(o)["name"]) is not None:
                self._delete(t, o)

    def _sweep_container(self, rt, container):
        """Removes a namespace / CRD being deleted once nothing is left in it."""
        cur = self._get(rt, None, _meta(container)["name"])
        if cur is None or _meta(cur).get("finalizers") or self._contents(rt, cur):
            return None
        return self._remove(rt, cur)

    def _collect_dependents(self, uid):
        if not uid:
            return
        live = None
        for t in list(self.types.values()):
            for o in list(self._bucket(t).values()):
                refs = _meta(o).get("ownerReferences") or []
                if not any(r.get("uid") == uid for r in refs):
                    continue
                if live is None:
                    live = {_meta(x).get("uid") for b in self.objects.values()
                            for x in b.values()}
                if any(r.get("uid") in live for r in refs if r.get("uid") != uid):
                    continue
                if self._get(t, _meta(o).get("namespace"), _meta(o)["name"]) is o:
                    self._delete(t, o)

    # --- list ----------------------------------------------------------------------------

    def list(self, rt, ns, label_sel="", field_sel="", limit=0, cont=None):
        """Returns (items, list_rv, continue_token, remaining)."""
        try:
            lreq = emu_select.parse_labels(label_sel)
            freq = emu_select.parse_fields(field_sel, rt.kind, rt.namespaced)
        except ValueError as e:
            raise bad_request(str(e))
        with self.lock:
            start, list_rv = None, self.rv
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()).decode())
                    start, list_rv = tok["start"], int(tok["rv"])
                except (ValueError, KeyError, TypeError):
                    raise bad_request("continue key is not valid: invalid token")
                if list_rv < self.compacted:
                    raise expired("The provided continue parameter is too old to display a "
                                  "consistent list result. You can start a new list without "
                                  "the continue parameter.")
            items = []
            for (ons, oname), o in sorted(self._bucket(rt).items(),
                                          key=lambda kv: ((kv[0][0] or ""), kv[0][1])):
                if rt.namespaced and ns and ons != ns:
                    continue
                if start is not None and "%s/%s" % (ons or "", oname) <= start:
                    continue
                if emu_select.match_labels(lreq, _meta(o).get("labels")) and \
                        emu_select.match_fields(freq, o):
                    items.append(o)
            token, remaining = "", 0
            if limit and len(items) > limit:
                remaining = len(items) - limit
                items = items[:limit]
                last = _meta(items[-1])
                token = base64.urlsafe_b64encode(json.dumps(
                    {"rv": list_rv, "start": "%s/%s" % (last.get("namespace") or "",
                                                        last["name"])}).encode()).decode()
            return items, list_rv, token, remaining

    # --- persistence ---------------------------------------------------------------------

    def snapshot(self):
        with self.lock:
            self.dirty = False
            objs = [o for b in self.objects.values() for o in b.values()]
            return {"rv": self.rv, "nextClusterIP": self.next_cluster_ip, "objects": objs}

    def save(self, path):
        with self.save_lock:
            data = json.dumps(self.snapshot())
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)

    def load(self, path):
        with open(path) as f:
            data = json.load(f)
        with self.lock:
            crdk = ("apiextensions.k8s.io", "customresourcedefinitions")
            objs = data.get("objects") or []
            for o in objs:
                if o.get("kind") == "CustomResourceDefinition":
                    self._bucket(self.types[crdk])[(None, _meta(o)["name"])] = o
                    self._crd_changed(o)
            for o in objs:
                if o.get("kind") == "CustomResourceDefinition":
                    continue
                rt = next((t for t in self.types.values()
                           if t.kind == o.get("kind") and
                           o.get("apiVersion", "").split("/")[0] in (t.group, t.version)), None)
                if rt is not None:
                    self._bucket(rt)[self._key(rt, o)] = o
            self.rv = max(self.rv, int(data.get("rv") or 0))
            self.next_cluster_ip = int(data.get("nextClusterIP") or self.next_cluster_ip)
            self.history.clear()
            self.compacted = self.rv
