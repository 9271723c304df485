#include "test_support.h"

using namespace tiny::test;

TEST_CASE("signal: anything on in emits the configured context") {
  Harness h(tiny_plugin_entry, "signal");
  REQUIRE(h.configure({{"context", {{"go", true}}}}).ok());
  h.on_emit([](const Emitted&) { return Result::value("pong"); });
  auto r = h.send("in", {{"ignored", 1}});
  REQUIRE(r);
  CHECK(r->json() == "pong");
  auto e = h.emitted();
  REQUIRE(e.size() == 1);
  CHECK(e[0].port == "out");
  CHECK(e[0].data == Json{{"go", true}});
  CHECK(e[0].has_cause);

  auto empty = h.send_raw("in", "", /*hop=*/3);  // an empty body triggers too
  REQUIRE(empty->done());
  CHECK(h.emitted().size() == 2);
  CHECK(h.emitted()[1].hop == 4);
}

TEST_CASE("signal: the default context is null") {
  Harness h(tiny_plugin_entry, "signal");
  REQUIRE(h.configure().ok());
  REQUIRE(h.send("in", 1));
  CHECK(h.emitted().at(0).raw == "null");
}

TEST_CASE("signal: bad input is an error reply") {
  CHECK(contains(settings_error("signal", {{"payload", 1}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "signal");
  REQUIRE(h.configure().ok());
  auto raw = h.send_raw("in", "not json");
  REQUIRE(raw->done());
  CHECK(contains(raw->result().error, "JSON"));
  CHECK(h.emitted().empty());
}
