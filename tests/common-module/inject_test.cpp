#include "test_support.h"

using namespace tiny::test;

TEST_CASE("inject: {inject: true} on _control emits the data") {
  Harness h(tiny_plugin_entry, "inject");
  REQUIRE(h.configure({{"data", {{"k", "v"}}}}).ok());
  h.on_emit([](const Emitted&) { return Result::value(42); });
  CHECK(h.pending_timers() == 0);  // no onStart
  auto r = h.send("_control", {{"inject", true}});
  REQUIRE(r);
  CHECK(r->json() == 42);
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].port == "out");
  CHECK(h.emitted()[0].data == Json{{"k", "v"}});
}

TEST_CASE("inject: {inject: false} does nothing") {
  Harness h(tiny_plugin_entry, "inject");
  REQUIRE(h.configure({{"data", 1}}).ok());
  auto r = h.send("_control", {{"inject", false}});
  REQUIRE(r);
  CHECK(r->empty());
  CHECK(h.emitted().empty());
}

TEST_CASE("inject: onStart emits once after the settings were answered") {
  Harness h(tiny_plugin_entry, "inject");
  REQUIRE(h.configure({{"data", "hello"}, {"onStart", true}}).ok());
  CHECK(h.emitted().empty());  // not from inside _settings
  h.advance(0);
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data == "hello");
  CHECK_FALSE(h.emitted()[0].has_cause);  // spontaneous
  h.advance(100000);
  CHECK(h.emitted().size() == 1);
}

TEST_CASE("inject: bad control and settings are rejected") {
  CHECK(settings_error("inject", {{"onStart", "yes"}}) == "setting 'onStart': must be true or false, got \"yes\"");
  Harness h(tiny_plugin_entry, "inject");
  REQUIRE(h.configure().ok());
  CHECK(contains(error_of(h.send("_control", {{"inject", "yes"}})), "{\"inject\": true}"));
  CHECK(contains(error_of(h.send("_control", {{"start", true}})), "{\"inject\": true}"));
  CHECK(contains(error_of(h.send("_control", 1)), "{\"inject\": true}"));
  auto raw = h.send_raw("_control", "[");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.emitted().empty());
}
