#!/usr/bin/python3
"""End-to-end tests of the real `tinyhost` binary: usage errors, inspect,
plugin load failures of `run`, and a plugin that throws across the ABI.

    cli_test.py --tinyhost BIN --plugin-dir DIR --fixture-dir DIR
                [--expect-version X.Y.Z] [unittest args...]

--plugin-dir is the build's plugin dir (holding common-module.so);
--fixture-dir the one tests/loader/fixtures builds into (one sub-dir per case).

Host policy under test: `run` loads every .so in --plugin-dir. A plugin
that fails to load is fatal (exit 2, one error line naming the file and
the reason) when it is selected, and with no --plugin everything is
selected; a plugin not selected by --plugin that fails is skipped with a
warning. A --plugin naming nothing is fatal too.

Every child process runs with a timeout and is killed and reaped in a
finally block; waits poll the output against a deadline (no fixed sleeps).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

CONFIG = None  # argparse.Namespace, set in main()

RUN_TIMEOUT = 30  # seconds; a `run` expected to fail must exit well before
SERVE_TIMEOUT = 60  # seconds to see "serving address=" on a loaded machine


def clean_env():
    """The environment without TINYHOST_* variables, which the CLI reads."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TINYHOST_")}


def tinyhost(*args, timeout=RUN_TIMEOUT):
    """Runs tinyhost to completion (killed and reaped on timeout)."""
    return subprocess.run(
        [CONFIG.tinyhost, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
    )


def fixture(case, name=None):
    return os.path.join(CONFIG.fixture_dir, case, (name or case) + ".so")


def fixture_dir(case):
    return os.path.join(CONFIG.fixture_dir, case)


def host_abi():
    """The host's plugin ABI as `--version` prints it, e.g. "1.0"."""
    out = tinyhost("--version").stdout
    m = re.search(r"\(plugin ABI (\d+)\.(\d+)\)", out)
    if not m:
        raise AssertionError("no ABI in --version output: %r" % out)
    return int(m.group(1)), int(m.group(2))


def write_flow(directory, nodes):
    """Writes a flow file of `nodes` [(name, module, component)] and returns its path."""
    lines = ["nodes:"]
    for name, module, component in nodes:
        lines += ["  - name: %s" % name, "    module: %s" % module, "    component: %s" % component]
    path = os.path.join(directory, "flow.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Host:
    """A `tinyhost run` child whose stdout/stderr lines are collected by
    reader threads, so waits can poll them against a deadline."""

    def __init__(self, args):
        self.lines = {"stdout": [], "stderr": []}
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [CONFIG.tinyhost, "run", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
        )
        self.readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, "stderr"), daemon=True),
        ]
        for t in self.readers:
            t.start()

    def _read(self, stream, name):
        for line in stream:
            with self.cond:
                self.lines[name].append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def output(self):
        with self.cond:
            return "\n".join(self.lines["stdout"] + ["--- stderr ---"] + self.lines["stderr"])

    def wait_for(self, pattern, timeout=SERVE_TIMEOUT, stream="stdout"):
        """Returns the first match of `pattern` in a line of `stream`; fails
        when the deadline passes or the process exits first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[stream]:
                    m = regex.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no line matching /%s/ within %ss:\n%s" % (pattern, timeout, self._text()))
                if self.proc.poll() is not None and not any(t.is_alive() for t in self.readers):
                    raise AssertionError(
                        "tinyhost exited (%s) before /%s/:\n%s" % (self.proc.returncode, pattern, self._text())
                    )
                self.cond.wait(timeout=min(left, 0.5))

    def _text(self):
        return "\n".join(self.lines["stdout"] + ["--- stderr ---"] + self.lines["stderr"])

    def terminate(self, timeout=30):
        """SIGTERM, then the exit code (bounded wait)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self):
        """Kills the process if it still runs and reaps it and the readers."""
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=30)
        finally:
            for t in self.readers:
                t.join(timeout=10)
            self.proc.stdout.close()
            self.proc.stderr.close()


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
        if CONFIG.expect_version:
            self.assertEqual(m.group(1), CONFIG.expect_version)
        # The ABI the host prints is the one a plugin built here declares.
        info = json.loads(tinyhost("inspect", os.path.join(CONFIG.plugin_dir, "common-module.so")).stdout)
        self.assertEqual(info["abi"], "%s.%s" % (m.group(2), m.group(3)))

    def test_help(self):
        for args in (["--help"], ["-h"], ["run", "--help"]):
            with self.subTest(args=args):
                r = tinyhost(*args)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                for text in ("usage: tinyhost run", "tinyhost send", "tinyhost inspect", "--plugin-dir", "--listen"):
                    self.assertIn(text, r.stdout)


class UsageErrorTest(CliTestCase):
    """A usage error exits 2 with one line on stderr naming the bad input."""

    def setUp(self):
        super().setUp()
        self.flow = write_flow(self.tmp, [("noop", "no-op-module", "noop")])
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
            flows.append(write_flow(sub, [("noop-%d" % i, "no-op-module", "noop")]))
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
        path = os.path.join(CONFIG.plugin_dir, "common-module.so")
        r = tinyhost("inspect", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.check_common_module(info)
        self.assertEqual(info["file"], path)

    def test_inspect_module_name(self):
        r = tinyhost("inspect", "common-module", "--plugin-dir", CONFIG.plugin_dir)
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
        r = tinyhost("inspect", "nosuch", "--plugin-dir", CONFIG.plugin_dir)
        self.assert_one_error_line(r, "nosuch", "no such module")

    def test_inspect_broken_plugin(self):
        path = fixture("init_fails")
        r = tinyhost("inspect", path)
        self.assert_one_error_line(r, path, "init failed: database not reachable")


class RunLoadFailureTest(CliTestCase):
    """`run` on a dir holding a broken plugin exits 2 naming file and reason."""

    def setUp(self):
        super().setUp()
        self.flow = write_flow(self.tmp, [("noop", "no-op-module", "noop")])

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
        flow = write_flow(self.tmp, [("t", "common-module", "transform")])
        r = tinyhost("run", "--plugin-dir", CONFIG.plugin_dir, "--plugin", "nosuch", "--flow", flow,
                     "--listen", "127.0.0.1:0")
        self.assert_one_error_line(r, "nosuch", "no such plugin or module in " + CONFIG.plugin_dir)

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
        flow = write_flow(self.tmp, [("boom", "throws-module", "thrower"), ("quiet", "no-op-module", "noop")])

        host = Host(["--plugin-dir", plugins, "--flow", flow, "--listen", "127.0.0.1:0", "--grace-period", "5s"])
        try:
            address = host.wait_for(r"serving address=(\S+:\d+)").group(1)
            self.assertNotRegex(address, r":0$")

            def send(to):
                return tinyhost("send", "--address", address, "--to", to, "--data", "{}", "--timeout", "20s")

            for attempt in (1, 2):
                with self.subTest(attempt=attempt):
                    r = send("boom.in")
                    self.assertEqual(r.returncode, 1, "stdout %r stderr %r" % (r.stdout, r.stderr))
                    self.assertTrue(r.stderr.startswith("INTERNAL"), r.stderr)
                    self.assertIn("thrower always throws", r.stderr)
                    self.assertEqual(r.stdout, "")
                    self.assertIsNone(host.proc.poll(), "the host died:\n" + host.output())
                    # The healthy node on the same host still answers (empty).
                    ok = send("quiet.in")
                    self.assertEqual(ok.returncode, 0, ok.stderr)
                    self.assertEqual(ok.stdout, "\n")
            host.wait_for(r"plugin threw across the ABI node=boom module=throws-module")

            self.assertEqual(host.terminate(), 0, host.output())
            host.wait_for(r"\bstopped\b")
        finally:
            host.close()


class Abi10PluginTest(CliTestCase):
    """A plugin built from the frozen ABI 1.0 header (commit 3f96ba7) loads
    into today's host and runs: handle, emit with a cause, and complete from
    the emit's done callback, answering with the downstream answer."""

    def test_old_plugin_handles_emits_and_completes(self):
        plugins = os.path.join(self.tmp, "plugins")
        os.mkdir(plugins)
        shutil.copy(fixture("abi_1_0"), plugins)
        shutil.copy(os.path.join(CONFIG.plugin_dir, "common-module.so"), plugins)
        flow = os.path.join(self.tmp, "flow.yaml")
        with open(flow, "w") as f:
            f.write("nodes:\n"
                    "  - name: old\n    module: abi-1-0-module\n    component: relay\n"
                    "    edges:\n      - port: out\n        to: shown.in\n"
                    "  - name: shown\n    module: common-module\n    component: debug\n")
        host = Host(["--plugin-dir", plugins, "--flow", flow, "--listen", "127.0.0.1:0", "--grace-period", "5s"])
        try:
            address = host.wait_for(r"serving address=(\S+:\d+)").group(1)
            r = tinyhost("send", "--address", address, "--to", "old.in", "--data", '{"from":"abi 1.0"}',
                         "--timeout", "20s")
            self.assertEqual(r.returncode, 0, "stdout %r stderr %r\n%s" % (r.stdout, r.stderr, host.output()))
            self.assertEqual(json.loads(r.stdout), {"from": "abi 1.0"})
            self.assertEqual(host.terminate(), 0, host.output())
        finally:
            host.close()


def main():
    global CONFIG
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tinyhost", required=True)
    parser.add_argument("--plugin-dir", required=True)
    parser.add_argument("--fixture-dir", required=True)
    parser.add_argument("--expect-version", default="")
    CONFIG, rest = parser.parse_known_args()
    for path in (CONFIG.tinyhost, CONFIG.plugin_dir, CONFIG.fixture_dir):
        if not os.path.exists(path):
            sys.exit("cli_test.py: %s does not exist (build everything first)" % path)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
