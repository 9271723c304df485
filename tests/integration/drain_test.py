"""Health, reflection and the drain on SIGTERM, against the real binary."""
import collections
import json
import signal
import threading
import unittest

from harness import Client, outcome, send_async, start_host, wait_until, write_flow

SERVICE = "tinysystems.module.v1.ModuleService"

FLOW = """
nodes:
  - name: echo
    module: test-module
    component: echo
  - name: slow
    module: test-module
    component: sleepy
  - name: never
    module: test-module
    component: never
"""


def host_and_client(test, *args):
    host = start_host(test, write_flow(FLOW), plugins=["test-module"], args=["--log-level", "debug", *args])
    client = Client(host.address)
    test.addCleanup(client.close)
    return host, client


def received(host, node, n=1):
    """Waits until `host` logged n deliveries to `node` from gRPC."""
    return host.wait_count("received message via gRPC to=%s." % node, n)


class HealthAndReflectionTest(unittest.TestCase):
    def test_serving_once_loaded(self):
        host, client = host_and_client(self)
        self.assertEqual(client.health(), "SERVING")
        self.assertEqual(client.health(SERVICE), "SERVING")
        self.assertEqual(client.health("no.such.Service"), "NOT_FOUND")

    def test_reflection_lists_the_services(self):
        host, client = host_and_client(self)
        services = client.reflection_services()
        self.assertIn(SERVICE.encode(), services)
        self.assertIn(b"grpc.health.v1.Health", services)


class DrainTest(unittest.TestCase):
    def test_inflight_calls_finish_new_calls_are_refused_exit_0(self):
        host, client = host_and_client(self, "--grace-period", "20s")
        slow = [send_async(client, "slow.in", '{"ms": 2500}', timeout=30) for _ in range(3)]
        self.assertTrue(received(host, "slow", 3), host.output())
        host.proc.send_signal(signal.SIGTERM)
        self.assertTrue(host.wait_for(r"draining signal=SIGTERM inflight=3", timeout=10), host.output())
        self.assertTrue(wait_until(lambda: client.health() == "NOT_SERVING", timeout=5), host.output())
        self.assertEqual(client.health(SERVICE), "NOT_SERVING")
        self.assertEqual(client.send("echo.in", "{}"), ("UNAVAILABLE", b"", "host is draining"))
        for f in slow:
            self.assertEqual(outcome(f), ("OK", json.dumps({"slept": 2500}, separators=(",", ":")).encode(), ""))
        # Done well within the grace period: the host never had to cut a call short.
        self.assertEqual(host.wait_exit(), 0, host.output())
        out = host.output()
        self.assertNotIn("grace period over", out)
        self.assertIn("node destroyed node=slow", out)
        self.assertIn("stopped", out)

    def test_a_call_open_when_the_grace_period_ends_gets_an_error(self):
        host, client = host_and_client(self, "--grace-period", "1s")
        held = send_async(client, "never.in", "{}", timeout=120)
        self.assertTrue(received(host, "never"), host.output())
        host.proc.send_signal(signal.SIGTERM)
        # Still open when the grace period ended, and then cut short: an
        # error long before the call's own deadline.
        self.assertTrue(host.wait_for(r"grace period over; cancelling calls inflight=1\b"), host.output())
        # UNAVAILABLE (a client retries it elsewhere), never CANCELLED: the
        # answer reaches the wire before the server shuts its transports.
        self.assertEqual(outcome(held), ("UNAVAILABLE", b"", "host is shutting down: the grace period ended "
                                         "before the call was answered"))
        self.assertEqual(host.wait_exit(), 0, host.output())

    def test_sigterm_with_nothing_in_flight_exits_at_once(self):
        # A grace period far longer than the bounded wait for the exit: the
        # host exits without waiting for it.
        host, client = host_and_client(self, "--grace-period", "30m")
        self.assertEqual(client.send("echo.in", "1"), ("OK", b"1", ""))
        self.assertEqual(host.stop(signal.SIGTERM, timeout=60), 0, host.output())
        self.assertRegex(host.output(), r"draining signal=SIGTERM inflight=0 ")
        self.assertNotIn("grace period over", host.output())


class DrainRaceTest(unittest.TestCase):
    """Calls that reach a host at every moment of its drain: while it waits
    for calls in flight, while its listener closes, and after; on channels
    that were connected before the SIGTERM and on channels made after it.
    Each gets its answer or UNAVAILABLE, never CANCELLED or anything else."""

    ROUNDS = 4
    FRESH = 6       # callers that make a new channel for every call
    CONNECTED = 4   # callers on one channel connected before the SIGTERM

    def storm(self):
        host, _ = host_and_client(self, "--grace-period", "1500ms")
        codes = collections.Counter()
        errors = collections.Counter()
        lock = threading.Lock()
        stop = threading.Event()
        warm = threading.Semaphore(0)

        def record(code, error):
            with lock:
                codes[code] += 1
                if code not in ("OK", "UNAVAILABLE"):
                    errors[(code, error)] += 1

        def fresh():
            while not stop.is_set():
                client = Client(host.address)
                try:
                    code, _, error = client.send("echo.in", "1", timeout=10)
                finally:
                    client.close()
                record(code, error)
                warm.release()

        def connected():
            client = Client(host.address)
            try:
                while not stop.is_set():
                    code, _, error = client.send("slow.in", '{"ms": 20}', timeout=10)
                    record(code, error)
                    warm.release()
            finally:
                client.close()

        threads = [threading.Thread(target=fresh) for _ in range(self.FRESH)]
        threads += [threading.Thread(target=connected) for _ in range(self.CONNECTED)]
        for t in threads:
            t.start()
        try:
            for _ in range(50):  # every kind of caller is under way
                self.assertTrue(warm.acquire(timeout=30), host.output())
            host.proc.send_signal(signal.SIGTERM)
            self.assertEqual(host.wait_exit(), 0, host.output())
            # A little longer: calls to the closed port are refused (UNAVAILABLE).
            for _ in range(self.FRESH):
                warm.acquire(timeout=10)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertFalse(any(t.is_alive() for t in threads), "a caller is still waiting")
        return codes, errors

    def test_calls_during_the_drain_get_an_answer_or_unavailable(self):
        total = collections.Counter()
        for _ in range(self.ROUNDS):
            codes, errors = self.storm()
            self.assertEqual(dict(errors), {}, "codes: %s" % dict(codes))
            total.update(codes)
        self.assertGreater(total["OK"], 0)
        self.assertGreater(total["UNAVAILABLE"], 0)
        print("\ncalls around %d drains: %s" % (self.ROUNDS, dict(total)))


if __name__ == "__main__":
    unittest.main()
