"""W3C trace context through the real binaries: a traceparent sent into
host A is followed, by its trace id, in the JSON logs of hosts A, B and C
(separate processes on loopback) for a message that crosses all three,
with a new span id at every hop; and through http_server and http_request
with a real HTTP client and a real HTTP server of the test's own.

Modules: host A serves common-module, B test-module, C test-module-b.
Every wait is bounded and polls a log line; every process is reaped by the
test's cleanup.
"""
import http.server
import json
import re
import threading
import unittest
import urllib.request

from harness import start_all, start_host, tinyhost, write_flow, free_port, Host

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SENT_SPAN}-01"
TRACESTATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
W3C = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")

# A -> B -> C: t1 on A, t2 on B, the probe on C answers with the trace
# context it was delivered with. u1..u3 the same, for untraced messages.
THREE_HOST_FLOW = """
nodes:
  - {name: t1, module: common-module, component: transform, edges: [{port: out, to: t2.in}]}
  - {name: t2, module: test-module, component: relay, edges: [{port: out, to: t3.in}]}
  - {name: t3, module: test-module-b, component: trace_probe}
  - {name: u1, module: common-module, component: transform, edges: [{port: out, to: u2.in}]}
  - {name: u2, module: test-module, component: relay, edges: [{port: out, to: u3.in}]}
  - {name: u3, module: test-module-b, component: trace_probe}
"""

LOG_ARGS = ["--log-format", "json", "--log-level", "debug"]


def records(host):
    """The host's log lines parsed as JSON (every line the host writes is one)."""
    out = []
    for line in host.output().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def wait_record(test, host, pattern):
    """The first JSON log record whose line matches `pattern` (bounded wait)."""
    line = host.wait_for(pattern)
    test.assertIsNotNone(line, host.output())
    return json.loads(line)


def send(host, to, data, *metadata):
    args = ["send", "--address", host.address, "--to", to, "--data", data]
    for kv in metadata:
        args += ["--metadata", kv]
    run = tinyhost(*args)
    if run.returncode != 0:
        raise AssertionError(f"tinyhost send failed ({run.returncode}): {run.stderr}")
    return json.loads(run.stdout)


class ThreeHostTraceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        flow = write_flow(THREE_HOST_FLOW)
        pa, pb, pc = free_port(), free_port(), free_port()
        addr = {"common-module": f"127.0.0.1:{pa}", "test-module": f"127.0.0.1:{pb}",
                "test-module-b": f"127.0.0.1:{pc}"}

        def host(module, port):
            peers = {m: a for m, a in addr.items() if m != module}
            return Host(flow, plugins=[module], port=port, peers=peers, args=LOG_ARGS)

        cls.a, cls.b, cls.c = start_all(cls, host("common-module", pa), host("test-module", pb),
                                        host("test-module-b", pc))
        for h, others in ((cls.a, ("test-module",)), (cls.b, ("test-module-b",))):
            for m in others:
                if not h.wait_for(r"connected to module module=%s address=" % m, timeout=20):
                    raise AssertionError(h.output())

    def test_a_trace_id_sent_into_a_is_in_the_logs_of_a_b_and_c(self):
        answer = send(self.a, "t1.in", '{"v":1}', f"traceparent={TRACEPARENT}", f"tracestate={TRACESTATE}")
        m = W3C.match(answer["traceparent"])
        self.assertIsNotNone(m, answer)
        self.assertEqual(m.group(1), TRACE_ID)
        self.assertNotEqual(m.group(2), SENT_SPAN)
        self.assertEqual(answer["tracestate"], TRACESTATE)

        # The per-message lines of each host, and the probe's own log line
        # (through the plugin log API), carry the trace.
        wait_record(self, self.a, r"sent message via gRPC to=t2\.in")
        wait_record(self, self.b, r"sent message via gRPC to=t3\.in")
        wait_record(self, self.c, r"trace probe")
        spans = {}
        for name, host, lines in (("A", self.a, ("received message via gRPC to=t1.in", "sent message via gRPC to=t2.in")),
                                  ("B", self.b, ("received message via gRPC to=t2.in", "sent message via gRPC to=t3.in")),
                                  ("C", self.c, ("received message via gRPC to=t3.in", "trace probe"))):
            traced = [r for r in records(host) if r.get("trace_id") == TRACE_ID]
            self.assertTrue(traced, f"host {name} logged nothing with trace_id {TRACE_ID}:\n{host.output()}")
            for text in lines:
                hits = [r for r in traced if r["msg"].startswith(text)]
                self.assertEqual(len(hits), 1, f"host {name}: {text!r} with the trace id\n{host.output()}")
                self.assertRegex(hits[0]["span_id"], r"^[0-9a-f]{16}$")
                spans[(name, text)] = hits[0]["span_id"]
        # Each hop is a span of its own: A's delivery to t1, A's to t2 (sent),
        # B's receipt of it, B's delivery to t3 (sent), C's receipt.
        hops = [spans[("A", "received message via gRPC to=t1.in")], spans[("A", "sent message via gRPC to=t2.in")],
                spans[("B", "received message via gRPC to=t2.in")], spans[("B", "sent message via gRPC to=t3.in")],
                spans[("C", "received message via gRPC to=t3.in")]]
        self.assertEqual(len(set(hops)), len(hops), spans)
        self.assertNotIn(SENT_SPAN, hops)
        # The probe logs in the span it was delivered in, and reports it.
        self.assertEqual(spans[("C", "trace probe")], spans[("C", "received message via gRPC to=t3.in")])
        self.assertEqual(m.group(2), spans[("C", "trace probe")])

    def test_an_untraced_message_stays_untraced(self):
        answer = send(self.a, "u1.in", '{"v":2}')
        self.assertEqual(answer, {"traceparent": "", "tracestate": ""})
        wait_record(self, self.c, r"received message via gRPC to=u3\.in")
        for host in (self.a, self.b, self.c):
            for r in records(host):
                if re.search(r"to=u\d\.in", r["msg"]):
                    self.assertNotIn("trace_id", r, host.output())

    def test_an_invalid_traceparent_is_dropped_not_repaired(self):
        bad = f"00-{TRACE_ID.upper()}-{SENT_SPAN}-01"
        answer = send(self.a, "u1.in", '{"v":3}', f"traceparent={bad}", f"tracestate={TRACESTATE}")
        self.assertEqual(answer, {"traceparent": "", "tracestate": ""})


class TextLogTraceTest(unittest.TestCase):
    """The text format carries the trace as a ` trace_id=… span_id=…` suffix."""

    def test_text_lines_end_with_the_trace(self):
        flow = write_flow("""
nodes:
  - {name: t1, module: test-module, component: relay, edges: [{port: out, to: t2.in}]}
  - {name: t2, module: test-module, component: trace_probe}
""")
        host = start_host(self, flow, plugins=["test-module"], args=["--log-level", "debug"])
        send(host, "t1.in", "{}", f"traceparent={TRACEPARENT}")
        line = host.wait_for(r"trace probe node=t2 module=test-module trace_id=%s span_id=[0-9a-f]{16}$" % TRACE_ID)
        self.assertIsNotNone(line, host.output())
        self.assertIsNotNone(host.wait_for(r"received message via gRPC to=t1\.in from=\S+ trace_id=%s " % TRACE_ID),
                             host.output())
        send(host, "t1.in", "{}")  # untraced: its lines end as before
        self.assertTrue(host.wait_count("trace probe", 2), host.output())
        self.assertEqual(host.count("trace_id="), 2, host.output())


# --- HTTP in, HTTP out ------------------------------------------------------

HTTP_FLOW = """
nodes:
  - name: web
    module: http-module
    component: http_server
    settings: {port: 0, host: 127.0.0.1}
    edges:
      - port: request
        to: out.request
        data: {method: GET, url: "http://127.0.0.1:%d/downstream"}
  - name: out
    module: http-module
    component: http_request
"""


class Downstream(http.server.BaseHTTPRequestHandler):
    """The HTTP server the flow calls: records the trace headers it got."""
    seen = []
    lock = threading.Lock()

    def do_GET(self):  # noqa: N802 (http.server's name)
        with Downstream.lock:
            Downstream.seen.append({"traceparent": self.headers.get_all("traceparent") or [],
                                    "tracestate": self.headers.get_all("tracestate") or []})
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HttpTraceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.downstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Downstream)
        cls.downstream_thread = threading.Thread(target=cls.downstream.serve_forever, daemon=True)
        cls.downstream_thread.start()
        cls.addClassCleanup(cls.downstream_thread.join, 10)
        cls.addClassCleanup(cls.downstream.server_close)
        cls.addClassCleanup(cls.downstream.shutdown)
        flow = write_flow(HTTP_FLOW % cls.downstream.server_address[1])
        (cls.host,) = start_all(cls, Host(flow, plugins=["http-module"], args=LOG_ARGS))
        line = cls.host.wait_for(r"http server listening address=")
        if line is None:
            raise AssertionError(cls.host.output())
        cls.base = "http://" + re.search(r"address=([0-9.:]+)", json.loads(line)["msg"]).group(1)

    def get(self, headers):
        """GETs the http_server with `headers`; returns what the downstream saw."""
        with Downstream.lock:
            before = len(Downstream.seen)
        req = urllib.request.Request(self.base + "/in", headers=headers)
        with urllib.request.urlopen(req, timeout=20) as r:
            self.assertEqual((r.status, r.read()), (200, b"ok"))
        with Downstream.lock:
            self.assertEqual(len(Downstream.seen), before + 1)
            return Downstream.seen[-1]

    def test_an_inbound_traceparent_is_continued_into_the_outbound_request(self):
        # Header names are case-insensitive.
        seen = self.get({"TraceParent": TRACEPARENT, "TRACESTATE": TRACESTATE})
        self.assertEqual(len(seen["traceparent"]), 1, seen)
        m = W3C.match(seen["traceparent"][0])
        self.assertIsNotNone(m, seen)
        self.assertEqual(m.group(1), TRACE_ID)
        self.assertNotEqual(m.group(2), SENT_SPAN)
        self.assertEqual(seen["tracestate"], [TRACESTATE])
        # http_request's handler logged in the trace, in the span of its
        # delivery, which is the parent the downstream server saw.
        hits = [r for r in records(self.host) if r.get("trace_id") == TRACE_ID and "http request out" in r["msg"]]
        self.assertEqual(len(hits), 1, self.host.output())
        self.assertNotEqual(hits[0]["span_id"], m.group(2))  # http_request's own span

    def test_without_a_header_http_server_starts_a_trace_that_the_log_shows(self):
        seen = self.get({})
        self.assertEqual(len(seen["traceparent"]), 1, seen)
        m = W3C.match(seen["traceparent"][0])
        self.assertIsNotNone(m, seen)
        self.assertEqual(seen["tracestate"], [])
        trace_id = m.group(1)
        self.assertNotEqual(trace_id, TRACE_ID)
        self.assertTrue(any(r.get("trace_id") == trace_id for r in records(self.host)), self.host.output())

    def test_an_invalid_inbound_traceparent_starts_a_new_trace(self):
        seen = self.get({"traceparent": f"00-{'0' * 32}-{SENT_SPAN}-01", "tracestate": TRACESTATE})
        self.assertEqual(len(seen["traceparent"]), 1, seen)
        m = W3C.match(seen["traceparent"][0])
        self.assertIsNotNone(m, seen)
        self.assertNotEqual(m.group(1), "0" * 32)
        self.assertEqual(seen["tracestate"], [], "the tracestate of an invalid traceparent is dropped")


if __name__ == "__main__":
    unittest.main()
