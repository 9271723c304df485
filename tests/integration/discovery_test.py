"""--discovery-template end to end: a host finds a module's peer by
substituting {module} into a target, with no --peer. Unix sockets stand in
for per-module DNS names, which this sandbox cannot resolve."""
import json
import os
import tempfile
import unittest

from harness import Client, start_host, wait_until, write_flow

FLOW = """
nodes:
  - name: front
    module: common-module
    component: transform
    edges: [{port: out, to: back.in, data: {via: "template", got: "{{$}}"}}]
  - name: back
    module: test-module
    component: echo
  - name: lost
    module: test-module-b
    component: echo
"""


class DiscoveryTemplateTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tiny-sock-")
        flow = write_flow(FLOW)
        self.b = start_host(self, flow, plugins=["test-module"], listen=f"unix:{self.dir}/test-module.sock")
        self.a = start_host(self, flow, plugins=["common-module"],
                            args=["--discovery-template", f"unix:{self.dir}/{{module}}.sock"])
        self.client = Client(self.a.address)
        self.addCleanup(self.client.close)

    def test_the_template_names_the_peer(self):
        def attempt():
            code, data, error = self.client.send("front.in", '{"n":1}')
            return (code, data, error) if code == "OK" else None

        result = wait_until(attempt, timeout=10, interval=0.1)
        self.assertIsNotNone(result, self.a.output())
        self.assertEqual(json.loads(result[1]), {"via": "template", "got": {"n": 1}})
        self.assertIsNotNone(self.a.wait_for(r"connected to module module=test-module address=unix:"),
                             self.a.output())

    def test_a_module_with_no_host_behind_its_target_is_unavailable(self):
        code, _, error = self.client.send("lost.in", "{}")
        self.assertEqual(code, "UNAVAILABLE", error)
        self.assertFalse(os.path.exists(f"{self.dir}/test-module-b.sock"))


if __name__ == "__main__":
    unittest.main()
