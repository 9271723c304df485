#!/usr/bin/env bash
# bench/soak.sh — N minutes of mixed traffic across two real hosts.
#
#   host A: common-module          host B: test-module + http-module
#
#   gRPC  client -> A entry (transform) -> B work (relay) -> B echo      answer back through A
#   gRPC  client -> A nap (transform)   -> B nap (sleepy, blocking, 2 ms)
#   HTTP  client -> B web (http_server) -> A greeter (transform) -> B web.response
#
# Everything listens on and talks to 127.0.0.1 only. The load is a closed
# loop of SOAK_GRPC_CLIENTS + SOAK_HTTP_CLIENTS callers (a bounded number of
# calls in flight), every call has a deadline, and every process started here
# is stopped on exit. Each answer is checked (data, HTTP status and body).
#
# Prints requests, errors, and VmRSS/threads of each host at the start (idle,
# and again after SOAK_WARMUP seconds of traffic), every SOAK_REPORT seconds,
# and at the end. Exits non-zero when any call failed, a host died or did not
# exit 0 on SIGTERM, or a host's RSS at the end is more than SOAK_RSS_FACTOR
# times its RSS after the warm-up (gRPC and the allocator grow during the
# first seconds of traffic; a leak shows as growth after that).
#
# Environment (defaults in brackets):
#   BUILD_DIR          [<repo>/build]  a build with tinyhost, common-module,
#                                      http-module and test-module
#   SOAK_MINUTES       [1]     measured minutes of traffic (after the warm-up); may be fractional
#   SOAK_WARMUP        [10]    seconds of traffic before the start RSS is taken
#   SOAK_GRPC_CLIENTS  [4]     concurrent gRPC callers (one channel each)
#   SOAK_HTTP_CLIENTS  [2]     concurrent HTTP keep-alive callers
#   SOAK_RSS_FACTOR    [1.5]   allowed RSS growth, end / after warm-up
#   SOAK_REPORT        [10]    seconds between progress lines
#   SOAK_DEADLINE      [5]     seconds, the deadline of each call
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
export BUILD_DIR ROOT

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
missing=""
for f in host/tinyhost plugins/common-module.so plugins/http-module.so tests/plugins/test-module.so \
         tests/py/tinysystems/module/v1/module_pb2.py; do
  [ -e "$BUILD_DIR/$f" ] || missing="$missing $BUILD_DIR/$f"
done
if [ -n "$missing" ]; then
  echo "bench/soak.sh: missing:$missing" >&2
  echo "  build them: ninja -C $BUILD_DIR tinyhost common-module http-module test-module tiny_python_proto" >&2
  exit 2
fi
"$PYTHON" -c 'import grpc' 2>/dev/null || { echo "bench/soak.sh: $PYTHON has no grpcio (apt install python3-grpcio)" >&2; exit 2; }

exec "$PYTHON" - <<'PY'
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ["BUILD_DIR"]
sys.path.insert(0, os.path.join(BUILD, "tests", "py"))
import grpc  # noqa: E402
from tinysystems.module.v1 import module_pb2  # noqa: E402

MINUTES = float(os.environ.get("SOAK_MINUTES", "1"))
WARMUP = float(os.environ.get("SOAK_WARMUP", "10"))
GRPC_CLIENTS = int(os.environ.get("SOAK_GRPC_CLIENTS", "4"))
HTTP_CLIENTS = int(os.environ.get("SOAK_HTTP_CLIENTS", "2"))
RSS_FACTOR = float(os.environ.get("SOAK_RSS_FACTOR", "1.5"))
REPORT = float(os.environ.get("SOAK_REPORT", "10"))
DEADLINE = float(os.environ.get("SOAK_DEADLINE", "5"))
TINYHOST = os.path.join(BUILD, "host", "tinyhost")
SEND = "/tinysystems.module.v1.ModuleService/Send"

FLOW = """
nodes:
  - name: web
    module: http-module
    component: http_server
    settings: {host: 127.0.0.1, port: 0, timeout: 5000}
    edges: [{port: request, to: greeter.in}]
  - name: greeter
    module: common-module
    component: transform
    edges:
      - port: out
        to: web.response
        data: {statusCode: 200, contentType: text/plain, body: "Hello {{$.query.name}}!"}
  - name: entry
    module: common-module
    component: transform
    edges: [{port: out, to: work.in, data: {n: "{{$.n}}", via: a}}]
  - name: work
    module: test-module
    component: relay
    edges: [{port: out, to: echo.in}]
  - name: echo
    module: test-module
    component: echo
  - name: nap
    module: common-module
    component: transform
    edges: [{port: out, to: sleeper.in, data: {ms: 2}}]
  - name: sleeper
    module: test-module
    component: sleepy
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    def __init__(self, name, plugins, port, peers, plugin_dir, flow, log_dir):
        self.name = name
        self.log_path = os.path.join(log_dir, f"host-{name}.log")
        self.log = open(self.log_path, "w")
        cmd = [TINYHOST, "run", "--plugin-dir", plugin_dir, "--plugin", plugins, "--flow", flow,
               "--listen", f"127.0.0.1:{port}", "--reload-interval", "0", "--grace-period", "5s"]
        for module, peer_port in peers.items():
            cmd += ["--peer", f"{module}=127.0.0.1:{peer_port}"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for(self, pattern, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return None

    def status(self):
        """(VmRSS KiB, threads) or (None, None) when gone."""
        rss = threads = None
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                    elif line.startswith("Threads:"):
                        threads = int(line.split()[1])
        except OSError:
            pass
        return rss, threads

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                return "killed after 20 s"
        return self.proc.returncode


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {"grpc-relay": 0, "grpc-sleepy": 0, "http": 0}
        self.errors = {}
        self.samples = []

    def ok(self, kind):
        with self.lock:
            self.requests[kind] += 1

    def error(self, kind, what):
        with self.lock:
            self.requests[kind] += 1
            key = f"{kind}: {what}"[:200]
            self.errors[key] = self.errors.get(key, 0) + 1

    def totals(self):
        with self.lock:
            return sum(self.requests.values()), sum(self.errors.values())


stop = threading.Event()


class Abort(Exception):
    """The soak cannot go on: a host did not start or died."""


def grpc_caller(i, address, stats):
    channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1), ("soak.caller", i)])
    send = channel.unary_unary(SEND, request_serializer=module_pb2.Message.SerializeToString,
                               response_deserializer=module_pb2.Response.FromString)
    k = 0
    while not stop.is_set():
        k += 1
        sleepy = k % 8 == 0
        kind = "grpc-sleepy" if sleepy else "grpc-relay"
        if sleepy:
            msg, want = module_pb2.Message(to="nap.in", data=b"{}"), b'{"slept":2}'
        else:
            n = i * 1_000_000 + k
            msg, want = module_pb2.Message(to="entry.in", data=b'{"n":%d}' % n), b'{"n":%d,"via":"a"}' % n
        try:
            resp = send(msg, timeout=DEADLINE)
            if resp.error or resp.data != want:
                stats.error(kind, f"answer {resp.data[:60]!r} error {resp.error!r}")
            else:
                stats.ok(kind)
        except grpc.RpcError as e:
            stats.error(kind, f"{e.code().name}: {e.details()}")
            stop.wait(0.05)
    channel.close()


def http_caller(i, port, stats):
    conn = None
    k = 0
    while not stop.is_set():
        k += 1
        name = f"c{i}n{k}"
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE)
            conn.request("GET", f"/hello?name={name}")
            r = conn.getresponse()
            body = r.read().decode()
            if r.status != 200 or body != f"Hello {name}!":
                stats.error("http", f"{r.status} {body[:60]!r}")
            else:
                stats.ok("http")
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            stats.error("http", f"{type(e).__name__}: {e}")
            if conn:
                conn.close()
            conn = None
            stop.wait(0.05)
    if conn:
        conn.close()


def fmt_rss(kib):
    return "gone" if kib is None else f"{kib / 1024:.1f} MiB"


def main():
    work = tempfile.mkdtemp(prefix="tiny-soak-")
    plugin_dir = os.path.join(work, "plugins")
    os.mkdir(plugin_dir)
    for so in ("plugins/common-module.so", "plugins/http-module.so", "tests/plugins/test-module.so"):
        os.symlink(os.path.join(BUILD, so), os.path.join(plugin_dir, os.path.basename(so)))
    flow = os.path.join(work, "flow.yaml")
    with open(flow, "w") as f:
        f.write(FLOW)
    pa, pb = free_port(), free_port()
    hosts = []
    threads = []
    failures = []
    stats = Stats()

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        a = Host("A", "common-module", pa, {"test-module": pb, "http-module": pb}, plugin_dir, flow, work)
        b = Host("B", "test-module,http-module", pb, {"common-module": pa}, plugin_dir, flow, work)
        hosts = [a, b]
        for h in hosts:
            if not h.wait_for(r"serving address=", 30):
                raise Abort(f"host {h.name} did not start:\n{h.text()[-3000:]}")
        m = b.wait_for(r"http server listening address=127\.0\.0\.1:(\d+)", 30)
        if not m:
            raise Abort(f"http_server did not listen:\n{b.text()[-3000:]}")
        http_port = int(m.group(1))
        for h, mod in ((a, "test-module"), (b, "common-module")):
            if not h.wait_for(r"connected to module module=" + mod, 30):
                raise Abort(f"host {h.name} did not connect to {mod}:\n{h.text()[-3000:]}")

        idle = {h.name: h.status() for h in hosts}
        print(f"soak: {MINUTES:g} min measured after {WARMUP:g} s warm-up; {GRPC_CLIENTS} gRPC + {HTTP_CLIENTS} HTTP "
              f"callers, deadline {DEADLINE:g} s; A=127.0.0.1:{pa} B=127.0.0.1:{pb} http=127.0.0.1:{http_port}; "
              f"logs in {work}", flush=True)
        for h in hosts:
            print(f"soak: idle    host {h.name}: rss {fmt_rss(idle[h.name][0])} threads {idle[h.name][1]}", flush=True)

        for i in range(GRPC_CLIENTS):
            threads.append(threading.Thread(target=grpc_caller, args=(i, f"127.0.0.1:{pa}", stats), daemon=True))
        for i in range(HTTP_CLIENTS):
            threads.append(threading.Thread(target=http_caller, args=(i, http_port, stats), daemon=True))
        t_begin = time.monotonic()
        for t in threads:
            t.start()

        time.sleep(WARMUP)
        start = {h.name: h.status() for h in hosts}
        req0, err0 = stats.totals()
        t_start = time.monotonic()
        for h in hosts:
            print(f"soak: start   host {h.name}: rss {fmt_rss(start[h.name][0])} threads {start[h.name][1]} "
                  f"(after {req0} warm-up requests, {err0} errors)", flush=True)
        end_at = t_start + MINUTES * 60
        next_report = t_start + REPORT
        while time.monotonic() < end_at:
            time.sleep(min(0.5, max(0.0, end_at - time.monotonic())))
            for h in hosts:
                if h.proc.poll() is not None:
                    raise Abort(f"host {h.name} died with {h.proc.returncode}; last lines of {h.log_path}:\n{h.text()[-3000:]}")
            if time.monotonic() >= next_report:
                next_report += REPORT
                req, err = stats.totals()
                el = time.monotonic() - t_start
                st = " ".join(f"{h.name}:{fmt_rss(h.status()[0])}/{h.status()[1]}t" for h in hosts)
                print(f"soak: {el:6.0f}s requests {req - req0} ({(req - req0) / el:.0f}/s) errors {err} rss {st}",
                      flush=True)
        end = {h.name: h.status() for h in hosts}
        req1, err1 = stats.totals()
        t_end = time.monotonic()
        stop.set()
        for t in threads:
            t.join(DEADLINE + 5)
        if any(t.is_alive() for t in threads):
            failures.append("a caller did not finish within its deadline")
        req2, err2 = stats.totals()

        measured = req1 - req0
        secs = t_end - t_start
        print(f"soak: requests {req2} in total, {measured} in the measured {secs:.0f} s ({measured / secs:.0f}/s); "
              f"by kind: " + ", ".join(f"{k} {v}" for k, v in stats.requests.items()), flush=True)
        print(f"soak: errors {err2}", flush=True)
        for what, n in sorted(stats.errors.items(), key=lambda kv: -kv[1])[:10]:
            print(f"soak:   {n} x {what}", flush=True)
        if err2:
            failures.append(f"{err2} errors")
        for h in hosts:
            s, e = start[h.name][0], end[h.name][0]
            factor = e / s if s and e else float("inf")
            print(f"soak: end     host {h.name}: rss {fmt_rss(e)} threads {end[h.name][1]}; "
                  f"rss idle {fmt_rss(idle[h.name][0])} -> start {fmt_rss(s)} -> end {fmt_rss(e)} "
                  f"(x{factor:.2f} of start, limit x{RSS_FACTOR:g})", flush=True)
            if factor > RSS_FACTOR:
                failures.append(f"host {h.name} RSS grew x{factor:.2f} (limit x{RSS_FACTOR:g})")
    except Abort as e:
        failures.append(str(e))
    except KeyboardInterrupt:
        failures.append("interrupted")
    finally:
        stop.set()
        for h in hosts:
            code = h.stop()
            if code != 0:
                failures.append(f"host {h.name} exit {code} on SIGTERM")
        for h in hosts:
            h.log.close()
    if failures:
        print("soak: FAIL: " + "; ".join(failures), flush=True)
        return 1
    print("soak: PASS", flush=True)
    return 0


sys.exit(main())
PY
