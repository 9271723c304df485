#include <atomic>
#include <map>
#include <mutex>

#include "test_support.h"

using namespace tiny::test;

namespace {
// Fails the first `failures` emits on `out`, then answers "ok".
Harness::Responder failing(int failures, std::shared_ptr<std::atomic<int>> count) {
  return [failures, count](const Emitted& e) {
    if (e.port != "out") return Result::value("from error port");
    return ++*count <= failures ? Result::failure("try " + std::to_string(count->load())) : Result::value("ok");
  };
}
}  // namespace

TEST_CASE("retry: a first success is the answer, with one emit") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted&) { return Result::value("done"); });
  auto call = h.send_raw("in", R"({"x":1})", /*hop=*/2);
  REQUIRE(call->done());
  CHECK(call->result().json() == "done");
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data == Json{{"x", 1}});
  CHECK(h.emitted()[0].hop == 3);
  CHECK(h.pending_timers() == 0);
}

TEST_CASE("retry: failures are retried after backoff * multiplier^n") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"maxAttempts", 4}, {"backoff", 100}, {"multiplier", 3}}).ok());
  auto count = std::make_shared<std::atomic<int>>(0);
  h.on_emit(failing(3, count));
  auto call = h.send_raw("in", "1", /*hop=*/6);
  CHECK(h.emitted().size() == 1);
  CHECK_FALSE(call->done());
  h.advance(99);
  CHECK(h.emitted().size() == 1);
  h.advance(1);  // t=100
  CHECK(h.emitted().size() == 2);
  h.advance(299);
  CHECK(h.emitted().size() == 2);
  h.advance(1);  // t=400: second backoff 300
  CHECK(h.emitted().size() == 3);
  h.advance(900);  // t=1300: third backoff 900
  REQUIRE(h.emitted().size() == 4);
  REQUIRE(call->done());
  CHECK(call->result().json() == "ok");
  for (const auto& e : h.emitted()) CHECK(e.hop == 7);  // every attempt keeps the hop
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("retry: after maxAttempts the last failure is the answer") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"maxAttempts", 3}, {"backoff", 10}, {"multiplier", 1}}).ok());
  auto count = std::make_shared<std::atomic<int>>(0);
  h.on_emit(failing(100, count));
  auto call = h.send_async("in", 1);
  h.advance(10);
  h.advance(10);
  REQUIRE(call->done());
  CHECK(call->result().error == "try 3");
  CHECK(ports(h) == std::vector<std::string>{"out", "out", "out"});
  h.advance(1000);
  CHECK(h.emitted().size() == 3);
}

TEST_CASE("retry: with enableErrorPort the final failure goes to error") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"maxAttempts", 2}, {"backoff", 10}, {"enableErrorPort", true}}).ok());
  auto count = std::make_shared<std::atomic<int>>(0);
  h.on_emit(failing(100, count));
  auto call = h.send_async("in", {{"order", 5}});
  h.advance(10);
  REQUIRE(call->done());
  CHECK(call->result().json() == "from error port");
  REQUIRE(ports(h) == std::vector<std::string>{"out", "out", "error"});
  CHECK(h.emitted()[2].data == Json{{"context", {{"order", 5}}}, {"error", "try 2"}, {"attempts", 2}});
  CHECK(h.emitted()[2].has_cause);
}

TEST_CASE("retry: the wait is capped at maxBackoff") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"maxAttempts", 5}, {"backoff", 100}, {"multiplier", 10}, {"maxBackoff", 250}}).ok());
  auto count = std::make_shared<std::atomic<int>>(0);
  h.on_emit(failing(4, count));
  auto call = h.send_async("in", 1);
  h.advance(100);
  CHECK(h.emitted().size() == 2);
  h.advance(250);  // 1000 capped to 250
  CHECK(h.emitted().size() == 3);
  h.advance(250);
  CHECK(h.emitted().size() == 4);
  h.advance(250);
  REQUIRE(call->done());
  CHECK(call->result().json() == "ok");
}

TEST_CASE("retry: routing failures a retry cannot fix pass through at once") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"backoff", 10}}).ok());
  h.on_emit([](const Emitted&) { return Result{TINY_STATUS_NOT_FOUND, {}, "no node"}; });
  auto call = h.send_async("in", 1);
  REQUIRE(call->done());
  CHECK(call->result().status == TINY_STATUS_NOT_FOUND);
  CHECK(h.emitted().size() == 1);

  h.clear_emitted();
  auto count = std::make_shared<std::atomic<int>>(0);
  h.on_emit([count](const Emitted&) {
    return ++*count == 1 ? Result{TINY_STATUS_UNAVAILABLE, {}, "peer down"} : Result::value("up");
  });
  call = h.send_async("in", 1);
  h.advance(10);
  REQUIRE(call->done());
  CHECK(call->result().json() == "up");  // UNAVAILABLE is retried
  CHECK(h.emitted().size() == 2);
}

TEST_CASE("retry: destroy answers the messages waiting for their next attempt") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"backoff", 1000}}).ok());
  h.on_emit([](const Emitted&) { return Result::failure("nope"); });
  auto call = h.send_async("in", 1);
  CHECK(h.pending_timers() == 1);
  h.destroy();
  REQUIRE(call->done());
  CHECK(contains(call->result().error, "destroyed"));
  CHECK(h.emitted().size() == 1);
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("retry: a failure answered after destroy is the answer, with no retry") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"backoff", 10}}).ok());
  h.hold_emits(true);
  auto call = h.send_async("in", 1);
  h.destroy();
  h.answer_held(Result::failure("late"));
  REQUIRE(call->done());
  CHECK(call->result().error == "late");
  CHECK(h.emitted().size() == 1);
  CHECK(h.pending_timers() == 0);
}

TEST_CASE("retry: settings and input are validated") {
  CHECK(contains(settings_error("retry", {{"maxAttempts", 0}}), "setting 'maxAttempts'"));
  CHECK(contains(settings_error("retry", {{"backoff", -1}}), "setting 'backoff'"));
  CHECK(contains(settings_error("retry", {{"maxBackoff", "1m"}}), "setting 'maxBackoff'"));
  CHECK(settings_error("retry", {{"multiplier", 0.5}}) == "setting 'multiplier': must be a number from 1 to 100, got 0.5");
  CHECK(contains(settings_error("retry", {{"multiplier", "2"}}), "setting 'multiplier'"));
  CHECK(contains(settings_error("retry", {{"enableErrorPort", "no"}}), "setting 'enableErrorPort'"));
  CHECK(contains(settings_error("retry", {{"retries", 3}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"multiplier", 1.5}}).ok());
  auto raw = h.send_raw("in", "{bad");
  REQUIRE(raw->done());
  CHECK(contains(raw->result().error, "JSON"));
  CHECK(h.emitted().empty());
}

TEST_CASE("retry: concurrent messages are retried independently") {
  Harness h(tiny_plugin_entry, "retry");
  REQUIRE(h.configure({{"maxAttempts", 3}, {"backoff", 10}, {"multiplier", 1}}).ok());
  std::mutex mu;
  std::map<int, int> attempts;  // message -> emits so far
  h.on_emit([&](const Emitted& e) {
    std::lock_guard<std::mutex> lock(mu);
    int n = ++attempts[e.data.get<int>()];
    // Message m succeeds on attempt m % 3 + 1.
    return n == e.data.get<int>() % 3 + 1 ? Result::value(e.data) : Result::failure("again");
  });
  std::vector<std::shared_ptr<tiny::testing::PendingCall>> calls(90);
  run_threads(3, [&](int t) {
    for (int i = 0; i < 30; ++i) calls[t * 30 + i] = h.send_async("in", t * 30 + i);
  });
  h.advance(10);
  h.advance(10);
  int right = 0;
  for (int m = 0; m < 90; ++m)
    if (calls[m]->done() && calls[m]->result().json() == m && attempts[m] == m % 3 + 1) ++right;
  CHECK(right == 90);
  CHECK(h.extra_completions() == 0);
}
