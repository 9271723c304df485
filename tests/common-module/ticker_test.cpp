#include "test_support.h"

using namespace tiny::test;

TEST_CASE("ticker: emits its context every period while running") {
  Harness h(tiny_plugin_entry, "ticker");
  REQUIRE(h.configure({{"period", 100}, {"context", {{"tick", true}}}}).ok());
  h.advance(99);
  CHECK(h.emitted().empty());
  h.advance(1);
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].port == "out");
  CHECK(h.emitted()[0].data == Json{{"tick", true}});
  CHECK_FALSE(h.emitted()[0].has_cause);
  h.advance(1000);
  CHECK(h.emitted().size() == 11);
  CHECK(h.pending_timers() == 1);
}

TEST_CASE("ticker: _control stops and starts it") {
  Harness h(tiny_plugin_entry, "ticker");
  REQUIRE(h.configure({{"period", 10}, {"autostart", false}}).ok());
  h.advance(100);
  CHECK(h.emitted().empty());
  auto r = h.send("_control", {{"start", true}});
  REQUIRE(r);
  CHECK(r->json() == Json{{"running", true}});
  h.advance(30);
  CHECK(h.emitted().size() == 3);
  r = h.send("_control", {{"stop", true}});
  CHECK(r->json() == Json{{"running", false}});
  CHECK(h.pending_timers() == 0);
  h.advance(100);
  CHECK(h.emitted().size() == 3);
  r = h.send("_control", Json::object());  // a status query
  CHECK(r->json() == Json{{"running", false}});
}

TEST_CASE("ticker: stop then start keeps exactly one timer chain") {
  Harness h(tiny_plugin_entry, "ticker");
  REQUIRE(h.configure({{"period", 10}}).ok());
  h.advance(5);
  REQUIRE(h.send("_control", {{"stop", true}}));
  REQUIRE(h.send("_control", {{"start", true}}));
  REQUIRE(h.send("_control", {{"start", true}}));  // already running: no second chain
  CHECK(h.pending_timers() == 1);
  h.advance(100);
  CHECK(h.emitted().size() == 10);
}

TEST_CASE("ticker: settings and control are validated") {
  CHECK(contains(settings_error("ticker", {{"period", 0}}), "setting 'period'"));
  CHECK(contains(settings_error("ticker", {{"period", "fast"}}), "setting 'period'"));
  CHECK(contains(settings_error("ticker", {{"period", 1e30}}), "setting 'period'"));
  CHECK(settings_error("ticker", {{"autostart", 1}}) == "setting 'autostart': must be true or false, got 1");
  Harness h(tiny_plugin_entry, "ticker");
  REQUIRE(h.configure({{"autostart", false}}).ok());
  CHECK(contains(error_of(h.send("_control", {{"start", "yes"}})), "start must be true or false"));
  CHECK(contains(error_of(h.send("_control", {{"stop", 1}})), "stop must be true or false"));
  CHECK(contains(error_of(h.send("_control", "start")), "_control expects an object"));
  auto raw = h.send_raw("_control", "{");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.pending_timers() == 0);
}

TEST_CASE("ticker: destroy stops it") {
  Harness h(tiny_plugin_entry, "ticker");
  REQUIRE(h.configure({{"period", 10}}).ok());
  h.advance(10);
  h.destroy();
  CHECK(h.pending_timers() == 0);
  h.advance(100);
  CHECK(h.emitted().size() == 1);
}
