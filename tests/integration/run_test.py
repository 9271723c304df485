"""The real tinyhost binary with the real plugins: a flow runs, messages
move, `send` answers, SIGTERM drains and exits 0."""
import json
import signal
import unittest

from harness import Client, all_plugins_dir, start_host, tinyhost, wait_until, write_flow

TICKER_FLOW = """
nodes:
  - name: clock
    module: common-module
    component: ticker
    settings: {period: 20, context: {n: 7}}
    edges:
      - port: out
        to: shaper.in
  - name: shaper
    module: common-module
    component: transform
    edges:
      - port: out
        to: printer.in
        data: {doubled: "{{$.n * 2}}", text: "n is {{$.n}}"}
  - name: printer
    module: common-module
    component: debug
"""


class RunTest(unittest.TestCase):
    def setUp(self):
        self.host = start_host(self, write_flow(TICKER_FLOW), plugins=["common-module"])

    def test_ticks_move_through_the_mapping_to_debug(self):
        line = self.host.wait_for(r"debug data=.* node=printer", timeout=10)
        self.assertIsNotNone(line, self.host.output())
        payload = json.loads(line.split("debug data=", 1)[1].rsplit(" node=", 1)[0])
        self.assertEqual(payload, {"doubled": 14, "text": "n is 7"})

    def test_send_through_the_cli_prints_the_answer(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "shaper.in", "--data", '{"n": 5}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"doubled": 10, "text": "n is 5"})

    def test_send_failure_prints_the_status_and_exits_1(self):
        r = tinyhost("send", "--address", self.host.address, "--to", "nosuch.in", "--data", "{}")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("NOT_FOUND: "), r.stderr)

    def test_grpcio_client_gets_the_answer(self):
        client = Client(self.host.address)
        self.addCleanup(client.close)
        code, data, error = client.send("printer.in", b'{"hello":"world"}')
        self.assertEqual((code, error), ("OK", ""))
        self.assertEqual(json.loads(data), {"hello": "world"})

    def test_sigterm_and_sigint_exit_0_after_destroying_nodes(self):
        self.assertEqual(self.host.stop(signal.SIGTERM), 0, self.host.output())
        self.assertIn("node destroyed node=clock", self.host.output().replace("\n", " ") + " ")
        host2 = start_host(self, write_flow(TICKER_FLOW), plugins=["common-module"])
        self.assertEqual(host2.stop(signal.SIGINT), 0, host2.output())


class ListenPortTakenTest(unittest.TestCase):
    def test_a_second_host_on_a_taken_port_exits_1_naming_it(self):
        # gRPC would share the port (SO_REUSEPORT) and split the clients
        # between two hosts; the host turns that off, so it is an error.
        first = start_host(self, write_flow(TICKER_FLOW), plugins=["common-module"])
        r = tinyhost("run", "--plugin-dir", first.plugin_dir, "--plugin", "common-module",
                     "--flow", write_flow(TICKER_FLOW), "--listen", first.address, timeout=20)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot listen on " + first.address, r.stderr)
        self.assertEqual(r.stderr.count("tinyhost: error:"), 1, r.stderr)
        # The first host still answers every call.
        client = Client(first.address)
        self.addCleanup(client.close)
        for i in range(10):
            self.assertEqual(client.send("printer.in", b'{"i":%d}' % i)[0], "OK")


class OpenFileLimitTest(unittest.TestCase):
    def test_the_soft_limit_is_raised_to_the_hard_one(self):
        # gRPC's listener stops accepting for good after one EMFILE; the
        # host takes every descriptor it is allowed. Started with soft 256,
        # hard 2048 (prlimit execs the host: same pid).
        host = start_host(self, write_flow(TICKER_FLOW), plugins=["common-module"],
                          wrapper=["prlimit", "--nofile=256:2048"])

        def limits():
            try:
                with open("/proc/%d/limits" % host.proc.pid) as f:
                    return [l for l in f if l.startswith("Max open files")][0].split()[3:5]
            except (OSError, IndexError):
                return None

        self.assertTrue(wait_until(lambda: limits() == ["2048", "2048"], timeout=10), limits())


class SettingsExitCodeTest(unittest.TestCase):
    def test_a_setting_of_the_wrong_type_is_a_configuration_error(self):
        # test-module's counter reads `start` with get<int64_t>(): a string
        # there is the flow's mistake (exit 2, one line), not a crash (1).
        flow = write_flow("nodes:\n  - {name: c, module: test-module, component: counter, settings: {start: x}}\n")
        r = tinyhost("run", "--plugin-dir", all_plugins_dir(), "--plugin", "test-module", "--flow", flow,
                     "--listen", "127.0.0.1:0", timeout=20)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.startswith("tinyhost: error:")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("node 'c': settings: bad settings: [json.exception.type_error.302]", lines[0])


class LogFormatTest(unittest.TestCase):
    def test_json_lines_are_one_object_each_with_escaped_messages(self):
        host = start_host(self, write_flow(TICKER_FLOW), plugins=["common-module"], args=["--log-format", "json"])
        self.assertIsNotNone(host.wait_for(r'debug data='), host.output())
        self.assertEqual(host.stop(), 0)
        lines = host.output().splitlines()
        self.assertGreater(len(lines), 3)
        for line in lines:
            obj = json.loads(line)
            self.assertEqual(set(obj), {"time", "level", "msg"}, line)
        self.assertTrue(any('"doubled":14' in json.loads(l)["msg"] for l in lines))


    def test_level_names_are_the_log_level_names_in_both_formats(self):
        # A failing mapping expression logs at warn: the line says "warn",
        # as --log-level does, not spdlog's "warning".
        flow = write_flow("""
nodes:
  - name: shaper
    module: common-module
    component: transform
    edges: [{port: out, to: printer.in, data: {x: "{{upper($.n)}}"}}]
  - name: printer
    module: common-module
    component: debug
""")
        for fmt in ("text", "json"):
            with self.subTest(fmt=fmt):
                host = start_host(self, flow, plugins=["common-module"], args=["--log-format", fmt])
                client = Client(host.address)
                self.addCleanup(client.close)
                self.assertEqual(client.send("shaper.in", b'{"n":1}')[0], "OK")
                line = host.wait_for(r"mapping error")
                self.assertIsNotNone(line, host.output())
                if fmt == "json":
                    self.assertEqual(json.loads(line)["level"], "warn", line)
                else:
                    self.assertRegex(line, r"^\S+Z warn mapping error ")
                self.assertEqual(host.stop(), 0)
                self.assertNotIn("warning", host.output())

if __name__ == "__main__":
    unittest.main()
