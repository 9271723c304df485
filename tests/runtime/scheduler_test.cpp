// The scheduler with real plugins: routing, fan-out, mapping, hop limit,
// blocking components, concurrency and reconciliation.
#include "host/runtime/scheduler.h"

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "host/base/bytes.h"
#include "support/host_test_support.h"

using namespace tiny::host;
using tiny::test::Answer;
using tiny::test::RecordingCall;

namespace {

ModuleRegistry& Registry() {
  static ModuleRegistry* registry = [] {
    auto* r = new ModuleRegistry();
    tiny::test::LoadInto(*r, TEST_MODULE_SO);
    tiny::test::LoadInto(*r, COMMON_MODULE_SO);
    return r;
  }();
  return *registry;
}

FlowSet Flow(const std::string& yaml) {
  return ParseFlows({{"test.yaml", yaml}}, Registry(), [](std::string_view) { return false; });
}

// Delivers `data` to node.port and waits for the answer.
Answer SendVia(Scheduler& scheduler, const std::string& node, const std::string& port, const std::string& data,
               CallContext ctx = {}) {
  auto* call = new RecordingCall(std::move(ctx));
  auto state = call->state;
  scheduler.DeliverToAddress(node, port, "test.out", data, call);
  auto answer = state->Wait();
  REQUIRE(answer.has_value());
  return *answer;
}

struct Host {
  explicit Host(const std::string& yaml, SchedulerOptions options = {}) : scheduler(Registry(), options) {
    auto errors = scheduler.Reconcile(Flow(yaml));
    REQUIRE(errors.empty());
  }
  Answer Send(const std::string& node, const std::string& port, const std::string& data, CallContext ctx = {}) {
    return SendVia(scheduler, node, port, data, std::move(ctx));
  }
  Scheduler scheduler;
};

}  // namespace

TEST_CASE("a message follows edges and the answer travels back") {
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: b.in}]}
  - {name: b, module: test-module, component: echo}
)");
  Answer a = host.Send("a", "in", R"({"x":1})");
  CHECK(a.status == TINY_STATUS_OK);
  CHECK(a.error.empty());
  CHECK(a.data == R"({"x":1})");
}

TEST_CASE("an edge mapping reshapes the message") {
  Host host(R"(
nodes:
  - name: a
    module: test-module
    component: relay
    edges:
      - port: out
        to: b.in
        data: {greeting: "Hello {{$.name}}!", n: "{{$.n + 1}}"}
  - {name: b, module: test-module, component: echo}
)");
  Answer a = host.Send("a", "in", R"({"name":"Ada","n":41})");
  CHECK(nlohmann::json::parse(a.data) == nlohmann::json{{"greeting", "Hello Ada!"}, {"n", 42}});
}

TEST_CASE("fan-out answers the first non-empty data, else the first error") {
  Host host(R"(
nodes:
  - name: a
    module: test-module
    component: relay
    edges: [{port: out, to: f.in}, {port: out, to: e.in}]
  - name: b
    module: test-module
    component: relay
    edges: [{port: out, to: f.in}, {port: out, to: f2.in}]
  - {name: e, module: test-module, component: echo}
  - {name: f, module: test-module, component: fail}
  - {name: f2, module: test-module, component: fail}
)");
  Answer a = host.Send("a", "in", R"("hi")");
  CHECK(a.data == R"("hi")");
  CHECK(a.error.empty());
  Answer b = host.Send("b", "in", R"("hi")");
  CHECK(b.status == TINY_STATUS_OK);
  CHECK(b.error == "failed on purpose");
}

TEST_CASE("a port without edges answers empty; an undeclared node or port is NOT_FOUND") {
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: relay}
)");
  Answer a = host.Send("a", "in", "{}");
  CHECK(a.status == TINY_STATUS_OK);
  CHECK(a.data.empty());
  CHECK(host.Send("nope", "in", "{}").status == TINY_STATUS_NOT_FOUND);
  Answer p = host.Send("a", "bogus", "{}");
  CHECK(p.status == TINY_STATUS_NOT_FOUND);
  CHECK(p.error.find("bogus") != std::string::npos);
}

TEST_CASE("a cycle ends at the hop limit with FAILED_PRECONDITION, not a stack overflow") {
  Host host(R"(
nodes:
  - {name: loop, module: test-module, component: relay, edges: [{port: out, to: loop.in}]}
)");
  Answer a = host.Send("loop", "in", "{}");
  CHECK(a.status == TINY_STATUS_FAILED_PRECONDITION);
  CHECK(a.error.find("hop limit 256") != std::string::npos);

  // A message that arrives already deep fails at once.
  CallContext deep;
  deep.hop = kHopLimit;
  CHECK(host.Send("loop", "in", "{}", deep).status == TINY_STATUS_FAILED_PRECONDITION);
}

TEST_CASE("the hop counter counts every local delivery") {
  // A chain of 255 relays ending in echo is 256 deliveries: hops 0..255.
  std::string yaml = "nodes:\n";
  for (int i = 0; i < 255; ++i)
    yaml += "  - {name: r" + std::to_string(i) + ", module: test-module, component: relay, edges: [{port: out, to: " +
            (i == 254 ? std::string("end") : "r" + std::to_string(i + 1)) + ".in}]}\n";
  yaml += "  - {name: end, module: test-module, component: echo}\n";
  Host host(yaml);
  CHECK(host.Send("r0", "in", "1").data == "1");
  // One more hop is over the limit.
  CallContext one_deeper;
  one_deeper.hop = 1;
  CHECK(host.Send("r0", "in", "1", one_deeper).status == TINY_STATUS_FAILED_PRECONDITION);
}

TEST_CASE("a blocking component runs on the worker pool, not the delivering thread") {
  Host host(R"(
nodes:
  - {name: s, module: test-module, component: sleepy}
)");
  auto* call = new RecordingCall();
  auto state = call->state;
  host.scheduler.DeliverToAddress("s", "in", "t", R"({"ms":1})", call);
  auto answer = state->Wait();
  REQUIRE(answer);
  CHECK(nlohmann::json::parse(answer->data)["slept"] == 1);
  CHECK(state->thread != std::this_thread::get_id());
}

TEST_CASE("a non-blocking component answers inline on the delivering thread") {
  Host host(R"(
nodes:
  - {name: e, module: test-module, component: echo}
)");
  auto* call = new RecordingCall();
  auto state = call->state;
  host.scheduler.DeliverToAddress("e", "in", "t", "{}", call);
  REQUIRE(state->answer.has_value());  // answered before DeliverToAddress returned
  CHECK(state->thread == std::this_thread::get_id());
}

TEST_CASE("concurrent deliveries are all answered exactly once") {
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: c.in}]}
  - {name: c, module: test-module, component: counter}
)");
  constexpr int kThreads = 8, kEach = 500;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto* call = new RecordingCall();
        auto state = call->state;
        host.scheduler.DeliverToAddress("a", "in", "t", "{}", call);
        auto a = state->Wait();
        if (a && a->status == TINY_STATUS_OK && !a->data.empty()) answered.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  CHECK(answered.load() == kThreads * kEach);
  Answer last = host.Send("c", "in", "{}");
  CHECK(nlohmann::json::parse(last.data)["count"] == kThreads * kEach + 1);
}

TEST_CASE("a component that throws answers INTERNAL and the node keeps working") {
  Host host(R"(
nodes:
  - {name: t, module: test-module, component: thrower}
)");
  Answer a = host.Send("t", "in", "{}");
  CHECK(a.status == TINY_STATUS_INTERNAL);
  CHECK(a.error.find("boom") != std::string::npos);
  CHECK(host.Send("t", "in", "{}").status == TINY_STATUS_INTERNAL);
}

TEST_CASE("a node of a module nobody serves is UNAVAILABLE: module not discovered") {
  ModuleRegistry& r = Registry();
  auto flows = ParseFlows({{"t.yaml", "nodes:\n  - {name: far, module: elsewhere, component: x}\n"}}, r,
                          [](std::string_view m) { return m == "elsewhere"; });
  Scheduler scheduler(r, {});
  REQUIRE(scheduler.Reconcile(flows).empty());
  Answer a = SendVia(scheduler, "far", "in", "{}");
  CHECK(a.status == TINY_STATUS_UNAVAILABLE);
  CHECK(a.error == "module not discovered: elsewhere");
}

TEST_CASE("a passed deadline is DEADLINE_EXCEEDED before delivery") {
  Host host("nodes:\n  - {name: e, module: test-module, component: echo}\n");
  CallContext late;
  late.deadline = Clock::now() - std::chrono::milliseconds(1);
  CHECK(host.Send("e", "in", "{}", late).status == TINY_STATUS_DEADLINE_EXCEEDED);
}

TEST_CASE("reconcile keeps unchanged nodes, replaces changed ones and rewires edges") {
  Scheduler scheduler(Registry(), {});
  auto flow = [](int start, const char* target) {
    return Flow(std::string("nodes:\n") +
                "  - {name: a, module: test-module, component: relay, edges: [{port: out, to: " + target + ".in}]}\n" +
                "  - {name: c, module: test-module, component: counter, settings: {start: " + std::to_string(start) +
                "}}\n  - {name: e, module: test-module, component: echo}\n");
  };
  auto send = [&](const char* node) { return SendVia(scheduler, node, "in", R"({"v":1})"); };
  REQUIRE(scheduler.Reconcile(flow(0, "c")).empty());
  CHECK(send("a").data == R"({"count":1})");
  auto c_before = scheduler.graph()->Find("c")->local;
  auto e_before = scheduler.graph()->Find("e")->local;

  // Same settings, new edge target: a is rewired, c and e survive.
  REQUIRE(scheduler.Reconcile(flow(0, "e")).empty());
  CHECK(send("a").data == R"({"v":1})");
  CHECK(scheduler.graph()->Find("c")->local == c_before);
  CHECK(send("c").data == R"({"count":2})");  // state kept

  // Changed settings: c is destroyed and created anew.
  REQUIRE(scheduler.Reconcile(flow(100, "c")).empty());
  CHECK(scheduler.graph()->Find("c")->local != c_before);
  CHECK(c_before->state.load() == NodeState::kStopped);
  CHECK(scheduler.graph()->Find("e")->local == e_before);
  CHECK(send("a").data == R"({"count":101})");

  // Removed node: gone, and NOT_FOUND.
  REQUIRE(scheduler.Reconcile(Flow("nodes:\n  - {name: e, module: test-module, component: echo}\n")).empty());
  CHECK(send("c").status == TINY_STATUS_NOT_FOUND);
}

TEST_CASE("settings a component rejects are reported and the running graph stays as it was") {
  Scheduler scheduler(Registry(), {});
  REQUIRE(scheduler.Reconcile(Flow("nodes:\n  - {name: c, module: test-module, component: counter}\n")).empty());
  auto c_before = scheduler.graph()->Find("c")->local;
  CHECK(SendVia(scheduler, "c", "in", "{}").data == R"({"count":1})");
  auto errors = scheduler.Reconcile(Flow(
      "nodes:\n  - {name: c, module: test-module, component: counter, settings: {start: 7}}\n"
      "  - {name: p, module: test-module, component: picky, settings: {reject: true}}\n"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "test.yaml: node 'p': settings: reject was set");
  // Nothing of the rejected flows was published, nor left running: the old c still counts.
  CHECK(scheduler.graph()->Find("p") == nullptr);
  CHECK(SendVia(scheduler, "p", "in", "{}").status == TINY_STATUS_NOT_FOUND);
  CHECK(scheduler.graph()->Find("c")->local == c_before);
  CHECK(SendVia(scheduler, "c", "in", "{}").data == R"({"count":2})");
}

TEST_CASE("a changed node answers through its old instance until the new one runs") {
  Scheduler scheduler(Registry(), {});
  auto flow = [](int ms, const char* tag) {
    return Flow("nodes:\n  - {name: s, module: test-module, component: slowstart, settings: {ms: " +
                std::to_string(ms) + ", tag: " + tag + "}}\n");
  };
  REQUIRE(scheduler.Reconcile(flow(0, "old")).empty());
  std::atomic<bool> reloaded{false};
  std::thread reload([&] {
    CHECK(scheduler.Reconcile(flow(300, "new")).empty());  // the new instance takes 300 ms to start
    reloaded = true;
  });
  // Every message sent meanwhile is answered by one instance or the other:
  // none finds the node down (before, the new graph was published first).
  int during = 0;
  std::map<std::string, int> answers;
  while (!reloaded) {
    Answer a = SendVia(scheduler, "s", "in", "{}");
    REQUIRE(a.status == TINY_STATUS_OK);
    ++answers[a.data];
    ++during;
  }
  reload.join();
  CHECK(during > 0);
  CHECK(answers.count(R"({"tag":"old"})") == 1);
  CHECK(SendVia(scheduler, "s", "in", "{}").data == R"({"tag":"new"})");
}

TEST_CASE("shutdown answers calls a node still holds") {
  auto scheduler = std::make_unique<Scheduler>(Registry(), SchedulerOptions{});
  REQUIRE(scheduler->Reconcile(Flow("nodes:\n  - {name: n, module: test-module, component: never}\n")).empty());
  auto* call = new RecordingCall();
  auto state = call->state;
  scheduler->DeliverToAddress("n", "in", "t", "{}", call);
  CHECK_FALSE(state->answer.has_value());
  scheduler->Shutdown();
  auto a = state->Wait();
  REQUIRE(a);
  CHECK(a->error == "node destroyed");
}

TEST_CASE("WaitForRootEmits returns once every emit without a cause is answered") {
  Host host(R"(
nodes:
  - {name: src, module: test-module, component: relay, edges: [{port: out, to: hold.in}]}
  - {name: hold, module: test-module, component: never}
)");
  CHECK(host.scheduler.WaitForRootEmits(Clock::now()));  // none open
  const GraphEntry* src = host.scheduler.graph()->Find("src");
  REQUIRE(src != nullptr);
  REQUIRE(src->local != nullptr);
  std::atomic<bool> answered{false};
  auto done = [](void* user, const tiny_result*) { static_cast<std::atomic<bool>*>(user)->store(true); };
  // A root emit, as from a component's own thread (an HTTP request): `hold` keeps it open.
  host.scheduler.Emit(*src->local, nullptr, "out", "{}", done, &answered);
  CHECK(host.scheduler.root_emits() == 1);
  CHECK_FALSE(host.scheduler.WaitForRootEmits(Clock::now() + std::chrono::milliseconds(20)));
  // Removing `hold` answers what it holds, on another thread than the waiter's.
  std::vector<std::string> errors;
  std::thread reload([&] {
    errors = host.scheduler.Reconcile(Flow("nodes:\n  - {name: src, module: test-module, component: relay}\n"));
  });
  CHECK(host.scheduler.WaitForRootEmits(Clock::now() + std::chrono::seconds(30)));
  reload.join();
  CHECK(errors.empty());
  CHECK(answered.load());
  CHECK(host.scheduler.root_emits() == 0);
}

TEST_CASE("a cycle that branches ends at --max-fanout deliveries, long before the hop limit") {
  SchedulerOptions options;
  options.max_fanout = 1000;
  Host host(R"(
nodes:
  - {name: twice, module: test-module, component: relay, edges: [{port: out, to: twice.in}, {port: out, to: twice.in}]}
)",
            options);
  // Without the budget: 2^256 deliveries before the hop limit.
  Answer a = host.Send("twice", "in", "{}");
  CHECK(a.status == TINY_STATUS_FAILED_PRECONDITION);
  CHECK(a.error.find("more than 1000 deliveries from one message at twice.out") != std::string::npos);
}

TEST_CASE("blocking nodes calling blocking nodes through a delay end at their deadline, not in a deadlock") {
  // Two workers, six calls: the first two run `a1`, which waits (emit_wait)
  // on `d`; `d`'s timer then delivers to the blocking `a2`, queued behind
  // the four calls still waiting for `a1`. Every worker waits on something
  // queued behind it: only the queue's own deadlines can end this.
  SchedulerOptions options;
  options.worker_threads = 2;
  Host host(R"(
nodes:
  - {name: a1, module: test-module, component: asker, edges: [{port: out, to: d.in}]}
  - {name: d, module: common-module, component: delay, settings: {delay: 300}, edges: [{port: out, to: a2.in}]}
  - {name: a2, module: test-module, component: asker, edges: [{port: out, to: s.in}]}
  - {name: s, module: test-module, component: sleepy}
)",
            options);
  CallContext ctx;
  ctx.deadline = Clock::now() + std::chrono::milliseconds(1500);
  std::vector<std::shared_ptr<RecordingCall::State>> states;
  for (int i = 0; i < 6; ++i) {
    auto* call = new RecordingCall(ctx);
    states.push_back(call->state);
    host.scheduler.DeliverToAddress("a1", "in", "test.out", R"({"ms":0})", call);
  }
  for (auto& state : states) {
    auto answer = state->Wait(std::chrono::seconds(30));
    REQUIRE(answer.has_value());
    CHECK(answer->status == TINY_STATUS_DEADLINE_EXCEEDED);
  }
  // The workers are free again: the same flow answers a call with time to spare.
  CallContext roomy;
  roomy.deadline = Clock::now() + std::chrono::seconds(30);
  auto ok = host.Send("a1", "in", R"({"ms":0})", roomy);
  CHECK(ok.status == TINY_STATUS_OK);
  CHECK(ok.data == R"({"slept":0})");
}

TEST_CASE("a full worker queue answers RESOURCE_EXHAUSTED at once") {
  SchedulerOptions options;
  options.worker_threads = 1;
  options.max_queued = 2;
  Host host("nodes:\n  - {name: s, module: test-module, component: sleepy}\n", options);
  // One worker and two places in its queue: of four calls at least one is
  // refused, and a refusal is answered before DeliverToAddress returns.
  std::vector<std::shared_ptr<RecordingCall::State>> states;
  for (int i = 0; i < 4; ++i) {
    auto* call = new RecordingCall();
    states.push_back(call->state);
    host.scheduler.DeliverToAddress("s", "in", "test.out", R"({"ms":300})", call);
  }
  // Which one depends on when the worker took the first off the queue.
  int refused = 0;
  for (auto& state : states) {
    auto now = state->Wait(std::chrono::milliseconds(0));
    if (!now || now->status != TINY_STATUS_RESOURCE_EXHAUSTED) continue;  // queued, running or (after a stall) done
    CHECK(now->error == "too many messages queued for workers (limit 2) at node s");
    ++refused;
  }
  CHECK(refused >= 1);
  auto first = states.front()->Wait(std::chrono::seconds(30));
  REQUIRE(first.has_value());
  CHECK(first->status == TINY_STATUS_OK);
  for (auto& state : states) CHECK(state->Wait(std::chrono::seconds(30)).has_value());
}

TEST_CASE("shutdown answers deliveries still queued for a worker, freeing the handlers that wait on them") {
  SchedulerOptions options;
  options.worker_threads = 1;
  auto scheduler = std::make_unique<Scheduler>(Registry(), options);
  REQUIRE(scheduler
              ->Reconcile(Flow(R"(
nodes:
  - {name: a1, module: test-module, component: asker, edges: [{port: out, to: d.in}]}
  - {name: d, module: common-module, component: delay, settings: {delay: 50}, edges: [{port: out, to: a2.in}]}
  - {name: a2, module: test-module, component: asker}
)"))
              .empty());
  auto* call = new RecordingCall();  // the default deadline: 30 s
  auto state = call->state;
  scheduler->DeliverToAddress("a1", "in", "test.out", "{}", call);
  // a1 holds the only worker until its emit (through d to a2) is answered;
  // a2's deliveries, this one and d's, wait behind it.
  auto* queued = new RecordingCall();
  auto queued_state = queued->state;
  scheduler->DeliverToAddress("a2", "in", "test.out", "{}", queued);
  CHECK(scheduler->Shutdown(Clock::now() + std::chrono::seconds(20)).empty());
  auto answer = state->Wait(std::chrono::seconds(0));
  REQUIRE(answer.has_value());
  CHECK(answer->status == TINY_STATUS_UNAVAILABLE);
  auto q = queued_state->Wait(std::chrono::seconds(0));
  REQUIRE(q.has_value());
  CHECK(q->status == TINY_STATUS_UNAVAILABLE);
}

TEST_CASE("a blocking handler waiting on an emit that a component holds is answered at the deadline") {
  // `never` keeps the delivery and answers it only when destroyed; the
  // asker waiting on it gets DEADLINE_EXCEEDED from the host and returns.
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: asker, edges: [{port: out, to: n.in}]}
  - {name: n, module: test-module, component: never}
)");
  CallContext ctx;
  ctx.deadline = Clock::now() + std::chrono::milliseconds(300);
  auto* call = new RecordingCall(ctx);
  auto state = call->state;
  host.scheduler.DeliverToAddress("a", "in", "test.out", "{}", call);
  auto answer = state->Wait(std::chrono::seconds(30));
  REQUIRE(answer.has_value());
  CHECK(answer->status == TINY_STATUS_DEADLINE_EXCEEDED);
  CHECK(answer->error == "deadline exceeded waiting for the answer to the emit from a.out");
}

TEST_CASE("an emit whose data is not JSON is INVALID_ARGUMENT, with or without an edge mapping") {
  Host host(R"(
nodes:
  - {name: plain, module: test-module, component: garbage_relay, edges: [{port: out, to: e.in}]}
  - name: mapped
    module: test-module
    component: garbage_relay
    edges: [{port: out, to: e.in, data: {wrapped: "{{$}}"}}]
  - {name: e, module: test-module, component: echo}
)");
  Answer plain = host.Send("plain", "in", "{}");
  Answer mapped = host.Send("mapped", "in", "{}");
  CHECK(plain.status == TINY_STATUS_INVALID_ARGUMENT);
  CHECK(mapped.status == TINY_STATUS_INVALID_ARGUMENT);
  CHECK(plain.data.empty());  // nothing reached e to echo it
  CHECK(plain.error.rfind("plain.out emitted data that is not JSON: ", 0) == 0);
  CHECK(mapped.error.rfind("mapped.out emitted data that is not JSON: ", 0) == 0);
  // The same words after the node's name.
  CHECK(plain.error.substr(std::string("plain").size()) == mapped.error.substr(std::string("mapped").size()));
}

namespace {

// Stands in for the client pool: throws where copying the message for the
// network could (bad_alloc, length_error), optionally after answering.
class ThrowingRemote final : public RemoteSender {
 public:
  explicit ThrowingRemote(bool answer_first = false) : answer_first_(answer_first) {}
  void Send(const std::string&, const std::string&, const std::string&, std::string_view, uint32_t,
            tiny_call* call) override {
    sends.fetch_add(1);
    if (answer_first_) {
      static constexpr std::string_view kData = R"({"from":"remote"})";
      tiny_result r{TINY_STATUS_OK, tiny::host::AsBytes(kData), {}};
      call->TryComplete(r);
    }
    throw std::length_error("basic_string::_M_create");
  }
  std::atomic<int> sends{0};

 private:
  bool answer_first_;
};

// An emit's done that counts how often it ran and keeps the last answer.
struct CountingDone {
  std::atomic<int> calls{0};
  Answer last;
  static void Done(void* user, const tiny_result* r) {
    auto* self = static_cast<CountingDone*>(user);
    self->last = Answer{r->status, std::string(tiny::host::AsView(r->data)), std::string(tiny::host::AsView(r->error))};
    self->calls.fetch_add(1);
  }
};

FlowSet RemoteFlow(int edges) {
  std::string yaml = "nodes:\n  - name: fwd\n    module: test-module\n    component: relay\n    edges:\n";
  for (int i = 0; i < edges; ++i) yaml += "      - {port: out, to: far.in, data: {n: \"{{$.n}}\"}}\n";
  yaml += "  - {name: far, module: elsewhere, component: x}\n";
  return ParseFlows({{"t.yaml", yaml}}, Registry(), [](std::string_view m) { return m == "elsewhere"; });
}

}  // namespace

TEST_CASE("a delivery that throws completes the forwarded call and the emit exactly once, INTERNAL") {
  for (int edges : {1, 2}) {
    CAPTURE(edges);
    ThrowingRemote remote;
    Scheduler scheduler(Registry(), {});
    scheduler.set_remote(&remote);
    REQUIRE(scheduler.Reconcile(RemoteFlow(edges)).empty());

    // A call from outside that `fwd` forwards along the throwing edge(s):
    // answered now, not at its deadline.
    Answer forwarded = SendVia(scheduler, "fwd", "in", R"({"n":1})");
    CHECK(forwarded.status == TINY_STATUS_INTERNAL);
    CHECK(forwarded.error == "delivery failed on the host (see its log)");

    // A root emit (an HTTP request, a tick) along the same edge(s): done
    // once, and the drain has nothing to wait for.
    const GraphEntry* fwd = scheduler.graph()->Find("fwd");
    REQUIRE(fwd != nullptr);
    CountingDone done;
    scheduler.Emit(*fwd->local, nullptr, "out", R"({"n":2})", &CountingDone::Done, &done);
    CHECK(done.calls.load() == 1);
    CHECK(done.last.status == TINY_STATUS_INTERNAL);
    CHECK(scheduler.root_emits() == 0);
    CHECK(scheduler.WaitForRootEmits(Clock::now()));
    CHECK(remote.sends.load() == 2 * edges);
    scheduler.Shutdown();
  }
}

TEST_CASE("a delivery that throws after it answered keeps that answer: still exactly once") {
  ThrowingRemote remote(/*answer_first=*/true);
  Scheduler scheduler(Registry(), {});
  scheduler.set_remote(&remote);
  REQUIRE(scheduler.Reconcile(RemoteFlow(1)).empty());
  const GraphEntry* fwd = scheduler.graph()->Find("fwd");
  REQUIRE(fwd != nullptr);
  CountingDone done;
  scheduler.Emit(*fwd->local, nullptr, "out", R"({"n":1})", &CountingDone::Done, &done);
  CHECK(done.calls.load() == 1);
  CHECK(done.last.status == TINY_STATUS_OK);
  CHECK(done.last.data == R"({"from":"remote"})");
  CHECK(scheduler.root_emits() == 0);
  scheduler.Shutdown();
}

// --- counting for /metrics and /status (host/runtime/stats.h) -------------

namespace {

struct MeasuringScope {
  explicit MeasuringScope(bool on) { SetMeasuring(on); }
  ~MeasuringScope() { SetMeasuring(false); }
};

std::shared_ptr<Node> LocalNode(Host& host, const std::string& name) {
  const GraphEntry* entry = host.scheduler.graph()->Find(name);
  REQUIRE(entry != nullptr);
  REQUIRE(entry->local);
  return entry->local;
}

uint64_t EdgeCount(Node& node, const std::string& port) {
  const std::vector<Route>* routes = node.edges()->Find(port);
  REQUIRE(routes != nullptr);
  return routes->front().count->load();
}

constexpr const char* kCounted = R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: b.in}]}
  - {name: b, module: test-module, component: echo}
  - {name: f, module: test-module, component: fail}
)";

}  // namespace

TEST_CASE("while measuring, deliveries, answers, errors, latency and edges are counted per node") {
  Host host(kCounted);
  auto a = LocalNode(host, "a"), b = LocalNode(host, "b"), f = LocalNode(host, "f");
  {
    MeasuringScope off(false);
    CHECK(host.Send("a", "in", "{}").status == TINY_STATUS_OK);
    CHECK(a->stats->messages() == 0);
    CHECK(EdgeCount(*a, "out") == 0);
  }
  MeasuringScope on(true);
  for (int i = 0; i < 3; ++i) CHECK(host.Send("a", "in", R"({"i":1})").status == TINY_STATUS_OK);
  Answer failed = host.Send("f", "in", "{}");
  CHECK((failed.status != TINY_STATUS_OK || !failed.error.empty()));
  CHECK(a->stats->messages() == 3);
  CHECK(a->stats->delivered[0].load() == 3);
  CHECK(b->stats->messages() == 3);
  CHECK(a->stats->answers[TINY_STATUS_OK].load() == 3);
  CHECK(a->stats->errors.load() == 0);
  CHECK(EdgeCount(*a, "out") == 3);
  CHECK(f->stats->errors.load() == 1);
  NodeStats::LastError last = f->stats->last_error();
  CHECK(!last.message.empty());
  CHECK(last.time.time_since_epoch().count() > 0);
  std::array<uint64_t, LatencyHistogram::kBounds.size() + 1> buckets{};
  uint64_t sum_ns = 0;
  a->stats->latency.AddTo(buckets, sum_ns);
  uint64_t samples = 0;
  for (uint64_t n : buckets) samples += n;
  CHECK(samples == 3);
  CHECK(sum_ns > 0);
  // A delivery refused before the handler (no such port) is not a message of the node.
  CHECK(host.Send("a", "nosuch", "{}").status == TINY_STATUS_NOT_FOUND);
  CHECK(a->stats->messages() == 3);
}

TEST_CASE("a reload that keeps an edge keeps its count; a new edge starts at zero") {
  MeasuringScope on(true);
  Host host(kCounted);
  CHECK(host.Send("a", "in", "{}").status == TINY_STATUS_OK);
  auto a = LocalNode(host, "a");
  REQUIRE(EdgeCount(*a, "out") == 1);
  // `a` is unchanged (kept), `c` is new: a's table is rebuilt with a second edge.
  auto errors = host.scheduler.Reconcile(Flow(R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: b.in}, {port: out, to: c.in}]}
  - {name: b, module: test-module, component: echo}
  - {name: c, module: test-module, component: echo}
)"));
  REQUIRE(errors.empty());
  REQUIRE(LocalNode(host, "a") == a);
  const std::vector<Route>* routes = a->edges()->Find("out");
  REQUIRE(routes->size() == 2);
  CHECK((*routes)[0].count->load() == 1);
  CHECK((*routes)[1].count->load() == 0);
}

TEST_CASE("tiny.metrics/1: names are checked, families agree, codes are bounded") {
  MeasuringScope on(true);
  Host host(kCounted);
  auto a = LocalNode(host, "a");  // component "relay"
  NodeMetrics& m = a->plugin_metrics;
  tiny_metric* requests = m.Define("relay", "relay_requests_total", TINY_METRIC_COUNTER, "requests");
  REQUIRE(requests != nullptr);
  CHECK(m.Define("relay", "relay_requests_total", TINY_METRIC_COUNTER, "requests") == requests);
  CHECK(m.Define("relay", "relay_requests_total", TINY_METRIC_HISTOGRAM, "requests") == nullptr);  // kind
  CHECK(m.Define("relay", "relay_requests_total", TINY_METRIC_COUNTER, "other help") == nullptr);  // help
  CHECK(m.Define("relay", "echo_requests_total", TINY_METRIC_COUNTER, "x") == nullptr);   // not its prefix
  CHECK(m.Define("relay", "relay_requests", TINY_METRIC_COUNTER, "x") == nullptr);        // no _total
  CHECK(m.Define("relay", "relay_wait_seconds_total", TINY_METRIC_HISTOGRAM, "x") == nullptr);
  CHECK(m.Define("relay", "relay_Bad_total", TINY_METRIC_COUNTER, "x") == nullptr);
  CHECK(m.Define("relay", "relay_x_total", 7, "x") == nullptr);
  CHECK(m.Define("relay", ("relay_" + std::string(100, 'a') + "_total").c_str(), TINY_METRIC_COUNTER, "x") == nullptr);
  const tiny_host_metrics_api* api = MetricsApi();
  api->add(requests, 200, 2);
  api->add(requests, -1, 1);
  api->add(requests, 5000, 1);  // out of range
  for (int code = 300; code < 340; ++code) api->add(requests, code, 1);  // past the 32 slots
  std::map<int32_t, uint64_t> seen;
  for (const auto& slot : requests->slots)
    if (slot.code.load() != tiny_metric::kEmpty) seen[slot.code.load()] += slot.value.load();
  CHECK(seen[200] == 2);
  CHECK(seen[tiny_metric::kNoCode] == 1);
  CHECK(seen.size() == 33);  // 32 slots and "other"
  CHECK(seen[tiny_metric::kOther] == 1 + (40 - 30));  // 5000, and the 10 codes past the slots
  tiny_metric* wait = api->define(a->handle(), "relay_wait_seconds", TINY_METRIC_HISTOGRAM, "waits");
  REQUIRE(wait != nullptr);
  api->observe(wait, 0.002);
  api->observe(wait, -1);   // refused
  api->add(wait, 200, 1);   // a histogram has no add
  std::array<uint64_t, LatencyHistogram::kBounds.size() + 1> buckets{};
  uint64_t sum_ns = 0;
  wait->histogram.AddTo(buckets, sum_ns);
  CHECK(sum_ns == 2000000);
  for (int i = 0; i < 20; ++i) m.Define("relay", ("relay_n" + std::to_string(i) + "_total").c_str(), TINY_METRIC_COUNTER, "n");
  int count = 0;
  m.ForEach([&](const tiny_metric&) { ++count; });
  CHECK(count == 16);  // at most 16 per node
}

namespace {

// Records the spans the scheduler ends, while installed.
class RecordingSpanSink final : public SpanSink {
 public:
  RecordingSpanSink() { SetSpanSink(this); }
  ~RecordingSpanSink() override { SetSpanSink(nullptr); }
  void OnSpanEnd(const TraceContext& span, std::chrono::steady_clock::time_point, int32_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    spans_.push_back(span);
  }
  // The ended span that delivered to `name`; fails the test when not one.
  TraceContext Of(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<TraceContext> hits;
    for (const auto& s : spans_)
      if (s.name == name) hits.push_back(s);
    REQUIRE(hits.size() == 1);
    return hits.front();
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_.size();
  }

 private:
  std::mutex mu_;
  std::vector<TraceContext> spans_;
};

CallContext Traced(const std::string& to) {
  CallContext ctx;
  auto sender = ContinueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE");
  REQUIRE(sender);
  ctx.trace = std::make_shared<const TraceContext>(sender->Child(to));
  return ctx;
}

}  // namespace

TEST_CASE("a traced message keeps its trace id and gets a new span at every hop, through emits") {
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: b.in}]}
  - {name: b, module: test-module, component: relay, edges: [{port: out, to: c.in}]}
  - {name: c, module: test-module, component: trace_probe}
)");
  RecordingSpanSink sink;
  CallContext ctx = Traced("a.in");
  const std::string first_span(ctx.trace->span_view());
  Answer answer = host.Send("a", "in", "{}", ctx);
  REQUIRE(answer.status == TINY_STATUS_OK);
  auto probe = nlohmann::json::parse(answer.data);
  TraceContext b = sink.Of("b.in"), c = sink.Of("c.in");
  CHECK(b.trace_view() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(c.trace_view() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(b.parent_view() == first_span);
  CHECK(c.parent_view() == b.span_view());
  CHECK(b.span_view() != first_span);
  CHECK(c.span_view() != b.span_view());
  CHECK(c.tracestate == "congo=t61rcWkgMzE");
  // The probe sees its own delivery's span.
  CHECK(probe["traceparent"] == c.TraceParent());
  CHECK(probe["tracestate"] == "congo=t61rcWkgMzE");
}

TEST_CASE("each edge of a traced fan-out is a span of its own") {
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: p.in}, {port: out, to: q.in}]}
  - {name: p, module: test-module, component: trace_probe}
  - {name: q, module: test-module, component: trace_probe}
)");
  RecordingSpanSink sink;
  CallContext ctx = Traced("a.in");
  const std::string first_span(ctx.trace->span_view());
  REQUIRE(host.Send("a", "in", "{}", ctx).status == TINY_STATUS_OK);
  TraceContext p = sink.Of("p.in"), q = sink.Of("q.in");
  CHECK(p.parent_view() == first_span);
  CHECK(q.parent_view() == first_span);
  CHECK(p.span_view() != q.span_view());
}

TEST_CASE("an untraced message stays untraced, and no span is ended for it") {
  Host host(R"(
nodes:
  - {name: a, module: test-module, component: relay, edges: [{port: out, to: c.in}]}
  - {name: c, module: test-module, component: trace_probe}
)");
  RecordingSpanSink sink;
  Answer answer = host.Send("a", "in", "{}");
  REQUIRE(answer.status == TINY_STATUS_OK);
  CHECK(nlohmann::json::parse(answer.data) == nlohmann::json{{"traceparent", ""}, {"tracestate", ""}});
  CHECK(sink.size() == 0);
}
