#include <algorithm>

#include "test_support.h"

using namespace tiny::test;

TEST_CASE("delay: holds the message for delay ms, then forwards it") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 1000}}).ok());
  h.on_emit([](const Emitted& e) { return Result::value({{"got", e.data}}); });

  auto call = h.send_async("in", {{"a", 1}});
  CHECK_FALSE(call->done());
  CHECK(h.pending_timers() == 1);
  h.advance(999);
  CHECK(h.emitted().empty());
  CHECK_FALSE(call->done());
  h.advance(1);
  auto e = h.emitted();
  REQUIRE(e.size() == 1);
  CHECK(e[0].port == "out");
  CHECK(e[0].data == Json{{"a", 1}});
  CHECK(e[0].has_cause);
  REQUIRE(call->done());
  CHECK(call->result().json() == Json{{"got", {{"a", 1}}}});
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("delay: the emit keeps the caller's hop count") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 10}}).ok());
  auto call = h.send_raw("in", "1", /*hop=*/7);
  h.advance(10);
  REQUIRE(call->done());
  CHECK(h.emitted().at(0).hop == 8);
}

TEST_CASE("delay: messages leave in arrival order, each delay ms after its own arrival") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 100}}).ok());
  auto a = h.send_async("in", "a");
  h.advance(40);
  auto b = h.send_async("in", "b");
  h.advance(60);  // t=100: a is due
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data == "a");
  CHECK(a->done());
  CHECK_FALSE(b->done());
  h.advance(40);  // t=140: b is due
  REQUIRE(h.emitted().size() == 2);
  CHECK(h.emitted()[1].data == "b");
  CHECK(b->done());
}

TEST_CASE("delay: 0 forwards at once") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 0}}).ok());
  auto r = h.send("in", {{"x", true}});
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(h.emitted().size() == 1);
  CHECK(h.pending_timers() == 0);
}

TEST_CASE("delay: a downstream failure is the answer") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 5}}).ok());
  h.on_emit([](const Emitted&) { return Result::failure("boom"); });
  auto call = h.send_async("in", 1);
  h.advance(5);
  REQUIRE(call->done());
  CHECK(call->result().error == "boom");
}

TEST_CASE("delay: past maxPending held messages a message is refused") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 50}, {"maxPending", 2}}).ok());
  auto a = h.send_async("in", 1);
  auto b = h.send_async("in", 2);
  auto c = h.send_async("in", 3);
  REQUIRE(c->done());
  CHECK(contains(c->result().error, "maxPending"));
  h.advance(50);
  CHECK(a->done());
  CHECK(b->done());
  CHECK(h.emitted().size() == 2);
  auto d = h.send_async("in", 4);  // room again
  CHECK_FALSE(d->done());
}

TEST_CASE("delay: destroy answers the held messages and emits nothing") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 1000}}).ok());
  auto a = h.send_async("in", 1);
  auto b = h.send_async("in", 2);
  h.destroy();
  REQUIRE(a->done());
  REQUIRE(b->done());
  CHECK(contains(a->result().error, "destroyed"));
  CHECK(contains(b->result().error, "destroyed"));
  CHECK(h.emitted().empty());
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("delay: settings are validated") {
  CHECK(settings_error("delay", {{"delay", -1}}) ==
        "setting 'delay': must be an integer number of milliseconds from 0 to 86400000, got -1");
  CHECK(contains(settings_error("delay", {{"delay", "1s"}}), "setting 'delay': must be an integer"));
  CHECK(contains(settings_error("delay", {{"delay", 1.5}}), "setting 'delay': must be an integer"));
  CHECK(contains(settings_error("delay", {{"delay", 1e12}}), "setting 'delay': must be an integer"));
  CHECK(contains(settings_error("delay", {{"maxPending", 0}}), "setting 'maxPending'"));
  Harness h(tiny_plugin_entry, "delay");
  CHECK(h.configure({{"delay", 250.0}}).ok());  // an integral float is fine
}

TEST_CASE("delay: bad input is an error reply") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure().ok());
  auto raw = h.send_raw("in", "{nope");
  REQUIRE(raw->done());
  CHECK(contains(raw->result().error, "JSON"));
  CHECK(h.pending_timers() == 0);
}

TEST_CASE("delay: concurrent messages are all delivered once") {
  Harness h(tiny_plugin_entry, "delay");
  REQUIRE(h.configure({{"delay", 20}, {"maxPending", 10000}}).ok());
  std::vector<std::shared_ptr<tiny::testing::PendingCall>> calls(400);
  run_threads(4, [&](int t) {
    for (int i = 0; i < 100; ++i) calls[t * 100 + i] = h.send_async("in", t * 100 + i);
  });
  CHECK(h.pending_timers() == 400);
  h.advance(20);
  int done = 0;
  for (auto& c : calls) done += c->done() && c->result().ok();
  CHECK(done == 400);
  std::vector<int> seen(400, 0);
  for (const auto& e : h.emitted()) ++seen.at(e.data.get<int>());
  CHECK(std::count(seen.begin(), seen.end(), 1) == 400);
  CHECK(h.extra_completions() == 0);
}
