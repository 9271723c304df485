"""A flow that does real work, through the real binary: router, transform
edge mappings, array_split and collect end to end."""
import json
import unittest

from harness import Client, start_host, write_flow

FLOW = """
nodes:
  - name: entry
    module: common-module
    component: transform
    edges:
      - port: out
        to: route.input
        data:
          context: "{{$}}"
          conditions:
            - {route: list, condition: "{{length($.items) > 0}}"}
            - {route: empty, condition: "{{length($.items) == 0}}"}
  - name: route
    module: common-module
    component: router
    settings: {routes: [list, empty], enableDefaultPort: false}
    edges:
      - port: out_list
        to: split.in
        data: {context: "{{$.context}}", array: "{{$.context.items}}"}
      - port: out_empty
        to: nothing.in
        data: {id: "{{$.context.id}}", answer: "no items"}
  - name: nothing
    module: common-module
    component: debug
  - name: split
    module: common-module
    component: array_split
    edges:
      - port: out
        to: double.in
  - name: double
    module: common-module
    component: transform
    edges:
      - port: out
        to: gather.item
        data:
          context: "{{$.context}}"
          groupKey: "{{$.context.id}}"
          index: "{{$.index}}"
          total: "{{$.total}}"
          item: "{{$.item * 2}}"
  - name: gather
    module: common-module
    component: collect
    settings: {timeout: 5000}
    edges:
      - port: response
        to: result.in
        data: {id: "{{$.context.id}}", doubled: "{{$.items}}", summary: "{{length($.items)}} items for {{$.context.id}}"}
  - name: result
    module: common-module
    component: debug
"""


class FlowComponentsTest(unittest.TestCase):
    def setUp(self):
        self.host = start_host(self, write_flow(FLOW), plugins=["common-module"])
        self.client = Client(self.host.address)
        self.addCleanup(self.client.close)

    def send(self, data):
        code, out, error = self.client.send("entry.in", json.dumps(data))
        self.assertEqual((code, error), ("OK", ""), self.host.output())
        return json.loads(out)

    def test_split_map_and_collect_in_order(self):
        self.assertEqual(self.send({"id": "a", "items": [1, 2, 3]}),
                         {"id": "a", "doubled": [2, 4, 6], "summary": "3 items for a"})
        self.assertIsNotNone(self.host.wait_for(r'debug data=\{"doubled":\[2,4,6\].*node=result'), self.host.output())

    def test_router_takes_the_first_true_route(self):
        self.assertEqual(self.send({"id": "b", "items": []}), {"id": "b", "answer": "no items"})

    def test_concurrent_groups_do_not_mix(self):
        import threading
        results = {}

        def call(i):
            c = Client(self.host.address)
            try:
                code, out, error = c.send("entry.in", json.dumps({"id": f"g{i}", "items": list(range(i + 1))}))
                results[i] = (code, json.loads(out) if out else None, error)
            finally:
                c.close()

        threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(results), 16)
        for i, (code, out, error) in results.items():
            self.assertEqual((code, error), ("OK", ""))
            self.assertEqual(out["doubled"], [2 * k for k in range(i + 1)])
            self.assertEqual(out["id"], f"g{i}")

    def test_bad_input_is_an_error_not_a_crash(self):
        code, out, error = self.client.send("entry.in", json.dumps({"id": "c", "items": "not a list"}))
        self.assertEqual(code, "OK")
        self.assertNotEqual(error, "")
        self.assertEqual(self.send({"id": "d", "items": [5]})["doubled"], [10])


if __name__ == "__main__":
    unittest.main()
