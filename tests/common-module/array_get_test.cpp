#include "test_support.h"

using namespace tiny::test;

TEST_CASE("array_get: emits the item at index; negative counts from the end") {
  Harness h(tiny_plugin_entry, "array_get");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted& e) { return Result::value(e.data["item"]); });
  auto r = h.send("in", {{"context", "c"}, {"array", {"a", "b", "c"}}, {"index", 1}});
  REQUIRE(r);
  CHECK(r->json() == "b");
  CHECK(h.emitted().at(0).port == "out");
  CHECK(h.emitted().at(0).data == Json{{"context", "c"}, {"item", "b"}, {"index", 1}});
  CHECK(h.emitted().at(0).has_cause);
  r = h.send("in", {{"array", {"a", "b", "c"}}, {"index", -1}});
  CHECK(r->json() == "c");
  CHECK(h.emitted().at(1).data["index"] == 2);
  r = h.send("in", {{"array", {"a", "b", "c"}}, {"index", 0.0}});
  CHECK(r->json() == "a");
}

TEST_CASE("array_get: an index out of range is an error reply by default") {
  Harness h(tiny_plugin_entry, "array_get");
  REQUIRE(h.configure().ok());
  CHECK(contains(error_of(h.send("in", {{"array", {1, 2}}, {"index", 2}})), "index 2 is out of range for an array of 2"));
  CHECK(contains(error_of(h.send("in", {{"array", {1, 2}}, {"index", -3}})), "out of range"));
  CHECK(contains(error_of(h.send("in", {{"array", Json::array()}, {"index", 0}})), "out of range"));
  CHECK(h.emitted().empty());
}

TEST_CASE("array_get: with enableErrorPort an index out of range goes to error") {
  Harness h(tiny_plugin_entry, "array_get");
  REQUIRE(h.configure({{"enableErrorPort", true}}).ok());
  auto r = h.send("in", {{"context", 1}, {"array", {1, 2}}, {"index", 5}});
  REQUIRE(r);
  CHECK(r->ok());
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].port == "error");
  CHECK(h.emitted()[0].data["context"] == 1);
  CHECK(h.emitted()[0].data["index"] == 5);
  CHECK(h.emitted()[0].data["size"] == 2);
  CHECK(contains(h.emitted()[0].data["error"].get<std::string>(), "out of range"));
}

TEST_CASE("array_get: malformed input and settings are rejected") {
  CHECK(settings_error("array_get", {{"enableErrorPort", 1}}) == "setting 'enableErrorPort': must be true or false, got 1");
  Harness h(tiny_plugin_entry, "array_get");
  REQUIRE(h.configure().ok());
  CHECK(contains(error_of(h.send("in", {{"array", {1}}})), "index must be an integer"));
  CHECK(contains(error_of(h.send("in", {{"array", {1}}, {"index", 0.5}})), "index must be an integer"));
  CHECK(contains(error_of(h.send("in", {{"array", {1}}, {"index", "0"}})), "index must be an integer"));
  CHECK(contains(error_of(h.send("in", {{"array", {{"a", 1}}}, {"index", 0}})), "array must be an array"));
  CHECK(contains(error_of(h.send("in", {{"index", 0}})), "array must be an array"));
  CHECK(contains(error_of(h.send("in", "x")), "expects an object"));
  auto raw = h.send_raw("in", "[[[");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.emitted().empty());
}
