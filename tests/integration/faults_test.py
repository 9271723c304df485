"""Faults under load, through the real binary: SIGTERM with many callers in
flight (on the host they call, and on the peer behind it), --max-inflight
under a burst, and a blocking component that holds every worker.

Covered elsewhere and not repeated here: a component that throws or
answers garbage (status_test: INTERNAL, the host keeps answering), `never`
held past the caller's deadline while others are answered and
--max-inflight with held calls (status_test), a peer killed mid-call
(hosts_test.PeerRestartTest), a flow file edited to garbage
(reload_test), the drain of a few calls (drain_test).

The invariant of every test: each call a client made ends, within a bound,
with an answer or one of OK, UNAVAILABLE, DEADLINE_EXCEEDED
(RESOURCE_EXHAUSTED past --max-inflight) — none hangs, none vanishes, and
none is CANCELLED by a host (a client does not retry that).
Order is told by events (the signal, the host's log lines), never by how
long something took.
"""
import json
import signal
import threading
import time
import unittest

from harness import Client, ThreadSampler, outcome, send_async, start_host, wait_until, write_flow

FLOW = """
nodes:
  - name: slow
    module: test-module
    component: sleepy
  - name: relay
    module: test-module
    component: relay
    edges: [{port: out, to: echo.in}]
  - name: echo
    module: test-module
    component: echo
  - name: never
    module: test-module
    component: never
"""

# A serves common-module, B test-module: A's transforms forward to B.
TWO_HOST_FLOW = """
nodes:
  - name: a-slow
    module: common-module
    component: transform
    edges: [{port: out, to: b-slow.in}]
  - name: a-relay
    module: common-module
    component: transform
    edges: [{port: out, to: b-relay.in}]
  - name: a-local
    module: common-module
    component: transform
  - name: b-slow
    module: test-module
    component: sleepy
  - name: b-relay
    module: test-module
    component: relay
    edges: [{port: out, to: b-echo.in}]
  - name: b-echo
    module: test-module
    component: echo
"""

ANSWERED = {"OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"}
COMPACT = (",", ":")


class Load:
    """`n` client threads sending in a closed loop through one channel.

    `pick(thread, k)` gives the (to, data) of the k-th call of a thread. A
    thread stops at `stop()` or after its first non-OK answer (so that a
    host that is gone is not hammered). Every call is recorded as
    (before, after, to, data, code, answer, error): `before` if it was sent
    before signalled() was called, `after` if it ended after that.
    """

    def __init__(self, address, n, pick, timeout=60.0):
        self.client = Client(address)
        self.pick = pick
        self.timeout = timeout
        self.records = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.signal_event = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)]
        for t in self.threads:
            t.start()

    def signalled(self):
        """Marks the moment the host under test is signalled (call it just before)."""
        self.signal_event.set()

    def _run(self, i):
        k = 0
        while not self.stop_event.is_set():
            to, data = self.pick(i, k)
            before = not self.signal_event.is_set()
            code, answer, error = self.client.send(to, data, timeout=self.timeout)
            with self.lock:
                self.records.append((before, self.signal_event.is_set(), to, data, code, answer, error))
            k += 1
            if code != "OK":
                return

    def count(self, code=None, to=None):
        with self.lock:
            return sum(1 for r in self.records if (code is None or r[4] == code) and (to is None or r[2] == to))

    def stop(self, timeout):
        """Stops sending; returns True iff every thread ended within `timeout` s (no call hung)."""
        self.stop_event.set()
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        alive = sum(t.is_alive() for t in self.threads)
        if not alive:
            self.client.close()
        return alive == 0

    def done(self):
        return all(not t.is_alive() for t in self.threads)


def expected_answer(to, data):
    if to.startswith("slow") or to.endswith("slow.in"):
        return json.dumps({"slept": json.loads(data)["ms"]}, separators=COMPACT).encode()
    if to == "a-local.in":
        return b""
    return data.encode()


def drain_line_inflight(host):
    line = host.wait_for(r"draining signal=SIGTERM inflight=\d+", timeout=10)
    return int(line.rsplit("inflight=", 1)[1].split()[0]) if line else None


class SigtermUnderLoadTest(unittest.TestCase):
    CLIENTS = 32

    def start(self, *args):
        return start_host(self, write_flow(FLOW), plugins=["test-module"],
                          args=["--log-level", "debug", "--worker-threads", "8", *args])

    @staticmethod
    def mixed(ms):
        # Half the callers on the blocking `sleepy` node, half on relay -> echo.
        def pick(i, k):
            if i % 2 == 0:
                return "slow.in", json.dumps({"ms": ms})
            return "relay.in", json.dumps({"i": i, "k": k}, separators=COMPACT)
        return pick

    def check_answers(self, load):
        for (before, after, to, data, code, answer, error) in load.records:
            self.assertIn(code, ANSWERED, (to, error))
            if code == "OK":
                self.assertEqual(answer, expected_answer(to, data), to)
                self.assertEqual(error, "")

    def test_every_accepted_call_is_answered_within_the_grace_period(self):
        host = self.start("--grace-period", "15s")
        load = Load(host.address, self.CLIENTS, self.mixed(300))
        try:
            self.assertTrue(wait_until(lambda: load.count("OK", "slow.in") >= 16 and load.count("OK", "relay.in") >= 100,
                                       timeout=60), load.records[-3:])
            load.signalled()
            host.proc.send_signal(signal.SIGTERM)
            inflight = drain_line_inflight(host)
            self.assertIsNotNone(inflight, host.output())
            self.assertEqual(host.wait_exit(), 0, host.output())  # and the output read to the end
            self.assertTrue(load.stop(60), "a call hung after the host exited")
        finally:
            load.stop(60)

        self.check_answers(load)
        before = [r for r in load.records if r[0]]
        for (_, _, to, data, code, answer, error) in before:
            # Sent before the signal: answered OK, or refused because it
            # reached the host after the drain began.
            self.assertTrue(code == "OK" or (code == "UNAVAILABLE" and error == "host is draining"),
                            (to, code, error))
        # Everything the host accepted (logged as received) was answered OK:
        # nothing vanished, nothing was cut short.
        out = host.output()
        received = out.count("received message via gRPC")
        self.assertEqual(received, load.count("OK"), "accepted %d, answered OK %d" % (received, load.count("OK")))
        # The calls open when the signal came all finished OK after it.
        ok_after = sum(1 for r in load.records if r[4] == "OK" and r[1])
        self.assertGreaterEqual(ok_after, inflight)
        # With 16 callers on 8 workers, 300 ms each, the drain needs about
        # 0.6 s of the 15 s: it never came to cutting calls short.
        self.assertNotIn("grace period over", out)
        self.assertIn("stopped", out)
        print("\nSIGTERM under load: %d calls, %d OK, %d refused while draining, inflight at the signal %d" %
              (len(load.records), load.count("OK"), load.count("UNAVAILABLE"), inflight))

    def test_calls_past_a_short_grace_period_get_an_error_and_the_rest_ok(self):
        host = self.start("--grace-period", "1s")

        def pick(i, k):
            if i % 4 == 0:
                return "never.in", "{}"
            if i % 4 == 1:
                return "slow.in", json.dumps({"ms": 4000})
            return "relay.in", json.dumps({"i": i, "k": k}, separators=COMPACT)

        load = Load(host.address, self.CLIENTS, pick)
        try:
            self.assertTrue(wait_until(lambda: host.count("received message via gRPC to=never.in") >= 8
                                       and load.count("OK", "relay.in") >= 100, timeout=60), host.output()[-2000:])
            load.signalled()
            host.proc.send_signal(signal.SIGTERM)
            inflight = drain_line_inflight(host)
            over = host.wait_for(r"grace period over; cancelling calls inflight=\d+")
            self.assertTrue(over, host.output()[-2000:])
            self.assertTrue(wait_until(load.done, timeout=60), "a call was not answered after the grace period")
            # The host exits once the sleeps already running end (<= 4 s): a
            # blocking handler cannot be interrupted.
            self.assertEqual(host.wait_exit(), 0, host.output())
        finally:
            self.assertTrue(load.stop(60))

        self.check_answers(load)
        held = [r for r in load.records if r[2] in ("never.in", "slow.in") and r[4] != "OK"]
        self.assertGreaterEqual(len(held), 8)
        for (_, _, to, data, code, answer, error) in held:
            self.assertEqual(code, "UNAVAILABLE", error)
        # The held calls the host had accepted before the signal were still
        # open when the grace period ended (the host counted them then), and
        # were answered at its end: none was cut short before it.
        accepted = [r for r in held if r[0] and r[6] != "host is draining"]
        cut = int(over.rsplit("inflight=", 1)[1].split()[0])
        self.assertGreaterEqual(cut, len(accepted), (cut, [r[2:] for r in accepted]))
        # The fast path got OK, except refusals of calls that arrived after the drain began.
        for (_, _, to, data, code, answer, error) in load.records:
            if to == "relay.in":
                self.assertTrue(code == "OK" or error == "host is draining", (to, code, error))
        print("\nshort grace: inflight at the signal %d, cut at the end of the grace period %d" % (inflight, cut))

    def sigterm_while_sleeping(self, ms):
        """A host with 200 ms of grace gets SIGTERM while `slow` sleeps `ms`;
        returns (host, the call's future)."""
        host = self.start("--grace-period", "200ms")
        client = Client(host.address)
        self.addCleanup(client.close)
        fut = send_async(client, "slow.in", json.dumps({"ms": ms}).encode(), timeout=120)
        self.assertTrue(host.wait_for(r"received message via gRPC to=slow\.in"), host.output())
        host.proc.send_signal(signal.SIGTERM)
        return host, fut

    def test_shutdown_waits_for_a_running_blocking_handler_and_says_so(self):
        # A blocking handler cannot be interrupted: after the grace period
        # the host waits for it (up to another grace period, at least 10 s)
        # before destroying the node, saying so after 1 s, then exits 0.
        host, fut = self.sigterm_while_sleeping(3000)
        self.assertTrue(host.wait_for(r"waiting for running handlers before destroying node=slow running=1 waited_ms="),
                        host.output())
        self.assertEqual(host.wait_exit(), 0, host.output())
        code, _, error = outcome(fut)
        self.assertEqual(code, "UNAVAILABLE", error)
        self.assertIn("node destroyed node=slow", host.output())

    def test_a_handler_that_never_returns_ends_the_host_with_exit_1(self):
        # 60 s of sleep against 200 ms of grace: after the drain and 10 s
        # more for handlers, the host says which node is stuck and exits 1
        # rather than hang until it is killed (long before the sleep ends:
        # the wait for the exit is bounded well below 60 s of sleep plus the drain).
        host, fut = self.sigterm_while_sleeping(60000)
        self.assertEqual(host.wait_exit(50), 1, host.output())
        self.assertTrue(host.wait_for(r"handlers still running 10000 ms after the drain; exiting without destroying "
                                      r"nodes=slow"), host.output())
        self.assertEqual(outcome(fut)[0], "UNAVAILABLE")

    def test_sigterm_to_the_peer_behind_a_host(self):
        # Callers on A; A forwards to B; B gets SIGTERM. B drains its calls,
        # A's callers get OK or UNAVAILABLE, and A keeps answering what it
        # can answer alone.
        flow = write_flow(TWO_HOST_FLOW)
        b = start_host(self, flow, plugins=["test-module"], args=["--log-level", "debug", "--grace-period", "15s"])
        a = start_host(self, flow, plugins=["common-module"], peers={"test-module": b.address})
        self.assertTrue(a.wait_for(r"connected to module module=test-module"), a.output())

        def pick(i, k):
            if i % 2 == 0:
                return "a-slow.in", json.dumps({"ms": 300})
            return "a-relay.in", json.dumps({"i": i, "k": k}, separators=COMPACT)

        load = Load(a.address, self.CLIENTS, pick)
        try:
            self.assertTrue(wait_until(lambda: load.count("OK", "a-slow.in") >= 16, timeout=60), load.records[-3:])
            load.signalled()
            b.proc.send_signal(signal.SIGTERM)
            self.assertEqual(b.wait_exit(), 0, b.output())
            self.assertTrue(b.wait_for(r"\bstopped$"), b.output())
            self.assertTrue(wait_until(load.done, timeout=60), "a caller of A hung after B went away")
        finally:
            self.assertTrue(load.stop(60))
        self.check_answers(load)
        for (before, _, to, data, code, answer, error) in load.records:
            if before:
                # Sent before the signal: B answered it, or refused it while draining.
                self.assertTrue(code == "OK" or (code == "UNAVAILABLE" and error == "host is draining"),
                                (to, code, error))
            # A call that reaches B after its drain is refused (UNAVAILABLE)
            # until B's process ends and its connections close (UNAVAILABLE).
        cancelled = load.count("CANCELLED")
        received = b.output().count("received message via gRPC to=b-slow.in") + \
            b.output().count("received message via gRPC to=b-relay.in")
        self.assertEqual(received, load.count("OK"), "B accepted calls that A's callers did not get OK for")
        self.assertNotIn("grace period over", b.output())
        # A is still up and answers.
        c = Client(a.address)
        self.addCleanup(c.close)
        self.assertEqual(c.send("a-local.in", "1"), ("OK", b"", ""))
        self.assertEqual(c.send("a-relay.in", "1", timeout=30)[0], "UNAVAILABLE")
        self.assertTrue(a.running())
        print("\nSIGTERM to the peer: %d calls through A, %d OK, %d UNAVAILABLE, %d CANCELLED" %
              (len(load.records), load.count("OK"), load.count("UNAVAILABLE"), cancelled))


class MaxInflightBurstTest(unittest.TestCase):
    """status_test holds calls to reach the limit; here a burst crosses it."""

    LIMIT = 16

    def test_a_burst_past_the_limit_is_refused_not_queued_and_the_host_keeps_serving(self):
        host = start_host(self, write_flow(FLOW), plugins=["test-module"],
                           args=["--log-level", "debug", "--max-inflight", str(self.LIMIT), "--worker-threads", "4"])
        client = Client(host.address)
        self.addCleanup(client.close)
        threads_before = host.threads()
        total_ok = 0
        peaks = []
        for burst in range(3):
            sampler = ThreadSampler(host)
            futures = [send_async(client, "slow.in", json.dumps({"ms": 100}), timeout=30) for _ in range(200)]
            results = [outcome(f) for f in futures]
            peaks.append(sampler.stop()[0])
            codes = [r[0] for r in results]
            total_ok += codes.count("OK")
            with self.subTest(burst=burst):
                self.assertEqual(set(codes) - {"OK", "RESOURCE_EXHAUSTED"}, set(), set(codes))
                self.assertGreaterEqual(codes.count("OK"), self.LIMIT // 2, codes)
                self.assertGreater(codes.count("RESOURCE_EXHAUSTED"), 0)
                for code, data, error in results:
                    if code == "RESOURCE_EXHAUSTED":
                        self.assertEqual(error, "too many calls in flight (limit %d)" % self.LIMIT)
                    else:
                        self.assertEqual(data, b'{"slept":100}')
            # Between bursts the host answers at once.
            self.assertEqual(client.send("echo.in", str(burst)), ("OK", str(burst).encode(), ""))
        # gRPC may add a few threads for the first burst; more bursts add none.
        self.assertLessEqual(peaks[0] - threads_before, 6, peaks)
        self.assertLessEqual(max(peaks[1:]), peaks[0] + 1, peaks)
        self.assertTrue(host.running())
        self.assertEqual(host.stop(), 0, host.output())
        self.assertTrue(host.wait_for(r"\bstopped$"), host.output())
        # Only the accepted calls reached the scheduler, and each was answered OK.
        received = host.output().count("received message via gRPC to=slow.in")
        self.assertEqual(received, total_ok)
        print("\nmax-inflight %d: 3 bursts of 200, %d accepted; threads %d, peaks per burst %s" %
              (self.LIMIT, received, threads_before, peaks))


class BlockedWorkersTest(unittest.TestCase):
    """A blocking component that holds every worker (sleepy for a long time):
    its callers get DEADLINE_EXCEEDED at their deadline, and non-blocking
    nodes keep answering, because they never wait for a worker."""

    def test_every_worker_blocked(self):
        host = start_host(self, write_flow(FLOW), plugins=["test-module"],
                          args=["--worker-threads", "2", "--grace-period", "1s", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        # Two calls occupy both workers for 9 s (less than the 10 s the host
        # gives running handlers at shutdown); more queue behind them, and
        # once all have arrived, a blocking call with a long deadline.
        hogs = [send_async(client, "slow.in", json.dumps({"ms": 9000}), timeout=1.0) for _ in range(6)]
        self.assertTrue(host.wait_count("received message via gRPC to=slow.in", 6), host.output())
        queued = send_async(client, "slow.in", '{"ms":0}', timeout=60)
        for i in range(50):
            self.assertEqual(client.send("relay.in", str(i), timeout=30), ("OK", str(i).encode(), ""))
        # Answered while the blocking call sent before them still waits for a worker.
        self.assertFalse(queued.done(), outcome(queued) if queued.done() else None)
        for f in hogs:
            self.assertEqual(outcome(f)[0], "DEADLINE_EXCEEDED")
        self.assertEqual(client.send("echo.in", "1"), ("OK", b"1", ""))
        self.assertEqual(outcome(queued), ("OK", b'{"slept":0}', ""))
        # SIGTERM: the host waits for running sleeps (it cannot interrupt a
        # blocking handler), then exits 0.
        self.assertEqual(host.stop(timeout=60), 0, host.output())


class CancelledQueueTest(unittest.TestCase):
    def test_cancelled_calls_do_not_hold_the_worker_queue(self):
        # One worker, busy 3 s; 20 calls of 10 s each queue behind it (seen
        # arriving in the log) and are cancelled by their client. Without
        # dropping them, a fresh call would wait 200 s more and run into its
        # (generous) deadline; it is answered right after the first. Should
        # the worker free up before the cancel, one queued call runs: 10 s.
        host = start_host(self, write_flow(FLOW), plugins=["test-module"],
                          args=["--worker-threads", "1", "--log-level", "debug"])
        client = Client(host.address)
        self.addCleanup(client.close)
        busy = send_async(client, "slow.in", json.dumps({"ms": 3000}), timeout=60)
        self.assertTrue(host.wait_count("received message via gRPC to=slow.in", 1), host.output())  # busy first
        queued = [send_async(client, "slow.in", json.dumps({"ms": 10000}), timeout=120) for _ in range(20)]
        self.assertTrue(host.wait_count("received message via gRPC to=slow.in", 21), host.output())
        for f in queued:
            self.assertTrue(f.cancel())  # still running on the server side: cancellable
        fresh = send_async(client, "slow.in", json.dumps({"ms": 0}), timeout=60)
        self.assertEqual(outcome(busy), ("OK", b'{"slept":3000}', ""))
        self.assertEqual(outcome(fresh), ("OK", b'{"slept":0}', ""))
        self.assertEqual(host.stop(timeout=60), 0, host.output())


class ChainedBlockingTest(unittest.TestCase):
    """A blocking component that waits (emit_wait) on another blocking one,
    with more callers than workers. A blocking delivery made from a worker
    runs on that worker, so this cannot starve the pool; it used to hang
    every worker for good."""

    CHAIN = """
nodes:
  - name: ask1
    module: test-module
    component: asker
    edges: [{port: out, to: ask2.in}]
  - name: ask2
    module: test-module
    component: asker
    edges: [{port: out, to: slow.in}]
  - name: slow
    module: test-module
    component: sleepy
"""

    def test_more_callers_than_workers_all_answered(self):
        host = start_host(self, write_flow(self.CHAIN), plugins=["test-module"], args=["--worker-threads", "2"])
        client = Client(host.address)
        self.addCleanup(client.close)
        for round_ in range(3):
            calls = [send_async(client, "ask1.in", json.dumps({"ms": 20}), timeout=20) for _ in range(12)]
            for f in calls:
                self.assertEqual(outcome(f), ("OK", b'{"slept":20}', ""), round_)
        self.assertEqual(host.stop(), 0, host.output())


if __name__ == "__main__":
    unittest.main()
