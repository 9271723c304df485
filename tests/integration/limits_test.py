"""Memory and worker bounds of a real host: the worker pool does not
deadlock when every worker waits on a delivery queued behind it, the
worker queue is bounded (--max-queued), the request bytes of the calls in
flight are bounded (--max-inflight-bytes), and memory goes back to about
its idle figure after a burst of large messages."""
import json
import os
import threading
import unittest

from harness import Client, outcome, send_async, start_host, wait_until, write_flow

# Blocking nodes that wait (emit_wait) on blocking nodes through a delay: a
# delivery from the delay's timer is not on a worker, so it queues for one.
CHAIN_THROUGH_DELAY = """
nodes:
  - name: ask1
    module: test-module
    component: asker
    edges: [{port: out, to: hold.in}]
  - name: hold
    module: common-module
    component: delay
    settings: {delay: 300}
    edges: [{port: out, to: ask2.in}]
  - name: ask2
    module: test-module
    component: asker
    edges: [{port: out, to: slow.in}]
  - name: slow
    module: test-module
    component: sleepy
"""

SIMPLE = """
nodes:
  - name: echo
    module: test-module
    component: echo
  - name: never
    module: test-module
    component: never
  - name: slow
    module: test-module
    component: sleepy
"""

MIB = 1024 * 1024


def json_string_of(size):
    """A JSON string literal of exactly `size` bytes."""
    return b'"' + b"a" * (size - 2) + b'"'


def rss_kib(host):
    with open(f"/proc/{host.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for the host")


class WorkerDeadlockTest(unittest.TestCase):
    def test_waiting_workers_are_freed_at_the_deadline(self):
        # Two workers, six callers: two run ask1 and wait on hold -> ask2,
        # which queues behind the four other ask1 calls. Nothing runs again
        # unless the queue's deadlines end it.
        host = start_host(self, write_flow(CHAIN_THROUGH_DELAY), plugins=["test-module", "common-module"],
                          args=["--worker-threads", "2", "--grace-period", "2s", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        stuck = [send_async(client, "ask1.in", json.dumps({"ms": 0}), timeout=1.5) for _ in range(6)]
        for f in stuck:
            self.assertEqual(outcome(f)[0], "DEADLINE_EXCEEDED")
        # The workers are free again: the same flow answers (a deadlocked
        # pool would leave this one queued until its deadline).
        for _ in range(2):
            self.assertEqual(client.send("ask1.in", json.dumps({"ms": 0}), timeout=30), ("OK", b'{"slept":0}', ""))
        # Stuck again, then SIGTERM: the drain answers what is open and the
        # queued deliveries are answered at shutdown, so no handler is left
        # waiting and the host exits 0 (a stuck handler makes it exit 1).
        again = [send_async(client, "ask1.in", json.dumps({"ms": 0}), timeout=60) for _ in range(6)]
        self.assertTrue(host.wait_count("received message via gRPC to=ask1.in", 6 + 2 + 6), host.output())
        self.assertEqual(host.stop(timeout=60), 0, host.output())
        for f in again:
            self.assertEqual(outcome(f)[0], "UNAVAILABLE", host.output())


    def test_a_reload_that_removes_a_waiting_node_finishes(self):
        # The reload destroys ask1 only once its handlers return: each is
        # freed at its call's deadline (before, never).
        flow = write_flow(CHAIN_THROUGH_DELAY)
        host = start_host(self, flow, plugins=["test-module", "common-module"],
                          args=["--worker-threads", "2", "--reload-interval", "100ms", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        stuck = [send_async(client, "ask1.in", json.dumps({"ms": 0}), timeout=3) for _ in range(6)]
        self.assertTrue(host.wait_count("received message via gRPC to=ask1.in", 6), host.output())
        without_ask1 = CHAIN_THROUGH_DELAY[CHAIN_THROUGH_DELAY.index("  - name: hold"):]
        tmp = flow + ".tmp"
        with open(tmp, "w") as f:
            f.write("nodes:\n" + without_ask1)
        os.replace(tmp, flow)
        self.assertTrue(host.wait_for("flows reloaded nodes=3", timeout=60), host.output())
        self.assertIn("node destroyed node=ask1", host.output())
        # The two running handlers end at their deadlines. A queued call
        # may instead reach ask1 after the reload destroyed it (the calls'
        # deadlines differ by their send times), and that one is answered
        # UNAVAILABLE naming the node (not running, or destroyed): both are right, nothing hangs.
        codes = []
        for f in stuck:
            code, _, details = outcome(f)
            codes.append(code)
            if code == "UNAVAILABLE":
                self.assertRegex(details, r"node 'ask1' is (not running|destroyed)")
            else:
                self.assertEqual(code, "DEADLINE_EXCEEDED", details)
        self.assertGreaterEqual(codes.count("DEADLINE_EXCEEDED"), 2, codes)
        self.assertEqual(client.send("ask2.in", json.dumps({"ms": 0}), timeout=30), ("OK", b'{"slept":0}', ""))
        self.assertEqual(client.send("ask1.in", "{}")[0], "NOT_FOUND")
        self.assertEqual(host.stop(timeout=60), 0, host.output())


class WorkerQueueBoundTest(unittest.TestCase):
    def test_a_full_worker_queue_is_resource_exhausted(self):
        host = start_host(self, write_flow(SIMPLE), plugins=["test-module"],
                          args=["--worker-threads", "1", "--max-queued", "2", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        # One worker, busy; two places in its queue, taken (each step waits
        # for the host to have received the calls, not for time to pass):
        # the next two calls are refused at once, the others answered.
        busy = send_async(client, "slow.in", json.dumps({"ms": 5000}), timeout=60)
        self.assertTrue(host.wait_count("received message via gRPC to=slow.in", 1), host.output())
        queued = [send_async(client, "slow.in", json.dumps({"ms": 0}), timeout=60) for _ in range(2)]
        self.assertTrue(host.wait_count("received message via gRPC to=slow.in", 3), host.output())
        for _ in range(2):
            self.assertEqual(client.send("slow.in", json.dumps({"ms": 0})),
                             ("RESOURCE_EXHAUSTED", b"", "too many messages queued for workers (limit 2) at node slow"))
        self.assertEqual(outcome(busy), ("OK", b'{"slept":5000}', ""))
        for f in queued:
            self.assertEqual(outcome(f), ("OK", b'{"slept":0}', ""))
        self.assertEqual(client.send("slow.in", json.dumps({"ms": 0})), ("OK", b'{"slept":0}', ""))
        self.assertEqual(host.stop(), 0, host.output())


class InflightBytesTest(unittest.TestCase):
    def test_bytes_held_by_calls_in_flight_are_bounded(self):
        host = start_host(self, write_flow(SIMPLE), plugins=["test-module"],
                          args=["--max-inflight-bytes", "8MiB", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        big = json_string_of(3 * MIB)
        held = [send_async(client, "never.in", big, timeout=60) for _ in range(2)]
        try:
            self.assertTrue(host.wait_count("received message via gRPC to=never.in", 2), host.output())
            # 6 MiB held; 3 MiB more would pass 8 MiB. A small call still fits.
            code, _, error = client.send("echo.in", big)
            self.assertEqual(code, "RESOURCE_EXHAUSTED")
            self.assertEqual(error, "too many bytes in flight (limit 8388608)")
            self.assertEqual(client.send("echo.in", "1"), ("OK", b"1", ""))
        finally:
            for f in held:
                f.cancel()
        # Cancelled calls give their bytes back.
        self.assertTrue(wait_until(lambda: client.send("echo.in", big, timeout=30)[0] == "OK", timeout=30))
        self.assertEqual(host.stop(), 0, host.output())

    def test_a_message_larger_than_the_budget_is_refused(self):
        host = start_host(self, write_flow(SIMPLE), plugins=["test-module"], args=["--max-inflight-bytes", "1MiB"])
        client = Client(host.address)
        self.addCleanup(client.close)
        self.assertEqual(client.send("echo.in", json_string_of(2 * MIB)),
                         ("RESOURCE_EXHAUSTED", b"", "too many bytes in flight (limit 1048576)"))
        self.assertEqual(client.send("echo.in", "2"), ("OK", b"2", ""))


@unittest.skipIf(os.environ.get("TINY_SANITIZED") == "1",
                 "a sanitizer's allocator keeps freed memory in quarantine: RSS says nothing about the host's")
class IdleMemoryTest(unittest.TestCase):
    CALLERS = 16
    MESSAGES = 50

    def test_rss_returns_near_idle_after_large_messages(self):
        # Default limits: the largest message that fits the 4 MiB limit with
        # its envelope.
        host = start_host(self, write_flow(SIMPLE), plugins=["test-module"])
        client = Client(host.address)
        self.addCleanup(client.close)
        self.assertEqual(client.send("echo.in", "0"), ("OK", b"0", ""))
        idle = rss_kib(host)
        data = json_string_of(4 * MIB - 1024)
        left = list(range(self.MESSAGES))
        lock = threading.Lock()
        failures = []

        def caller():
            while True:
                with lock:
                    if not left:
                        return
                    left.pop()
                code, answer, error = client.send("echo.in", data, timeout=60)
                if code != "OK" or answer != data:
                    with lock:
                        failures.append((code, error))

        threads = [threading.Thread(target=caller) for _ in range(self.CALLERS)]
        for t in threads:
            t.start()
        peak = idle
        for t in threads:
            while t.is_alive():
                t.join(0.05)
                peak = max(peak, rss_kib(host))
        self.assertEqual(failures, [])
        settled = wait_until(lambda: rss_kib(host) <= 2 * idle, timeout=15, interval=0.2)
        after = rss_kib(host)
        print("\nRSS idle %d KiB, peak %d KiB, after %d KiB (%d x %d MiB from %d callers)" %
              (idle, peak, after, self.MESSAGES, 4, self.CALLERS))
        self.assertTrue(settled, "RSS %d KiB after the calls, idle %d KiB" % (after, idle))
        self.assertEqual(host.stop(), 0, host.output())


if __name__ == "__main__":
    unittest.main()
