#include "test_support.h"

using namespace tiny::test;

namespace {
Json people() {
  return Json::array({{{"name", "ann"}, {"country", "fr"}, {"info", {{"age", 30}}}},
                      {{"name", "bob"}, {"country", "de"}, {"info", {{"age", 40}}}},
                      {{"name", "cid"}, {"country", "fr"}, {"info", {{"age", 30}}}},
                      {{"name", "dan"}},
                      "not an object"});
}
}  // namespace

TEST_CASE("group_by: groups by the key setting, in order of first appearance") {
  Harness h(tiny_plugin_entry, "group_by");
  REQUIRE(h.configure({{"key", "country"}}).ok());
  auto r = h.send("in", {{"context", "c"}, {"array", people()}});
  REQUIRE(r);
  CHECK(r->ok());
  REQUIRE(h.emitted().size() == 1);
  const auto e = h.emitted().at(0);
  CHECK(e.port == "out");
  CHECK(e.has_cause);
  CHECK(e.data["context"] == "c");
  const Json& groups = e.data["groups"];
  REQUIRE(groups.size() == 3);
  CHECK(groups[0]["key"] == "fr");
  CHECK(groups[0]["items"].size() == 2);
  CHECK(groups[0]["items"][1]["name"] == "cid");
  CHECK(groups[1]["key"] == "de");
  CHECK(groups[2]["key"] == nullptr);  // no such field, or not an object
  CHECK(groups[2]["items"] == Json{{{"name", "dan"}}, "not an object"});
}

TEST_CASE("group_by: the message key overrides the setting; dotted paths and array indexes") {
  Harness h(tiny_plugin_entry, "group_by");
  REQUIRE(h.configure({{"key", "country"}}).ok());
  h.send("in", {{"array", people()}, {"key", "info.age"}});
  const Json groups = h.emitted().at(0).data["groups"];
  REQUIRE(groups.size() == 3);
  CHECK(groups[0]["key"] == 30);
  CHECK(groups[1]["key"] == 40);

  h.send("in", {{"array", {{{"tags", {"x", "y"}}}, {{"tags", {"z"}}}, {{"tags", {"x"}}}}}, {"key", "tags.0"}});
  const Json by_tag = h.emitted().at(1).data["groups"];
  REQUIRE(by_tag.size() == 2);
  CHECK(by_tag[0]["key"] == "x");
  CHECK(by_tag[0]["items"].size() == 2);
}

TEST_CASE("group_by: an empty array gives no groups") {
  Harness h(tiny_plugin_entry, "group_by");
  REQUIRE(h.configure({{"key", "k"}}).ok());
  h.send("in", {{"array", Json::array()}});
  CHECK(h.emitted().at(0).data["groups"] == Json::array());
}

TEST_CASE("group_by: bad settings and input are rejected") {
  CHECK(settings_error("group_by", {{"key", 5}}) == "setting 'key': must be a string, got 5");
  CHECK(settings_error("group_by", {{"key", "a..b"}}) == "setting 'key': \"a..b\" has an empty path segment");
  Harness h(tiny_plugin_entry, "group_by");
  REQUIRE(h.configure().ok());
  CHECK(contains(error_of(h.send("in", {{"array", people()}})), "no key"));
  CHECK(contains(error_of(h.send("in", {{"array", people()}, {"key", ".a"}})), "empty path segment"));
  CHECK(contains(error_of(h.send("in", {{"array", people()}, {"key", 1}})), "key must be a string"));
  CHECK(contains(error_of(h.send("in", {{"array", 1}, {"key", "a"}})), "array must be an array"));
  CHECK(contains(error_of(h.send("in", Json::array())), "expects an object"));
  auto raw = h.send_raw("in", "nope");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.emitted().empty());
}
