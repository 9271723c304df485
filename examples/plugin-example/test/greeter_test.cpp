// Unit test of the greeter component, with no host: tiny::testing::Harness
// calls the module through the real C ABI and records what it emits.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <tiny/testing.hpp>

using tiny::Json;
using tiny::Result;
using tiny::testing::Emitted;
using tiny::testing::Harness;

TEST_CASE("greeter emits the greeting on out and answers with the downstream answer") {
  Harness h(tiny_plugin_entry, "greeter");
  REQUIRE(h.configure({{"greeting", "Hi"}}).ok());
  h.on_emit([](const Emitted& e) { return Result::value({{"seen", e.data}}); });

  auto r = h.send("in", {{"name", "Ada"}});
  REQUIRE(r);
  CHECK(r->ok());
  CHECK(r->json() == Json{{"seen", {{"text", "Hi, Ada!"}}}});
  auto emitted = h.emitted();
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0].port == "out");
  CHECK(emitted[0].has_cause);  // a forward carries the call: hop and deadline propagate
}

TEST_CASE("greeter uses its default greeting") {
  Harness h(tiny_plugin_entry, "greeter");
  REQUIRE(h.configure().ok());
  h.send("in", {{"name", "Bob"}});
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data == Json{{"text", "Hello, Bob!"}});
}

TEST_CASE("greeter rejects bad settings with errors that name the setting") {
  {
    Harness h(tiny_plugin_entry, "greeter");
    CHECK(h.configure({{"greting", "typo"}}).error == "unknown setting: greting");  // as the host refuses it
  }
  {
    Harness h(tiny_plugin_entry, "greeter");  // a node gets its settings once
    CHECK(h.configure({{"greeting", 42}}).error == "setting 'greeting': must be a string, got 42");
  }
  Harness h(tiny_plugin_entry, "greeter");
  CHECK(h.configure({{"greeting", ""}}).error == "setting 'greeting': must not be empty");
}

TEST_CASE("greeter answers bad input with an error, not a crash") {
  Harness h(tiny_plugin_entry, "greeter");
  REQUIRE(h.configure().ok());
  auto r = h.send("in", {{"nom", "x"}});
  REQUIRE(r);
  CHECK(r->error.find("expected {\"name\": string}") != std::string::npos);
  CHECK(h.emitted().empty());
}
