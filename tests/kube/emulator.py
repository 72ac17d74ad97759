#!/usr/bin/env python3
# tests/kube/emulator.py
#
# A Kubernetes API-server emulator for tests: a peer for og-operator's C Kubernetes client and
# controller, and a target for kubectl, written from the Kubernetes API conventions
# (https://kubernetes.io/docs/reference/using-api/api-concepts/) rather than from any client.
# Python 3.11 standard library only; no controllers run (no scheduler, kubelet, endpoints or
# namespace-GC beyond what the registry itself does, see emu_store.py).
#
# Serves, over HTTP (or HTTPS with --tls), with a bearer token:
#   discovery      /version /api /api/v1 /apis /apis/<g> /apis/<g>/<v> /openapi/v3[/<gv>]
#   built-in types namespaces pods services events configmaps secrets serviceaccounts nodes,
#                  discovery.k8s.io/v1 endpointslices, coordination.k8s.io/v1 leases,
#                  rbac.authorization.k8s.io/v1 roles/rolebindings/clusterroles/
#                  clusterrolebindings, apps/v1 deployments daemonsets,
#                  apiextensions.k8s.io/v1 customresourcedefinitions
#   custom types   whatever the CRDs define, as soon as they are created (status subresource,
#                  printer columns, schema pruning/defaulting/validation)
#   verbs          get, list (labelSelector, fieldSelector, limit/continue), watch (chunked
#                  stream, resourceVersion, allowWatchBookmarks, timeoutSeconds,
#                  sendInitialEvents), create, update, patch (merge, strategic for built-ins,
#                  json), delete, deletecollection; dryRun=All; fieldValidation
#   Table          Accept: application/json;as=Table;v=v1;g=meta.k8s.io (kubectl get)
# Errors are metav1.Status bodies with the real reasons and codes.
#
# Test controls (bearer token required):
#   POST /_emu/compact           forget the watch history (old resourceVersions -> 410)
#   POST /_emu/close-watches     end every open watch, as an API-server restart would
#   POST /_emu/fail?code=503&count=N[&method=GET][&path=/api/v1/pods]
#                                answer the next N matching requests with that error
#   GET  /_emu/stats             requests served, open watches, resourceVersion
# SIGSTOP / SIGCONT make the server unreachable and back (connections wait, nothing is lost);
# SIGTERM / SIGINT stop it (and write --state if given).
#
# Usage:
#   python3 tests/kube/emulator.py --listen 127.0.0.1:0 --token T --kubeconfig OUT \
#       --port-file F [--bookmark-interval S] [--history N] [--state FILE] [--tls]

import argparse
import base64
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True      # leave no __pycache__ in the source tree

import emu_present  # noqa: E402
import emu_select  # noqa: E402
from emu_errors import (ApiError, bad_request, method_not_allowed, unauthorized,  # noqa: E402
                        unsupported_media)
from emu_store import PATCH_APPLY, PATCH_JSON, PATCH_MERGE, PATCH_STRATEGIC, Store  # noqa: E402

VERSION_INFO = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-ogemu",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
                "goVersion": "python", "compiler": "ogemu", "platform": "linux/amd64"}
ANONYMOUS_PATHS = ("/healthz", "/livez", "/readyz", "/version")
MAX_BODY = 3 * 1024 * 1024          # kube-apiserver's request size limit


class Route:
    """Where a request points: a resource collection, object or subresource."""

    def __init__(self, rt, version, ns, name=None, sub=None, watch_prefix=False):
        self.rt, self.version, self.ns = rt, version, ns
        self.name, self.sub, self.watch_prefix = name, sub, watch_prefix


class EmuServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, opts):
        super().__init__(addr, Handler)
        self.opts = opts
        self.store = Store(history=opts.history,
                           allow_loopback_endpoints=opts.allow_loopback_endpoints,
                           finalize_delay=opts.finalize_delay)
        self.faults = []
        self.stats_lock = threading.Lock()
        self.requests = 0
        self.open_watches = 0
        self.tls = False


def _first(q, key, default=""):
    v = q.get(key)
    return v[0] if v else default


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "og-kube-emulator"
    sys_version = ""
    # Headers and body go out in separate writes; with Nagle on, the body waits ~40 ms for
    # the client's delayed ACK, which a real API server (Go, TCP_NODELAY) never shows.
    disable_nagle_algorithm = True

    # --- plumbing ------------------------------------------------------------------------

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def log_message(self, fmt, *args):
        if self.server.opts.verbose:
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), fmt % args))

    def _send(self, code, obj, headers=None):
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            for one in (v if isinstance(v, list) else [v]):
                self.send_header(k, one)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, err):
        self._send(err.code, err.status(), err.headers)

    def _read_body(self):
        if self._body_done:
            return b""
        self._body_done = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
            return data
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ApiError(413, "RequestEntityTooLarge", "request entity too large")
        return self.rfile.read(n) if n else b""

    def _json_body(self, required=True):
        raw = self._read_body()
        if not raw.strip():
            if required:
                raise bad_request("the body of the request is empty")
            return None
        ctype = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if ctype not in ("application/json", "", PATCH_MERGE, PATCH_STRATEGIC, PATCH_JSON,
                         PATCH_APPLY, "*/*"):
            raise unsupported_media(["application/json"])
        try:
            return json.loads(raw)
        except ValueError as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)

    def _authorized(self, path):
        if self.command == "GET" and path in ANONYMOUS_PATHS:
            return True
        auth = self.headers.get("Authorization", "")
        return auth == "Bearer " + self.server.opts.token

    def _fault(self, path):
        with self.server.stats_lock:
            for f in self.server.faults:
                if f["count"] <= 0:
                    continue
                if f["method"] and f["method"] != self.command:
                    continue
                if f["path"] and not path.startswith(f["path"]):
                    continue
                f["count"] -= 1
                return f
        return None

    def _dispatch(self):
        self._body_done = False
        with self.server.stats_lock:
            self.server.requests += 1
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = parse_qs(url.query, keep_blank_values=True)
        try:
            if not self._authorized(path):
                self._read_body()
                raise unauthorized()
            if path.startswith("/_emu/"):
                return self._control(path, q)
            f = self._fault(path)
            if f:
                self._read_body()
                reason = {429: "TooManyRequests", 500: "InternalError",
                          503: "ServiceUnavailable", 504: "Timeout"}.get(f["code"], "Unknown")
                hdr = {"Retry-After": "1"} if f["code"] in (429, 503) else None
                raise ApiError(f["code"], reason, "injected failure (emulator)", headers=hdr)
            self._route(path, q)
        except ApiError as e:
            self._finish_body()
            self._send_error(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug here must still answer, as kube-apiserver does
            traceback.print_exc(file=sys.stderr)
            self._finish_body()
            self._send_error(ApiError(500, "InternalError", "Internal error occurred: %s" % e))

    def _finish_body(self):
        """Consumes an unread request body so that the connection can be kept alive."""
        if self._body_done:
            return
        try:
            self._read_body()
        except (ApiError, ValueError, OSError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    # --- routing -------------------------------------------------------------------------

    def _route(self, path, q):
        store = self.server.store
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return self._plain("ok")
        if path == "/version":
            return self._send(200, VERSION_INFO)
        if self.command == "GET" and self._discovery(parts):
            return None
        route = self._resolve(parts)
        if route is None:
            self._read_body()
            raise ApiError(404, "NotFound", "the server could not find the requested resource",
                           {})
        dry = _first(q, "dryRun") == "All"
        fv = _first(q, "fieldValidation", "Warn") or "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise bad_request("fieldValidation parameter unsupported: %s" % fv)
        rt = route.rt
        m = self.command
        if route.name is None:
            if m == "GET":
                if route.watch_prefix or _first(q, "watch") in ("1", "true"):
                    return self._watch(route, q)
                return self._list(route, q)
            if m == "POST":
                if rt.namespaced and route.ns is None:
                    raise method_not_allowed()
                obj, warn = store.create(rt, route.version, route.ns, self._json_body(), dry, fv)
                return self._send(201, self._out(route, obj), self._warn(warn))
            if m == "DELETE":
                return self._delete_collection(route, q)
            raise method_not_allowed()
        if m == "GET":
            if route.watch_prefix or _first(q, "watch") in ("1", "true"):
                q["fieldSelector"] = ["metadata.name=" + route.name]
                return self._watch(route, q)
            obj = store.get(rt, route.ns, route.name)
            return self._reply_objects(route, q, [obj], single=True)
        if m == "PUT":
            obj, warn = store.update(rt, route.version, route.ns, route.name, self._json_body(),
                                     route.sub, dry, fv)
            return self._send(200, self._out(route, obj), self._warn(warn))
        if m == "PATCH":
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
            body = self._json_body()
            obj, warn = store.patch(rt, route.version, route.ns, route.name, ctype, body,
                                    route.sub, dry, fv)
            return self._send(200, self._out(route, obj), self._warn(warn))
        if m == "DELETE":
            if route.sub:
                raise method_not_allowed()
            opts = self._json_body(required=False) or {}
            if _first(q, "propagationPolicy"):
                opts["propagationPolicy"] = _first(q, "propagationPolicy")
            obj = store.delete(rt, route.ns, route.name, opts, dry)
            return self._send(200, self._out(route, obj))
        raise method_not_allowed()

    def _resolve(self, parts):
        store = self.server.store
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        watch_prefix = bool(rest) and rest[0] == "watch"
        if watch_prefix:
            rest = rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            rt = store.find_type(group, version, rest[2])
            if rt is not None and rt.namespaced:
                ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        rt = store.find_type(group, version, rest[0])
        if rt is None or (ns is not None and not rt.namespaced):
            return None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and (sub != "status" or not rt.status):
            return None
        if rt.namespaced and name is not None and ns is None:
            return None
        return Route(rt, version, ns, name, sub, watch_prefix)

    def _plain(self, text):
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _discovery(self, parts):
        store = self.server.store
        types = store.served_types()
        gvs = emu_present.group_versions(types)
        if parts == ["api"]:
            host = "%s:%d" % self.server.server_address[:2]
            self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                             "serverAddress": host}]})
        elif parts == ["api", "v1"]:
            self._send(200, emu_present.api_resource_list(types, "", "v1"))
        elif parts == ["apis"]:
            self._send(200, emu_present.api_group_list(types))
        elif len(parts) == 2 and parts[0] == "apis" and parts[1] in gvs:
            self._send(200, emu_present.api_group(parts[1], gvs[parts[1]]))
        elif len(parts) == 3 and parts[0] == "apis" and parts[2] in gvs.get(parts[1], []):
            self._send(200, emu_present.api_resource_list(types, parts[1], parts[2]))
        elif parts == ["openapi", "v3"]:
            self._send(200, emu_present.openapi_index(store))
        elif len(parts) >= 4 and parts[:2] == ["openapi", "v3"]:
            if parts[2] == "api" and len(parts) == 4:
                g, v = "", parts[3]
            elif parts[2] == "apis" and len(parts) == 5:
                g, v = parts[3], parts[4]
            else:
                return False
            if v not in gvs.get(g, []):
                return False
            self._send(200, emu_present.openapi_doc(store, g, v))
        else:
            return False
        return True

    def _control(self, path, q):
        store = self.server.store
        if path == "/_emu/compact" and self.command == "POST":
            store.compact()
        elif path == "/_emu/close-watches" and self.command == "POST":
            store.close_watches()
        elif path == "/_emu/fail" and self.command == "POST":
            with self.server.stats_lock:
                self.server.faults.append({"code": int(_first(q, "code", "503")),
                                           "count": int(_first(q, "count", "1")),
                                           "method": _first(q, "method"),
                                           "path": _first(q, "path")})
        elif path == "/_emu/stats" and self.command == "GET":
            with self.server.stats_lock:
                stats = {"requests": self.server.requests,
                         "openWatches": self.server.open_watches}
            stats.update({"resourceVersion": store.rv, "compacted": store.compacted})
            return self._send(200, stats)
        else:
            raise ApiError(404, "NotFound", "unknown emulator control %s" % path)
        self._read_body()
        return self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Success", "code": 200})

    # --- reads ---------------------------------------------------------------------------

    def _out(self, route, obj):
        """The object as served at the requested version (CRDs use conversion None)."""
        want = route.rt.api_version(route.version)
        if obj.get("apiVersion") == want:
            return obj
        out = dict(obj)
        out["apiVersion"] = want
        return out

    def _warn(self, warnings):
        if not warnings:
            return None
        return {"Warning": ['299 - %s' % json.dumps(w) for w in warnings]}

    def _wants_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    def _reply_objects(self, route, q, objs, single=False, list_meta=None):
        if self._wants_table():
            include = _first(q, "includeObject", "Metadata")
            meta = list_meta or {"resourceVersion": objs[0]["metadata"]["resourceVersion"]}
            table = emu_present.to_table(self.server.store, route.rt, route.version,
                                         [self._out(route, o) for o in objs], meta, include)
            return self._send(200, table)
        if single:
            return self._send(200, self._out(route, objs[0]))
        return self._send(200, {"kind": route.rt.kind + "List",
                                "apiVersion": route.rt.api_version(route.version),
                                "metadata": list_meta,
                                "items": [self._out(route, o) for o in objs]})

    def _list(self, route, q):
        try:
            limit = int(_first(q, "limit", "0") or 0)
        except ValueError:
            raise bad_request("invalid limit")
        items, rv, cont, remaining = self.server.store.list(
            route.rt, route.ns, _first(q, "labelSelector"), _first(q, "fieldSelector"), limit,
            _first(q, "continue") or None)
        meta = {"resourceVersion": str(rv)}
        if cont:
            meta["continue"] = cont
            meta["remainingItemCount"] = remaining
        return self._reply_objects(route, q, items, list_meta=meta)

    def _delete_collection(self, route, q):
        store = self.server.store
        opts = self._json_body(required=False) or {}
        items, rv, _, _ = store.list(route.rt, route.ns, _first(q, "labelSelector"),
                                     _first(q, "fieldSelector"))
        done = []
        for o in items:
            try:
                done.append(store.delete(route.rt, o["metadata"].get("namespace"),
                                         o["metadata"]["name"], opts,
                                         _first(q, "dryRun") == "All"))
            except ApiError as e:
                if e.code != 404:
                    raise
        return self._send(200, {"kind": route.rt.kind + "List",
                                "apiVersion": route.rt.api_version(route.version),
                                "metadata": {"resourceVersion": str(store.rv)},
                                "items": [self._out(route, o) for o in done]})

    # --- watch ---------------------------------------------------------------------------

    def _chunk(self, event):
        data = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, route, q):
        store, opts = self.server.store, self.server.opts
        rt = route.rt
        try:
            lreq = emu_select.parse_labels(_first(q, "labelSelector"))
            freq = emu_select.parse_fields(_first(q, "fieldSelector"), rt.kind, rt.namespaced)
        except ValueError as e:
            raise bad_request(str(e))
        rv_param = _first(q, "resourceVersion")
        if rv_param not in ("", "0") and not rv_param.isdigit():
            raise bad_request("invalid resource version: %s" % rv_param)
        try:
            timeout = float(_first(q, "timeoutSeconds") or opts.max_watch)
        except ValueError:
            raise bad_request("invalid timeoutSeconds")
        bookmarks = _first(q, "allowWatchBookmarks") in ("true", "1")
        initial = _first(q, "sendInitialEvents") == "true"
        table = self._wants_table()

        def matches(o):
            if o is None:
                return False
            m = o.get("metadata") or {}
            if rt.namespaced and route.ns and m.get("namespace") != route.ns:
                return False
            return emu_select.match_labels(lreq, m.get("labels")) and \
                emu_select.match_fields(freq, o)

        def wrap(etype, o):
            o = self._out(route, o)
            if table and etype != "BOOKMARK":
                o = emu_present.to_table(store, rt, route.version, [o],
                                         {"resourceVersion": o["metadata"]["resourceVersion"]})
            return {"type": etype, "object": o}

        def bookmark(rv, annotations=None):
            meta = {"resourceVersion": str(rv)}
            if annotations:
                meta["annotations"] = annotations
            return {"type": "BOOKMARK", "object": {"kind": rt.kind,
                                                   "apiVersion": rt.api_version(route.version),
                                                   "metadata": meta}}

        # the starting point is fixed before the headers go out: once a client has them,
        # every later write reaches it
        with store.lock:
            start = (store.watch_gen, store.rv, [])
            if rv_param in ("", "0") or initial:
                start[2].extend(o for o in store.list(rt, None)[0] if matches(o))
            else:
                start = (start[0], int(rv_param), [])
        with self.server.stats_lock:
            self.server.open_watches += 1
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._stream(store, opts, rt, start, initial, bookmarks, timeout, matches, wrap,
                         bookmark)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        finally:
            self.close_connection = True
            with self.server.stats_lock:
                self.server.open_watches -= 1

    def _stream(self, store, opts, rt, start, initial, bookmarks, timeout, matches, wrap,
                bookmark):
        deadline = time.monotonic() + timeout
        gen, pos, first = start
        for o in first:
            self._chunk(wrap("ADDED", o))
        if initial and bookmarks:
            self._chunk(bookmark(pos, {"k8s.io/initial-events-end": "true"}))
        next_bm = time.monotonic() + opts.bookmark_interval
        while True:
            err, evs = None, []
            with store.cond:
                while True:
                    if store.closing or store.watch_gen != gen:
                        return
                    try:
                        evs = store.events_after(pos)
                    except ApiError as e:
                        err = e
                        break
                    if evs:
                        break
                    now = time.monotonic()
                    if now >= deadline or (bookmarks and now >= next_bm):
                        break
                    wake = min(deadline, next_bm) if bookmarks else deadline
                    store.cond.wait(max(0.01, min(wake - now, 1.0)))
                if not evs and err is None:
                    pos = max(pos, store.rv)
            if err is not None:
                self._chunk({"type": "ERROR", "object": err.status()})
                return
            for ev in evs:
                pos = ev.rv
                if ev.key != rt.key:
                    continue
                cur, prev = matches(ev.obj), matches(ev.prev)
                if ev.type == "ADDED" and cur:
                    self._chunk(wrap("ADDED", ev.obj))
                elif ev.type == "MODIFIED" and (cur or prev):
                    self._chunk(wrap("MODIFIED" if cur and prev else
                                     "ADDED" if cur else "DELETED", ev.obj))
                elif ev.type == "DELETED" and (prev or cur):
                    self._chunk(wrap("DELETED", ev.obj))
            now = time.monotonic()
            if now >= deadline:
                return
            if bookmarks and now >= next_bm:
                self._chunk(bookmark(pos))
                next_bm = now + opts.bookmark_interval


# --- kubeconfig, TLS, main ----------------------------------------------------------------

def write_kubeconfig(path, server_url, token, ca_pem=None):
    cluster = "    server: %s\n" % server_url
    if ca_pem:
        cluster += "    certificate-authority-data: %s\n" % base64.b64encode(ca_pem).decode()
    text = ("apiVersion: v1\nkind: Config\nclusters:\n- name: og-emu\n  cluster:\n%s"
            "contexts:\n- name: og-emu\n  context:\n    cluster: og-emu\n    user: og-emu\n"
            "    namespace: default\ncurrent-context: og-emu\npreferences: {}\nusers:\n"
            "- name: og-emu\n  user:\n    token: %s\n" % (cluster, token))
    _atomic_write(path, text)


def _atomic_write(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


TLS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tls")


def default_cert():
    """The bundled test-only certificate (self-signed, SAN 127.0.0.1, ::1, localhost)."""
    return os.path.join(TLS_DIR, "emu-cert.pem"), os.path.join(TLS_DIR, "emu-key.pem")


def parse_args(argv):
    p = argparse.ArgumentParser(description="Kubernetes API-server emulator for tests")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free port)")
    p.add_argument("--token", required=True, help="bearer token clients must present")
    p.add_argument("--kubeconfig", help="write a kubeconfig for this server here")
    p.add_argument("--port-file", help="write the chosen port here (after binding)")
    p.add_argument("--bookmark-interval", type=float, default=5.0,
                   help="seconds between BOOKMARK events on idle watches (default 5)")
    p.add_argument("--history", type=int, default=1000,
                   help="watch events kept; older resourceVersions get 410 (default 1000)")
    p.add_argument("--max-watch", type=float, default=1800.0,
                   help="longest watch when the client gives no timeoutSeconds (default 1800)")
    p.add_argument("--finalize-delay", type=float, default=0.5,
                   help="seconds before a deleted namespace or CRD is emptied (default 0.5)")
    p.add_argument("--state", help="load objects from this file, save them there on change")
    p.add_argument("--tls", action="store_true",
                   help="serve HTTPS (client-go, hence kubectl, sends bearer tokens only over "
                        "HTTPS); the kubeconfig then carries the CA")
    p.add_argument("--tls-cert", help="PEM certificate for --tls (default: the bundled "
                                      "test-only tests/kube/tls/emu-cert.pem, valid for "
                                      "127.0.0.1, ::1 and localhost)")
    p.add_argument("--tls-key", help="PEM key for --tls")
    p.add_argument("--allow-loopback-endpoints", action="store_true",
                   help="accept 127.0.0.0/8 and ::1 in EndpointSlices (the real API server "
                        "rejects them; off by default)")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p.parse_args(argv)


def _saver(server, path, stop):
    while not stop.wait(0.5):
        if server.store.dirty:
            server.store.save(path)


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    host, _, port = opts.listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if ":" in host:
        EmuServer.address_family = socket.AF_INET6
    server = EmuServer((host, int(port)), opts)
    if opts.state and os.path.exists(opts.state):
        server.store.load(opts.state)
    ca_pem = None
    if opts.tls:
        crt, key = opts.tls_cert, opts.tls_key
        if not (crt and key):
            crt, key = default_cert()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        server.tls = True
        with open(crt, "rb") as f:
            ca_pem = f.read()
    real_port = server.server_address[1]
    url_host = "[%s]" % host if ":" in host else host
    url = "%s://%s:%d" % ("https" if opts.tls else "http", url_host, real_port)
    if opts.kubeconfig:
        write_kubeconfig(opts.kubeconfig, url, opts.token, ca_pem)
    if opts.port_file:
        _atomic_write(opts.port_file, "%d\n" % real_port)
    print("emulator: serving %s" % url, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    th = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                          daemon=True)
    th.start()
    saver = None
    if opts.state:
        saver = threading.Thread(target=_saver, args=(server, opts.state, stop), daemon=True)
        saver.start()
    while not stop.wait(1.0):
        pass
    with server.store.lock:
        server.store.closing = True
        server.store.cond.notify_all()
    server.shutdown()
    server.server_close()
    if opts.state:
        server.store.save(opts.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
