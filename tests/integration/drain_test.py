"""Health, reflection and the drain on SIGTERM, against the real binary."""
import json
import signal
import time
import unittest

from harness import Client, Host, wait_until, write_flow
from hosts_test import outcome, send_async

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


def start_host(test, *args):
    host = Host(write_flow(FLOW), plugins=["test-module"], args=["--log-level", "debug", *args])
    test.addCleanup(host.kill)
    host.start()
    client = Client(host.address)
    test.addCleanup(client.close)
    return host, client


def received(host, node, n=1):
    """Waits until `host` logged n deliveries to `node` from gRPC."""
    return wait_until(lambda: host.output().count("received message via gRPC to=%s." % node) >= n, timeout=10)


class HealthAndReflectionTest(unittest.TestCase):
    def test_serving_once_loaded(self):
        host, client = start_host(self)
        self.assertEqual(client.health(), "SERVING")
        self.assertEqual(client.health(SERVICE), "SERVING")
        self.assertEqual(client.health("no.such.Service"), "NOT_FOUND")

    def test_reflection_lists_the_services(self):
        host, client = start_host(self)
        services = client.reflection_services()
        self.assertIn(SERVICE.encode(), services)
        self.assertIn(b"grpc.health.v1.Health", services)


class DrainTest(unittest.TestCase):
    def test_inflight_calls_finish_new_calls_are_refused_exit_0(self):
        host, client = start_host(self, "--grace-period", "20s")
        slow = [send_async(client, "slow.in", '{"ms": 2500}', timeout=30) for _ in range(3)]
        self.assertTrue(received(host, "slow", 3), host.output())
        t0 = time.monotonic()
        host.proc.send_signal(signal.SIGTERM)
        self.assertTrue(host.wait_for(r"draining signal=SIGTERM inflight=3", timeout=10), host.output())
        self.assertTrue(wait_until(lambda: client.health() == "NOT_SERVING", timeout=5), host.output())
        self.assertEqual(client.health(SERVICE), "NOT_SERVING")
        self.assertEqual(client.send("echo.in", "{}"), ("UNAVAILABLE", b"", "host is draining"))
        for f in slow:
            self.assertEqual(outcome(f), ("OK", json.dumps({"slept": 2500}, separators=(",", ":")).encode(), ""))
        self.assertEqual(host.proc.wait(20), 0, host.output())
        self.assertLess(time.monotonic() - t0, 15.0)
        out = host.output()
        self.assertNotIn("grace period over", out)
        self.assertIn("node destroyed node=slow", out)
        self.assertIn("stopped", out)

    def test_a_call_open_when_the_grace_period_ends_gets_an_error(self):
        host, client = start_host(self, "--grace-period", "1s")
        held = send_async(client, "never.in", "{}", timeout=60)
        self.assertTrue(received(host, "never"), host.output())
        t0 = time.monotonic()
        host.proc.send_signal(signal.SIGTERM)
        code, _, error = outcome(held)
        took = time.monotonic() - t0
        self.assertIn(code, ("UNAVAILABLE", "CANCELLED"), error)
        self.assertGreater(took, 0.8)
        self.assertLess(took, 8.0)
        self.assertEqual(host.proc.wait(20), 0, host.output())
        self.assertIn("grace period over; cancelling calls inflight=1", host.output())
        print("\ncall open at the end of the grace period: %s %r after %.2fs" % (code, error, took))

    def test_sigterm_with_nothing_in_flight_exits_at_once(self):
        host, client = start_host(self, "--grace-period", "30s")
        self.assertEqual(client.send("echo.in", "1"), ("OK", b"1", ""))
        t0 = time.monotonic()
        self.assertEqual(host.stop(signal.SIGTERM), 0, host.output())
        self.assertLess(time.monotonic() - t0, 5.0)


if __name__ == "__main__":
    unittest.main()
