#include <atomic>
#include <set>

#include "test_support.h"

using namespace tiny::test;

namespace {
Json item(Json key, Json index, Json total, Json value, Json context = nullptr) {
  return {{"context", context}, {"groupKey", key}, {"index", index}, {"total", total}, {"item", value}};
}
}  // namespace

TEST_CASE("collect: reassembles items by index and answers the last one with the downstream answer") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted&) { return Result::value("assembled"); });
  auto r = h.send("item", item("g", 2, 3, "c", {{"req", 1}}));
  REQUIRE(r);
  CHECK(r->empty());
  r = h.send("item", item("g", 0, 3, "a", {{"req", 1}}));
  CHECK(r->empty());
  CHECK(h.emitted().empty());
  auto last = h.send_raw("item", item("g", 1, 3, "b", {{"req", 1}}).dump(), /*hop=*/4);
  REQUIRE(last->done());
  CHECK(last->result().json() == "assembled");
  auto e = h.emitted();
  REQUIRE(e.size() == 1);
  CHECK(e[0].port == "response");
  CHECK(e[0].data == Json{{"context", {{"req", 1}}}, {"items", {"a", "b", "c"}}});
  CHECK(e[0].hop == 5);
  CHECK(h.pending_timers() == 0);  // the timeout was cancelled
}

TEST_CASE("collect: groups are independent; a finished key can start again") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure().ok());
  h.send("item", item("x", 0, 2, "x0"));
  h.send("item", item(7, 0, 2, "n0"));
  h.send("item", item("7", 1, 2, "s1"));  // "7" and 7 are different keys
  h.send("item", item("x", 1, 2, "x1"));
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data["items"] == Json{"x0", "x1"});
  h.send("item", item(7, 1, 2, "n1"));
  REQUIRE(h.emitted().size() == 2);
  CHECK(h.emitted()[1].data["items"] == Json{"n0", "n1"});
  h.send("item", item("x", 0, 1, "again"));
  REQUIRE(h.emitted().size() == 3);
  CHECK(h.emitted()[2].data["items"] == Json{"again"});
}

TEST_CASE("collect: a group not complete within timeout is reported on error") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure({{"timeout", 500}}).ok());
  h.send("item", item("g", 0, 4, "a", "ctx"));
  h.advance(300);
  h.send("item", item("g", 2, 4, "c", "ctx"));
  h.advance(199);
  CHECK(h.emitted().empty());
  h.advance(1);  // 500 ms after the first item
  auto e = h.emitted();
  REQUIRE(e.size() == 1);
  CHECK(e[0].port == "error");
  CHECK_FALSE(e[0].has_cause);
  CHECK(e[0].data["context"] == "ctx");
  CHECK(e[0].data["groupKey"] == "g");
  CHECK(e[0].data["total"] == 4);
  CHECK(e[0].data["received"] == 2);
  CHECK(e[0].data["indexes"] == Json{0, 2});
  CHECK(e[0].data["items"] == Json{"a", "c"});
  CHECK(contains(e[0].data["error"].get<std::string>(), "timed out"));
  // The group is gone: its late items start a new one.
  h.send("item", item("g", 1, 4, "b"));
  CHECK(h.pending_timers() == 1);
  CHECK(h.emitted().size() == 1);
}

TEST_CASE("collect: timeout 0 waits forever") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure({{"timeout", 0}}).ok());
  h.send("item", item("g", 0, 2, 1));
  CHECK(h.pending_timers() == 0);
  h.advance(1000000);
  CHECK(h.emitted().empty());
  h.send("item", item("g", 1, 2, 2));
  CHECK(h.emitted().size() == 1);
}

TEST_CASE("collect: malformed items are error replies and leave the group intact") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure().ok());
  REQUIRE(h.send("item", item("g", 0, 2, "a"))->ok());
  CHECK(contains(error_of(h.send("item", item("g", 0, 2, "dup"))), "arrived twice"));
  CHECK(contains(error_of(h.send("item", item("g", 1, 3, "b"))), "differs from the group's total 2"));
  CHECK(contains(error_of(h.send("item", item("g", 2, 2, "b"))), "index must be an integer from 0 to 1"));
  CHECK(contains(error_of(h.send("item", item("g", -1, 2, "b"))), "index"));
  CHECK(contains(error_of(h.send("item", item("g", 0, 0, "b"))), "total"));
  CHECK(contains(error_of(h.send("item", item("g", 0, "2", "b"))), "total"));
  CHECK(contains(error_of(h.send("item", {{"index", 0}, {"total", 1}})), "groupKey"));
  CHECK(contains(error_of(h.send("item", item(Json::object(), 0, 1, "b"))), "groupKey"));
  CHECK(contains(error_of(h.send("item", item(nullptr, 0, 1, "b"))), "groupKey"));
  CHECK(contains(error_of(h.send("item", 5)), "expects an object"));
  auto raw = h.send_raw("item", "{\"groupKey\":");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.emitted().empty());
  h.send("item", item("g", 1, 2, "b"));
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data["items"] == Json{"a", "b"});
}

TEST_CASE("collect: past maxGroups open groups a new group is refused") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure({{"maxGroups", 2}}).ok());
  REQUIRE(h.send("item", item("a", 0, 2, 1))->ok());
  REQUIRE(h.send("item", item("b", 0, 2, 1))->ok());
  CHECK(contains(error_of(h.send("item", item("c", 0, 2, 1))), "maxGroups"));
  REQUIRE(h.send("item", item("a", 1, 2, 1))->ok());  // completes a, frees a slot
  CHECK(h.send("item", item("c", 0, 2, 1))->ok());
}

TEST_CASE("collect: settings are validated") {
  CHECK(settings_error("collect", {{"timeout", -5}}) ==
        "setting 'timeout': must be an integer number of milliseconds from 0 to 86400000, got -5");
  CHECK(contains(settings_error("collect", {{"timeout", "10s"}}), "setting 'timeout'"));
  CHECK(contains(settings_error("collect", {{"maxGroups", 0}}), "setting 'maxGroups'"));
  CHECK(contains(settings_error("collect", {{"timeOut", 5}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "collect");
  CHECK(h.configure({{"timeout", 1}, {"maxGroups", 5}}).ok());
}

TEST_CASE("collect: destroy drops open groups without emitting") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure({{"timeout", 100}}).ok());
  h.send("item", item("g", 0, 2, 1));
  h.destroy();
  h.advance(1000);
  CHECK(h.emitted().empty());
}

TEST_CASE("collect: items delivered concurrently complete each group exactly once") {
  Harness h(tiny_plugin_entry, "collect");
  REQUIRE(h.configure({{"maxGroups", 10000}}).ok());
  constexpr int kGroups = 100, kItems = 8;
  std::atomic<int> errors{0};
  run_threads(4, [&](int t) {
    // Thread t sends items t and t+4 of every group, in reverse group order for odd t.
    for (int g = 0; g < kGroups; ++g) {
      int group = t % 2 ? kGroups - 1 - g : g;
      for (int i = t; i < kItems; i += 4) {
        auto r = h.send("item", item("g" + std::to_string(group), i, kItems, i * 10, group));
        if (!r || !r->ok()) ++errors;
      }
    }
  });
  CHECK(errors == 0);
  auto e = h.emitted();
  REQUIRE(e.size() == kGroups);
  std::set<int> groups;
  Json expected = Json::array();
  for (int i = 0; i < kItems; ++i) expected.push_back(i * 10);
  for (const auto& x : e) {
    groups.insert(x.data["context"].get<int>());
    CHECK(x.data["items"] == expected);
  }
  CHECK(groups.size() == kGroups);
  CHECK(h.pending_timers() == 0);
}
