#include "test_support.h"

using namespace tiny::test;

TEST_CASE("transform: emits exactly what arrived and answers with the downstream answer") {
  Harness h(tiny_plugin_entry, "transform");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted& e) { return Result::value({{"echo", e.data}}); });
  auto call = h.send_raw("in", R"({"b":[1,2],"a":"x"})", /*hop=*/2);
  REQUIRE(call->done());
  CHECK(call->result().json() == Json{{"echo", {{"a", "x"}, {"b", {1, 2}}}}});
  auto e = h.emitted();
  REQUIRE(e.size() == 1);
  CHECK(e[0].port == "out");
  CHECK(e[0].raw == R"({"b":[1,2],"a":"x"})");  // byte for byte
  CHECK(e[0].hop == 3);
}

TEST_CASE("transform: failures downstream are passed through") {
  CHECK(contains(settings_error("transform", {{"x", 1}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "transform");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted&) { return Result{TINY_STATUS_NOT_FOUND, {}, "no such node"}; });
  auto r = h.send("in", 1);
  REQUIRE(r);
  CHECK(r->status == TINY_STATUS_NOT_FOUND);
}
