"""End-to-end tests of the real `tinyhost` binary: usage errors, inspect,
plugin load failures of `run`, and a plugin that throws across the ABI.

Run by ctest through tests/integration/harness.py (on PYTHONPATH), which
runs the binary; the environment says where things are: harness's
variables, plus TINY_FIXTURE_DIR (the dir tests/loader/fixtures builds
into, one sub-dir per case) and TINY_EXPECT_VERSION (the project version
--version must print; unchecked when empty).

Host policy under test: `run` loads every .so in --plugin-dir. A plugin
that fails to load is fatal (exit 2, one error line naming the file and
the reason) when it is selected, and with no --plugin everything is
selected; a plugin not selected by --plugin that fails is skipped with a
warning. A --plugin naming nothing is fatal too.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import yaml

from harness import PLUGIN_DIR, RUN_TIMEOUT, SOURCE_DIR, free_port, start_host, tinyhost, write_flow

FIXTURE_DIR = os.environ["TINY_FIXTURE_DIR"]
EXPECT_VERSION = os.environ.get("TINY_EXPECT_VERSION", "")


def fixture(case, name=None):
    return os.path.join(FIXTURE_DIR, case, (name or case) + ".so")


def fixture_dir(case):
    return os.path.join(FIXTURE_DIR, case)


def host_abi():
    """The host's plugin ABI as `--version` prints it, e.g. "1.0"."""
    out = tinyhost("--version").stdout
    m = re.search(r"\(plugin ABI (\d+)\.(\d+)\)", out)
    if not m:
        raise AssertionError("no ABI in --version output: %r" % out)
    return int(m.group(1)), int(m.group(2))


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tinyhost-cli-test-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def assert_one_error_line(self, result, *needles):
        """Exit 2, nothing on stdout, exactly one line on stderr that names
        every needle. Returns that line."""
        detail = "exit %s\nstdout: %r\nstderr: %r" % (result.returncode, result.stdout, result.stderr)
        self.assertEqual(result.returncode, 2, detail)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, "want exactly one line on stderr; " + detail)
        self.assertTrue(result.stderr.endswith("\n"), detail)
        line = lines[0]
        self.assertTrue(line.startswith("tinyhost: error: "), detail)
        for needle in needles:
            self.assertIn(needle, line, detail)
        return line


class VersionAndHelpTest(CliTestCase):
    def test_version(self):
        r = tinyhost("--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        m = re.fullmatch(r"tinyhost (\d+\.\d+\.\d+) \(plugin ABI (\d+)\.(\d+)\)\n", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        if EXPECT_VERSION:
            self.assertEqual(m.group(1), EXPECT_VERSION)
        # The ABI the host prints is the one a plugin built here declares.
        info = json.loads(tinyhost("inspect", os.path.join(PLUGIN_DIR, "common-module.so")).stdout)
        self.assertEqual(info["abi"], "%s.%s" % (m.group(2), m.group(3)))

    def test_help(self):
        for args in (["--help"], ["-h"], ["run", "--help"]):
            with self.subTest(args=args):
                r = tinyhost(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                for text in ("usage: tinyhost run", "tinyhost send", "tinyhost inspect", "tinyhost graph", "--plugin-dir",
                             "--listen", "--format"):
                    self.assertIn(text, r.stdout)


class UsageErrorTest(CliTestCase):
    """A usage error exits 2 with one line on stderr naming the bad input."""

    def setUp(self):
        super().setUp()
        self.flow = write_flow([("noop", "no-op-module", "noop")], self.tmp)
        self.dir = fixture_dir("no_op")

    def test_no_command(self):
        self.assert_one_error_line(tinyhost(), "missing command")

    def test_unknown_command(self):
        self.assert_one_error_line(tinyhost("frobnicate"), "unknown command", "'frobnicate'")

    def test_unknown_flag(self):
        self.assert_one_error_line(
            tinyhost("run", "--plugin-dir", self.dir, "--flow", self.flow, "--bogus-flag", "1"), "bogus-flag"
        )

    def test_run_without_flow(self):
        self.assert_one_error_line(tinyhost("run", "--plugin-dir", self.dir), "--flow")

    def test_bad_listen(self):
        for listen, needle in (("nowhere", "is not HOST:PORT"), ("127.0.0.1:99999", "invalid port")):
            with self.subTest(listen=listen):
                r = tinyhost("run", "--plugin-dir", self.dir, "--flow", self.flow, "--listen", listen)
                self.assert_one_error_line(r, "--listen", "'%s'" % listen, needle)

    def test_bad_log_level(self):
        r = tinyhost("run", "--plugin-dir", self.dir, "--flow", self.flow, "--log-level", "loud")
        self.assert_one_error_line(r, "--log-level", "'loud'")

    def test_bad_memory_bounds(self):
        for flag, value in (("--max-inflight-bytes", "0"), ("--max-inflight-bytes", "9TiB"),
                            ("--max-inflight-bytes", "2048GiB"), ("--max-queued", "0"), ("--max-queued", "2000000")):
            with self.subTest(flag=flag, value=value):
                r = tinyhost("run", "--plugin-dir", self.dir, "--flow", self.flow, flag, value)
                self.assert_one_error_line(r, flag)

    def test_send_bad_to(self):
        r = tinyhost("send", "--address", "127.0.0.1:1", "--to", "no-port-here")
        self.assert_one_error_line(r, "--to", "'no-port-here'")

    def test_inspect_without_target(self):
        self.assert_one_error_line(tinyhost("inspect"), "inspect")

    def test_stray_words_are_errors_not_dropped(self):
        cases = [
            ("run", "--plugin-dir", self.dir, "--check", "--flow", self.flow, "--listen", "127.0.0.1:0", "stray"),
            ("send", "--address", "127.0.0.1:1", "--to", "a.in", '{"x":1}'),
            ("send", "--address", "127.0.0.1:1", "--to", "a.in", "--data", "{}", "more"),
        ]
        for args in cases:
            with self.subTest(args=args):
                self.assert_one_error_line(tinyhost(*args), "unexpected argument", "'%s'" % args[-1])


class FlowListTest(CliTestCase):
    """--flow FILE... takes several files after one flag, repeated flags and commas."""

    def test_every_form_loads_every_file(self):
        d = fixture_dir("no_op")
        flows = []
        for i in range(3):
            sub = os.path.join(self.tmp, "f%d" % i)
            os.makedirs(sub)
            flows.append(write_flow([("noop-%d" % i, "no-op-module", "noop")], sub))
        forms = [
            ["--flow", *flows],
            ["--flow", flows[0], "--flow", flows[1], "--flow", flows[2]],
            ["--flow", ",".join(flows)],
            ["--flow", flows[0], flows[1], "--flow", flows[2]],
        ]
        for form in forms:
            with self.subTest(form=form):
                r = tinyhost("run", "--plugin-dir", d, *form, "--check")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("ok: 1 plugins, 3 nodes in 3 flow files", r.stdout)


SVG = "{http://www.w3.org/2000/svg}"


def svg_ids(svg_text):
    """The id of every element of an SVG document (which must parse as XML)."""
    return {el.get("id") for el in ET.fromstring(svg_text).iter() if el.get("id")}


def svg_texts(svg_text):
    return [el.text or "" for el in ET.fromstring(svg_text).iter(SVG + "text")]


def graphviz_svg(dot_text):
    """`dot -Tsvg` of dot_text (Debian graphviz); fails the test on any complaint."""
    r = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if r.returncode != 0 or r.stderr:
        raise AssertionError("dot -Tsvg: exit %s: %s\n%s" % (r.returncode, r.stderr, dot_text))
    return r.stdout


def flow_ids(path):
    """The ids the drawing of a flow file must have: node:NAME, edge:FROM.PORT->TO.PORT."""
    with open(path) as f:
        nodes = yaml.safe_load(f)["nodes"]
    ids = {"node:" + n["name"] for n in nodes}
    ids |= {"edge:%s.%s->%s" % (n["name"], e["port"], e["to"]) for n in nodes for e in n.get("edges") or []}
    return ids


def plugin_modules():
    return {f[:-3] for f in os.listdir(PLUGIN_DIR) if f.endswith(".so")}


class GraphTest(CliTestCase):
    """`tinyhost graph FLOW...`: DOT or SVG of the flows on stdout, checked
    as `run --check` checks them."""

    EXAMPLES = sorted(glob.glob(os.path.join(SOURCE_DIR, "examples", "*", "flow.yaml")))

    def graph(self, *args):
        r = tinyhost("graph", *args)
        self.assertEqual(r.returncode, 0, "stdout %r\nstderr %r" % (r.stdout[-2000:], r.stderr))
        return r

    def plugin_args(self, flow):
        """The shipped plugins when they hold every module of `flow`, else
        --no-plugins (examples/plugin-example's module is built out of tree)."""
        with open(flow) as f:
            modules = {n["module"] for n in yaml.safe_load(f)["nodes"]}
        return ["--plugin-dir", PLUGIN_DIR] if modules <= plugin_modules() else ["--no-plugins"]

    def test_examples_dot_lays_out_with_every_node_and_edge(self):
        self.assertGreaterEqual(len(self.EXAMPLES), 4)
        for flow in self.EXAMPLES:
            with self.subTest(flow=flow):
                r = self.graph(flow, *self.plugin_args(flow))
                # Only what run --check warns of (a request/response ring is a cycle).
                for line in r.stderr.splitlines():
                    self.assertTrue(line.startswith("tinyhost: warning: ") and "cycle" in line, r.stderr)
                self.assertTrue(r.stdout.startswith("digraph flows {"), r.stdout[:200])
                ids = svg_ids(graphviz_svg(r.stdout))
                self.assertLessEqual(flow_ids(flow), ids)
                self.assertIn(flow, svg_texts(graphviz_svg(r.stdout)))  # the cluster's label

    def test_examples_svg_is_xml_with_an_id_for_every_node_and_edge(self):
        for flow in self.EXAMPLES:
            with self.subTest(flow=flow):
                r = self.graph(flow, "--format", "svg", *self.plugin_args(flow))
                self.assertIn("<svg", r.stdout)
                ids = svg_ids(r.stdout)
                self.assertLessEqual(flow_ids(flow), ids)
                names = {i[len("node:"):] for i in flow_ids(flow) if i.startswith("node:")}
                self.assertLessEqual({"a_badge:" + n for n in names}, ids)

    def test_several_files_are_clusters_of_one_drawing(self):
        flows = [os.path.join(SOURCE_DIR, "examples", d, "flow.yaml") for d in ("ticker", "hello-http")]
        r = self.graph(*flows, "--plugin-dir", PLUGIN_DIR)
        self.assertEqual(r.stdout.count("subgraph cluster_"), 2)
        ids = svg_ids(graphviz_svg(r.stdout))
        self.assertLessEqual(flow_ids(flows[0]) | flow_ids(flows[1]), ids)

    def test_nodes_of_modules_not_served_are_drawn_remote(self):
        flow = os.path.join(SOURCE_DIR, "examples", "two-hosts", "flow.yaml")
        r = self.graph(flow, "--format", "svg", "--plugin-dir", PLUGIN_DIR, "--plugin", "common-module")
        classes = {el.get("id"): el.get("class") for el in ET.fromstring(r.stdout).iter() if el.get("id")}
        self.assertEqual(classes["node:web"], "node remote")
        self.assertEqual(classes["node:greeter"], "node local")

    def test_hostile_names_stay_text(self):
        """A file name, module and component full of markup (the loader
        takes any module name when no plugin checks it) cannot break the
        DOT or put an element into the SVG; settings are not drawn."""
        evil = "q\"'<b>&amp;\\N\\G;]</text><script>"
        sub = os.path.join(self.tmp, "dir <i>&\"'")
        os.mkdir(sub)
        yaml_text = yaml.safe_dump({"nodes": [
            {"name": "a", "module": "m" + evil, "component": "c" + evil,
             "settings": {"secret": "SETTING-MARKER"}, "edges": [{"port": "out", "to": "b.in"}]},
            {"name": "b", "module": "plain", "component": "c"}]})
        flow = write_flow(yaml_text, sub, name="f<img src=x onerror=alert(1)>.yaml")
        dot = self.graph(flow, "--no-plugins").stdout
        self.assertNotIn("SETTING-MARKER", dot)
        svgs = [graphviz_svg(dot), self.graph(flow, "--no-plugins", "--format", "svg").stdout]
        for svg in svgs:
            tags = {el.tag for el in ET.fromstring(svg).iter()}
            self.assertFalse({SVG + "script", SVG + "img", SVG + "i", SVG + "b", SVG + "foreignObject"} & tags, tags)
            texts = svg_texts(svg)
            self.assertIn(flow, texts)  # the file name, as written
            self.assertIn("m%s/c%s" % (evil, evil), texts)  # shown as written: no "\\N" expanded
            self.assertLessEqual({"node:a", "node:b", "edge:a.out->b.in"}, svg_ids(svg))

    def test_a_bad_flow_fails_as_run_check_does(self):
        flow = write_flow("nodes:\n"
                          "  - {name: t, module: common-module, component: tickerr}\n"
                          "  - {name: d, module: common-module, component: debug,\n"
                          "     edges: [{port: out, to: nowhere.in}]}\n", self.tmp)
        check = tinyhost("run", "--plugin-dir", PLUGIN_DIR, "--check", "--flow", flow)
        self.assertEqual(check.returncode, 2, check.stderr)
        for fmt in ("dot", "svg"):
            with self.subTest(format=fmt):
                r = tinyhost("graph", flow, "--plugin-dir", PLUGIN_DIR, "--format", fmt)
                self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", check.stderr))
        self.assertIn("tickerr", check.stderr)
        self.assertIn("nowhere", check.stderr)

    def test_a_missing_file_fails_as_run_check_does(self):
        missing = os.path.join(self.tmp, "missing.yaml")
        check = tinyhost("run", "--plugin-dir", PLUGIN_DIR, "--check", "--flow", missing)
        r = tinyhost("graph", missing, "--plugin-dir", PLUGIN_DIR)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", check.stderr))
        self.assert_one_error_line(r, missing, "cannot read")

    def test_usage_errors(self):
        flow = os.path.join(SOURCE_DIR, "examples", "ticker", "flow.yaml")
        self.assert_one_error_line(tinyhost("graph", flow, "--format", "png"),
                                   "--format: unknown format 'png' (dot, svg)")
        self.assert_one_error_line(tinyhost("graph"), "graph: name at least one FLOW file")
        self.assert_one_error_line(tinyhost("graph", flow, "--no-plugins", "--plugin-dir", PLUGIN_DIR), "--no-plugins")
        self.assert_one_error_line(tinyhost("graph", flow, "--bogus"), "bogus")
        self.assert_one_error_line(tinyhost("graph", flow, "--plugin-dir", os.path.join(self.tmp, "none")),
                                   os.path.join(self.tmp, "none"))


class InspectTest(CliTestCase):
    def check_common_module(self, info):
        self.assertEqual(info["module"], "common-module")
        self.assertTrue(info["version"])
        components = {c["name"]: c for c in info["components"]}
        for name in ("ticker", "debug", "transform"):
            self.assertIn(name, components)

        def ports(name):
            return {(p["name"], p["direction"]) for p in components[name]["ports"]}

        self.assertEqual(ports("transform"), {("in", "in"), ("out", "out")})
        self.assertEqual(ports("debug"), {("in", "in")})
        self.assertEqual(ports("ticker"), {("_control", "in"), ("out", "out")})
        self.assertIn("period", components["ticker"]["settings"])

    def test_inspect_file(self):
        path = os.path.join(PLUGIN_DIR, "common-module.so")
        r = tinyhost("inspect", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.check_common_module(info)
        self.assertEqual(info["file"], path)

    def test_inspect_module_name(self):
        r = tinyhost("inspect", "common-module", "--plugin-dir", PLUGIN_DIR)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.check_common_module(info)
        self.assertEqual(os.path.basename(info["file"]), "common-module.so")

    def test_inspect_module_name_differs_from_file_name(self):
        r = tinyhost("inspect", "no-op-module", "--plugin-dir", fixture_dir("no_op"))
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["module"], "no-op-module")
        self.assertEqual([c["name"] for c in info["components"]], ["noop"])
        self.assertEqual(info["components"][0]["settings"], {"verbose": False})

    def test_inspect_unknown_module(self):
        r = tinyhost("inspect", "nosuch", "--plugin-dir", PLUGIN_DIR)
        self.assert_one_error_line(r, "nosuch", "no such module")

    def test_inspect_broken_plugin(self):
        path = fixture("init_fails")
        r = tinyhost("inspect", path)
        self.assert_one_error_line(r, path, "init failed: database not reachable")


class RunLoadFailureTest(CliTestCase):
    """`run` on a dir holding a broken plugin exits 2 naming file and reason."""

    def setUp(self):
        super().setUp()
        self.flow = write_flow([("noop", "no-op-module", "noop")], self.tmp)

    def run_host(self, plugin_dir, *extra):
        return tinyhost("run", "--plugin-dir", plugin_dir, "--flow", self.flow, "--listen", "127.0.0.1:0", *extra)

    def test_the_flow_is_valid_with_the_good_plugin(self):
        # The control: the same flow and flags succeed with the good fixture,
        # so every failure below comes from the plugin.
        r = self.run_host(fixture_dir("no_op"), "--check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok: 1 plugins, 1 nodes in 1 flow files", r.stdout)
        self.assertEqual(r.stderr, "")

    def test_each_broken_plugin_is_fatal(self):
        major, minor = host_abi()
        host = "%d.%d" % (major, minor)
        cases = [
            ("no_entry", fixture("no_entry"), "no 'tiny_plugin_entry' symbol"),
            ("abi_major_mismatch", fixture("abi_major_mismatch"),
             "ABI major version mismatch: plugin 2.0, host " + host),
            ("newer_minor", fixture("newer_minor"),
             "plugin needs a newer host: plugin ABI %d.%d, host %s" % (major, minor + 1, host)),
            ("init_fails", fixture("init_fails"), "init failed: database not reachable"),
            ("not_elf", fixture("not_elf"), "cannot load shared object"),
        ]
        for case, path, reason in cases:
            with self.subTest(case=case):
                self.assertTrue(os.path.exists(path), "fixture not built: " + path)
                line = self.assert_one_error_line(self.run_host(fixture_dir(case)), path, reason)
                self.assertTrue(line.startswith("tinyhost: error: plugin %s: %s" % (path, reason)), line)

    def test_duplicate_module_is_fatal_naming_both_files(self):
        a, b = fixture("dup", "dup_a"), fixture("dup", "dup_b")
        line = self.assert_one_error_line(self.run_host(fixture_dir("dup")), a, b)
        self.assertEqual(line, "tinyhost: error: plugin %s: module 'dup-module' is already provided by %s" % (b, a))

    def test_unselected_broken_plugin_is_skipped_selected_is_fatal(self):
        plugins = os.path.join(self.tmp, "plugins")
        os.mkdir(plugins)
        shutil.copy(fixture("no_op"), plugins)
        shutil.copy(fixture("init_fails"), plugins)
        bad = os.path.join(plugins, "init_fails.so")

        r = self.run_host(plugins, "--plugin", "no-op-module", "--check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"skipping plugin not selected by --plugin file=%s error=init failed: database "
                         r"not reachable" % re.escape(bad))
        self.assertIn("ok: 1 plugins", r.stdout)

        self.assert_one_error_line(self.run_host(plugins, "--plugin", "init_fails", "--check"), bad, "init failed")
        self.assert_one_error_line(self.run_host(plugins, "--check"), bad, "init failed")

    def test_unknown_plugin_selection_is_fatal(self):
        flow = write_flow([("t", "common-module", "transform")], self.tmp)
        r = tinyhost("run", "--plugin-dir", PLUGIN_DIR, "--plugin", "nosuch", "--flow", flow,
                     "--listen", "127.0.0.1:0")
        self.assert_one_error_line(r, "nosuch", "no such plugin or module in " + PLUGIN_DIR)

    def test_missing_plugin_dir_is_fatal(self):
        missing = os.path.join(self.tmp, "no-such-dir")
        self.assert_one_error_line(self.run_host(missing), missing, "cannot read plugin directory")


class ThrowingComponentTest(CliTestCase):
    """A C++ exception escaping a plugin's handle: the host answers INTERNAL
    at the boundary and keeps serving; SIGTERM still stops it cleanly."""

    def test_exception_becomes_internal_and_host_survives(self):
        plugins = os.path.join(self.tmp, "plugins")
        os.mkdir(plugins)
        shutil.copy(fixture("throws"), plugins)
        shutil.copy(fixture("no_op"), plugins)
        flow = write_flow([("boom", "throws-module", "thrower"), ("quiet", "no-op-module", "noop")], self.tmp)

        host = start_host(self, flow, plugin_dir=plugins, args=["--grace-period", "5s"])
        self.assertIsNotNone(host.port, host.output())
        self.assertNotEqual(host.port, 0, host.output())

        def send(to):
            return tinyhost("send", "--address", host.address, "--to", to, "--data", "{}", "--timeout", "20s")

        for attempt in (1, 2):
            with self.subTest(attempt=attempt):
                r = send("boom.in")
                self.assertEqual(r.returncode, 1, "stdout %r stderr %r" % (r.stdout, r.stderr))
                self.assertTrue(r.stderr.startswith("INTERNAL"), r.stderr)
                self.assertIn("thrower always throws", r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(host.running(), "the host died:\n" + host.output())
                # The healthy node on the same host still answers (empty).
                ok = send("quiet.in")
                self.assertEqual(ok.returncode, 0, ok.stderr)
                self.assertEqual(ok.stdout, "\n")
        self.assertTrue(host.wait_for(r"plugin threw across the ABI node=boom module=throws-module"), host.output())

        self.assertEqual(host.stop(), 0, host.output())
        self.assertTrue(host.wait_for(r"\bstopped\b"), host.output())


class Abi10PluginTest(CliTestCase):
    """A plugin built from the frozen ABI 1.0 header (commit 3f96ba7) loads
    into today's host and runs: handle, emit with a cause, and complete from
    the emit's done callback, answering with the downstream answer."""

    def test_old_plugin_handles_emits_and_completes(self):
        plugins = os.path.join(self.tmp, "plugins")
        os.mkdir(plugins)
        shutil.copy(fixture("abi_1_0"), plugins)
        shutil.copy(os.path.join(PLUGIN_DIR, "common-module.so"), plugins)
        flow = write_flow("nodes:\n"
                          "  - name: old\n    module: abi-1-0-module\n    component: relay\n"
                          "    edges:\n      - port: out\n        to: shown.in\n"
                          "  - name: shown\n    module: common-module\n    component: debug\n", self.tmp)
        host = start_host(self, flow, plugin_dir=plugins, args=["--grace-period", "5s"])
        r = tinyhost("send", "--address", host.address, "--to", "old.in", "--data", '{"from":"abi 1.0"}',
                     "--timeout", "20s")
        self.assertEqual(r.returncode, 0, "stdout %r stderr %r\n%s" % (r.stdout, r.stderr, host.output()))
        self.assertEqual(json.loads(r.stdout), {"from": "abi 1.0"})
        self.assertEqual(host.stop(), 0, host.output())


class DeinitOrderTest(CliTestCase):
    """Design rule 8: the host destroys every instance and joins its own
    threads (workers, dispatch, timers, the client pool's watcher) before
    a plugin's deinit runs. The fixture's deinit lists the tiny-* threads
    it sees."""

    def test_no_host_thread_runs_at_deinit(self):
        plugins = os.path.join(self.tmp, "plugins")
        os.mkdir(plugins)
        shutil.copy(fixture("deinit_order"), plugins)
        shutil.copy(os.path.join(PLUGIN_DIR, "common-module.so"), plugins)
        flow = write_flow("nodes:\n"
                          "  - {name: quiet, module: deinit-order-module, component: noop}\n"
                          "  - {name: later, module: common-module, component: delay, settings: {delay: 10}}\n",
                          self.tmp)
        # A static peer starts the client pool's watcher thread.
        host = start_host(self, flow, plugin_dir=plugins,
                          args=["--grace-period", "5s", "--peer", "ghost-module=127.0.0.1:%d" % free_port()])
        for to in ("quiet.in", "later.in"):
            r = tinyhost("send", "--address", host.address, "--to", to, "--data", "{}", "--timeout", "20s")
            self.assertEqual(r.returncode, 0, "stdout %r stderr %r\n%s" % (r.stdout, r.stderr, host.output()))
        self.assertEqual(host.stop(), 0, host.output())
        self.assertIn("deinit-order: host threads at deinit: none", host.output())


if __name__ == "__main__":
    unittest.main()
