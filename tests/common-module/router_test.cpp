#include <atomic>

#include "test_support.h"

using namespace tiny::test;

namespace {
Json input(Json context, Json conditions) { return {{"context", context}, {"conditions", conditions}}; }
Json cond(const std::string& route, Json value) { return {{"route", route}, {"condition", value}}; }
}  // namespace

TEST_CASE("router: the first true condition picks the out_<route> port") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"small", "big", "huge"}}}).ok());
  h.on_emit([](const Emitted& e) { return Result::value({{"via", e.port}}); });

  auto r = h.send("input", input({{"n", 7}}, {cond("small", false), cond("big", true), cond("huge", true)}));
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->json() == Json{{"via", "out_big"}});  // the answer is the downstream answer
  auto e = h.emitted();
  REQUIRE(e.size() == 1);
  CHECK(e[0].port == "out_big");
  CHECK(e[0].data == Json{{"context", {{"n", 7}}}});
  CHECK(e[0].has_cause);
}

TEST_CASE("router: forwards with the call as cause, so the hop count grows") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"a"}}}).ok());
  auto call = h.send_raw("input", input(1, {cond("a", true)}).dump(), /*hop=*/41);
  REQUIRE(call->done());
  CHECK(h.emitted().at(0).hop == 42);
}

TEST_CASE("router: no true condition goes to default when enabled") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"a", "b"}}, {"enableDefaultPort", true}}).ok());
  auto r = h.send("input", input("ctx", {cond("a", false), cond("b", nullptr)}));
  REQUIRE(r);
  CHECK(r->ok());
  REQUIRE(ports(h) == std::vector<std::string>{"default"});
  CHECK(h.emitted()[0].data == Json{{"context", "ctx"}});

  h.clear_emitted();
  r = h.send("input", {{"context", 5}});  // no conditions at all
  REQUIRE(r);
  CHECK(ports(h) == std::vector<std::string>{"default"});
}

TEST_CASE("router: no true condition and no default is an error reply") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"a"}}}).ok());
  auto r = h.send("input", input(1, {cond("a", false)}));
  CHECK(contains(error_of(r), "no route condition is true"));
  CHECK(h.emitted().empty());
}

TEST_CASE("router: a missing context is forwarded as null") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"a"}}}).ok());
  REQUIRE(h.send("input", {{"conditions", {cond("a", true)}}}));
  CHECK(h.emitted().at(0).data == Json{{"context", nullptr}});
}

TEST_CASE("router: downstream failures are the answer, status included") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"a"}}}).ok());
  h.on_emit([](const Emitted&) { return Result{TINY_STATUS_UNAVAILABLE, {}, "peer down"}; });
  auto r = h.send("input", input(1, {cond("a", true)}));
  REQUIRE(r);
  CHECK(r->status == TINY_STATUS_UNAVAILABLE);
  CHECK(r->error == "peer down");
}

TEST_CASE("router: settings are validated") {
  CHECK(settings_error("router", {{"routes", "a"}}) == "setting 'routes': must be an array of route names");
  CHECK(settings_error("router", {{"routes", {"Bad-Name"}}}) ==
        "setting 'routes[0]': must be a name of [a-z0-9_]+, got \"Bad-Name\"");
  CHECK(contains(settings_error("router", {{"routes", {"a", 3}}}), "setting 'routes[1]'"));
  CHECK(contains(settings_error("router", {{"routes", {""}}}), "setting 'routes[0]'"));
  CHECK(settings_error("router", {{"routes", {"a", "a"}}}) == "setting 'routes[1]': repeats the route \"a\"");
  CHECK(contains(settings_error("router", {{"enableDefaultPort", "yes"}}), "setting 'enableDefaultPort'"));
  CHECK(contains(settings_error("router", {{"route", {"a"}}}), "unknown setting: route"));
  Harness h(tiny_plugin_entry, "router");
  CHECK(h.configure({{"routes", {"ok_1", "x"}}, {"enableDefaultPort", true}}).ok());
}

TEST_CASE("router: bad input is an error reply, never a crash") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"a"}}}).ok());
  CHECK(contains(error_of(h.send("input", Json::array())), "must be an object"));
  CHECK(contains(error_of(h.send("input", {{"conditions", "a"}})), "conditions must be an array"));
  CHECK(contains(error_of(h.send("input", {{"conditions", {1}}})), "conditions[0] must be an object"));
  CHECK(contains(error_of(h.send("input", {{"conditions", {{{"condition", true}}}}})), "conditions[0].route"));
  CHECK(contains(error_of(h.send("input", input(1, {cond("a", false), cond("zzz", true)}))),
                 "conditions[1].route \"zzz\" is not one of the configured routes"));
  CHECK(contains(error_of(h.send("input", input(1, {cond("a", "yes")}))), "conditions[0].condition"));
  CHECK(contains(error_of(h.send("input", input(1, {cond("a", 1)}))), "conditions[0].condition"));
  auto raw = h.send_raw("input", "{not json");
  REQUIRE(raw->done());
  CHECK_FALSE(raw->result().error.empty());
  CHECK(raw->result().status == TINY_STATUS_OK);
  CHECK(h.emitted().empty());
}

TEST_CASE("router: concurrent messages each take their own route") {
  Harness h(tiny_plugin_entry, "router");
  REQUIRE(h.configure({{"routes", {"even", "odd"}}}).ok());
  std::atomic<int> failures{0};
  run_threads(4, [&](int t) {
    for (int i = 0; i < 250; ++i) {
      bool even = (t * 250 + i) % 2 == 0;
      auto r = h.send("input", input(t * 250 + i, {cond("even", even), cond("odd", !even)}));
      if (!r || !r->ok()) ++failures;
    }
  });
  CHECK(failures == 0);
  int even = 0, odd = 0;
  for (const auto& e : h.emitted()) {
    int n = e.data.at("context").get<int>();
    if (e.port == "out_even" && n % 2 == 0) ++even;
    if (e.port == "out_odd" && n % 2 == 1) ++odd;
  }
  CHECK(even == 500);
  CHECK(odd == 500);
}
