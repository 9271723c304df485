#include <atomic>

#include "test_support.h"

using namespace tiny::test;

TEST_CASE("kv: store, get and delete; each result is emitted and, unwired, is the answer") {
  Harness h(tiny_plugin_entry, "kv");
  REQUIRE(h.configure().ok());
  auto r = h.send("store", {{"context", "c1"}, {"key", "a"}, {"value", {{"n", 1}}}});
  REQUIRE(r);
  CHECK(r->json() == Json{{"op", "store"}, {"context", "c1"}, {"key", "a"}, {"created", true}});
  CHECK(h.emitted().at(0).port == "result");
  CHECK(h.emitted().at(0).data == r->json());
  CHECK(h.emitted().at(0).has_cause);

  r = h.send("store", {{"key", "a"}, {"value", 2}});
  CHECK(r->json()["created"] == false);

  r = h.send("get", {{"context", "c2"}, {"key", "a"}});
  CHECK(r->json() == Json{{"op", "get"}, {"context", "c2"}, {"key", "a"}, {"found", true}, {"value", 2}});
  r = h.send("get", {{"key", "missing"}});
  CHECK(r->json()["found"] == false);
  CHECK(r->json()["value"] == nullptr);

  r = h.send("delete", {{"key", "a"}});
  CHECK(r->json()["deleted"] == true);
  r = h.send("delete", {{"key", "a"}});
  CHECK(r->json()["deleted"] == false);
  CHECK(h.send("get", {{"key", "a"}})->json()["found"] == false);
  CHECK(h.emitted().size() == 7);
}

TEST_CASE("kv: a non-empty downstream answer is the answer; failures pass through") {
  Harness h(tiny_plugin_entry, "kv");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted& e) { return Result::value({{"shaped", e.data["key"]}}); });
  auto r = h.send("store", {{"key", "k"}, {"value", 1}});
  CHECK(r->json() == Json{{"shaped", "k"}});
  h.on_emit([](const Emitted&) { return Result::failure("downstream broke"); });
  r = h.send("get", {{"key", "k"}});
  CHECK(r->error == "downstream broke");
}

TEST_CASE("kv: stores at most maxRecords records; updates still work when full") {
  Harness h(tiny_plugin_entry, "kv");
  REQUIRE(h.configure({{"maxRecords", 2}}).ok());
  REQUIRE(h.send("store", {{"key", "a"}, {"value", 1}})->ok());
  REQUIRE(h.send("store", {{"key", "b"}, {"value", 2}})->ok());
  CHECK(contains(error_of(h.send("store", {{"key", "c"}, {"value", 3}})), "kv is full"));
  CHECK(h.send("store", {{"key", "a"}, {"value", 10}})->ok());
  CHECK(h.send("get", {{"key", "a"}})->json()["value"] == 10);
  REQUIRE(h.send("delete", {{"key", "b"}})->ok());
  CHECK(h.send("store", {{"key", "c"}, {"value", 3}})->ok());
}

TEST_CASE("kv: query by prefix, in key order, paged with limit and after") {
  Harness h(tiny_plugin_entry, "kv");
  REQUIRE(h.configure().ok());
  for (std::string k : {"user:3", "user:1", "order:1", "user:2", "users", "user:4"})
    REQUIRE(h.send("store", {{"key", k}, {"value", k}})->ok());

  auto r = h.send("query", {{"context", 1}, {"prefix", "user:"}, {"limit", 3}});
  REQUIRE(r);
  Json page = r->json();
  CHECK(page["op"] == "query");
  CHECK(page["context"] == 1);
  REQUIRE(page["records"].size() == 3);
  CHECK(page["records"][0] == Json{{"key", "user:1"}, {"value", "user:1"}});
  CHECK(page["records"][2]["key"] == "user:3");
  CHECK(page["next"] == "user:3");

  page = h.send("query", {{"prefix", "user:"}, {"limit", 3}, {"after", page["next"]}})->json();
  REQUIRE(page["records"].size() == 1);
  CHECK(page["records"][0]["key"] == "user:4");
  CHECK(page["next"] == nullptr);

  page = h.send("query", Json::object())->json();  // everything
  CHECK(page["records"].size() == 6);
  CHECK(page["records"][0]["key"] == "order:1");
  page = h.send("query", {{"prefix", "none"}})->json();
  CHECK(page["records"] == Json::array());
}

TEST_CASE("kv: bad input and settings are rejected") {
  CHECK(contains(settings_error("kv", {{"maxRecords", 0}}), "setting 'maxRecords'"));
  CHECK(contains(settings_error("kv", {{"maxRecords", "many"}}), "setting 'maxRecords'"));
  Harness h(tiny_plugin_entry, "kv");
  REQUIRE(h.configure().ok());
  CHECK(contains(error_of(h.send("store", {{"value", 1}})), "key must be a non-empty string"));
  CHECK(contains(error_of(h.send("store", {{"key", ""}, {"value", 1}})), "key must be a non-empty string"));
  CHECK(contains(error_of(h.send("store", {{"key", 5}, {"value", 1}})), "key must be a non-empty string"));
  CHECK(contains(error_of(h.send("store", {{"key", "a"}})), "store needs a value"));
  CHECK(contains(error_of(h.send("get", Json::object())), "key must be"));
  CHECK(contains(error_of(h.send("delete", {{"key", nullptr}})), "key must be"));
  CHECK(error_of(h.send("query", {{"limit", 0}})) == "limit must be an integer from 1 to 10000, got 0");
  CHECK(contains(error_of(h.send("query", {{"prefix", 1}})), "prefix"));
  CHECK(contains(error_of(h.send("query", {{"after", true}})), "after"));
  CHECK(contains(error_of(h.send("get", "a")), "expects an object"));
  auto raw = h.send_raw("store", "{\"key\":\"a\",");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.emitted().empty());
}

TEST_CASE("kv: concurrent stores never exceed maxRecords") {
  Harness h(tiny_plugin_entry, "kv");
  REQUIRE(h.configure({{"maxRecords", 100}}).ok());
  std::atomic<int> stored{0}, full{0};
  run_threads(4, [&](int t) {
    for (int i = 0; i < 50; ++i) {
      auto r = h.send("store", {{"key", "k" + std::to_string(t * 50 + i)}, {"value", i}});
      if (r && r->ok()) ++stored;
      if (r && r->error.find("kv is full") != std::string::npos) ++full;
    }
  });
  CHECK(stored == 100);
  CHECK(full == 100);
  auto page = h.send("query", {{"limit", 1000}})->json();
  CHECK(page["records"].size() == 100);
}
