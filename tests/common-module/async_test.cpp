#include <atomic>

#include "test_support.h"

using namespace tiny::test;

TEST_CASE("async: answers at once while the emit is still unanswered") {
  Harness h(tiny_plugin_entry, "async");
  REQUIRE(h.configure().ok());
  h.hold_emits(true);
  auto call = h.send_raw("in", R"({"job":1})", /*hop=*/9);
  REQUIRE(call->done());
  CHECK(call->result().empty());
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].port == "out");
  CHECK(h.emitted()[0].data == Json{{"job", 1}});
  CHECK(h.emitted()[0].hop == 10);  // emitted while the call was open
  CHECK(h.held_count() == 1);
  h.answer_held(Result::value("late"));  // the late answer is dropped
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("async: past maxConcurrency in-flight emits a message is refused") {
  Harness h(tiny_plugin_entry, "async");
  REQUIRE(h.configure({{"maxConcurrency", 2}}).ok());
  h.hold_emits(true);
  CHECK(h.send("in", 1)->ok());
  CHECK(h.send("in", 2)->ok());
  CHECK(contains(error_of(h.send("in", 3)), "maxConcurrency"));
  CHECK(h.emitted().size() == 2);
  h.answer_held(Result{});
  CHECK(h.send("in", 4)->ok());
  CHECK(h.emitted().size() == 3);
  while (h.held_count() > 0) h.answer_held(Result{});  // every emit gets its answer
}

TEST_CASE("async: a failed downstream answer is logged, not returned") {
  Harness h(tiny_plugin_entry, "async");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted&) { return Result::failure("worker crashed"); });
  CHECK(h.send("in", 1)->ok());
  auto logs = h.logs();
  REQUIRE(logs.size() == 1);
  CHECK(contains(logs[0], "warn: async downstream failed"));
  CHECK(contains(logs[0], "worker crashed"));
}

TEST_CASE("async: an answer after destroy is not logged against the dead node") {
  Harness h(tiny_plugin_entry, "async");
  REQUIRE(h.configure().ok());
  h.hold_emits(true);
  REQUIRE(h.send("in", 1)->ok());
  h.destroy();
  h.answer_held(Result::failure("late failure"));
  CHECK(h.logs().empty());
}

TEST_CASE("async: settings and input are validated") {
  CHECK(settings_error("async", {{"maxConcurrency", 0}}) ==
        "setting 'maxConcurrency': must be an integer from 1 to 1000000, got 0");
  CHECK(contains(settings_error("async", {{"maxConcurrency", 2.5}}), "setting 'maxConcurrency'"));
  CHECK(contains(settings_error("async", {{"concurrency", 2}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "async");
  REQUIRE(h.configure().ok());
  auto raw = h.send_raw("in", "}");
  REQUIRE(raw->done());
  CHECK(contains(raw->result().error, "JSON"));
  CHECK(h.emitted().empty());
}

TEST_CASE("async: concurrent senders never exceed maxConcurrency") {
  Harness h(tiny_plugin_entry, "async");
  REQUIRE(h.configure({{"maxConcurrency", 50}}).ok());
  h.hold_emits(true);
  std::atomic<int> accepted{0}, refused{0};
  run_threads(4, [&](int) {
    for (int i = 0; i < 40; ++i) {
      auto r = h.send("in", i);
      if (r && r->ok()) ++accepted;
      else ++refused;
    }
  });
  CHECK(accepted == 50);
  CHECK(refused == 110);
  CHECK(h.held_count() == 50);
  while (h.held_count() > 0) h.answer_held(Result{});
  CHECK(h.send("in", 1)->ok());
  h.answer_held(Result{});
}
