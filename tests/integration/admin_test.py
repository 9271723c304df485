"""The admin listener through the real binary: /metrics parsed as the
Prometheus text format (prometheus_client's parser), each listed family
present and moving as messages flow across two hosts and an HTTP server;
/healthz, /readyz flipping on drain, /status following a hot reload; the
listener's own refusals; and a real Prometheus server scraping it."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from harness import Client, Host, free_port, send_async, start_all, start_host, tinyhost, wait_until, write_flow

ALLOWED_LABELS = {"node", "port", "module", "component", "code", "peer_module"}
ADMIN = re.compile(r"admin listening address=(http://\S+/)")


def get(url, timeout=10):
    """(status, body text) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def admin_url(host):
    line = host.wait_for(ADMIN.pattern)
    assert line, host.output()
    return ADMIN.search(line).group(1)


def scrape(url):
    """{family name: [(labels dict, value), ...]} and the families' types."""
    status, text = get(url + "metrics")
    assert status == 200, text
    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples, types


def value(samples, name, **labels):
    """The sum of `name`'s samples whose labels include `labels` (0 if none)."""
    return sum(v for l, v in samples.get(name, []) if all(l.get(k) == x for k, x in labels.items()))


# Host A serves test-module and http-module; B serves common-module, so
# `far` (a transform) is reached through A's client pool.
FLOW = """
nodes:
  - name: entry
    module: test-module
    component: relay
    edges: [{port: out, to: far.in}]
  - name: far
    module: common-module
    component: transform
  - name: fail
    module: test-module
    component: fail
  - name: loop1
    module: test-module
    component: relay
    edges: [{port: out, to: loop2.in}]
  - name: loop2
    module: test-module
    component: relay
    edges: [{port: out, to: loop1.in}]
  - name: web
    module: http-module
    component: http_server
    settings: {host: 127.0.0.1, port: %(http_port)d}
    edges: [{port: request, to: answer.in}]
  - name: answer
    module: common-module
    component: transform
    edges: [{port: out, to: web.response, data: {statusCode: 201, body: "made"}}]
"""


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.dir)
        cls.http_port = free_port()
        cls.flow = write_flow(FLOW % {"http_port": cls.http_port}, cls.dir)
        pa, pb = free_port(), free_port()
        cls.a = Host(cls.flow, plugins=["test-module", "http-module"], port=pa,
                     peers={"common-module": f"127.0.0.1:{pb}"},
                     args=["--admin-listen", "127.0.0.1:0", "--reload-interval", "50ms"])
        cls.b = Host(cls.flow, plugins=["common-module"], port=pb, peers={"test-module": f"127.0.0.1:{pa}",
                                                                          "http-module": f"127.0.0.1:{pa}"})
        start_all(cls, cls.a, cls.b)
        # Each host's channel to the other may have tried before it listened:
        # wait for READY both ways.
        assert cls.a.wait_for("connected to module module=common-module"), cls.a.output()
        assert cls.b.wait_for("connected to module module=http-module"), cls.b.output()
        cls.url = admin_url(cls.a)
        cls.client = Client(cls.a.address)
        cls.addClassCleanup(cls.client.close)

    def rewrite(self, text):
        # A new inode with a new mtime, as a ConfigMap update does.
        tmp = self.flow + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.flow)

    def test_every_family_is_there_and_moves_as_messages_flow(self):
        before, _ = scrape(self.url)
        self.assertEqual(self.client.send("entry.in", b'{"n":1}'), ("OK", b"", ""))  # A -> B and back
        code, _, error = self.client.send("fail.in", b"{}")                                 # a node's error
        self.assertTrue(code != "OK" or error)
        self.assertEqual(self.client.send("loop1.in", b"{}")[0], "FAILED_PRECONDITION")     # the hop limit
        self.assertEqual(self.client.send("nosuch.in", b"{}")[0], "NOT_FOUND")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/x", timeout=10) as r:
            self.assertEqual(r.status, 201)
        after, types = scrape(self.url)

        def moved(name, **labels):
            self.assertGreater(value(after, name, **labels), value(before, name, **labels), (name, labels))

        moved("tinyhost_messages_delivered_total", node="entry", port="in")
        moved("tinyhost_node_answers_total", node="entry", code="OK")
        moved("tinyhost_node_errors_total", node="fail")
        moved("tinyhost_handle_duration_seconds_count", module="test-module", component="relay")
        moved("tinyhost_send_answers_total", code="OK")
        moved("tinyhost_send_answers_total", code="NOT_FOUND")
        moved("tinyhost_send_answers_total", code="FAILED_PRECONDITION")
        moved("tinyhost_remote_calls_total", peer_module="common-module", code="OK")
        moved("tinyhost_remote_call_duration_seconds_count", peer_module="common-module")
        moved("tinyhost_hop_limit_refusals_total")
        moved("tinyhost_http_server_requests_total", node="web", code="201")
        moved("tinyhost_http_server_request_duration_seconds_count", node="web")
        self.assertEqual(value(after, "tinyhost_peer_connection_state", peer_module="common-module"), 2)  # READY
        self.assertEqual(value(after, "tinyhost_peer_up", peer_module="common-module"), 1)
        self.assertEqual(value(after, "tinyhost_node_up", node="entry", module="test-module", component="relay"), 1)
        self.assertEqual(value(after, "tinyhost_calls_in_flight"), 0)
        self.assertIn("tinyhost_root_emits_in_flight", after)
        self.assertEqual(value(after, "tinyhost_build_info"), 1)
        self.assertEqual(value(after, "tinyhost_plugin_info", module="http-module"), 1)
        self.assertGreater(value(after, "tinyhost_process_resident_memory_bytes"), 1 << 20)
        self.assertGreater(value(after, "tinyhost_process_threads"), 1)
        self.assertGreater(value(after, "tinyhost_process_open_fds"), 2)
        self.assertIn("tinyhost_process_cpu_seconds_total", after)
        self.assertEqual(types["tinyhost_handle_duration_seconds"], "histogram")
        self.assertEqual(types["tinyhost_messages_delivered"], "counter")
        # The label set is bounded: every name is ours, every label from the design's set.
        for name, series in after.items():
            self.assertTrue(name.startswith("tinyhost_"), name)
            for labels, _ in series:
                extra = set(labels) - ALLOWED_LABELS - ({"le"} if name.endswith("_bucket") else set())
                self.assertFalse(extra, (name, labels))

    def test_a_client_chosen_address_never_becomes_a_label(self):
        for i in range(20):
            self.assertEqual(self.client.send(f"made-up-{i}.in", b"{}")[0], "NOT_FOUND")
        samples, _ = scrape(self.url)
        self.assertNotIn("made-up", json.dumps(samples))

    def test_reloads_applied_and_rejected_are_counted_and_status_follows(self):
        before, _ = scrape(self.url)
        with open(self.flow) as f:
            original = f.read()
        self.addCleanup(self.rewrite, original)
        self.rewrite(original + "  - name: extra\n    module: test-module\n    component: echo\n")
        wait_until(lambda: value(scrape(self.url)[0], "tinyhost_reloads_applied_total") >
                   value(before, "tinyhost_reloads_applied_total"))
        status = json.loads(get(self.url + "status")[1])
        extra = [n for n in status["nodes"] if n["name"] == "extra"]
        self.assertEqual(len(extra), 1, status["nodes"])
        self.assertEqual(extra[0]["state"], "running")
        self.rewrite("nodes: [garbage\n")
        wait_until(lambda: value(scrape(self.url)[0], "tinyhost_reloads_rejected_total") >
                   value(before, "tinyhost_reloads_rejected_total"))
        status = json.loads(get(self.url + "status")[1])
        self.assertIn("extra", [n["name"] for n in status["nodes"]])  # the running flows stayed

    def test_status_lists_plugins_nodes_edges_and_peers(self):
        self.assertEqual(self.client.send("entry.in", b"{}"), ("OK", b"", ""))
        status, body = get(self.url + "status")
        self.assertEqual(status, 200)
        s = json.loads(body)
        self.assertTrue(s["ready"])
        self.assertGreater(s["uptime_seconds"], 0)
        self.assertLessEqual({"test-module", "http-module", "common-module"}, {p["module"] for p in s["plugins"]})
        served = {p["module"] for p in s["plugins"] if p["served"]}
        self.assertEqual(served, {"test-module", "http-module"})
        self.assertTrue(all(os.path.isfile(p["file"]) and p["version"] for p in s["plugins"]))
        nodes = {n["name"]: n for n in s["nodes"]}
        self.assertEqual(nodes["entry"]["state"], "running")
        self.assertTrue(nodes["entry"]["local"])
        self.assertGreaterEqual(nodes["entry"]["messages"], 1)
        self.assertRegex(nodes["entry"]["settings_hash"], r"^[0-9a-f]{16}$")
        self.assertEqual(nodes["far"]["state"], "remote")
        self.client.send("fail.in", b"{}")
        s = json.loads(get(self.url + "status")[1])
        fail = {n["name"]: n for n in s["nodes"]}["fail"]
        self.assertGreaterEqual(fail["errors"], 1)
        self.assertTrue(fail["last_error"]["message"])
        self.assertRegex(fail["last_error"]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        edges = {(e["from"], e["to"]): e["messages"] for e in s["edges"]}
        self.assertGreaterEqual(edges[("entry.out", "far.in")], 1)
        self.assertIsNone(edges[("answer.out", "web.response")])  # B sends along it, not A
        self.assertEqual([p["module"] for p in s["peers"]], ["common-module"])
        self.assertEqual(s["peers"][0]["state"], "READY")

    def test_health_endpoints_and_refusals(self):
        self.assertEqual(get(self.url + "healthz"), (200, "ok\n"))
        self.assertEqual(get(self.url + "readyz"), (200, "SERVING\n"))
        self.assertEqual(get(self.url + "nosuch")[0], 404)
        req = urllib.request.Request(self.url + "metrics", data=b"x", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 405)
        # A header over the limit is refused, and the listener goes on.
        req = urllib.request.Request(self.url + "healthz", headers={"X-Big": "a" * 20000})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(e.exception.code, 400)
        self.assertEqual(get(self.url + "healthz")[0], 200)


class LifecycleTest(unittest.TestCase):
    FLOW = "nodes:\n  - {name: never, module: test-module, component: never}\n"

    def test_readyz_flips_to_not_serving_on_drain(self):
        host = start_host(self, write_flow(self.FLOW), plugins=["test-module"],
                          args=["--admin-listen", "127.0.0.1:0", "--grace-period", "20s"])
        url = admin_url(host)
        self.assertEqual(get(url + "readyz")[0], 200)
        client = Client(host.address)
        self.addCleanup(client.close)
        pending = send_async(client, "never.in", b"{}", timeout=30)  # holds the drain open
        self.assertTrue(wait_until(lambda: value(scrape(url)[0], "tinyhost_calls_in_flight") == 1))
        host.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: get(url + "readyz") == (503, "NOT_SERVING\n"))
        self.assertEqual(get(url + "healthz")[0], 200)  # up, just not ready
        host.proc.send_signal(signal.SIGTERM)
        pending.cancel()
        host.stop()

    def test_off_by_default(self):
        host = start_host(self, write_flow(self.FLOW), plugins=["test-module"])
        self.assertEqual(host.count("admin listening"), 0)

    def test_bad_address_is_a_usage_error_and_a_taken_port_a_runtime_failure(self):
        r = tinyhost("run", "--flow", write_flow(self.FLOW), "--admin-listen", "nowhere")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--admin-listen: 'nowhere' is not HOST:PORT", r.stderr)
        taken = start_host(self, write_flow(self.FLOW), plugins=["test-module"], args=["--admin-listen", "127.0.0.1:0"])
        port = urllib.parse.urlparse(admin_url(taken)).port
        host = Host(write_flow(self.FLOW), plugins=["test-module"], args=["--admin-listen", f"127.0.0.1:{port}"])
        self.addCleanup(host.close)
        host.start(wait=False)
        self.assertEqual(host.wait_exit(), 1)
        self.assertIn(f"--admin-listen: cannot listen on 127.0.0.1:{port}", host.output())


class PrometheusTest(unittest.TestCase):
    """A real Prometheus (Debian's) scrapes the host and answers PromQL."""

    FLOW = """
nodes:
  - name: clock
    module: common-module
    component: ticker
    settings: {period: 50}
    edges: [{port: out, to: printer.in}]
  - name: printer
    module: common-module
    component: debug
"""

    def test_prometheus_scrapes_the_host_and_answers_a_rate_query(self):
        binary = shutil.which("prometheus")
        self.assertIsNotNone(binary, "prometheus is installed by scripts/deps.sh")
        host = start_host(self, write_flow(self.FLOW), plugins=["common-module"],
                          args=["--admin-listen", "127.0.0.1:0"])
        target = urllib.parse.urlparse(admin_url(host)).netloc
        work = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, work)
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    f"  - job_name: tinyhost\n    static_configs: [{{targets: ['{target}']}}]\n")
        port = free_port()
        prom = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={work}/data",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

        def reap():
            prom.terminate()
            try:
                prom.wait(30)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        self.addCleanup(reap)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: prom.poll() is None and get_quiet(base + "/-/ready") == 200, timeout=60)
        query = 'rate(tinyhost_messages_delivered_total{node="printer",port="in"}[5s])'

        def rate():
            status, body = get(base + "/api/v1/query?" + urllib.parse.urlencode({"query": query}))
            if status != 200:
                return 0
            result = json.loads(body)["data"]["result"]
            return float(result[0]["value"][1]) if result else 0

        self.assertTrue(wait_until(lambda: rate() > 1, timeout=60), "no rate from Prometheus")
        up = json.loads(get(base + "/api/v1/query?query=up")[1])["data"]["result"]
        self.assertEqual(up[0]["value"][1], "1")


def get_quiet(url):
    try:
        return get(url, timeout=2)[0]
    except OSError:
        return None


if __name__ == "__main__":
    unittest.main()
