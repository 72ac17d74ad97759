#!/usr/bin/env python3
# tests/kube/test_emulator.py
#
# Tests of the API-server emulator (emulator.py) against the Kubernetes API conventions, and
# the kubectl proofs for deploy/: the manifests apply (apply -k deploy/), the example and the
# original operator's cluster.yaml apply unchanged, `kubectl get ogc` prints the printer
# columns, merge patches, status, and deletion held by a finalizer.
# Every test starts its own emulator on 127.0.0.1:0 and stops it (cleanups run even on
# failure); every wait is bounded. python3 -m unittest, standard library only; run by ctest
# (kube_emulator). The kubectl tests are skipped, with a message, only when kubectl is absent.

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(HERE, "emulator.py")
DEPLOY = os.path.join(ROOT, "deploy")
TOKEN = "test-token-1"
KUBECTL = shutil.which("kubectl")


class Emu:
    """One emulator process with its own temporary directory."""

    def __init__(self, *extra, tls=False):
        self.dir = tempfile.mkdtemp(prefix="ogemu-test-")
        self.port_file = os.path.join(self.dir, "port")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.log = open(os.path.join(self.dir, "emulator.log"), "w")
        self.tls = tls
        args = [sys.executable, EMULATOR, "--listen", "127.0.0.1:0", "--token", TOKEN,
                "--port-file", self.port_file, "--kubeconfig", self.kubeconfig] + list(extra)
        if tls:
            args.append("--tls")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.stopped = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("emulator did not start")

    def api(self, token=TOKEN):
        return Api(self.port, token, self.tls)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def terminate(self):
        """SIGTERM and wait (bounded): returns the exit code."""
        if self.stopped:
            self.resume()
        self.proc.terminate()
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def stop(self):
        if self.proc.poll() is None:
            self.terminate()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Api:
    """A tiny client: one connection per request, JSON in and out, bounded timeouts."""

    def __init__(self, port, token, tls=False):
        self.port, self.token, self.tls = port, token, tls

    def conn(self, timeout=10):
        if self.tls:
            ctx = ssl.create_default_context(cafile=os.path.join(HERE, "tls", "emu-cert.pem"))
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def req(self, method, path, body=None, ctype="application/json", headers=None, timeout=10):
        c = self.conn(timeout)
        h = dict(headers or {})
        if self.token is not None:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = ctype
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            try:
                out = json.loads(raw) if raw else None
            except ValueError:
                out = raw.decode()
            return r.status, out, r
        finally:
            c.close()

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.req("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.req("PUT", path, body, **kw)

    def patch(self, path, body, kind="merge", **kw):
        ctype = {"merge": "application/merge-patch+json",
                 "strategic": "application/strategic-merge-patch+json",
                 "json": "application/json-patch+json"}[kind]
        return self.req("PATCH", path, body, ctype=ctype, **kw)

    def delete(self, path, body=None, **kw):
        return self.req("DELETE", path, body, **kw)

    def watch(self, path, timeout=10):
        return Watch(self, path, timeout)


class Watch:
    def __init__(self, api, path, timeout):
        self.c = api.conn(timeout)
        self.c.request("GET", path, headers={"Authorization": "Bearer " + api.token})
        self.r = self.c.getresponse()
        if self.r.status != 200:
            raise AssertionError("watch %s: HTTP %d %s" % (path, self.r.status, self.r.read()))

    def next(self):
        """The next event, or None at the end of the stream."""
        line = self.r.readline()
        return json.loads(line) if line.strip() else None

    def next_of(self, types, limit=50):
        """The next event whose type is in types (skipping others, at most `limit`)."""
        for _ in range(limit):
            ev = self.next()
            if ev is None or ev["type"] in types:
                return ev
        return None

    def close(self):
        self.c.close()


def cm(name, labels=None, data=None, ns="default"):
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns}, "data": data or {"k": "v"}}
    if labels:
        body["metadata"]["labels"] = labels
    return body


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                       "shortNames": ["wd"]},
             "versions": [{
                 "name": "v1", "served": True, "storage": True,
                 "subresources": {"status": {}},
                 "additionalPrinterColumns": [
                     {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                     {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                     {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                 "schema": {"openAPIV3Schema": {
                     "type": "object",
                     "properties": {
                         "spec": {"type": "object", "required": ["size"], "properties": {
                             "size": {"type": "integer", "minimum": 1, "maximum": 10},
                             "color": {"type": "string", "enum": ["red", "blue"]},
                             "mode": {"type": "string", "default": "auto"},
                             "tags": {"type": "array", "items": {"type": "string"}},
                             "extra": {"type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}},
                         "status": {"type": "object", "properties": {
                             "phase": {"type": "string"}}}}}}}]}}

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


def widget(name, size=3, **spec):
    spec["size"] = size
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name}, "spec": spec}


class EmuTestCase(unittest.TestCase):
    def start(self, *extra, tls=False):
        emu = Emu(*extra, tls=tls)
        self.addCleanup(emu.stop)
        return emu

    def setUp(self):
        self.emu = self.start("--bookmark-interval", "0.3")
        self.api = self.emu.api()

    def ok(self, res, code=200):
        status, body, _ = res
        self.assertEqual(status, code, body)
        return body

    def failure(self, res, code, reason):
        status, body, _ = res
        self.assertEqual(status, code, body)
        self.assertEqual(body["kind"], "Status")
        self.assertEqual(body["status"], "Failure")
        self.assertEqual(body["reason"], reason)
        self.assertEqual(body["code"], code)
        self.assertIsInstance(body["message"], str)
        return body

    def wait_gone(self, path, seconds=5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.api.get(path)[0] == 404:
                return
            time.sleep(0.05)
        self.fail("%s still exists after %ss" % (path, seconds))

    def add_widget_crd(self):
        self.ok(self.api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                              WIDGET_CRD), 201)


class ConventionTests(EmuTestCase):
    def test_token_required(self):
        for token in (None, "wrong"):
            st = self.failure(self.emu.api(token).get("/api/v1/namespaces"), 401,
                              "Unauthorized")
            self.assertEqual(st["message"], "Unauthorized")
        self.ok(self.emu.api(None).get("/version"))
        self.ok(self.api.get("/api/v1/namespaces"))

    def test_resource_version_increments(self):
        a = self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("a")), 201)
        b = self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("b")), 201)
        ra, rb = int(a["metadata"]["resourceVersion"]), int(b["metadata"]["resourceVersion"])
        self.assertGreater(rb, ra)
        a["data"] = {"k": "changed"}
        a2 = self.ok(self.api.put("/api/v1/namespaces/default/configmaps/a", a))
        self.assertGreater(int(a2["metadata"]["resourceVersion"]), rb)
        self.assertEqual(a2["metadata"]["uid"], a["metadata"]["uid"])
        lst = self.ok(self.api.get("/api/v1/namespaces/default/configmaps"))
        self.assertEqual(lst["kind"], "ConfigMapList")
        self.assertEqual(lst["metadata"]["resourceVersion"], a2["metadata"]["resourceVersion"])
        # an update that changes nothing writes nothing
        a3 = self.ok(self.api.put("/api/v1/namespaces/default/configmaps/a", a2))
        self.assertEqual(a3["metadata"]["resourceVersion"], a2["metadata"]["resourceVersion"])

    def test_error_status_bodies(self):
        st = self.failure(self.api.get("/api/v1/namespaces/default/configmaps/nope"), 404,
                          "NotFound")
        self.assertEqual(st["details"], {"name": "nope", "group": "", "kind": "configmaps"})
        self.assertEqual(st["message"], 'configmaps "nope" not found')
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("x")), 201)
        self.failure(self.api.post("/api/v1/namespaces/default/configmaps", cm("x")), 409,
                     "AlreadyExists")
        old = self.ok(self.api.get("/api/v1/namespaces/default/configmaps/x"))
        new = dict(old, data={"k": "2"})
        self.ok(self.api.put("/api/v1/namespaces/default/configmaps/x", new))
        st = self.failure(self.api.put("/api/v1/namespaces/default/configmaps/x", new), 409,
                          "Conflict")
        self.assertIn("the object has been modified", st["message"])
        st = self.failure(self.api.post("/api/v1/namespaces/default/configmaps",
                                        cm("Bad_Name")), 422, "Invalid")
        self.assertEqual(st["details"]["causes"][0]["field"], "metadata.name")
        self.assertEqual(st["details"]["causes"][0]["reason"], "FieldValueInvalid")
        self.failure(self.api.post("/api/v1/namespaces/nowhere/configmaps", cm("y", ns="")), 404,
                     "NotFound")
        self.failure(self.api.get("/api/v1/nosuchthings"), 404, "NotFound")
        self.failure(self.api.post("/api/v1/namespaces/default/configmaps", b"{not json"), 400,
                     "BadRequest")
        self.failure(self.api.get("/api/v1/namespaces/default/configmaps?labelSelector=a%20in"),
                     400, "BadRequest")
        self.failure(self.api.req("PUT", "/api/v1/namespaces/default/configmaps", cm("z")),
                     405, "MethodNotAllowed")

    def test_unconditional_update_only_where_allowed(self):
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("u")), 201)
        self.ok(self.api.put("/api/v1/namespaces/default/configmaps/u",
                             cm("u", data={"k": "free"})))
        self.add_widget_crd()
        self.ok(self.api.post(WIDGETS, widget("w")), 201)
        st = self.failure(self.api.put(WIDGETS + "/w", widget("w", 4)), 422, "Invalid")
        self.assertEqual(st["details"]["causes"][0]["field"], "metadata.resourceVersion")

    def test_generate_name_and_dry_run(self):
        body = cm("")
        body["metadata"] = {"generateName": "gen-"}
        a = self.ok(self.api.post("/api/v1/namespaces/default/configmaps", body), 201)
        self.assertTrue(a["metadata"]["name"].startswith("gen-"))
        self.assertEqual(len(a["metadata"]["name"]), len("gen-") + 5)
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps?dryRun=All", cm("dry")),
                201)
        self.failure(self.api.get("/api/v1/namespaces/default/configmaps/dry"), 404, "NotFound")

    def test_label_and_field_selectors(self):
        for name, labels in (("p1", {"app": "db", "tier": "a"}), ("p2", {"app": "db"}),
                             ("p3", {"app": "web", "tier": "b"}), ("p4", {})):
            self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm(name, labels)),
                    201)

        def names(sel, field=""):
            q = "labelSelector=%s&fieldSelector=%s" % (sel.replace(" ", "%20"), field)
            lst = self.ok(self.api.get("/api/v1/namespaces/default/configmaps?" + q))
            return sorted(i["metadata"]["name"] for i in lst["items"])

        self.assertEqual(names("app=db"), ["p1", "p2"])
        self.assertEqual(names("app==db"), ["p1", "p2"])
        self.assertEqual(names("app!=db"), ["p3", "p4"])
        self.assertEqual(names("app in (web,other)"), ["p3"])
        self.assertEqual(names("app notin (web)"), ["p1", "p2", "p4"])
        self.assertEqual(names("tier"), ["p1", "p3"])
        self.assertEqual(names("!tier"), ["p2", "p4"])
        self.assertEqual(names("app=db,tier"), ["p1"])
        self.assertEqual(names("", "metadata.name=p2"), ["p2"])
        self.assertEqual(names("app", "metadata.name!=p2"), ["p1", "p3"])
        self.assertEqual(names("", "metadata.namespace=default"), ["p1", "p2", "p3", "p4"])
        self.failure(self.api.get("/api/v1/configmaps?fieldSelector=spec.foo%3Dx"), 400,
                     "BadRequest")
        # cluster-wide list spans namespaces
        lst = self.ok(self.api.get("/api/v1/configmaps?labelSelector=app%3Ddb"))
        self.assertEqual(len(lst["items"]), 2)

    def test_pagination_and_expired_continue(self):
        for i in range(5):
            self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("c%d" % i)), 201)
        first = self.ok(self.api.get("/api/v1/namespaces/default/configmaps?limit=2"))
        self.assertEqual(len(first["items"]), 2)
        tok = first["metadata"]["continue"]
        second = self.ok(self.api.get("/api/v1/namespaces/default/configmaps?limit=2&"
                                      "continue=" + tok))
        self.assertEqual([i["metadata"]["name"] for i in second["items"]], ["c2", "c3"])
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("later")), 201)
        self.ok(self.api.post("/_emu/compact", {}))
        self.failure(self.api.get("/api/v1/namespaces/default/configmaps?limit=2&continue=" +
                                  tok), 410, "Expired")


class PatchTests(EmuTestCase):
    def deployment(self):
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d", "namespace": "default"},
                "spec": {"selector": {"matchLabels": {"app": "d"}},
                         "template": {"metadata": {"labels": {"app": "d"}},
                                      "spec": {"containers": [
                                          {"name": "a", "image": "a:1",
                                           "ports": [{"containerPort": 80}]},
                                          {"name": "b", "image": "b:1"}]}}}}

    def test_merge_vs_strategic(self):
        path = "/apis/apps/v1/namespaces/default/deployments"
        d = self.ok(self.api.post(path, self.deployment()), 201)
        self.assertEqual(d["metadata"]["generation"], 1)
        smp = {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}}
        d = self.ok(self.api.patch(path + "/d", smp, "strategic"))
        conts = d["spec"]["template"]["spec"]["containers"]
        self.assertEqual([(c["name"], c["image"]) for c in conts], [("a", "a:1"), ("b", "b:2")])
        self.assertEqual(d["metadata"]["generation"], 2)
        smp = {"spec": {"template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 81}]}, {"name": "b", "$patch": "delete"}]}}}}
        d = self.ok(self.api.patch(path + "/d", smp, "strategic"))
        conts = d["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(conts), 1)
        self.assertEqual(sorted(p["containerPort"] for p in conts[0]["ports"]), [80, 81])
        # a JSON merge patch replaces the whole list: directives mean nothing there
        st = self.failure(self.api.patch(path + "/d", smp, "merge"), 422, "Invalid")
        self.assertEqual(st["details"]["causes"][0]["field"],
                         "spec.template.spec.containers[0].image")
        mp = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "c:1"}]}}}}
        d = self.ok(self.api.patch(path + "/d", mp, "merge"))
        self.assertEqual(d["spec"]["template"]["spec"]["containers"],
                         [{"name": "c", "image": "c:1"}])

    def test_strategic_service_ports_and_labels(self):
        path = "/api/v1/namespaces/default/services"
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s",
                                                                   "labels": {"a": "1"}},
               "spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}}
        self.ok(self.api.post(path, svc), 201)
        s = self.ok(self.api.patch(path + "/s", {"metadata": {"labels": {"a": None, "b": "2"}},
                                                 "spec": {"ports": [{"port": 81,
                                                                     "targetPort": 9090}]}},
                                   "strategic"))
        self.assertEqual(s["metadata"]["labels"], {"b": "2"})
        ports = {p["port"]: p for p in s["spec"]["ports"]}
        self.assertEqual(sorted(ports), [80, 81])
        self.assertEqual(ports[81]["targetPort"], 9090)
        self.assertEqual(ports[81]["name"], "b")

    def test_strategic_on_custom_resource_is_415(self):
        self.add_widget_crd()
        self.ok(self.api.post(WIDGETS, widget("w")), 201)
        st = self.failure(self.api.patch(WIDGETS + "/w", {"spec": {"size": 4}}, "strategic"),
                          415, "UnsupportedMediaType")
        self.assertIn("application/merge-patch+json", st["message"])
        w = self.ok(self.api.patch(WIDGETS + "/w", {"spec": {"size": 4}}, "merge"))
        self.assertEqual(w["spec"]["size"], 4)
        self.failure(self.api.req("PATCH", WIDGETS + "/w", b"{}", ctype="text/plain"), 415,
                     "UnsupportedMediaType")

    def test_json_patch(self):
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("j", {"x": "1"})), 201)
        ops = [{"op": "add", "path": "/data/n", "value": "2"},
               {"op": "replace", "path": "/metadata/labels/x", "value": "9"},
               {"op": "remove", "path": "/data/k"},
               {"op": "test", "path": "/data/n", "value": "2"}]
        o = self.ok(self.api.patch("/api/v1/namespaces/default/configmaps/j", ops, "json"))
        self.assertEqual(o["data"], {"n": "2"})
        self.assertEqual(o["metadata"]["labels"], {"x": "9"})
        self.failure(self.api.patch("/api/v1/namespaces/default/configmaps/j",
                                    [{"op": "test", "path": "/data/n", "value": "3"}], "json"),
                     422, "Invalid")

    def test_patch_with_stale_resource_version_conflicts(self):
        o = self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("r")), 201)
        rv = o["metadata"]["resourceVersion"]
        self.ok(self.api.patch("/api/v1/namespaces/default/configmaps/r",
                               {"metadata": {"resourceVersion": rv}, "data": {"k": "1"}}))
        self.failure(self.api.patch("/api/v1/namespaces/default/configmaps/r",
                                    {"metadata": {"resourceVersion": rv}, "data": {"k": "2"}}),
                     409, "Conflict")


class CustomResourceTests(EmuTestCase):
    def test_crd_serves_custom_resource_with_discovery(self):
        self.failure(self.api.get(WIDGETS), 404, "NotFound")
        self.add_widget_crd()
        crd = self.ok(self.api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                   "widgets.example.com"))
        conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        self.assertEqual(conds["Established"], "True")
        groups = self.ok(self.api.get("/apis"))
        self.assertIn("example.com", [g["name"] for g in groups["groups"]])
        res = self.ok(self.api.get("/apis/example.com/v1"))
        byname = {r["name"]: r for r in res["resources"]}
        self.assertEqual(byname["widgets"]["shortNames"], ["wd"])
        self.assertTrue(byname["widgets"]["namespaced"])
        self.assertIn("widgets/status", byname)
        w = self.ok(self.api.post(WIDGETS, widget("w1")), 201)
        self.assertEqual(w["spec"]["mode"], "auto")    # schema default
        self.assertEqual(w["metadata"]["generation"], 1)
        index = self.ok(self.api.get("/openapi/v3"))
        self.assertIn("apis/example.com/v1", index["paths"])

    def test_schema_validation_and_pruning(self):
        self.add_widget_crd()
        st = self.failure(self.api.post(WIDGETS, widget("bad", 11, color="green")), 422,
                          "Invalid")
        fields = sorted(c["field"] for c in st["details"]["causes"])
        self.assertEqual(fields, ["spec.color", "spec.size"])
        self.assertIn('Widget.example.com "bad" is invalid', st["message"])
        st = self.failure(self.api.post(WIDGETS, {"apiVersion": "example.com/v1",
                                                  "kind": "Widget",
                                                  "metadata": {"name": "nosize"},
                                                  "spec": {}}), 422, "Invalid")
        self.assertEqual(st["details"]["causes"][0]["reason"], "FieldValueRequired")
        self.failure(self.api.post(WIDGETS, widget("t", "3")), 422, "Invalid")
        body = widget("p", unknown=1, extra={"anything": {"goes": True}})
        status, w, resp = self.api.post(WIDGETS, body)
        self.assertEqual(status, 201)
        self.assertNotIn("unknown", w["spec"])
        self.assertEqual(w["spec"]["extra"], {"anything": {"goes": True}})
        self.assertIn("unknown field", resp.getheader("Warning") or "")
        st = self.failure(self.api.post(WIDGETS + "?fieldValidation=Strict",
                                        widget("q", unknown=1)), 400, "BadRequest")
        self.assertIn('unknown field "spec.unknown"', st["message"])

    def test_status_subresource_and_generation(self):
        self.add_widget_crd()
        body = widget("s")
        body["status"] = {"phase": "ignored"}
        w = self.ok(self.api.post(WIDGETS, body), 201)
        self.assertNotIn("status", w)                  # create cannot set status
        st = dict(w, status={"phase": "Ready"})
        w2 = self.ok(self.api.put(WIDGETS + "/s/status", st))
        self.assertEqual(w2["status"], {"phase": "Ready"})
        self.assertEqual(w2["metadata"]["generation"], 1)
        self.assertGreater(int(w2["metadata"]["resourceVersion"]),
                           int(w["metadata"]["resourceVersion"]))
        # status writes never take spec; main-resource writes never take status
        w3 = self.ok(self.api.patch(WIDGETS + "/s/status",
                                    {"spec": {"size": 9}, "status": {"phase": "Busy"}}))
        self.assertEqual((w3["spec"]["size"], w3["status"]["phase"]), (3, "Busy"))
        w4 = self.ok(self.api.patch(WIDGETS + "/s", {"status": {"phase": "Hacked"}}))
        self.assertEqual(w4["status"]["phase"], "Busy")
        self.assertEqual(w4["metadata"]["resourceVersion"], w3["metadata"]["resourceVersion"])
        self.assertEqual(w4["metadata"]["generation"], 1)
        w5 = self.ok(self.api.patch(WIDGETS + "/s", {"spec": {"size": 5}}))
        self.assertEqual(w5["metadata"]["generation"], 2)
        w6 = self.ok(self.api.patch(WIDGETS + "/s", {"metadata": {"labels": {"a": "b"}}}))
        self.assertEqual(w6["metadata"]["generation"], 2)

    def test_finalizer_holds_deletion(self):
        self.add_widget_crd()
        body = widget("f")
        body["metadata"]["finalizers"] = ["example.com/cleanup"]
        self.ok(self.api.post(WIDGETS, body), 201)
        lst = self.ok(self.api.get(WIDGETS))
        w = self.api.watch(WIDGETS + "?watch=1&resourceVersion=" +
                           lst["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        d = self.ok(self.api.delete(WIDGETS + "/f"))
        self.assertIn("deletionTimestamp", d["metadata"])
        g = self.ok(self.api.get(WIDGETS + "/f"))
        self.assertEqual(g["metadata"]["finalizers"], ["example.com/cleanup"])
        ev = w.next_of(("MODIFIED",))
        self.assertIn("deletionTimestamp", ev["object"]["metadata"])
        st = self.failure(self.api.patch(WIDGETS + "/f", {"metadata": {"finalizers": [
            "example.com/cleanup", "example.com/more"]}}), 422, "Invalid")
        self.assertEqual(st["details"]["causes"][0]["field"], "metadata.finalizers")
        self.ok(self.api.patch(WIDGETS + "/f", {"metadata": {"finalizers": None}}))
        self.failure(self.api.get(WIDGETS + "/f"), 404, "NotFound")
        ev = w.next_of(("DELETED",))
        self.assertEqual(ev["object"]["metadata"]["name"], "f")

    def test_crd_deletion_removes_resources_and_type(self):
        self.add_widget_crd()
        self.ok(self.api.post(WIDGETS, widget("a")), 201)
        crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
        self.ok(self.api.delete(crd))
        self.wait_gone(crd)
        self.failure(self.api.get(WIDGETS), 404, "NotFound")
        groups = self.ok(self.api.get("/apis"))
        self.assertNotIn("example.com", [g["name"] for g in groups["groups"]])

    def test_table_printing(self):
        self.add_widget_crd()
        self.ok(self.api.post(WIDGETS, widget("t", 7)), 201)
        accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        t = self.ok(self.api.get(WIDGETS, headers=accept))
        self.assertEqual(t["kind"], "Table")
        self.assertEqual([c["name"] for c in t["columnDefinitions"]],
                         ["Name", "Size", "Phase", "Age"])
        self.assertEqual(t["rows"][0]["cells"][:3], ["t", 7, None])
        self.assertEqual(t["rows"][0]["object"]["kind"], "PartialObjectMetadata")
        t = self.ok(self.api.get("/api/v1/namespaces", headers=accept))
        self.assertEqual([c["name"] for c in t["columnDefinitions"]], ["Name", "Status", "Age"])


class WatchTests(EmuTestCase):
    def test_added_modified_deleted_and_bookmarks(self):
        lst = self.ok(self.api.get("/api/v1/namespaces/default/configmaps"))
        w = self.api.watch("/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks="
                           "true&resourceVersion=" + lst["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("w")), 201)
        self.ok(self.api.patch("/api/v1/namespaces/default/configmaps/w", {"data": {"k": "2"}}))
        self.ok(self.api.delete("/api/v1/namespaces/default/configmaps/w"))
        got = [w.next_of(("ADDED", "MODIFIED", "DELETED")) for _ in range(3)]
        self.assertEqual([e["type"] for e in got], ["ADDED", "MODIFIED", "DELETED"])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in got]
        self.assertEqual(rvs, sorted(rvs))
        bm = w.next_of(("BOOKMARK",))
        self.assertEqual(bm["object"]["kind"], "ConfigMap")
        self.assertGreaterEqual(int(bm["object"]["metadata"]["resourceVersion"]), rvs[-1])

    def test_resume_from_resource_version_replays(self):
        a = self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("r1")), 201)
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("r2")), 201)
        w = self.api.watch("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&"
                           "resourceVersion=" + a["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "r2"))
        self.assertIsNone(w.next())                    # timeoutSeconds ends the stream

    def test_too_old_resource_version_is_410(self):
        emu = self.start("--history", "3")
        api = emu.api()
        first = self.ok(api.post("/api/v1/namespaces/default/configmaps", cm("o0")), 201)
        for i in range(1, 6):
            self.ok(api.post("/api/v1/namespaces/default/configmaps", cm("o%d" % i)), 201)
        w = api.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" +
                      first["metadata"]["resourceVersion"])
        self.addCleanup(w.close)
        ev = w.next()
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["code"], ev["object"]["reason"]), (410, "Expired"))
        self.assertIsNone(w.next())

    def test_cluster_wide_watch_with_selector_transitions(self):
        self.ok(self.api.post("/api/v1/namespaces", {"metadata": {"name": "other"}}), 201)
        w = self.api.watch("/api/v1/configmaps?watch=1&labelSelector=role%3Dprimary")
        self.addCleanup(w.close)
        self.ok(self.api.post("/api/v1/namespaces/other/configmaps",
                              cm("m", {"role": "primary"}, ns="other")), 201)
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["namespace"]), ("ADDED", "other"))
        self.ok(self.api.patch("/api/v1/namespaces/other/configmaps/m",
                               {"metadata": {"labels": {"role": "standby"}}}))
        self.assertEqual(w.next()["type"], "DELETED")  # left the selector
        self.ok(self.api.patch("/api/v1/namespaces/other/configmaps/m",
                               {"metadata": {"labels": {"role": "primary"}}}))
        self.assertEqual(w.next()["type"], "ADDED")    # came back

    def test_initial_events_without_resource_version(self):
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("i1")), 201)
        w = self.api.watch("/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents="
                           "true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
        self.addCleanup(w.close)
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("ADDED", "i1"))
        bm = w.next()
        self.assertEqual(bm["type"], "BOOKMARK")
        self.assertEqual(bm["object"]["metadata"]["annotations"],
                         {"k8s.io/initial-events-end": "true"})

    def test_watch_one_object_and_delete_collection(self):
        for n in ("a", "b"):
            self.ok(self.api.post("/api/v1/namespaces/default/configmaps",
                                  cm(n, {"grp": "x"})), 201)
        w = self.api.watch("/api/v1/namespaces/default/configmaps/b?watch=1")
        self.addCleanup(w.close)
        self.assertEqual(w.next()["object"]["metadata"]["name"], "b")   # initial state
        gone = self.ok(self.api.delete("/api/v1/namespaces/default/configmaps?"
                                       "labelSelector=grp%3Dx"))
        self.assertEqual(sorted(i["metadata"]["name"] for i in gone["items"]), ["a", "b"])
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("DELETED", "b"))
        lst = self.ok(self.api.get("/api/v1/namespaces/default/configmaps"))
        self.assertEqual(lst["items"], [])

    def test_close_watches_and_injected_failures(self):
        w = self.api.watch("/api/v1/namespaces/default/configmaps?watch=1")
        self.addCleanup(w.close)
        stats = self.ok(self.api.get("/_emu/stats"))
        self.assertEqual(stats["openWatches"], 1)
        self.ok(self.api.post("/_emu/close-watches", {}))
        self.assertIsNone(w.next())
        self.ok(self.api.post("/_emu/fail?code=503&count=2&method=GET", {}))
        for _ in range(2):
            st = self.failure(self.api.get("/api/v1/namespaces"), 503, "ServiceUnavailable")
            self.assertEqual(st["code"], 503)
        self.ok(self.api.get("/api/v1/namespaces"))


class ValidationTests(EmuTestCase):
    def slice(self, addrs, at="IPv4", name="s"):
        body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "svc"}},
                "endpoints": [{"addresses": addrs, "conditions": {"ready": True}}],
                "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}
        if at:
            body["addressType"] = at
        return body

    def test_endpointslice_rejects_loopback_and_link_local(self):
        path = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
        self.ok(self.api.post(path, self.slice(["10.0.0.5"])), 201)
        for bad, why in (("127.0.0.1", "loopback"), ("169.254.1.1", "link-local"),
                         ("0.0.0.0", "unspecified"), ("10.0.0.300", "valid IPv4")):
            st = self.failure(self.api.post(path, self.slice([bad], name="b")), 422, "Invalid")
            cause = st["details"]["causes"][0]
            self.assertEqual(cause["field"], "endpoints[0].addresses[0]")
            self.assertIn(why, cause["message"])
        st = self.failure(self.api.post(path, self.slice(["::1"], "IPv6", "b6")), 422, "Invalid")
        self.assertIn("loopback", st["message"])
        st = self.failure(self.api.post(path, self.slice(["10.0.0.1"], None, "b7")), 422,
                          "Invalid")
        self.assertEqual(st["details"]["causes"][0]["field"], "addressType")
        got = self.ok(self.api.get(path + "/s"))
        got["addressType"] = "IPv6"
        self.failure(self.api.put(path + "/s", got), 422, "Invalid")
        emu = self.start("--allow-loopback-endpoints")
        self.ok(emu.api().post(path, self.slice(["127.0.0.2"])), 201)

    def test_service_node_ports(self):
        path = "/api/v1/namespaces/default/services"

        def svc(name, node_port=None, stype="NodePort", ports=True):
            body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                    "spec": {"type": stype}}
            if ports:
                p = {"name": "pg", "port": 5432, "targetPort": 5432}
                if node_port is not None:
                    p["nodePort"] = node_port
                body["spec"]["ports"] = [p]
            return body

        a = self.ok(self.api.post(path, svc("og-a-svc", 30002)), 201)
        self.assertTrue(a["spec"]["clusterIP"])
        st = self.failure(self.api.post(path, svc("og-b-svc", 30002)), 422, "Invalid")
        self.assertEqual(st["details"]["causes"][0]["field"], "spec.ports[0].nodePort")
        self.assertIn("provided port is already allocated", st["message"])
        self.failure(self.api.post(path, svc("og-c-svc", 40000)), 422, "Invalid")
        self.failure(self.api.post(path, svc("og-d-svc", 30003, "ClusterIP")), 422, "Invalid")
        self.failure(self.api.post(path, svc("og-e-svc", ports=False)), 422, "Invalid")
        self.failure(self.api.post(path, svc("og-f-svc", stype="Bogus")), 422, "Invalid")
        auto = self.ok(self.api.post(path, svc("og-g-svc")), 201)
        self.assertTrue(30000 <= auto["spec"]["ports"][0]["nodePort"] <= 32767)
        # an update that leaves allocated values out keeps them
        upd = svc("og-a-svc")
        upd["metadata"]["labels"] = {"x": "y"}
        a2 = self.ok(self.api.put(path + "/og-a-svc", upd))
        self.assertEqual(a2["spec"]["clusterIP"], a["spec"]["clusterIP"])
        self.assertEqual(a2["spec"]["ports"][0]["nodePort"], 30002)
        self.ok(self.api.delete(path + "/og-a-svc"))
        self.ok(self.api.post(path, svc("og-b-svc", 30002)), 201)   # freed

    def test_lease(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "og-arbiter"},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                          "renewTime": "2026-01-01T00:00:00.000000Z", "leaseTransitions": 0}}
        l1 = self.ok(self.api.post(path, lease), 201)
        l1["spec"]["holderIdentity"] = "b"
        self.ok(self.api.put(path + "/og-arbiter", l1))
        self.failure(self.api.put(path + "/og-arbiter", l1), 409, "Conflict")
        bad = json.loads(json.dumps(lease))
        bad["metadata"]["name"] = "x"
        bad["spec"]["leaseDurationSeconds"] = 0
        bad["spec"]["leaseTransitions"] = -1
        st = self.failure(self.api.post(path, bad), 422, "Invalid")
        self.assertEqual(sorted(c["field"] for c in st["details"]["causes"]),
                         ["spec.leaseDurationSeconds", "spec.leaseTransitions"])
        # MicroTime needs six fractional digits; a wrong type does not decode: 400
        for field, value in (("renewTime", "2026-01-01T00:00:00Z"),
                             ("leaseDurationSeconds", "15")):
            bad = json.loads(json.dumps(lease))
            bad["metadata"]["name"] = "y"
            bad["spec"][field] = value
            st = self.failure(self.api.post(path, bad), 400, "BadRequest")
            self.assertIn(field, st["message"])

    def test_namespace_deletion_and_owner_gc(self):
        self.ok(self.api.post("/api/v1/namespaces", {"metadata": {"name": "gone"}}), 201)
        owner = self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("owner")), 201)
        dep = cm("dep")
        dep["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap",
                                               "name": "owner",
                                               "uid": owner["metadata"]["uid"]}]
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", dep), 201)
        self.ok(self.api.delete("/api/v1/namespaces/default/configmaps/owner"))
        self.failure(self.api.get("/api/v1/namespaces/default/configmaps/dep"), 404, "NotFound")
        self.ok(self.api.post("/api/v1/namespaces/gone/configmaps", cm("c", ns="gone")), 201)
        ns = self.ok(self.api.delete("/api/v1/namespaces/gone"))
        self.assertEqual(ns["status"]["phase"], "Terminating")
        self.failure(self.api.post("/api/v1/namespaces/gone/configmaps", cm("d", ns="gone")),
                     403, "Forbidden")
        self.wait_gone("/api/v1/namespaces/gone")
        self.failure(self.api.get("/api/v1/namespaces/gone/configmaps/c"), 404, "NotFound")


class ProcessTests(EmuTestCase):
    def test_sigstop_sigcont(self):
        lst = self.ok(self.api.get("/api/v1/namespaces/default/configmaps"))
        w = self.api.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=" +
                           lst["metadata"]["resourceVersion"], timeout=15)
        self.addCleanup(w.close)
        self.emu.pause()
        with self.assertRaises(OSError):
            self.api.get("/api/v1/namespaces", timeout=0.5)
        self.emu.resume()
        self.ok(self.api.post("/api/v1/namespaces/default/configmaps", cm("after")), 201)
        ev = w.next_of(("ADDED",))
        self.assertEqual(ev["object"]["metadata"]["name"], "after")

    def test_state_survives_restart(self):
        d = tempfile.mkdtemp(prefix="ogemu-state-")
        self.addCleanup(shutil.rmtree, d, True)
        state = os.path.join(d, "state.json")
        emu = self.start("--state", state)
        api = emu.api()
        self.add_crd_via(api)
        o = self.ok(api.post(WIDGETS, widget("keep")), 201)
        self.assertEqual(emu.terminate(), 0)
        emu2 = self.start("--state", state)
        api2 = emu2.api()
        got = self.ok(api2.get(WIDGETS + "/keep"))
        self.assertEqual(got["metadata"]["uid"], o["metadata"]["uid"])
        n = self.ok(api2.post("/api/v1/namespaces/default/configmaps", cm("n")), 201)
        self.assertGreater(int(n["metadata"]["resourceVersion"]),
                           int(o["metadata"]["resourceVersion"]))
        w = api2.watch("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1")
        self.addCleanup(w.close)
        self.assertEqual(w.next()["object"]["code"], 410)

    def add_crd_via(self, api):
        self.ok(api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGET_CRD),
                201)

    def test_tls(self):
        emu = self.start(tls=True)
        self.ok(emu.api().get("/api/v1/namespaces"))
        with open(emu.kubeconfig) as f:
            self.assertIn("https://127.0.0.1:%d" % emu.port, f.read())


@unittest.skipIf(KUBECTL is None, "kubectl is not installed: the kubectl proofs are skipped")
class KubectlTests(EmuTestCase):
    def setUp(self):
        # client-go sends bearer tokens only over HTTPS
        self.emu = self.start("--bookmark-interval", "1", tls=True)
        self.api = self.emu.api()
        self.cache = os.path.join(self.emu.dir, "cache")

    def kubectl(self, *args, stdin=None, ok=True):
        env = dict(os.environ, KUBECONFIG=self.emu.kubeconfig, HOME=self.emu.dir)
        r = subprocess.run([KUBECTL, "--cache-dir", self.cache, "--request-timeout=20s"] +
                           list(args), input=stdin, capture_output=True, text=True, env=env,
                           timeout=60)
        if ok:
            self.assertEqual(r.returncode, 0, "kubectl %s:\n%s%s" % (" ".join(args), r.stdout,
                                                                     r.stderr))
        return r

    def install(self):
        out = self.kubectl("apply", "-k", DEPLOY).stdout
        for obj in ("namespace/og-system created",
                    "customresourcedefinition.apiextensions.k8s.io/opengaussclusters."
                    "opengauss.sig created",
                    "serviceaccount/og-arbiter created", "serviceaccount/og-agent created",
                    "clusterrole.rbac.authorization.k8s.io/og-arbiter created",
                    "clusterrolebinding.rbac.authorization.k8s.io/og-arbiter created",
                    "deployment.apps/og-arbiter created", "daemonset.apps/og-agent created",
                    "service/og-arbiter created"):
            self.assertIn(obj, out)

    def test_apply_k_deploy_is_idempotent_and_least_privilege(self):
        self.install()
        out = self.kubectl("apply", "-k", DEPLOY).stdout
        self.assertNotIn("created", out)
        self.assertNotIn("configured", out)
        role = json.loads(self.kubectl("get", "clusterrole", "og-arbiter", "-o", "json").stdout)
        rules = {(r["apiGroups"][0], r["resources"][0]): sorted(r["verbs"])
                 for r in role["rules"]}
        self.assertEqual(rules[("opengauss.sig", "opengaussclusters/status")],
                         ["get", "patch", "update"])
        self.assertEqual(rules[("", "secrets")], ["get"])
        self.assertNotIn("*", json.dumps(role["rules"]))
        ds = json.loads(self.kubectl("-n", "og-system", "get", "ds", "og-agent", "-o",
                                     "json").stdout)
        pod = ds["spec"]["template"]["spec"]
        self.assertTrue(pod["hostNetwork"])
        self.assertEqual(pod["dnsPolicy"], "ClusterFirstWithHostNet")
        self.assertFalse(pod["automountServiceAccountToken"])
        dep = json.loads(self.kubectl("-n", "og-system", "get", "deploy", "og-arbiter", "-o",
                                      "json").stdout)
        self.assertEqual(dep["spec"]["strategy"]["type"], "Recreate")
        self.assertEqual(dep["spec"]["replicas"], 1)
        # a changed manifest goes out as a strategic merge patch and bumps the generation
        manifests = self.kubectl("kustomize", DEPLOY).stdout
        changed = manifests.replace("periodSeconds: 2\n", "periodSeconds: 4\n")
        self.assertNotEqual(changed, manifests)
        out = self.kubectl("apply", "-f", "-", stdin=changed).stdout
        self.assertIn("deployment.apps/og-arbiter configured", out)
        dep = json.loads(self.kubectl("-n", "og-system", "get", "deploy", "og-arbiter", "-o",
                                      "json").stdout)
        self.assertEqual(dep["metadata"]["generation"], 2)
        cont = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(cont["readinessProbe"]["periodSeconds"], 4)

    def test_clusters_apply_and_print(self):
        self.install()
        self.kubectl("apply", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata:\n"
                                               "  name: og\n")
        for f in (os.path.join(DEPLOY, "examples", "cluster.yaml"),
                  os.path.join(HERE, "original-cluster.yaml"),
                  os.path.join(HERE, "original-cluster-full.yaml")):
            self.assertIn("created", self.kubectl("apply", "-f", f).stdout)
        out = self.kubectl("get", "ogc", "-A").stdout.splitlines()
        self.assertEqual(out[0].split(), ["NAMESPACE", "NAME", "ROLE", "STATE", "PRIMARY",
                                          "READY", "AGE"])
        self.assertEqual(len(out), 4)
        wide = self.kubectl("get", "ogc", "-n", "og", "-o", "wide").stdout.splitlines()
        for col in ("CPU", "MEMORY", "READ PORT", "WRITE PORT", "DB PORT", "IMAGE"):
            self.assertIn(col, wide[0])
        row = [r for r in wide if r.startswith("ogtest ")][0].split()
        self.assertEqual(row[1:2] + row[-6:], ["primary", "500m", "2Gi", "30001", "30002",
                                               "5432", "opengauss-5.0.2:latest"])
        got = json.loads(self.kubectl("get", "ogc", "-n", "og", "ogtest", "-o", "json").stdout)
        self.assertEqual(got["spec"]["ha"], {"syncreplicas": 1, "restartlimit": 3,
                                             "restartwindow": 60, "losttimeout": 5,
                                             "maxlagonfailover": 1048576})
        self.assertEqual(got["spec"]["localrole"], "primary")
        # the arbiter's view: status through the subresource shows in the columns
        self.kubectl("-n", "og", "patch", "ogc", "ogtest", "--subresource", "status", "--type",
                     "merge", "-p", json.dumps({"status": {"state": "ready",
                                                           "primary": "ogtest-0",
                                                           "ready": "3/3"}}))
        row = [r for r in self.kubectl("get", "ogc", "-n", "og").stdout.splitlines()
               if r.startswith("ogtest ")][0].split()
        self.assertEqual(row[:5], ["ogtest", "primary", "ready", "ogtest-0", "3/3"])
        # a re-apply of the unchanged file changes nothing
        out = self.kubectl("apply", "-f", os.path.join(HERE, "original-cluster.yaml")).stdout
        self.assertIn("unchanged", out)

    def test_validation_patch_and_finalizer(self):
        self.install()
        example = os.path.join(DEPLOY, "examples", "cluster.yaml")
        with open(example) as f:
            text = f.read()
        r = self.kubectl("apply", "-f", "-", stdin=text.replace("readport: 30001",
                                                                "readport: 70000"), ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.readport", r.stderr)
        r = self.kubectl("apply", "-f", "-", stdin=text.replace("  cpu:", "  bogus: 1\n  cpu:"),
                         ok=False)
        self.assertIn('unknown field "spec.bogus"', r.stderr)
        r = self.kubectl("apply", "-f", "-", stdin=text.replace("localrole: primary",
                                                                "localrole: leader"), ok=False)
        self.assertIn("spec.localrole", r.stderr)
        self.kubectl("apply", "-f", example)
        self.kubectl("patch", "ogc", "demo", "--type", "merge", "-p",
                     '{"spec":{"maintenance":true}}')
        got = json.loads(self.kubectl("get", "ogc", "demo", "-o", "json").stdout)
        self.assertEqual((got["spec"]["maintenance"], got["metadata"]["generation"]), (True, 2))
        r = self.kubectl("patch", "ogc", "demo", "--type", "strategic", "-p",
                         '{"spec":{"maintenance":false}}', ok=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown format", r.stderr)
        self.kubectl("patch", "ogc", "demo", "--type", "merge", "-p",
                     '{"metadata":{"finalizers":["opengauss.sig/cleanup"]}}')
        self.kubectl("delete", "ogc", "demo", "--wait=false")
        got = json.loads(self.kubectl("get", "ogc", "demo", "-o", "json").stdout)
        self.assertIn("deletionTimestamp", got["metadata"])
        r = self.kubectl("delete", "ogc", "demo", "--timeout=1s", ok=False)
        self.assertNotEqual(r.returncode, 0)           # still Terminating
        self.kubectl("patch", "ogc", "demo", "--type", "json", "-p",
                     '[{"op":"remove","path":"/metadata/finalizers"}]')
        r = self.kubectl("get", "ogc", "demo", ok=False)
        self.assertIn("NotFound", r.stderr)


if __name__ == "__main__":
    unittest.main()
