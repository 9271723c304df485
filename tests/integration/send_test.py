"""`tinyhost send` against a real host: stdout, exit codes, --data @FILE,
--timeout."""
import json
import os
import tempfile
import unittest

from harness import free_port, start_host, tinyhost, write_flow

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
  - name: shaper
    module: common-module
    component: transform
    edges: [{port: out, to: echo.in, data: {doubled: "{{$.n * 2}}"}}]
"""


class SendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = start_host(cls, write_flow(FLOW), plugins=["test-module", "common-module"])

    def send(self, *args, timeout=30):
        return tinyhost("send", "--address", self.host.address, *args, timeout=timeout)

    def test_prints_the_answer_data_on_stdout(self):
        r = self.send("--to", "shaper.in", "--data", '{"n": 21}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"doubled": 42})
        self.assertEqual(r.stderr, "")

    def test_data_from_a_file(self):
        d = tempfile.mkdtemp(prefix="tiny-send-")
        path = os.path.join(d, "msg.json")
        with open(path, "w") as f:
            json.dump({"from": "file", "list": [1, 2, 3]}, f)
        r = self.send("--to", "echo.in", "--data", "@" + path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"from": "file", "list": [1, 2, 3]})

    def test_missing_data_file_is_a_usage_error(self):
        r = self.send("--to", "echo.in", "--data", "@/nonexistent/msg.json")
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)

    def test_failure_prints_code_and_message_and_exits_1(self):
        cases = [
            (("--to", "nosuch.in", "--data", "{}"), "NOT_FOUND: "),
            (("--to", "echo.in", "--data", "not json"), "INVALID_ARGUMENT: data is not valid JSON"),
            (("--to", "echo.in", "--metadata", "hop=999"), "FAILED_PRECONDITION: "),
        ]
        for args, prefix in cases:
            with self.subTest(args=args):
                r = self.send(*args)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertTrue(r.stderr.startswith(prefix), r.stderr)
                self.assertEqual(r.stdout, "")

    def test_component_error_exits_1(self):
        r = self.send("--to", "fail.in", "--data", "{}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("failed on purpose", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_timeout(self):
        # `never` never answers: only --timeout ends the call (the run itself
        # is bounded by a far longer timeout).
        r = self.send("--to", "never.in", "--data", "{}", "--timeout", "700ms")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("DEADLINE_EXCEEDED: "), r.stderr)
        r = self.send("--to", "echo.in", "--data", "1", "--timeout", "5s")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "1"))

    def test_unreachable_address(self):
        r = tinyhost("send", "--address", f"127.0.0.1:{free_port()}", "--to", "echo.in", "--data", "{}",
                     "--timeout", "5s")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("UNAVAILABLE: "), r.stderr)

    def test_usage_errors_exit_2(self):
        for args in (("--to", "echo.in"), ("--address", "127.0.0.1:1"), ("--address", "127.0.0.1:1", "--to", "echo"),
                     ("--address", "127.0.0.1:1", "--to", "echo.in", "--timeout", "soon")):
            with self.subTest(args=args):
                r = tinyhost("send", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    unittest.main()
