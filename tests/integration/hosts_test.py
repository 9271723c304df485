"""Hosts that talk: real tinyhost processes on loopback routing messages to
each other over gRPC."""
import json
import threading
import unittest

from harness import Client, Host, free_port, write_flow

# common-module on host A, test-module on host B; edges cross both ways.
TWO_HOST_FLOW = """
nodes:
  - name: a-in
    module: common-module
    component: transform
    edges: [{port: out, to: b-echo.in, data: {from_a: "{{$}}"}}]
  - name: b-echo
    module: test-module
    component: echo
  - name: b-in
    module: test-module
    component: relay
    edges: [{port: out, to: a-debug.in}]
  - name: a-debug
    module: common-module
    component: debug
  # A -> B -> A -> B, answer back to the first caller.
  - name: hop1
    module: common-module
    component: transform
    edges: [{port: out, to: hop2.in}]
  - name: hop2
    module: test-module
    component: relay
    edges: [{port: out, to: hop3.in}]
  - name: hop3
    module: common-module
    component: transform
    edges: [{port: out, to: hop4.in}]
  - name: hop4
    module: test-module
    component: echo
"""


class TwoHostsTest(unittest.TestCase):
    def setUp(self):
        flow = write_flow(TWO_HOST_FLOW)
        pa, pb = free_port(), free_port()
        self.a = Host(flow, plugins=["common-module"], port=pa, peers={"test-module": f"127.0.0.1:{pb}"})
        self.b = Host(flow, plugins=["test-module"], port=pb, peers={"common-module": f"127.0.0.1:{pa}"})
        self.addCleanup(self.a.kill)
        self.addCleanup(self.b.kill)
        self.a.start()
        self.b.start()
        # Peers connect in the background (pre-warmed); calls before that
        # fail fast with UNAVAILABLE, so wait for both directions.
        self.assertIsNotNone(self.a.wait_for(r"connected to module module=test-module"), self.a.output())
        self.assertIsNotNone(self.b.wait_for(r"connected to module module=common-module"), self.b.output())

    def test_a_to_b(self):
        client = Client(self.a.address)
        self.addCleanup(client.close)
        code, data, error = client.send("a-in.in", '{"x":1}')
        self.assertEqual((code, error), ("OK", ""), self.a.output())
        self.assertEqual(json.loads(data), {"from_a": {"x": 1}})
        self.assertIsNotNone(self.a.wait_for(r"connected to module module=test-module address=127\.0\.0\.1:"),
                             self.a.output())

    def test_b_to_a(self):
        client = Client(self.b.address)
        self.addCleanup(client.close)
        code, data, error = client.send("b-in.in", '{"y":2}')
        self.assertEqual((code, error), ("OK", ""), self.b.output())
        self.assertEqual(json.loads(data), {"y": 2})
        self.assertIsNotNone(self.a.wait_for(r'debug data=\{"y":2\} node=a-debug'), self.a.output())

    def test_a_host_forwards_a_message_for_a_node_it_does_not_serve(self):
        client = Client(self.a.address)
        self.addCleanup(client.close)
        code, data, _ = client.send("b-echo.in", '"via a"')
        self.assertEqual(code, "OK")
        self.assertEqual(json.loads(data), "via a")

    def test_nested_round_trips_with_64_concurrent_callers(self):
        results = []
        lock = threading.Lock()

        def call(i):
            client = Client(self.a.address)
            try:
                for _ in range(5):
                    r = client.send("hop1.in", json.dumps({"i": i}), timeout=20)
                    with lock:
                        results.append((i, r))
            finally:
                client.close()

        threads = [threading.Thread(target=call, args=(i,)) for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 64 * 5)
        for i, (code, data, error) in results:
            self.assertEqual((code, error), ("OK", ""))
            self.assertEqual(json.loads(data), {"i": i})


if __name__ == "__main__":
    unittest.main()
