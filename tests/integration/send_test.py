"""`tinyhost send` against a real host: stdout, exit codes, --data @FILE
and -, --timeout, and the load run (--count, --concurrency, --duration,
--rate, --json), whose counts are checked against the host's own /status."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

from concurrent import futures

import grpc

from harness import TINYHOST, free_port, module_pb2, start_host, tinyhost, wait_until, write_flow

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

    def test_data_from_standard_input(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "echo.in", "--data", "-",
                     input='{"from": "stdin"}\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, '{"from": "stdin"}\n')  # the trailing newline is not sent


ADMIN = re.compile(r"admin listening address=(http://\S+/)")
REPORT = re.compile(r"requests: (\d+) in ([0-9.]+) s, ([0-9.]+) req/s, concurrency (\d+)\n"
                    r"ok: (\d+)\n"
                    r"(?:errors: (\d+) \(([^)]*)\)\n)?"
                    r"latency: p50 ([0-9.]+) us, p90 ([0-9.]+) us, p99 ([0-9.]+) us, max ([0-9.]+) us\n$")


class LoadTest(unittest.TestCase):
    """send as a load tool; every count is compared with what the host saw."""

    @classmethod
    def setUpClass(cls):
        cls.host = start_host(cls, write_flow(FLOW), plugins=["test-module", "common-module"],
                              args=["--admin-listen", "127.0.0.1:0"])
        line = cls.host.wait_for(ADMIN.pattern)
        assert line, cls.host.output()
        cls.admin = ADMIN.search(line).group(1)

    def messages(self, node):
        with urllib.request.urlopen(self.admin + "status", timeout=10) as r:
            status = json.load(r)
        return next(n["messages"] for n in status["nodes"] if n["name"] == node)

    def load(self, *args, input=None, timeout=120):
        return tinyhost("send", "--address", self.host.address, *args, input=input, timeout=timeout)

    def check_latency(self, lat):
        self.assertGreater(lat["p50"], 0)
        self.assertLessEqual(lat["p50"], lat["p90"])
        self.assertLessEqual(lat["p90"], lat["p99"])
        self.assertLessEqual(lat["p99"], lat["max"])

    def test_count_and_concurrency_json_report(self):
        before = self.messages("echo")
        r = self.load("--to", "echo.in", "--data", '{"n": 1}', "--count", "3000", "--concurrency", "16", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        report = json.loads(r.stdout)
        self.assertEqual(set(report), {"requests", "ok", "errors", "seconds", "rps", "concurrency", "latency_us"})
        self.assertEqual((report["requests"], report["ok"], report["errors"], report["concurrency"]),
                         (3000, 3000, {}, 16))
        self.assertGreater(report["seconds"], 0)
        self.assertAlmostEqual(report["rps"], 3000 / report["seconds"], delta=0.01 * report["rps"] + 1)
        self.check_latency(report["latency_us"])
        # Exactly 3000 calls reached the host: none lost, none doubled.
        self.assertEqual(self.messages("echo") - before, 3000)

    def test_text_report(self):
        before = self.messages("shaper")
        r = self.load("--to", "shaper.in", "--data", '{"n": 2}', "--count", "200", "--concurrency", "4")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = REPORT.match(r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual((m.group(1), m.group(4), m.group(5), m.group(6)), ("200", "4", "200", None))
        p50, p90, p99, mx = (float(m.group(i)) for i in range(8, 12))
        self.assertTrue(0 < p50 <= p90 <= p99 <= mx, r.stdout)
        self.assertEqual(self.messages("shaper") - before, 200)

    def test_errors_are_counted_by_status(self):
        r = self.load("--to", "nosuch.in", "--data", "{}", "--count", "40", "--concurrency", "4", "--json")
        self.assertEqual(r.returncode, 1)
        report = json.loads(r.stdout)
        self.assertEqual((report["requests"], report["ok"], report["errors"]), (40, 0, {"NOT_FOUND": 40}))
        self.assertEqual(r.stderr, "first NOT_FOUND: node 'nosuch' is not in any loaded flow\n")

        r = self.load("--to", "fail.in", "--data", "{}", "--count", "25", "--concurrency", "5")
        self.assertEqual(r.returncode, 1)
        m = REPORT.match(r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual((m.group(1), m.group(5), m.group(6), m.group(7)), ("25", "0", "25", "component_error 25"))
        self.assertIn("first component_error: failed on purpose", r.stderr)

        # Two kinds in one run: the deadline of `never` and nothing else.
        r = self.load("--to", "never.in", "--data", "{}", "--count", "6", "--concurrency", "3", "--timeout", "300ms",
                      "--json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["errors"], {"DEADLINE_EXCEEDED": 6})

    def test_data_from_standard_input_for_every_call(self):
        before = self.messages("echo")
        r = self.load("--to", "echo.in", "--data", "-", "--count", "50", "--concurrency", "5", "--json",
                      input='{"from": "stdin"}\n')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["ok"], 50)
        self.assertEqual(self.messages("echo") - before, 50)

    def test_rate_bounds_the_calls_started(self):
        before = self.messages("echo")
        r = self.load("--to", "echo.in", "--data", "{}", "--duration", "1s", "--rate", "40", "--concurrency", "4",
                      "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        # Call k starts at k/40 s and none after 1 s: at most 40 calls, and
        # the run lasts until the last one (started at >= 0.975 s) is back.
        self.assertLessEqual(report["requests"], 40)
        self.assertGreater(report["requests"], 0)
        self.assertEqual(report["ok"], report["requests"])
        self.assertGreaterEqual(report["seconds"], 0.9)
        self.assertEqual(self.messages("echo") - before, report["requests"])

    def test_duration_alone_stops_the_run(self):
        # `never` holds every call to its deadline: 3 slots x 300 ms calls in
        # a 700 ms run start at least 3 and at most 9 calls.
        r = self.load("--to", "never.in", "--data", "{}", "--duration", "700ms", "--concurrency", "3",
                      "--timeout", "300ms", "--json")
        self.assertEqual(r.returncode, 1)
        report = json.loads(r.stdout)
        self.assertGreaterEqual(report["requests"], 3)
        self.assertLessEqual(report["requests"], 9)
        self.assertEqual(report["errors"], {"DEADLINE_EXCEEDED": report["requests"]})

    def test_interrupt_prints_the_report_so_far(self):
        before = self.messages("echo")
        p = subprocess.Popen([TINYHOST, "send", "--address", self.host.address, "--to", "echo.in", "--data", "{}",
                              "--duration", "10m", "--concurrency", "2", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(wait_until(lambda: self.messages("echo") - before >= 100), "no calls reached the host")
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("interrupted", err)
        report = json.loads(out)
        self.assertGreaterEqual(report["requests"], 100)
        self.assertEqual(report["ok"], report["requests"])
        # Every call it counted reached the host (the ones in flight at the
        # signal finished before the report).
        self.assertTrue(wait_until(lambda: self.messages("echo") - before == report["requests"]),
                        (self.messages("echo") - before, report["requests"]))

    def test_load_usage_errors_exit_2(self):
        for args, error in ((("--count", "0"), "--count: '0' is out of range"),
                            (("--concurrency", "x"), "--concurrency: 'x' is not a whole number"),
                            (("--rate", "fast"), "--rate: 'fast' is not a number"),
                            (("--duration", "0s"), "--duration: must be more than 0")):
            with self.subTest(args=args):
                r = self.load("--to", "echo.in", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn(error, r.stderr)
                self.assertEqual(r.stdout, "")


HOSTILE = "bad\nforged: line\x1b[2J" + "x" * 5000


class HostilePeerTest(unittest.TestCase):
    """A peer (a real gRPC server in this process) whose error texts carry
    newlines, terminal escapes and 5 KB: send shows each on one line,
    escaped and cut."""

    @classmethod
    def setUpClass(cls):
        def answer(request, context):
            if request.to == "status.in":
                context.abort(grpc.StatusCode.INTERNAL, HOSTILE)
            return module_pb2.Response(error=HOSTILE)

        handler = grpc.method_handlers_generic_handler("tinysystems.module.v1.ModuleService", {
            "Send": grpc.unary_unary_rpc_method_handler(
                answer, request_deserializer=module_pb2.Message.FromString,
                response_serializer=module_pb2.Response.SerializeToString)})
        cls.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        cls.server.add_generic_rpc_handlers((handler,))
        port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.server.start()
        cls.address = f"127.0.0.1:{port}"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(None).wait()

    def check_line(self, line, prefix):
        self.assertTrue(line.startswith(prefix), line)
        self.assertIn("bad\\nforged: line\\x1b[2J", line)
        self.assertNotIn("\x1b", line)
        self.assertIn("(5020 bytes)", line)
        self.assertLess(len(line), 1200)

    def test_single_call_errors_are_one_escaped_line(self):
        for to, prefix in (("status.in", "INTERNAL: "), ("error.in", "component error: ")):
            with self.subTest(to=to):
                r = tinyhost("send", "--address", self.address, "--to", to, "--data", "{}", "--timeout", "10s")
                self.assertEqual(r.returncode, 1)
                self.assertEqual(r.stdout, "")
                lines = r.stderr.splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.check_line(lines[0], prefix)

    def test_load_run_first_errors_are_one_escaped_line(self):
        r = tinyhost("send", "--address", self.address, "--to", "error.in", "--data", "{}", "--count", "20",
                     "--concurrency", "4", "--json", "--timeout", "10s")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["errors"], {"component_error": 20})
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.check_line(lines[0], "first component_error: ")


if __name__ == "__main__":
    unittest.main()
