"""Hot reload: a changed flow file is reconciled without a restart, only
the changed nodes are touched, and a bad edit is rejected whole while the
running flow keeps running."""
import json
import os
import unittest

from harness import Client, start_host, wait_until, write_flow

V1 = """
nodes:
  - name: entry
    module: test-module
    component: relay
    edges: [{port: out, to: count.in}]
  - name: count
    module: test-module
    component: counter
  - name: keep
    module: test-module
    component: counter
"""

# entry now goes to a new echo node; count's settings changed (recreated);
# keep is untouched (its state survives).
V2 = """
nodes:
  - name: entry
    module: test-module
    component: relay
    edges: [{port: out, to: echo.in, data: {wrapped: "{{$}}"}}]
  - name: count
    module: test-module
    component: counter
    settings: {start: 100}
  - name: keep
    module: test-module
    component: counter
  - name: echo
    module: test-module
    component: echo
"""


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.flow = write_flow(V1)
        self.host = start_host(self, self.flow, plugins=["test-module"], args=["--reload-interval", "50ms"])
        self.client = Client(self.host.address)
        self.addCleanup(self.client.close)

    def send(self, to, data="{}"):
        code, out, error = self.client.send(to, data)
        self.assertEqual((code, error), ("OK", ""))
        return json.loads(out) if out else None

    def rewrite(self, text):
        # Write-then-rename, as a ConfigMap update does.
        tmp = self.flow + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.flow)

    def test_changed_nodes_only_are_recreated_and_edges_rewired(self):
        self.assertEqual(self.send("entry.in"), {"count": 1})
        self.assertEqual(self.send("keep.in"), {"count": 1})
        mark = self.host.line_count()
        self.rewrite(V2)
        self.assertIsNotNone(self.host.wait_for(r"flows reloaded nodes=4", after=mark), self.host.output())
        self.assertEqual(self.send("entry.in", '{"a":1}'), {"wrapped": {"a": 1}})
        self.assertEqual(self.send("count.in"), {"count": 101})  # recreated with new settings
        self.assertEqual(self.send("keep.in"), {"count": 2})  # untouched: state kept
        changed = self.host.output().splitlines()[mark:]
        destroyed = [l for l in changed if "node destroyed" in l]
        started = [l for l in changed if "node started" in l]
        self.assertEqual(len(destroyed), 1, changed)
        self.assertIn("node=count", destroyed[0])
        self.assertEqual(sorted(l.split("node=")[1].split()[0] for l in started), ["count", "echo"])

    def test_an_invalid_edit_is_rejected_and_the_running_flow_stays(self):
        mark = self.host.line_count()
        self.rewrite("nodes:\n  - {name: entry, module: test-module, component: nosuch}\n  - [garbage\n")
        line = self.host.wait_for(r"reload rejected, the running flows stay", after=mark)
        self.assertIsNotNone(line, self.host.output())
        self.assertIn(self.flow, line)
        self.assertEqual(self.send("entry.in"), {"count": 1})
        # A later good edit is still picked up.
        self.rewrite(V2)
        self.assertIsNotNone(self.host.wait_for(r"flows reloaded nodes=4", after=mark), self.host.output())
        self.assertEqual(self.send("entry.in", "2"), {"wrapped": 2})

    def test_a_setting_a_component_rejects_rolls_the_reload_back(self):
        # Valid YAML, known keys, but `picky` refuses its settings when the
        # node starts: the whole reload is rejected. The new nodes start
        # before the change goes live, so nothing of it was ever published:
        # count, changed in the edit, kept running as it was (its state too).
        self.assertEqual(self.send("entry.in"), {"count": 1})
        self.assertEqual(self.send("keep.in"), {"count": 1})
        mark = self.host.line_count()
        self.rewrite(V1.replace("    component: counter\n  - name: keep",
                                "    component: counter\n    settings: {start: 50}\n  - name: keep") +
                     "  - name: fussy\n    module: test-module\n    component: picky\n    settings: {reject: true}\n")
        line = self.host.wait_for(r"reload rejected, the running flows stay: .*node 'fussy'", after=mark)
        self.assertIsNotNone(line, self.host.output())
        self.assertIsNotNone(self.host.wait_for(r"previous flows restored nodes=3", after=mark), self.host.output())
        self.assertEqual(self.send("entry.in"), {"count": 2})  # the same count: start 0, not 50
        self.assertEqual(self.send("keep.in"), {"count": 2})  # untouched throughout
        code, _, error = self.client.send("fussy.in", "{}")
        self.assertEqual(code, "NOT_FOUND", error)
        # A later good edit is still picked up.
        self.rewrite(V2)
        self.assertIsNotNone(self.host.wait_for(r"flows reloaded nodes=4", after=mark), self.host.output())
        self.assertEqual(self.send("count.in"), {"count": 101})

    def test_a_removed_node_is_destroyed_and_then_not_found(self):
        mark = self.host.line_count()
        self.rewrite("nodes:\n  - {name: keep, module: test-module, component: counter}\n")
        self.assertIsNotNone(self.host.wait_for(r"flows reloaded nodes=1", after=mark), self.host.output())
        code, _, error = self.client.send("entry.in", "{}")
        self.assertEqual(code, "NOT_FOUND", error)
        self.assertTrue(wait_until(lambda: "node destroyed node=entry" in self.host.output()))


if __name__ == "__main__":
    unittest.main()
