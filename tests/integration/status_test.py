"""Every status code of the design's table, provoked once through the real
server with a grpcio client (the cross-host cases are in hosts_test.py:
cycle across hosts, hop metadata at the next host, peer down, deadline
across hosts, size limits both ways across hosts, INTERNAL through a peer).
"""
import json
import unittest

import grpc

from harness import Client, free_port, outcome, send_async, start_host, wait_until, write_flow

MAX_MESSAGE = 64 * 1024

FLOW = """
nodes:
  - name: echo
    module: test-module
    component: echo
  - name: fail
    module: test-module
    component: fail
  - name: never
    module: test-module
    component: never
  - name: garbage
    module: test-module
    component: garbage
  - name: thrower
    module: test-module
    component: thrower
  # Doubles what arrives on its way to echo, so the answer outgrows the limit.
  - name: double
    module: common-module
    component: transform
    edges: [{port: out, to: echo.in, data: {x: "{{$}}", y: "{{$}}"}}]
  # A cycle on one host.
  - name: loop1
    module: common-module
    component: transform
    edges: [{port: out, to: loop2.in}]
  - name: loop2
    module: test-module
    component: relay
    edges: [{port: out, to: loop1.in}]
  # A node in front of `never`, so the deadline passes mid-flow.
  - name: via
    module: common-module
    component: transform
    edges: [{port: out, to: never.in}]
"""


class StatusCodesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = start_host(cls, write_flow(FLOW), plugins=["test-module", "common-module"],
                              args=["--max-message-size", str(MAX_MESSAGE)])
        cls.client = Client(cls.host.address)
        cls.addClassCleanup(cls.client.close)

    def send(self, to, data=b"{}", **kw):
        return self.client.send(to, data, **kw)

    def assertCode(self, result, code, contains=""):
        got, _, error = result
        self.assertEqual(got, code, error)
        self.assertIn(contains, error)

    def test_ok(self):
        self.assertEqual(self.send("echo.in", '{"a":[1,2]}'), ("OK", b'{"a":[1,2]}', ""))
        self.assertEqual(self.send("echo.in", b""), ("OK", b"", ""))

    def test_component_error_is_response_error_with_ok(self):
        self.assertEqual(self.send("fail.in"), ("OK", b"", "failed on purpose"))

    def test_invalid_argument_bad_to(self):
        for to in ("echo", "echo.in.x", ".in", "echo.", ""):
            with self.subTest(to=to):
                self.assertCode(self.send(to), "INVALID_ARGUMENT", "is not node.port")

    def test_invalid_argument_data_not_json(self):
        for data in (b"not json", b"{", b'{"a":}', b"\xff\xfe"):
            with self.subTest(data=data):
                self.assertCode(self.send("echo.in", data), "INVALID_ARGUMENT", "not valid JSON")

    def test_invalid_argument_says_why_for_deep_nesting_and_bad_utf8(self):
        deep = b"[" * 5000 + b"]" * 5000
        self.assertCode(self.send("echo.in", deep), "INVALID_ARGUMENT",
                        "data is not valid JSON: nested deeper than 1024 levels")
        self.assertCode(self.send("echo.in", b'"\xff"'), "INVALID_ARGUMENT", "data is not valid JSON: not valid UTF-8")
        ok = b"[" * 1000 + b"]" * 1000  # within the limit: delivered and echoed
        code, data, error = self.send("echo.in", ok)
        self.assertEqual((code, error), ("OK", ""))
        self.assertEqual(data, ok)

    def test_invalid_argument_bad_hop_metadata(self):
        for hop in ("x", "-1", "1.5", "", "99999999999"):
            with self.subTest(hop=hop):
                self.assertCode(self.send("echo.in", metadata={"hop": hop}), "INVALID_ARGUMENT", "hop")

    def test_not_found_node(self):
        self.assertCode(self.send("nosuch.in"), "NOT_FOUND", "nosuch")

    def test_not_found_port(self):
        self.assertCode(self.send("echo.nosuch"), "NOT_FOUND", "no input port 'nosuch'")

    def test_failed_precondition_cycle(self):
        self.assertCode(self.send("loop1.in", timeout=30), "FAILED_PRECONDITION", "cycle")

    def test_failed_precondition_hop_metadata(self):
        self.assertEqual(self.send("echo.in", metadata={"hop": "255"})[0], "OK")
        self.assertCode(self.send("echo.in", metadata={"hop": "256"}), "FAILED_PRECONDITION", "hop limit 256")

    def test_deadline_exceeded_and_the_host_keeps_answering(self):
        # Ten calls held by `never` while others are answered; only their
        # deadline ends them.
        held = [send_async(self.client, "never.in", "{}", timeout=1.5) for _ in range(10)]
        for i in range(20):
            self.assertEqual(self.send("echo.in", str(i)), ("OK", str(i).encode(), ""))
        for f in held:
            self.assertCode(outcome(f), "DEADLINE_EXCEEDED")
        self.assertCode(self.send("via.in", timeout=0.5), "DEADLINE_EXCEEDED")
        self.assertEqual(self.send("echo.in", "1"), ("OK", b"1", ""))

    def test_resource_exhausted_request_over_the_limit(self):
        code, _, error = self.send("echo.in", json.dumps("x" * MAX_MESSAGE))
        self.assertEqual(code, "RESOURCE_EXHAUSTED", error)
        self.assertEqual(self.send("echo.in", json.dumps("x" * (MAX_MESSAGE - 100)))[0], "OK")

    def test_resource_exhausted_answer_over_the_limit(self):
        # 40 KiB in, 80 KiB out: the request fits, the answer does not.
        code, _, error = self.send("double.in", json.dumps("x" * (40 * 1024)))
        self.assertEqual(code, "RESOURCE_EXHAUSTED", error)
        self.assertIn("answer", error)
        code, data, error = self.send("double.in", json.dumps("x" * (20 * 1024)))
        self.assertEqual((code, error), ("OK", ""))

    def test_internal_thrower(self):
        self.assertCode(self.send("thrower.in"), "INTERNAL", "boom")
        self.assertEqual(self.send("echo.in", "2"), ("OK", b"2", ""))

    def test_internal_garbage_answer(self):
        self.assertCode(self.send("garbage.in"), "INTERNAL", "not JSON")
        self.assertEqual(self.send("echo.in", "3"), ("OK", b"3", ""))


UNDISCOVERED_FLOW = """
nodes:
  - name: local
    module: common-module
    component: transform
    edges: [{port: out, to: far.in}]
  - name: far
    module: test-module
    component: echo
"""


class UnavailableTest(unittest.TestCase):
    def test_module_not_discovered(self):
        # test-module is in the plugin dir (so the flow validates) but this
        # host serves only common-module and has no peer for it.
        # Refused at once, not left to the call's (long) deadline.
        host = start_host(self, write_flow(UNDISCOVERED_FLOW), plugins=["common-module"])
        client = Client(host.address)
        self.addCleanup(client.close)
        for to in ("far.in", "local.in"):
            with self.subTest(to=to):
                result = client.send(to, "{}", timeout=60)
                self.assertEqual(result, ("UNAVAILABLE", b"", "module not discovered: test-module"))

    def test_peer_down(self):
        # A peer that is configured but not running: fails fast, with
        # UNAVAILABLE long before the call's deadline.
        host = start_host(self, write_flow(UNDISCOVERED_FLOW), plugins=["common-module"],
                          peers={"test-module": f"127.0.0.1:{free_port()}"})
        self.assertTrue(host.wait_for(r"failed to connect to module module=test-module error="), host.output())
        client = Client(host.address)
        self.addCleanup(client.close)
        result = client.send("local.in", "{}", timeout=60)
        self.assertEqual(result[0], "UNAVAILABLE", result)

    def test_draining(self):
        host = start_host(self, write_flow(FLOW), plugins=["test-module", "common-module"],
                          args=["--grace-period", "20s", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        held = send_async(client, "never.in", "{}", timeout=30)
        self.assertTrue(host.wait_for(r"received message via gRPC to=never\.in", timeout=10), host.output())
        host.proc.terminate()
        self.assertTrue(host.wait_for(r"draining signal=SIGTERM", timeout=10), host.output())
        self.assertTrue(wait_until(lambda: client.send("echo.in", "{}", timeout=5)[0] == "UNAVAILABLE", timeout=10))
        self.assertEqual(client.send("echo.in", "{}", timeout=5), ("UNAVAILABLE", b"", "host is draining"))
        held.cancel()
        self.assertEqual(host.wait_exit(), 0, host.output())


LIMITS_FLOW = """
nodes:
  - name: echo
    module: test-module
    component: echo
  - name: never
    module: test-module
    component: never
"""


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = start_host(cls, write_flow(LIMITS_FLOW), plugins=["test-module"],
                              args=["--max-inflight", "3", "--default-deadline", "1500ms"])
        cls.client = Client(cls.host.address)
        cls.addClassCleanup(cls.client.close)

    def test_resource_exhausted_over_max_inflight(self):
        held = [send_async(self.client, "never.in", "{}", timeout=30) for _ in range(3)]
        try:
            # Once three are held, the fourth is refused.
            self.assertTrue(wait_until(lambda: self.client.send("echo.in", "1")[0] == "RESOURCE_EXHAUSTED",
                                       timeout=10))
            code, _, error = self.client.send("echo.in", "1")
            self.assertEqual(code, "RESOURCE_EXHAUSTED")
            self.assertIn("too many calls in flight (limit 3)", error)
        finally:
            for f in held:
                f.cancel()
        # Cancelled calls free their slots.
        self.assertTrue(wait_until(lambda: self.client.send("echo.in", "1")[0] == "OK", timeout=10))

    def test_default_deadline_applies_to_calls_without_one(self):
        # No client deadline; the wait below is bounded all the same. The
        # error names the default deadline: that, not anything else, ended it.
        future = send_async(self.client, "never.in", "{}", timeout=None)
        try:
            future.exception(timeout=60)
        except grpc.FutureTimeoutError:
            future.cancel()
            self.fail("a call without a deadline was still open after 60 s")
        result = outcome(future)
        self.assertEqual(result[0], "DEADLINE_EXCEEDED", result)
        self.assertIn("default deadline of 1500 ms", result[2])
        self.assertTrue(wait_until(lambda: self.client.send("echo.in", "1")[0] == "OK", timeout=10))


if __name__ == "__main__":
    unittest.main()
