#include <atomic>
#include <mutex>

#include "test_support.h"

using namespace tiny::test;

TEST_CASE("array_split: one message per item, in order, with context, index and total") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  auto call = h.send_raw("in", Json{{"context", {{"id", 9}}}, {"array", {"a", {{"b", 1}}, 3}}}.dump(), /*hop=*/5);
  REQUIRE(call->done());
  CHECK(call->result().ok());
  auto e = h.emitted();
  REQUIRE(e.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(e[i].port == "out");
    CHECK(e[i].data["context"] == Json{{"id", 9}});
    CHECK(e[i].data["index"] == i);
    CHECK(e[i].data["total"] == 3);
    CHECK(e[i].hop == 6);
  }
  CHECK(e[0].data["item"] == "a");
  CHECK(e[1].data["item"] == Json{{"b", 1}});
  CHECK(e[2].data["item"] == 3);
}

TEST_CASE("array_split: the next item leaves only after the previous one was answered") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  h.hold_emits(true);
  auto call = h.send_async("in", {{"array", {10, 20, 30}}});
  CHECK(h.emitted().size() == 1);
  CHECK_FALSE(call->done());
  h.answer_held(Result::value("first"));
  CHECK(h.emitted().size() == 2);
  h.answer_held(Result{});
  CHECK(h.emitted().size() == 3);
  CHECK_FALSE(call->done());
  h.answer_held(Result{});
  REQUIRE(call->done());
  // The answer is the last non-empty item answer.
  CHECK(call->result().json() == "first");
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("array_split: answers from another thread keep the order") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  h.hold_emits(true);
  auto call = h.send_async("in", {{"array", {0, 1, 2, 3, 4, 5, 6, 7}}});
  std::thread answerer([&] {
    for (int i = 0; i < 8; ++i) {
      while (h.held_count() == 0) std::this_thread::yield();
      h.answer_held(Result::value(i));
    }
  });
  answerer.join();
  REQUIRE(call->wait(std::chrono::seconds(5)));
  CHECK(call->result().json() == 7);
  auto e = h.emitted();
  REQUIRE(e.size() == 8);
  for (int i = 0; i < 8; ++i) CHECK(e[i].data["item"] == i);
}

TEST_CASE("array_split: the first failing item stops the split and is the answer") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  h.on_emit([](const Emitted& e) {
    return e.data["index"] == 1 ? Result::failure("item 1 is bad") : Result::value(e.data["item"]);
  });
  auto r = h.send("in", {{"array", {"a", "b", "c"}}});
  REQUIRE(r);
  CHECK(r->error == "item 1 is bad");
  CHECK(h.emitted().size() == 2);

  h.clear_emitted();
  h.on_emit([](const Emitted&) { return Result{TINY_STATUS_UNAVAILABLE, {}, "down"}; });
  r = h.send("in", {{"array", {"a", "b"}}});
  REQUIRE(r);
  CHECK(r->status == TINY_STATUS_UNAVAILABLE);  // passed through as is
  CHECK(h.emitted().size() == 1);
}

TEST_CASE("array_split: an empty array emits nothing and answers empty") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  auto r = h.send("in", {{"context", 1}, {"array", Json::array()}});
  REQUIRE(r);
  CHECK(r->empty());
  CHECK(h.emitted().empty());
}

TEST_CASE("array_split: a long array answered synchronously does not grow the stack") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  Json big = Json::array();
  for (int i = 0; i < 200000; ++i) big.push_back(i);
  auto r = h.send("in", {{"array", big}});
  REQUIRE(r);
  CHECK(r->ok());
  auto e = h.emitted();
  REQUIRE(e.size() == 200000);
  CHECK(e.back().data["index"] == 199999);
}

TEST_CASE("array_split: bad input is an error reply") {
  CHECK(contains(settings_error("array_split", {{"x", 1}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  CHECK(contains(error_of(h.send("in", {{"context", 1}})), "array must be an array"));
  CHECK(contains(error_of(h.send("in", {{"array", "abc"}})), "array must be an array"));
  CHECK(contains(error_of(h.send("in", Json::array({1, 2}))), "expects an object"));
  auto raw = h.send_raw("in", "{\"array\": [1,");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(h.emitted().empty());
}

TEST_CASE("array_split: an answer after destroy ends the split without emitting") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  h.hold_emits(true);
  auto call = h.send_async("in", {{"array", {1, 2, 3}}});
  REQUIRE(h.held_count() == 1);
  h.destroy();
  h.answer_held(Result{});
  REQUIRE(call->done());
  CHECK(contains(call->result().error, "destroyed"));
  CHECK(h.emitted().size() == 1);
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("array_split: concurrent splits do not mix") {
  Harness h(tiny_plugin_entry, "array_split");
  REQUIRE(h.configure().ok());
  std::atomic<int> ok{0};
  run_threads(4, [&](int t) {
    for (int i = 0; i < 50; ++i) {
      auto r = h.send("in", {{"context", t}, {"array", {0, 1, 2, 3, 4}}});
      if (r && r->ok()) ++ok;
    }
  });
  CHECK(ok == 200);
  // Per context, items must come in order 0..4 repeatedly.
  std::map<int, int> next;
  bool ordered = true;
  for (const auto& e : h.emitted()) {
    int t = e.data["context"].get<int>();
    if (e.data["item"].get<int>() != next[t]) ordered = false;
    next[t] = (next[t] + 1) % 5;
  }
  CHECK(ordered);
  CHECK(h.emitted().size() == 1000);
}
