"""Runs real tinyhost processes for integration tests.

Hermetic: every host listens on 127.0.0.1 (port 0 unless a test needs a
fixed one), lives in a temp dir, and is killed and reaped by the test's
cleanup. Waits are bounded and poll a condition; nothing sleeps blindly.
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


def free_port():
    """A port that was free a moment ago (for hosts that must restart on it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.01):
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


def write_flow(text, directory=None):
    directory = directory or tempfile.mkdtemp(prefix="tiny-flow-")
    path = os.path.join(directory, "flow.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class Host:
    """One `tinyhost run` process; output is collected line by line."""

    def __init__(self, flows, plugins=None, plugin_dir=None, port=0, peers=None, args=(), env=None, listen=None):
        self.plugin_dir = plugin_dir or all_plugins_dir()
        self.listen = listen or f"127.0.0.1:{port}"
        self.cmd = [TINYHOST, "run", "--plugin-dir", self.plugin_dir, "--listen", self.listen]
        for p in plugins or []:
            self.cmd += ["--plugin", p]
        for f in flows if isinstance(flows, (list, tuple)) else [flows]:
            self.cmd += ["--flow", f]
        for module, address in (peers or {}).items():
            self.cmd += ["--peer", f"{module}={address}"]
        self.cmd += list(args)
        self.env = dict(os.environ, **(env or {}))
        self.lines = []
        self.lock = threading.Lock()
        self.proc = None
        self.port = None

    def start(self, wait=True):
        self.lines = []
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=self.env)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        if wait:
            line = self.wait_for(r"serving address=\S+", timeout=20)
            if not line:
                self.kill()
                raise AssertionError("host did not start:\n" + self.output())
            m = re.search(r"serving address=\S+:(\d+)", line)
            self.port = int(m.group(1)) if m and not self.listen.startswith("unix:") else None
        return self

    def _read(self, proc):
        for line in proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))
        proc.stdout.close()

    @property
    def address(self):
        return self.listen if self.listen.startswith("unix:") else f"127.0.0.1:{self.port}"

    def output(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=10.0, after=0):
        """The first output line (from index `after`) matching `pattern`, or None."""
        rx = re.compile(pattern)

        def find():
            with self.lock:
                for line in self.lines[after:]:
                    if rx.search(line):
                        return line
            return None

        return wait_until(find, timeout)

    def line_count(self):
        with self.lock:
            return len(self.lines)

    def threads(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        return -1

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the host and returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("host did not stop within %ss:\n%s" % (timeout, self.output()))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Client:
    """An independent gRPC client (grpcio) for ModuleService.Send."""

    def __init__(self, address):
        self.channel = grpc.insecure_channel(address)
        self.send_rpc = self.channel.unary_unary(
            SEND, request_serializer=module_pb2.Message.SerializeToString,
            response_deserializer=module_pb2.Response.FromString)

    def send(self, to, data=b"", timeout=10.0, metadata=None, sender="test"):
        """Returns (code name, data bytes, error text)."""
        if isinstance(data, str):
            data = data.encode()
        msg = module_pb2.Message(to=to, data=data, metadata=metadata or {})
        setattr(msg, "from", sender)
        try:
            resp = self.send_rpc(msg, timeout=timeout)
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


def tinyhost(*args, timeout=30, input=None):
    """Runs the tinyhost CLI; returns CompletedProcess (text)."""
    return subprocess.run([TINYHOST, *args], capture_output=True, text=True, timeout=timeout, input=input)
