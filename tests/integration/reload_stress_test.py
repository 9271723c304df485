"""Reloads under load, then a drain with calls to a peer still open.

Host A reloads its flow every 50 ms (a node recreated and an edge moved
each time) while 64 callers send to it; some of its edges lead to host B,
where `far` never answers. Then A gets SIGTERM with those remote calls
open. Every call gets its answer or UNAVAILABLE, the calls held by B are
cut at the end of A's grace period (not at their own deadline), and A
exits 0. Run against the ASan and TSan builds (scripts/test.sh, and
scripts/tsan.sh), a race or a use after free there fails the exit code.
"""
import collections
import os
import signal
import threading
import unittest

from harness import Client, Host, free_port, outcome, send_async, start_all, write_flow

CALLERS = 64
HELD = 8
RELOADS = 20  # at least, before the SIGTERM

B_FLOW = """
nodes:
  - {name: far, module: test-module-b, component: never}
  - {name: farecho, module: test-module-b, component: echo}
"""


def a_flow(i):
    target = "c" if i % 2 == 0 else "farecho"
    return f"""
nodes:
  - {{name: front, module: test-module, component: relay, edges: [{{port: out, to: {target}.in}}]}}
  - {{name: c, module: test-module, component: counter, settings: {{start: {i}}}}}
  - {{name: s, module: test-module, component: slowstart, settings: {{ms: 5, tag: "t{i}"}}}}
  - {{name: hold, module: test-module, component: relay, edges: [{{port: out, to: far.in}}]}}
  - {{name: farecho, module: test-module-b, component: echo}}
  - {{name: far, module: test-module-b, component: never}}
"""


class ReloadStressTest(unittest.TestCase):
    def test_reloads_under_load_then_a_drain_with_remote_calls_open(self):
        pa, pb = free_port(), free_port()
        flow_b = write_flow(B_FLOW)
        flow_a = write_flow(a_flow(0))
        b = Host(flow_b, plugins=["test-module-b"], port=pb, args=["--log-level", "debug"])
        a = Host(flow_a, plugins=["test-module"], port=pa, peers={"test-module-b": f"127.0.0.1:{pb}"},
                 args=["--reload-interval", "50ms", "--grace-period", "2s"])
        start_all(self, b, a)

        stop = threading.Event()
        codes = collections.Counter()
        odd = collections.Counter()
        before = collections.Counter()  # UNAVAILABLE answers before the SIGTERM, by error
        signalled = threading.Event()
        lock = threading.Lock()

        def caller(k):
            client = Client(a.address)
            targets = ("front.in", "c.in", "s.in")
            n = 0
            try:
                while not stop.is_set():
                    code, _, error = client.send(targets[(k + n) % 3], "{}", timeout=30)
                    n += 1
                    with lock:
                        codes[code] += 1
                        if code not in ("OK", "UNAVAILABLE"):
                            odd[(code, error)] += 1
                        elif code == "UNAVAILABLE" and not signalled.is_set():
                            before[error] += 1
                    if code == "UNAVAILABLE":
                        stop.wait(0.01)  # back off, as a gRPC client's retry policy does
            finally:
                client.close()

        reloads = [0]

        def rewriter():
            i = 0
            while not stop.wait(0.05):
                i += 1
                tmp = flow_a + ".tmp"
                with open(tmp, "w") as f:
                    f.write(a_flow(i))
                os.replace(tmp, flow_a)  # as a ConfigMap update does
                reloads[0] = i

        threads = [threading.Thread(target=caller, args=(k,)) for k in range(CALLERS)]
        threads.append(threading.Thread(target=rewriter))
        for t in threads:
            t.start()
        held_client = Client(a.address)
        self.addCleanup(held_client.close)
        try:
            self.assertTrue(a.wait_count("flows reloaded", RELOADS, timeout=120), a.output())
            held = [send_async(held_client, "hold.in", "{}", timeout=120) for _ in range(HELD)]
            self.assertTrue(b.wait_count("received message via gRPC to=far.", HELD, timeout=60), b.output())
            signalled.set()
            a.proc.send_signal(signal.SIGTERM)
            # A sanitizer report (a race, a use after free) makes the exit code non-zero.
            self.assertEqual(a.wait_exit(timeout=120), 0, a.output())
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        self.assertFalse(any(t.is_alive() for t in threads), "a caller is still waiting")
        out = a.output()
        self.assertIn("grace period over; cancelling calls to peers", out)
        # Every call to B came back while the host could still take it.
        self.assertNotIn("calls to peers still open as the client pool closes", out)
        for f in held:
            code, _, error = outcome(f)
            self.assertEqual(code, "UNAVAILABLE", error)
        self.assertEqual(dict(odd), {}, "codes: %s" % dict(codes))
        self.assertGreater(codes["OK"], 0)
        # Before the SIGTERM, the only UNAVAILABLE is a call that reached a
        # replaced instance of c or s as it stopped.
        for error in before:
            self.assertRegex(error, r"^node '(c|s)' is not running$")
        print("\n%d reloads; calls: %s; UNAVAILABLE before the SIGTERM: %s" %
              (a.count("flows reloaded"), dict(codes), dict(before)))


if __name__ == "__main__":
    unittest.main()
