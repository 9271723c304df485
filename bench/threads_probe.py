#!/usr/bin/env python3
"""Per-thread CPU and context switches of servers under the same load.

  BENCH_BUILD_DIR=build-bench python3 bench/threads_probe.py [SECONDS] [CONNxSTREAMS] [DEADLINE_MS]

Runs, one after the other, the bare baseline, the baseline with health +
reflection, with a heap reactor (as tinyhost's), with a heap reactor
declared inlineable, and tinyhost (test-module, relay -> echo), each under the same
load-client run, and prints per thread name: CPU ms and context switches
per 1000 requests. All on 127.0.0.1; every process is reaped.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_probe  # noqa: E402

BUILD = os.path.abspath(os.environ.get("BENCH_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "build-bench")))
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3
CONNS, STREAMS = (int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "1x8").split("x"))
DEADLINE = sys.argv[3] if len(sys.argv) > 3 else "10000"


def serve(cmd, log):
    f = open(log, "w")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    f.close()
    for _ in range(3000):
        with open(log) as f:
            for line in f:
                if "serving address=" in line:
                    return p, int(line.split("serving address=")[1].split()[0].rsplit(":", 1)[1])
        if p.poll() is not None:
            break
        subprocess.run(["sleep", "0.01"])
    p.kill()
    p.wait()
    with open(log) as f:
        raise SystemExit(f"{cmd[0]} did not start:\n{f.read()[-2000:]}")


def main():
    work = tempfile.mkdtemp(prefix="tiny-probe-")
    os.makedirs(os.path.join(work, "plugins"))
    os.symlink(os.path.join(BUILD, "tests", "plugins", "test-module.so"), os.path.join(work, "plugins", "test-module.so"))
    flow = os.path.join(work, "flow.yaml")
    with open(flow, "w") as f:
        f.write("nodes:\n  - {name: relay, module: test-module, component: relay, edges: [{port: out, to: echo.in}]}\n"
                "  - {name: echo, module: test-module, component: echo}\n")
    base = os.path.join(BUILD, "bench", "tiny_bench_baseline_server")
    cases = [("baseline", [base], "echo.in"),
             ("baseline+health+reflection", [base, "--health", "--reflection"], "echo.in"),
             ("baseline, custom reactor", [base, "--reactor", "custom"], "echo.in"),
             ("baseline, custom reactor, inlineable", [base, "--reactor", "custom-inline"], "echo.in"),
             ("tinyhost relay->echo", [os.path.join(BUILD, "host", "tinyhost"), "run", "--plugin-dir",
                                        os.path.join(work, "plugins"), "--flow", flow, "--listen", "127.0.0.1:0"],
              "relay.in")]
    for name, cmd, to in cases:
        p, port = serve(cmd + (["--listen", "127.0.0.1:0"] if cmd[0] == base else []), os.path.join(work, "log"))
        try:
            before = cpu_probe.per_thread(p.pid)
            out = subprocess.run([os.path.join(BUILD, "bench", "tiny_bench_load_client"), "--address",
                                  f"127.0.0.1:{port}", "--to", to, "--connections", str(CONNS), "--streams",
                                  str(STREAMS), "--duration", str(SECONDS), "--warmup", "0", "--deadline-ms",
                                  DEADLINE, "--format", "json"], capture_output=True, text=True, timeout=120)
            after = cpu_probe.per_thread(p.pid)
        finally:
            p.terminate()
            p.wait(10)
        r = json.loads(out.stdout)
        n = r["ok"] / 1000.0
        print(f"{name}: {r['rps']:.0f} req/s, p50 {r['p50_us']:.0f} us ({CONNS}x{STREAMS}, deadline {DEADLINE} ms)")
        tot = [0.0, 0, 0]
        for t in sorted(after):
            a, b = after[t], before.get(t, [0.0, 0, 0, 0])
            d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
            tot = [x + y for x, y in zip(tot, d)]
            if d[0] > 0 or d[1] + d[2] > 10:
                print(f"   {t:18} x{a[3]:<2} cpu {d[0] * 1000 / n:7.1f} ms/1k req  switches vol {d[1] / n:7.1f} "
                      f"invol {d[2] / n:6.1f} per 1k req")
        print(f"   {'TOTAL':21} cpu {tot[0] * 1000 / n:7.1f} ms/1k req  switches vol {tot[1] / n:7.1f} "
              f"invol {tot[2] / n:6.1f} per 1k req")
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
