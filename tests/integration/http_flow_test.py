"""examples/hello-http through the real binary with both real plugins and a
real HTTP client: http_server -> transform (edge mapping) -> response."""
import json
import os
import re
import socket
import threading
import unittest
import urllib.request
import urllib.error

from harness import SOURCE_DIR, all_plugins_dir, start_host, tinyhost, write_flow


def example_flow_on_port_0():
    with open(os.path.join(SOURCE_DIR, "examples", "hello-http", "flow.yaml")) as f:
        text = f.read()
    return write_flow(text.replace("settings: {port: 8080}", "settings: {port: 0, host: 127.0.0.1}"))


def http_base(test, host):
    """http://HOST:PORT of the host's http_server, from its "listening" log line."""
    line = host.wait_for(r"http server listening address=\S+")
    test.assertIsNotNone(line, host.output())
    return "http://" + re.search(r"address=(\S+)", line).group(1)


class HelloHttpTest(unittest.TestCase):
    def setUp(self):
        self.host = start_host(self, example_flow_on_port_0(), plugins=["common-module", "http-module"])
        self.base = http_base(self, self.host)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def test_hello_answers_with_the_mapped_body(self):
        status, headers, body = self.get("/hello?name=x")
        self.assertEqual((status, body), (200, "Hello x!"))
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))

    def test_many_requests_in_a_row(self):
        for i in range(50):
            self.assertEqual(self.get(f"/hello?name=n{i}")[2], f"Hello n{i}!")

    def test_sigterm_stops_the_http_server_too(self):
        self.assertEqual(self.host.stop(), 0, self.host.output())
        with self.assertRaises(OSError):
            urllib.request.urlopen(self.base + "/hello?name=x", timeout=2)


class DocsCompleteFlowTest(unittest.TestCase):
    """docs/components.md "A complete flow", as written (on a free port)."""

    def test_the_documented_flow_answers_the_documented_request(self):
        with open(os.path.join(SOURCE_DIR, "docs", "components.md")) as f:
            doc = f.read()
        section = doc.split("## A complete flow", 1)[1]
        flow = section.split("```yaml\n", 1)[1].split("```", 1)[0]
        self.assertIn("settings: {port: 8080}", flow)
        host = start_host(self, write_flow(flow.replace("settings: {port: 8080}", "settings: {port: 0, host: 127.0.0.1}")),
                           plugins=["common-module", "http-module"])
        url = http_base(self, host) + "/?requestId=r1"
        body = b'{"items":[{"name":"a","qty":1},{"name":"b","qty":2}]}'
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.read()), [{"name": "a", "price": 10}, {"name": "b", "price": 20}])


class HttpDrainTest(unittest.TestCase):
    SLOW_FLOW = """
nodes:
  - name: web
    module: http-module
    component: http_server
    settings: {port: 0, host: 127.0.0.1}
    edges: [{port: request, to: shape.in}]
  - name: shape
    module: common-module
    component: transform
    edges: [{port: out, to: slow.in, data: {ms: 1000}}]
  - name: slow
    module: test-module
    component: sleepy
"""

    def test_sigterm_answers_http_requests_in_flight_within_the_grace_period(self):
        host = start_host(self, write_flow(self.SLOW_FLOW), plugins=["common-module", "http-module", "test-module"],
                           args=["--grace-period", "5s", "--log-level", "debug"])
        url = http_base(self, host) + "/slow"
        results = []

        def get():
            try:
                with urllib.request.urlopen(url, timeout=15) as r:
                    results.append((r.status, r.read()))
            except Exception as e:  # recorded, then asserted on
                results.append(("error", repr(e)))

        threads = [threading.Thread(target=get) for _ in range(4)]
        for t in threads:
            t.start()
        self.assertTrue(host.wait_count("http request GET /slow", 4), host.output())
        self.assertEqual(host.stop(), 0, host.output())
        for t in threads:
            t.join(20)
        self.assertEqual(sorted(results), [(200, b'{"slept":1000}')] * 4, host.output()[-3000:])


class HttpPortTakenTest(unittest.TestCase):
    def test_an_http_port_in_use_exits_1_naming_node_and_address(self):
        # A runtime failure (exit 1), not a configuration error (2): a
        # supervisor that does not restart on 2 would otherwise give up.
        holder = socket.socket()
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with open(os.path.join(SOURCE_DIR, "examples", "hello-http", "flow.yaml")) as f:
            text = f.read().replace("settings: {port: 8080}", "settings: {port: %d, host: 127.0.0.1}" % port)
        r = tinyhost("run", "--plugin-dir", all_plugins_dir(), "--plugin", "common-module,http-module",
                     "--flow", write_flow(text), "--listen", "127.0.0.1:0", timeout=20)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("node 'greet-server': settings: cannot listen on 127.0.0.1:%d" % port, r.stderr)

if __name__ == "__main__":
    unittest.main()
