#!/usr/bin/env python3
"""The benchmark grid (run through bench/run.sh, which builds first).

Starts the baselines and tinyhosts on 127.0.0.1, runs the same load against
each, alternating baseline and host within every round (the order flips
each round), and prints medians of the per-round ratios host/baseline.

Every process it starts is killed and reaped on exit, on error and on
SIGINT/SIGTERM. Every wait is bounded. Nothing leaves 127.0.0.1.

Configuration is by environment (see bench/run.sh for the defaults).
"""
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_probe  # noqa: E402

ENV = os.environ
BUILD = ENV["BENCH_BUILD_DIR"]
ROUNDS = int(ENV.get("BENCH_ROUNDS", "3"))
DURATION = float(ENV.get("BENCH_DURATION", "3"))
WARMUP = float(ENV.get("BENCH_WARMUP", "1"))
GRID = [tuple(int(x) for x in c.split("x")) for c in ENV.get("BENCH_GRID", "1x1 1x8 4x16").split()]
TOOLS = ENV.get("BENCH_TOOLS", "cpp h2load").split()
HTTP_CONNS = [int(c) for c in ENV.get("BENCH_HTTP_CONNS", "1 16").split()]
STARTS = int(ENV.get("BENCH_STARTS", "7"))
MICRO = ENV.get("BENCH_MICRO", "1") == "1"
MICRO_REPS = int(ENV.get("BENCH_MICRO_REPS", "5"))
DEADLINE_MS = int(ENV.get("BENCH_DEADLINE_MS", "10000"))
OUT_DIR = ENV.get("BENCH_OUT", os.path.join(BUILD, "bench-results"))
DATA = ENV.get("BENCH_DATA", '{"x":1,"msg":"hello"}')
ADMIN = ENV.get("BENCH_ADMIN", "1") == "1"
# BENCH_ONLY="send http": run only these sections (idle micro grpc send http).
ONLY = set(ENV.get("BENCH_ONLY", "idle micro grpc send http").split())
# `tinyhost send` as a load tool vs load_client, same host, same shape
# (1 channel x SEND_CONCURRENCY calls, SEND_COUNT requests each run).
SEND_COUNT = int(ENV.get("BENCH_SEND_COUNT", "100000"))
SEND_CONCURRENCY = int(ENV.get("BENCH_SEND_CONCURRENCY", "64"))

# BENCH_HOST_BUILD: take the host side (tinyhost, test-module, the plugins)
# from another build tree, e.g. an older commit's, to measure before/after
# against the same baselines and load generators (docs/performance.md).
HOST_BUILD = ENV.get("BENCH_HOST_BUILD") or BUILD
TINYHOST = os.path.join(HOST_BUILD, "host", "tinyhost")
BASELINE = os.path.join(BUILD, "bench", "tiny_bench_baseline_server")
CLIENT = os.path.join(BUILD, "bench", "tiny_bench_load_client")
BEAST = os.path.join(BUILD, "bench", "tiny_bench_beast_server")
MICRO_BIN = os.path.join(BUILD, "bench", "tiny_bench_micro")
TEST_MODULE = os.path.join(HOST_BUILD, "tests", "plugins", "test-module.so")
COMMON_MODULE = os.path.join(HOST_BUILD, "plugins", "common-module.so")


def find_http_module():
    if ENV.get("BENCH_HTTP_MODULE_SO"):
        return ENV["BENCH_HTTP_MODULE_SO"]
    for p in (os.path.join(HOST_BUILD, "plugins", "http-module.so"),
              os.path.join(HOST_BUILD, "bench-http-module", "http-module.so")):
        if os.path.exists(p):
            return p
    for root, _, files in os.walk(HOST_BUILD):
        if "http-module.so" in files:
            return os.path.join(root, "http-module.so")
    return None


HTTP_MODULE = find_http_module()
TARGETS = {"throughput": 0.9, "p50": 1.15, "hop_ns": 300, "mapping_ns": 1000, "http": 0.5,
           "rss_mib": 30, "start_ms": 150}

# --- processes -------------------------------------------------------------

PROCS = []
WORK = tempfile.mkdtemp(prefix="tiny-bench-")


def cleanup(*_):
    for p in PROCS:
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            except ProcessLookupError:
                pass
    PROCS.clear()
    shutil.rmtree(WORK, ignore_errors=True)


def on_signal(sig, _frame):
    cleanup()
    sys.exit(128 + sig)


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)


def stop(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    if p in PROCS:
        PROCS.remove(p)


def spawn(cmd, log, **kw):
    f = open(log, "w")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, **kw)
    f.close()
    PROCS.append(p)
    return p


def wait_line(proc, log, pattern, timeout=30.0):
    rx = re.compile(pattern)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(log) as f:
            for line in f:
                m = rx.search(line)
                if m:
                    return m
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    with open(log) as f:
        text = f.read()
    raise RuntimeError(f"no line /{pattern}/ from {proc.args[0]} (exit {proc.poll()}):\n{text[-3000:]}")


class Server:
    def __init__(self, name, cmd, extra_pattern=None):
        self.name = name
        self.log = os.path.join(WORK, name + ".log")
        self.proc = spawn(cmd, self.log)
        m = wait_line(self.proc, self.log, r"serving address=(\S+):(\d+)")
        self.port = int(m.group(2))
        self.extra = wait_line(self.proc, self.log, extra_pattern) if extra_pattern else None

    def stop(self):
        stop(self.proc)


def plugin_dir(*files):
    d = tempfile.mkdtemp(prefix="plugins-", dir=WORK)
    for f in files:
        os.symlink(f, os.path.join(d, os.path.basename(f)))
    return d


def write(name, text, mode="w"):
    path = os.path.join(WORK, name)
    with open(path, mode) as f:
        f.write(text)
    return path


GRPC_FLOW = """nodes:
  - {name: relay, module: test-module, component: relay, edges: [{port: out, to: echo.in}]}
  - {name: echo, module: test-module, component: echo}
"""

HTTP_FLOW = """nodes:
  - name: greet-server
    module: http-module
    component: http_server
    settings: {host: 127.0.0.1, port: 0}
    edges: [{port: request, to: greeter.in}]
  - name: greeter
    module: common-module
    component: transform
    edges:
      - port: out
        to: greet-server.response
        data: {statusCode: 200, body: "Hello {{$.query.name}}!"}
"""

IDLE_FLOW_NO_HTTP = """nodes:
  - {name: greeter, module: common-module, component: transform, edges: [{port: out, to: debug.in}]}
  - {name: debug, module: common-module, component: debug}
"""


def host_cmd(plugins, flow):
    return [TINYHOST, "run", "--plugin-dir", plugins, "--flow", flow, "--listen", "127.0.0.1:0"]


# --- load generators -------------------------------------------------------

def grpc_frame(to, data):
    """A 5-byte gRPC length prefix + a serialized Message{to, from, data}."""
    def field(num, value):
        b = value.encode()
        n, varint = len(b), b""
        while True:
            byte = n & 0x7F
            n >>= 7
            varint += bytes([byte | (0x80 if n else 0)])
            if not n:
                break
        return bytes([(num << 3) | 2]) + varint + b
    msg = field(1, to) + field(2, "bench.h2load") + field(3, data)
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def run_cpp(port, to, conns, streams):
    out = subprocess.run([CLIENT, "--address", f"127.0.0.1:{port}", "--to", to, "--data", DATA,
                          "--connections", str(conns), "--streams", str(streams), "--duration", str(DURATION),
                          "--warmup", str(WARMUP), "--deadline-ms", str(DEADLINE_MS), "--format", "json"],
                         capture_output=True, text=True, timeout=DURATION + WARMUP + 60)
    if out.returncode != 0:
        raise RuntimeError("load_client failed: " + out.stderr)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if r["errors"] or r["mismatches"]:
        raise RuntimeError(f"load_client saw failures on {to}: {r} {out.stderr.strip()}")
    return r["rps"], r["p50_us"], r["p99_us"]


def run_cpp_requests(port, to, streams, count):
    out = subprocess.run([CLIENT, "--address", f"127.0.0.1:{port}", "--to", to, "--data", DATA,
                          "--connections", "1", "--streams", str(streams), "--requests", str(count),
                          "--deadline-ms", str(DEADLINE_MS), "--format", "json"],
                         capture_output=True, text=True, timeout=600)
    r = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
    if not r or r["errors"] or r["mismatches"] or r["ok"] != count:
        raise RuntimeError(f"load_client failed on {to}: {out.stdout.strip()} {out.stderr.strip()}")
    return r["rps"], r["p50_us"], r["p99_us"]


def run_send(port, to, concurrency, count):
    out = subprocess.run([TINYHOST, "send", "--address", f"127.0.0.1:{port}", "--to", to, "--data", DATA,
                          "--count", str(count), "--concurrency", str(concurrency),
                          "--timeout", f"{DEADLINE_MS}ms", "--json"],
                         capture_output=True, text=True, timeout=600)
    r = json.loads(out.stdout) if out.stdout.strip() else None
    if out.returncode != 0 or not r or r["ok"] != count or r["requests"] != count:
        raise RuntimeError(f"tinyhost send failed on {to}: {out.stdout.strip()} {out.stderr.strip()}")
    return r["rps"], r["latency_us"]["p50"], r["latency_us"]["p99"]


def send_grid(report):
    """tinyhost send --count N --concurrency C against load_client
    --connections 1 --streams C --requests N, alternating, on one host."""
    flow = write("send-flow.yaml", GRPC_FLOW)
    host = Server("host-send", host_cmd(plugin_dir(TEST_MODULE), flow))
    try:
        run_cpp_check(host.port, "echo.in")
        tools = [("load_client", run_cpp_requests), ("tinyhost send", run_send)]
        results = {}
        for r in range(ROUNDS):
            for name, fn in (tools if r % 2 == 0 else list(reversed(tools))):
                v = fn(host.port, "echo.in", SEND_CONCURRENCY, SEND_COUNT)
                results.setdefault(name, []).append(v)
                print(f"  round {r + 1}/{ROUNDS} {name:13} 1x{SEND_CONCURRENCY} {SEND_COUNT} requests "
                      f"{v[0]:9.0f} req/s  p50 {v[1]:7.1f} us  p99 {v[2]:8.1f} us", flush=True)
        report["send"] = results
    finally:
        host.stop()


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return float(values[min(len(values) - 1, int(p * len(values)))])


def run_h2load(port, to, conns, streams):
    data = write(f"frame-{to}.bin", grpc_frame(to, DATA), "wb")
    log = os.path.join(WORK, "h2load-requests.log")
    if os.path.exists(log):
        os.remove(log)
    out = subprocess.run(["h2load", "-c", str(conns), "-m", str(streams), "-t", "1",
                          "-D", str(int(DURATION)), "--warm-up-time", str(int(max(WARMUP, 1))),
                          "-d", data, "-H", "content-type: application/grpc", "-H", "te: trailers",
                          "--log-file", log, f"http://127.0.0.1:{port}/tinysystems.module.v1.ModuleService/Send"],
                         capture_output=True, text=True, timeout=DURATION + WARMUP + 60)
    text = out.stdout
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed", text)
    if out.returncode != 0 or not m or not req:
        raise RuntimeError("h2load failed:\n" + text + out.stderr)
    if int(req.group(5)) != 0:
        raise RuntimeError("h2load saw failed requests:\n" + text)
    lat = []
    with open(log) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) >= 3 and cols[1] == "200":
                lat.append(int(cols[2]))
    return float(m.group(1)), percentile(lat, 0.5), percentile(lat, 0.99)


def wrk_time_us(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)", s)
    if not m:
        raise ValueError(f"unreadable wrk latency {s!r}")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[unit]


def run_wrk(port, conns, duration=None):
    out = subprocess.run(["wrk", "-t", "1", "-c", str(conns), "-d", f"{int(duration or DURATION)}s", "--latency",
                          f"http://127.0.0.1:{port}/hello?name=Ada"],
                         capture_output=True, text=True, timeout=(duration or DURATION) + 60)
    text = out.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    # The percentile lines of --latency; the "+/- Stdev" column also ends
    # in "%" (e.g. "98.50%"), hence anchored at the line start.
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError("wrk failed:\n" + text + out.stderr)
    if "Non-2xx" in text or "Socket errors" in text:
        raise RuntimeError("wrk saw errors:\n" + text)
    try:
        return float(m.group(1)), wrk_time_us(p50.group(1)), wrk_time_us(p99.group(1))
    except (AttributeError, ValueError) as e:
        raise RuntimeError(f"cannot read wrk's latency ({e}):\n{text}") from None


def check_http(port):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello?name=Ada", timeout=10) as r:
        body = r.read().decode()
    if body != "Hello Ada!":
        raise RuntimeError(f"unexpected HTTP body from port {port}: {body!r}")


# --- measurements ----------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else float("nan")


class Scraper:
    """GETs an admin listener's /metrics once a second (as Prometheus
    would), on a thread, until stopped."""

    def __init__(self, url):
        import urllib.request
        self.stopping = threading.Event()
        self.scrapes = 0

        def run():
            while not self.stopping.wait(1.0):
                with urllib.request.urlopen(url, timeout=10) as r:
                    r.read()
                self.scrapes += 1
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(15)


def grpc_grid(report):
    base = Server("baseline", [BASELINE, "--listen", "127.0.0.1:0"])
    flow = write("grpc-flow.yaml", GRPC_FLOW)
    host = Server("host-grpc", host_cmd(plugin_dir(TEST_MODULE), flow))
    # The same host with the admin listener on and scraped every second:
    # what counting costs on the Send path (docs/performance.md).
    admin = Server("host-admin", host_cmd(plugin_dir(TEST_MODULE), flow) + ["--admin-listen", "127.0.0.1:0"],
                   extra_pattern=r"admin listening address=(http://\S+/)") if ADMIN else None
    scraper = Scraper(admin.extra.group(1) + "metrics") if admin else None
    try:
        targets = [("baseline", base.port, "echo.in"), ("host relay->echo", host.port, "relay.in"),
                   ("host echo", host.port, "echo.in")]
        if admin:
            targets.append(("host+admin relay->echo", admin.port, "relay.in"))
        runners = {"cpp": run_cpp, "h2load": run_h2load}
        # A correctness check before timing: every target answers the data.
        for _, port, to in targets:
            run_cpp_check(port, to)
        results = {}
        for r in range(ROUNDS):
            for conns, streams in GRID:
                for tool in TOOLS:
                    order = targets if r % 2 == 0 else list(reversed(targets))
                    for name, port, to in order:
                        pid = {"baseline": base.proc.pid, "host+admin relay->echo": admin and admin.proc.pid}.get(
                            name, host.proc.pid)
                        before = cpu_probe.sample(pid)
                        v = runners[tool](port, to, conns, streams)
                        after = cpu_probe.sample(pid)
                        # Server CPU and context switches per request, over
                        # warm-up + measured window at the measured rate.
                        window = DURATION + (WARMUP if tool == "cpp" else int(max(WARMUP, 1)))
                        n = max(v[0] * window, 1.0)
                        v = (*v, (after[0] - before[0]) * 1e6 / n, (after[1] - before[1]) / n)
                        results.setdefault((tool, conns, streams, name), []).append(v)
                        print(f"  round {r + 1}/{ROUNDS} {tool:6} {conns}x{streams:<3} {name:17} "
                              f"{v[0]:9.0f} req/s  p50 {v[1]:7.1f} us  p99 {v[2]:8.1f} us  "
                              f"server {v[3]:5.1f} cpu-us/req {v[4]:4.2f} switches/req", flush=True)
        report["grpc"] = results
        if scraper:
            report["scrapes"] = scraper.scrapes
    finally:
        if scraper:
            scraper.stop()
        if admin:
            admin.stop()
        base.stop()
        host.stop()


def run_cpp_check(port, to):
    out = subprocess.run([CLIENT, "--address", f"127.0.0.1:{port}", "--to", to, "--data", DATA, "--requests", "200",
                          "--streams", "4", "--format", "json"], capture_output=True, text=True, timeout=60)
    r = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else None
    if out.returncode != 0 or not r or r["ok"] != 200:
        raise RuntimeError(f"correctness check failed for {to} on port {port}: {out.stdout} {out.stderr}")


def http_grid(report):
    if not HTTP_MODULE:
        report["http"] = None
        print("  http: n/a (http-module.so not found; build the http-module target or set BENCH_HTTP_MODULE_SO)")
        return
    beast = Server("beast", [BEAST, "--listen", "127.0.0.1", "--port", "0"])
    host = Server("host-http", host_cmd(plugin_dir(HTTP_MODULE, COMMON_MODULE), write("http-flow.yaml", HTTP_FLOW)),
                  extra_pattern=r"http server listening address=\S+:(\d+)")
    host_http_port = int(host.extra.group(1))
    try:
        targets = [("beast", beast.port), ("host http flow", host_http_port)]
        for _, port in targets:
            check_http(port)
            run_wrk(port, 4, duration=1)  # warm-up, discarded
        results = {}
        for r in range(ROUNDS):
            for conns in HTTP_CONNS:
                order = targets if r % 2 == 0 else list(reversed(targets))
                for name, port in order:
                    pid = beast.proc.pid if name == "beast" else host.proc.pid
                    before = cpu_probe.sample(pid)
                    v = run_wrk(port, conns)
                    after = cpu_probe.sample(pid)
                    n = max(v[0] * DURATION, 1.0)
                    v = (*v, (after[0] - before[0]) * 1e6 / n, (after[1] - before[1]) / n)
                    results.setdefault((conns, name), []).append(v)
                    print(f"  round {r + 1}/{ROUNDS} wrk    c={conns:<4} {name:17} {v[0]:9.0f} req/s  "
                          f"p50 {v[1]:7.1f} us  p99 {v[2]:8.1f} us  server {v[3]:5.1f} cpu-us/req "
                          f"{v[4]:4.2f} switches/req", flush=True)
        report["http"] = results
    finally:
        beast.stop()
        host.stop()


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def start_and_rss(report):
    """Median time from spawn to the 'serving' line, and VmRSS after start."""
    if HTTP_MODULE:
        plugins, flow, what = plugin_dir(HTTP_MODULE, COMMON_MODULE), write("idle-flow.yaml", HTTP_FLOW), \
            "http-module + common-module, the http flow"
    else:
        plugins, flow, what = plugin_dir(COMMON_MODULE), write("idle-flow.yaml", IDLE_FLOW_NO_HTTP), \
            "common-module only (http-module not built), transform -> debug"
    cases = [("tinyhost", host_cmd(plugins, flow)), ("baseline", [BASELINE, "--listen", "127.0.0.1:0", "--health"])]
    out = {"what": what}
    for name, cmd in cases:
        times, rss = [], []
        for i in range(STARTS):
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            PROCS.append(p)
            t = None
            watchdog = threading.Timer(30, p.kill)  # bounds the blocking reads below
            watchdog.start()
            for line in p.stdout:  # the line arrives as soon as the host prints it (flush_on trace)
                if "serving address=" in line:
                    t = time.monotonic() - t0
                    break
            watchdog.cancel()
            if t is None:
                stop(p)
                raise RuntimeError(f"{name} did not print 'serving' within 30 s")
            times.append(t * 1000)
            time.sleep(0.5)  # let start-up threads settle, then read the idle footprint
            rss.append(status_kib(p.pid, "VmRSS"))
            stop(p)
            p.stdout.close()
        out[name] = {"start_ms": med(times), "start_all": times, "rss_kib": med(rss)}
        print(f"  {name:9} start->serving median {med(times):6.1f} ms (n={len(times)}), idle VmRSS "
              f"{med(rss) / 1024:5.1f} MiB", flush=True)
    report["idle"] = out


def micro(report):
    out = subprocess.run([MICRO_BIN, "--benchmark_format=json", f"--benchmark_repetitions={MICRO_REPS}",
                          "--benchmark_report_aggregates_only=true", "--benchmark_enable_random_interleaving=true",
                          "--benchmark_min_time=0.2"], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError("micro benchmarks failed:\n" + out.stderr[-3000:])
    data = json.loads(out.stdout)
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
    medians, singles = {}, {}
    for b in data["benchmarks"]:
        value = (b["cpu_time"] * scale[b["time_unit"]], b["real_time"] * scale[b["time_unit"]])
        if b.get("aggregate_name") == "median":
            medians[b["run_name"]] = value
        elif b.get("run_type") == "iteration":
            singles[b["run_name"]] = value
    medians = medians or singles  # BENCH_MICRO_REPS=1: no aggregates
    report["micro"] = medians
    path = os.path.join(OUT_DIR, "micro.json")
    with open(path, "w") as f:
        f.write(out.stdout)
    print(f"  micro-benchmarks: {len(medians)} medians (raw JSON: {path})", flush=True)


# --- the table -------------------------------------------------------------

def verdict(ok):
    return "ok" if ok else "MISS"


def table(report):
    lines = []
    add = lines.append
    add(f"rounds={ROUNDS} duration={DURATION}s warmup={WARMUP}s data={DATA} cpp-client deadline={DEADLINE_MS} ms "
        f"(0 = none); h2load sends no deadline")
    add("")
    res = report.get("grpc", {})
    if res:
        add("gRPC Send (median over rounds of the per-round ratio host/baseline; absolute medians in req/s and us)")
        add("| tool | conn x streams | target | req/s | p50 us | p99 us | server CPU us/req | switches/req | "
            "thr ratio | p50 ratio | CPU/req ratio | thr>=0.9 | p50<=1.15 |")
        add("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for tool in TOOLS:
        for conns, streams in GRID:
            base = res.get((tool, conns, streams, "baseline"))
            if not base:
                continue
            add(f"| {tool} | {conns}x{streams} | baseline | {med([v[0] for v in base]):.0f} | "
                f"{med([v[1] for v in base]):.1f} | {med([v[2] for v in base]):.1f} | "
                f"{med([v[3] for v in base]):.1f} | {med([v[4] for v in base]):.2f} | 1 | 1 | 1 | | |")
            for name in ("host relay->echo", "host echo", "host+admin relay->echo"):
                h = res.get((tool, conns, streams, name))
                if not h:
                    continue
                thr = med([a[0] / b[0] for a, b in zip(h, base)])
                lat = med([a[1] / b[1] for a, b in zip(h, base) if b[1] > 0])
                cpu = med([a[3] / b[3] for a, b in zip(h, base) if b[3] > 0])
                add(f"| {tool} | {conns}x{streams} | {name} | {med([v[0] for v in h]):.0f} | "
                    f"{med([v[1] for v in h]):.1f} | {med([v[2] for v in h]):.1f} | {med([v[3] for v in h]):.1f} | "
                    f"{med([v[4] for v in h]):.2f} | {thr:.3f} | {lat:.3f} | {cpu:.2f} | "
                    f"{verdict(thr >= TARGETS['throughput'])} | {verdict(lat <= TARGETS['p50'])} |")
    add("")
    if any(k[3] == "host+admin relay->echo" for k in res):
        add(f"Admin listener on and scraped every second ({report.get('scrapes', 0)} scrapes) vs off, relay->echo "
            "(median of the per-round ratio on/off; target: throughput >= 0.97, p50 <= 1.03)")
        add("| tool | conn x streams | thr on/off | p50 on/off | CPU/req on/off | within 3% |")
        add("|---|---|---:|---:|---:|---|")
        for tool in TOOLS:
            for conns, streams in GRID:
                on = res.get((tool, conns, streams, "host+admin relay->echo"))
                off = res.get((tool, conns, streams, "host relay->echo"))
                if not on or not off:
                    continue
                thr = med([a[0] / b[0] for a, b in zip(on, off)])
                lat = med([a[1] / b[1] for a, b in zip(on, off) if b[1] > 0])
                cpu = med([a[3] / b[3] for a, b in zip(on, off) if b[3] > 0])
                add(f"| {tool} | {conns}x{streams} | {thr:.3f} | {lat:.3f} | {cpu:.3f} | "
                    f"{verdict(thr >= 0.97 and lat <= 1.03)} |")
        add("")
    send = report.get("send")
    if send:
        base, mine = send["load_client"], send["tinyhost send"]
        thr = med([a[0] / b[0] for a, b in zip(mine, base)])
        add(f"tinyhost send as a load tool vs load_client (host echo, 1 channel x {SEND_CONCURRENCY} calls, "
            f"{SEND_COUNT} requests per run; median of the per-round ratio send/load_client; target >= 0.9)")
        add("| client | req/s | p50 us | p99 us | thr ratio | within 10% |")
        add("|---|---:|---:|---:|---:|---|")
        add(f"| load_client | {med([v[0] for v in base]):.0f} | {med([v[1] for v in base]):.1f} | "
            f"{med([v[2] for v in base]):.1f} | 1 | |")
        add(f"| tinyhost send | {med([v[0] for v in mine]):.0f} | {med([v[1] for v in mine]):.1f} | "
            f"{med([v[2] for v in mine]):.1f} | {thr:.3f} | {verdict(thr >= 0.9)} |")
        add("")
    http = report.get("http")
    if "http" in ONLY:
        add("HTTP flow (wrk -t1, GET /hello?name=Ada; http_server -> transform(mapping) -> response vs bare Beast)")
        if http is None:
            add("| n/a: http-module.so not built (the http-module is not wired into this build yet) |")
        else:
            add("| conns | target | req/s | p50 us | p99 us | server CPU us/req | switches/req | thr ratio | p50 ratio | "
                "CPU/req ratio | thr>=0.5 |")
            add("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
            for conns in HTTP_CONNS:
                base = http[(conns, "beast")]
                h = http[(conns, "host http flow")]
                thr = med([a[0] / b[0] for a, b in zip(h, base)])
                lat = med([a[1] / b[1] for a, b in zip(h, base) if b[1] > 0])
                cpu = med([a[3] / b[3] for a, b in zip(h, base) if b[3] > 0])
                add(f"| {conns} | beast | {med([v[0] for v in base]):.0f} | {med([v[1] for v in base]):.1f} | "
                    f"{med([v[2] for v in base]):.1f} | {med([v[3] for v in base]):.1f} | {med([v[4] for v in base]):.2f} "
                    f"| 1 | 1 | 1 | |")
                add(f"| {conns} | host http flow | {med([v[0] for v in h]):.0f} | {med([v[1] for v in h]):.1f} | "
                    f"{med([v[2] for v in h]):.1f} | {med([v[3] for v in h]):.1f} | {med([v[4] for v in h]):.2f} | "
                    f"{thr:.3f} | {lat:.3f} | {cpu:.2f} | {verdict(thr >= TARGETS['http'])} |")
        add("")
    idle = report.get("idle")
    if idle:
        h, b = idle["tinyhost"], idle["baseline"]
        add(f"Idle and start-up ({idle['what']}; median of {STARTS} starts)")
        add("| process | start -> SERVING ms | idle VmRSS MiB | target |")
        add("|---|---:|---:|---|")
        add(f"| tinyhost | {h['start_ms']:.1f} | {h['rss_kib'] / 1024:.1f} | start<=150 ms: "
            f"{verdict(h['start_ms'] <= TARGETS['start_ms'])}, RSS<=30 MiB: "
            f"{verdict(h['rss_kib'] / 1024 <= TARGETS['rss_mib'])} |")
        add(f"| baseline gRPC server | {b['start_ms']:.1f} | {b['rss_kib'] / 1024:.1f} | (reference) |")
        add("")
    m = report.get("micro")
    if m:
        add(f"Micro-benchmarks (Google Benchmark, median of {MICRO_REPS} interleaved repetitions, CPU time)")
        add("| measure | ns | target |")
        add("|---|---:|---|")

        def hop(prefix, long, short=1):
            a, b = m.get(f"{prefix}/{long}"), m.get(f"{prefix}/{short}")
            return (a[0] - b[0]) / (long - short) if a and b else float("nan")

        r = hop("BM_RelayChain", 65)
        t = hop("BM_TransformChain", 65)
        add(f"| per hop, relay (test-module, Reply::forward zero-copy): (t(65)-t(1))/64 | {r:.0f} | "
            f"<=300: {verdict(r <= TARGETS['hop_ns'])} |")
        add(f"| per hop, transform (common-module): (t(65)-t(1))/64 | {t:.0f} | "
            f"<=300: {verdict(t <= TARGETS['hop_ns'])} |")
        add(f"| per hop, relay, 1 KiB message | {hop('BM_RelayChain1K', 65):.0f} | |")
        add(f"| per hop, transform, 1 KiB message | {hop('BM_TransformChain1K', 65):.0f} | |")
        for name, label in (("BM_RelayChain/1", "one delivery to echo (chain of 1)"),
                            ("BM_MappingApply", "3-field Mapping::Apply"),
                            ("BM_MappingParseApplyDump", "3-field mapping: parse + Apply + dump (DeliverRoute)"),
                            ("BM_JsonParseOnly", "nlohmann parse of the same input alone"),
                            ("BM_MappingHttpGreeting", "http flow mapping: parse + Apply + dump"),
                            ("BM_ServerIsJson", "server IsJson (padded copy + simdjson)"),
                            ("BM_ServerIsJsonNoCopy", "simdjson validate in place")):
            if name in m:
                target = ""
                if name == "BM_MappingApply" or name == "BM_MappingParseApplyDump":
                    target = f"<=1000: {verdict(m[name][0] <= TARGETS['mapping_ns'])}"
                add(f"| {label} | {m[name][0]:.0f} | {target} |")
        if "BM_EdgeMapped" in m and "BM_EdgeIdentity" in m:
            add(f"| mapped edge minus identity edge (relay->echo) | "
                f"{m['BM_EdgeMapped'][0] - m['BM_EdgeIdentity'][0]:.0f} | |")
        dd = m.get("BM_RelayChainDefaultDepth/65/real_time") or m.get("BM_RelayChainDefaultDepth/65")
        if dd and "BM_RelayChain/65" in m:
            add(f"| chain of 65 with the default inline depth 32 (one pool hand-off), wall | "
                f"{dd[1]:.0f} | vs {m['BM_RelayChain/65'][1]:.0f} all inline, wall |")
    return "\n".join(lines)


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in (TINYHOST, BASELINE, CLIENT, BEAST, MICRO_BIN, TEST_MODULE, COMMON_MODULE):
        if not os.path.exists(f):
            raise SystemExit(f"missing {f}: build first (bench/run.sh does)")
    report = {}
    t0 = time.monotonic()
    print(f"load: {os.getloadavg()[0]:.1f} (1-min average) on {os.cpu_count()} CPUs", flush=True)
    sections = [("idle", True, "idle RSS and start-up time", start_and_rss),
                ("micro", MICRO, "micro-benchmarks", micro),
                ("grpc", True, "gRPC grid", grpc_grid),
                ("send", True, "tinyhost send vs load_client", send_grid),
                ("http", True, "HTTP", http_grid)]
    for name, enabled, title, run in sections:
        if enabled and name in ONLY:
            print(f"== {title}", flush=True)
            run(report)
    text = table(report)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(OUT_DIR, f"table-{stamp}.md")
    with open(path, "w") as f:
        f.write(text + "\n")
    print()
    print(text)
    print()
    print(f"(total {time.monotonic() - t0:.0f} s; load now {os.getloadavg()[0]:.1f}; table saved to {path})")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
