"""The one test harness for the Python tests of the real tinyhost binary
(tests/integration/*_test.py and tests/cli/cli_test.py).

Hermetic: every host listens on 127.0.0.1 (port 0 unless a test needs a
fixed one), lives in a temp dir, runs without the caller's TINYHOST_*
variables (the CLI reads them as options) and is killed and reaped by the
test's cleanup. Waits are bounded and wait on a condition (an output line,
a counter, a file); nothing sleeps blindly and nothing asserts on elapsed
time.

    tinyhost(*args)       runs the CLI to completion, returns CompletedProcess
    write_flow(flow)      writes a flow file (YAML text or (name, module, component) rows)
    clean_env(**extra)    os.environ without TINYHOST_*, plus `extra`
    start_host(test, ...) a Host started, serving and reaped by the test's cleanup
    start_all(test, *h)   several Hosts started at once, the same way
    Host                  one `tinyhost run` process with its output collected
    Client                an independent grpcio client for ModuleService.Send

The environment (set by tests/CMakeLists.txt) says where things are:
TINYHOST_BIN, TINY_PLUGIN_DIR, TINY_TEST_PLUGIN_DIR, TINY_PY_OUT,
TINY_SOURCE_DIR.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc

sys.path.insert(0, os.environ["TINY_PY_OUT"])
from tinysystems.module.v1 import module_pb2  # noqa: E402

TINYHOST = os.environ["TINYHOST_BIN"]
PLUGIN_DIR = os.environ["TINY_PLUGIN_DIR"]
TEST_PLUGIN_DIR = os.environ["TINY_TEST_PLUGIN_DIR"]
SOURCE_DIR = os.environ["TINY_SOURCE_DIR"]

SEND = "/tinysystems.module.v1.ModuleService/Send"

RUN_TIMEOUT = 60  # seconds for a CLI run to complete (killed and reaped past it)
SERVE_TIMEOUT = 60  # seconds for a host to log "serving address=" on a loaded machine
WAIT_TIMEOUT = 30  # seconds a wait for an output line gives up after (it ends early if the host exited)

SERVING = re.compile(r'serving address=([^\s"]+)')  # a text or a JSON log line


def clean_env(**extra):
    """The environment without TINYHOST_* variables (the CLI reads them as
    options), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYHOST_")}
    env.update(extra)
    return env


def tinyhost(*args, timeout=RUN_TIMEOUT, input=None, env=None, cwd=None, binary=None):
    """Runs the tinyhost CLI (or `binary`) to completion in clean_env(**env);
    returns the CompletedProcess (text). Killed and reaped on timeout."""
    return subprocess.run([binary or TINYHOST, *args], input=input,
                          stdin=subprocess.DEVNULL if input is None else None,
                          capture_output=True, text=True, timeout=timeout, env=clean_env(**(env or {})), cwd=cwd)


def write_flow(flow, directory=None, name="flow.yaml"):
    """Writes a flow file and returns its path. `flow` is the YAML text or a
    list of (name, module, component) rows (nodes without settings or edges);
    `directory` defaults to a new temp dir."""
    if not isinstance(flow, str):
        lines = ["nodes:"]
        for node, module, component in flow:
            lines += ["  - name: %s" % node, "    module: %s" % module, "    component: %s" % component]
        flow = "\n".join(lines) + "\n"
    directory = directory or tempfile.mkdtemp(prefix="tiny-flow-")
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(flow)
    return path


def free_port():
    """A port that was free a moment ago (for hosts that must restart on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=WAIT_TIMEOUT, interval=0.01):
    """Polls `predicate` until it returns something true (returned) or the
    deadline passes (then its last value is returned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def plugin_dir_with(*files):
    """A temp dir with symlinks to the given plugin .so files."""
    d = tempfile.mkdtemp(prefix="tiny-plugins-")
    for f in files:
        os.symlink(f, os.path.join(d, os.path.basename(f)))
    return d


def all_plugins_dir():
    """Shipped plugins plus the test modules, in one dir."""
    files = [os.path.join(PLUGIN_DIR, f) for f in os.listdir(PLUGIN_DIR) if f.endswith(".so")]
    files += [os.path.join(TEST_PLUGIN_DIR, f) for f in os.listdir(TEST_PLUGIN_DIR) if f.endswith(".so")]
    return plugin_dir_with(*files)


class Host:
    """One `tinyhost run` process. Its stdout and stderr (one pipe, in the
    order written) are collected line by line by a reader thread, so waits
    wait on them; a wait ends early once the process has exited and its
    output is read to the end.

    `binary` replaces the build's tinyhost (the installed one), `wrapper` is
    put in front of the command (e.g. prlimit, which execs the host), and
    `command` is a whole argv used as is (a README's command line).
    """

    def __init__(self, flows=(), plugins=None, plugin_dir=None, port=0, peers=None, args=(), env=None, listen=None,
                 binary=None, wrapper=(), command=None):
        if command is not None:
            self.plugin_dir = plugin_dir
            self.listen = listen
            self.cmd = list(command)
        else:
            self.plugin_dir = plugin_dir or all_plugins_dir()
            self.listen = listen or f"127.0.0.1:{port}"
            self.cmd = [*wrapper, binary or TINYHOST, "run", "--plugin-dir", self.plugin_dir, "--listen", self.listen]
            for p in plugins or []:
                self.cmd += ["--plugin", p]
            for f in flows if isinstance(flows, (list, tuple)) else [flows]:
                self.cmd += ["--flow", f]
            for module, address in (peers or {}).items():
                self.cmd += ["--peer", f"{module}={address}"]
            self.cmd += list(args)
        self.env = clean_env(**(env or {}))
        self.cond = threading.Condition()
        self.lines = []
        self.eof = True
        self.proc = None
        self.reader = None
        self.port = None
        self.serving = None  # the address of the "serving address=" line

    # --- the process ---------------------------------------------------------

    def start(self, wait=True, timeout=SERVE_TIMEOUT):
        """Starts the process (again, after a stop: the output starts afresh);
        with `wait`, returns once it serves (see wait_serving)."""
        self.close()
        with self.cond:
            self.lines = []
            self.eof = False
        self.port = self.serving = None
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=self.env)
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()
        if wait:
            self.wait_serving(timeout)
        return self

    def _read(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait_serving(self, timeout=SERVE_TIMEOUT):
        """Waits for the "serving address=" line; sets `port` (TCP) and
        `serving`. Raises AssertionError with the output (stderr included)
        if the host exits first or the deadline passes; the host is reaped."""
        line = self.wait_for(SERVING.pattern, timeout)
        if not line:
            if self.running():
                why = "did not serve within %ss" % timeout
            else:
                why = "exited (%s) before serving" % self.proc.wait()
            self.close()
            raise AssertionError("tinyhost %s: %s\n%s" % (why, " ".join(self.cmd), self.output()))
        self.serving = SERVING.search(line).group(1)
        m = re.search(r":(\d+)$", self.serving)
        self.port = int(m.group(1)) if m and not self.serving.startswith("unix:") else None
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Signals the host (if it still runs) and returns wait_exit()."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout=60):
        """Waits for the process to exit (no signal sent) and for its output
        to be read to the end; returns the exit code (None if never started).
        Raises AssertionError with the output if it still runs at the deadline."""
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError("host did not exit within %ss:\n%s" % (timeout, self.output()))
        self._join_reader()
        return self.proc.returncode

    def close(self):
        """Kills the process if it still runs and reaps it and its reader.
        Safe to call more than once (the test's cleanup always does)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        self._join_reader()

    def _join_reader(self):
        if self.reader is not None:
            self.reader.join(10)
            if not self.reader.is_alive():
                self.proc.stdout.close()
                self.reader = None

    def threads(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return -1

    # --- the output ----------------------------------------------------------

    @property
    def address(self):
        """Where clients reach the host: the unix: address, or 127.0.0.1:port."""
        if self.listen and self.listen.startswith("unix:"):
            return self.listen
        return f"127.0.0.1:{self.port}"

    def output(self):
        with self.cond:
            return "\n".join(self.lines)

    def line_count(self):
        with self.cond:
            return len(self.lines)

    def count(self, text, after=0):
        """How many output lines (from index `after`) contain `text`."""
        with self.cond:
            return sum(1 for line in self.lines[after:] if text in line)

    def wait_for(self, pattern, timeout=WAIT_TIMEOUT, after=0):
        """The first output line (from index `after`) matching `pattern`, or
        None once the deadline passes or the output has ended without one."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = after
        with self.cond:
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return self.lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.cond.wait(left)

    def wait_count(self, text, n, timeout=WAIT_TIMEOUT, after=0):
        """True once at least `n` output lines (from `after`) contain `text`;
        False if the deadline passes or the output ends first."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if sum(1 for line in self.lines[after:] if text in line) >= n:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return False
                self.cond.wait(left)


def _cleanup_of(test):
    """addCleanup of a test, addClassCleanup of a test class (setUpClass)."""
    return test.addClassCleanup if isinstance(test, type) else test.addCleanup


def start_all(test, *hosts, timeout=SERVE_TIMEOUT):
    """Starts the hosts at once, then waits until each serves (early exit is
    an AssertionError with its output). Each is reaped by `test`'s cleanup
    (a TestCase, or the class in setUpClass). Returns the hosts."""
    for h in hosts:
        _cleanup_of(test)(h.close)
    for h in hosts:
        h.start(wait=False)
    for h in hosts:
        h.wait_serving(timeout)
    return hosts


def start_host(test, *args, **kwargs):
    """Host(*args, **kwargs), started and serving, reaped by `test`'s cleanup."""
    return start_all(test, Host(*args, **kwargs))[0]


# --- clients -------------------------------------------------------------------


def message(to, data=b"", metadata=None, sender="test"):
    if isinstance(data, str):
        data = data.encode()
    msg = module_pb2.Message(to=to, data=data, metadata=metadata or {})
    setattr(msg, "from", sender)
    return msg


def outcome(future):
    """(code name, data bytes, error text) of a finished grpcio future."""
    try:
        resp = future.result()
        return "OK", resp.data, resp.error
    except grpc.RpcError as e:
        return e.code().name, b"", e.details()


def send_async(client, to, data=b"", timeout=10.0, metadata=None):
    return client.send_rpc.future(message(to, data, metadata), timeout=timeout)


class Client:
    """An independent gRPC client (grpcio) for ModuleService.Send."""

    def __init__(self, address):
        self.channel = grpc.insecure_channel(address)
        self.send_rpc = self.channel.unary_unary(
            SEND, request_serializer=module_pb2.Message.SerializeToString,
            response_deserializer=module_pb2.Response.FromString)

    def send(self, to, data=b"", timeout=10.0, metadata=None, sender="test"):
        """Returns (code name, data bytes, error text)."""
        try:
            resp = self.send_rpc(message(to, data, metadata, sender), timeout=timeout)
            return "OK", resp.data, resp.error
        except grpc.RpcError as e:
            return e.code().name, b"", e.details()

    def health(self, service="", timeout=5.0):
        """grpc.health.v1.Health/Check by hand: returns SERVING, NOT_SERVING or a code name."""
        check = self.channel.unary_unary("/grpc.health.v1.Health/Check",
                                         request_serializer=lambda s: (b"\x0a" + bytes([len(s)]) + s.encode()) if s else b"",
                                         response_deserializer=lambda b: b)
        try:
            raw = check(service, timeout=timeout)
        except grpc.RpcError as e:
            return e.code().name
        status = raw[1] if len(raw) >= 2 and raw[0] == 0x08 else 0
        return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(status, str(status))

    def reflection_services(self, timeout=5.0):
        """The raw list_services answer of server reflection (v1alpha)."""
        info = self.channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                          request_serializer=lambda b: b, response_deserializer=lambda b: b)
        answers = list(info(iter([b"\x3a\x00"]), timeout=timeout))  # field 7 list_services = ""
        return b"".join(answers)

    def close(self):
        self.channel.close()


class ThreadSampler:
    """Samples the thread count of some hosts every few ms; keeps the peaks."""

    def __init__(self, *hosts):
        self.hosts = hosts
        self.peaks = [h.threads() for h in hosts]
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.is_set():
            for i, h in enumerate(self.hosts):
                try:
                    self.peaks[i] = max(self.peaks[i], h.threads())
                except OSError:
                    pass
            self.stop_event.wait(0.005)

    def stop(self):
        self.stop_event.set()
        self.thread.join(5)
        return self.peaks
