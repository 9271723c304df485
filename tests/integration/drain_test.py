"""Health, reflection and the drain on SIGTERM, against the real binary."""
import json
import signal
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
        code, _, error = outcome(held)
        self.assertIn(code, ("UNAVAILABLE", "CANCELLED"), error)
        self.assertEqual(host.wait_exit(), 0, host.output())
        print("\ncall open at the end of the grace period: %s %r" % (code, error))

    def test_sigterm_with_nothing_in_flight_exits_at_once(self):
        # A grace period far longer than the bounded wait for the exit: the
        # host exits without waiting for it.
        host, client = host_and_client(self, "--grace-period", "30m")
        self.assertEqual(client.send("echo.in", "1"), ("OK", b"1", ""))
        self.assertEqual(host.stop(signal.SIGTERM, timeout=60), 0, host.output())
        self.assertRegex(host.output(), r"draining signal=SIGTERM inflight=0 ")
        self.assertNotIn("grace period over", host.output())


if __name__ == "__main__":
    unittest.main()
