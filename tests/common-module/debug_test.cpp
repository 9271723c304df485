#include "test_support.h"

using namespace tiny::test;

TEST_CASE("debug: logs the message and answers with it") {
  Harness h(tiny_plugin_entry, "debug");
  REQUIRE(h.configure().ok());
  auto r = h.send("in", {{"hello", "world"}});
  REQUIRE(r);
  CHECK(r->json() == Json{{"hello", "world"}});
  CHECK(h.emitted().empty());
  auto logs = h.logs();
  REQUIRE(logs.size() == 1);
  CHECK(logs[0] == R"(info: debug data={"hello":"world"})");
}

TEST_CASE("debug: an empty message logs null and answers empty") {
  Harness h(tiny_plugin_entry, "debug");
  REQUIRE(h.configure().ok());
  auto r = h.send("in", nullptr);
  REQUIRE(r);
  CHECK(r->empty());
  CHECK(h.logs().at(0) == "info: debug data=null");
}
