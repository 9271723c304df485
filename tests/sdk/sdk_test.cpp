// The C++ SDK's trampolines, driven through the real C ABI by
// tiny::testing::Harness: replies, forwards, deferred calls, exceptions,
// settings and the settings reader, emits, timers, and the harness's own
// refusals (undeclared ports, a second configure).
#include <tiny/settings.hpp>
#include <tiny/testing.hpp>

#include <doctest/doctest.h>

#include <atomic>

namespace {

class Replies final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    const auto& j = msg.json();
    std::string mode = j.value("mode", "");
    if (mode == "value") return tiny::Json{{"v", 1}};
    if (mode == "raw") return tiny::Reply::raw(R"({"raw":true})");
    if (mode == "echo") return tiny::Reply::echo(msg);
    if (mode == "error") return tiny::Reply::error("bad input");
    if (mode == "empty") return tiny::Reply::empty();
    if (mode == "forward") return tiny::Reply::forward("out", msg);
    if (mode == "forward-value") return tiny::Reply::forward("out", tiny::Json{{"f", 2}});
    if (mode == "throw") throw std::runtime_error("kaboom");
    if (mode == "throw-int") throw 42;
    if (mode == "bad-deferred") return tiny::Reply::deferred();
    if (mode == "defer") {
      held_ = msg.defer();
      return tiny::Reply::deferred();
    }
    if (mode == "throw-after-defer") {
      auto call = msg.defer();
      throw std::runtime_error("lost it");  // unwinds through `call`
    }
    if (mode == "type-error") return tiny::Json{{"n", j.at("n").get<int>()}};
    if (mode == "forward-typo") return tiny::Reply::forward("nope", msg);
    if (mode == "raw-garbage") return tiny::Reply::raw("{not json");
    if (mode == "drop") {
      auto call = msg.defer();
      return tiny::Reply::deferred();  // call dropped here: answered with an error
    }
    if (mode == "emit") {
      emit("out", tiny::Json{{"e", 1}}, [this](tiny::Result r) { last_emit_answer_ = r.data; }, msg.cause());
      return tiny::Reply::empty();
    }
    if (mode == "emit-wait") return tiny::Json{{"answer", emit_wait("out", tiny::Json{}).data}};
    if (mode == "timer") {
      auto call = std::make_shared<tiny::Call>(msg.defer());
      start_timer(j.value("ms", 10), [call] { call->complete(tiny::Json{{"timer", "fired"}}); });
      return tiny::Reply::deferred();
    }
    if (mode == "complete-held") {  // answers the call a "defer" message left open
      std::string with = j.value("with", "");
      if (with == "value") held_.complete(tiny::Json{{"late", 1}});
      if (with == "raw") held_.complete(tiny::Reply::raw("[1,2]"));
      if (with == "empty") held_.complete(tiny::Reply::empty());
      if (with == "error") held_.complete(tiny::Reply::error("late failure"));
      if (with == "status") held_.complete(tiny::Reply::error(TINY_STATUS_UNAVAILABLE, "gone away"));
      if (with == "forward") held_.complete(tiny::Reply::forward("out", tiny::Json{{"fwd", true}}));
      if (with == "forward-typo") held_.complete(tiny::Reply::forward("nope", tiny::Json{}));
      if (with == "result") held_.complete(tiny::Result{TINY_STATUS_DEADLINE_EXCEEDED, {}, "too slow"});
      if (with == "deferred") held_.complete(tiny::Reply::deferred());
      return tiny::Reply::empty();
    }
    if (mode == "escape") {  // the call outlives the node (see escaped())
      escaped() = msg.defer();
      return tiny::Reply::deferred();
    }
    if (mode == "try-json") return tiny::Json{{"try", msg.try_json() != nullptr}, {"is", msg.is_json()}};
    if (mode == "timer-cancel") {
      uint64_t id = start_timer(1000, [] {});
      return tiny::Json{{"cancelled", cancel_timer(id)}, {"again", cancel_timer(id)}};
    }
    return tiny::Reply::error("unknown mode");
  }
  void on_destroy() override {
    if (held_.open()) held_.complete(tiny::Reply::error("destroyed"));
  }
  static tiny::Call& escaped() {
    static tiny::Call call;
    return call;
  }

  tiny::Call held_;
  std::string last_emit_answer_;
};

// Reads every kind of setting with tiny::SettingsReader; answers what it read.
class Reader final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    read_ = {{"count", in.integer("count", 1, 100)},
             {"delay", in.integer("delay", 0, 1000, "milliseconds")},
             {"ratio", in.number("ratio", 1, 10)},
             {"on", in.boolean("on")},
             {"name", in.string("name")},
             {"context", in.value("context")}};
    if (in.ok() && read_["name"].get_ref<const std::string&>().empty()) in.fail("name", "must not be empty");
    if (read_settings_undeclared_) (void)in.string("undeclared");
    return in.reply();
  }
  tiny::Reply on_message(tiny::Message&) override { return read_; }
  static inline bool read_settings_undeclared_ = false;

 private:
  tiny::Json read_;
};

class Configurable final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    if (s.at("limit").get<int>() < 0) return tiny::Reply::error("limit must be >= 0");
    limit_ = s.at("limit").get<int>();
    return tiny::Reply::empty();
  }
  tiny::Reply on_message(tiny::Message&) override { return tiny::Json{{"limit", limit_}}; }
  int limit_ = -1;
};

class ThrowsOnCreate final : public tiny::Component {
 public:
  ThrowsOnCreate() { throw std::runtime_error("no resources"); }
  tiny::Reply on_message(tiny::Message&) override { return {}; }
};

}  // namespace

TINY_MODULE("sdk-test", "1.2.3",
            tiny::ComponentSpec::of<Replies>("replies").in("in").in("also_*").out("out"),
            tiny::ComponentSpec::of<Reader>("reader").in("in").settings(
                {{"count", 1}, {"delay", 10}, {"ratio", 2.0}, {"on", false}, {"name", "x"}, {"context", nullptr}}),
            tiny::ComponentSpec::of<Configurable>("configurable").in("in").settings({{"limit", 10}}),
            tiny::ComponentSpec::of<ThrowsOnCreate>("throws_on_create").in("in"))

using tiny::testing::Harness;

TEST_CASE("the entry describes the module and its components") {
  CHECK(tiny_plugin_entry.abi.major == TINY_ABI_VERSION_MAJOR);
  CHECK(std::string(tiny_plugin_entry.module_name) == "sdk-test");
  CHECK(std::string(tiny_plugin_entry.module_version) == "1.2.3");
  Harness h(tiny_plugin_entry, "configurable");
  CHECK(tiny_plugin_entry.component_count() == 4);
  const tiny_component& c = h.descriptor();
  CHECK(std::string(c.default_settings_json) == R"({"limit":10})");
  REQUIRE(c.port_count == 1);
  CHECK(std::string(c.ports[0].name) == "in");
  CHECK(c.ports[0].direction == TINY_PORT_IN);
}

TEST_CASE("handler replies become results") {
  Harness h(tiny_plugin_entry, "replies");
  REQUIRE(h.configure().ok());
  auto value = h.send("in", {{"mode", "value"}});
  REQUIRE(value);
  CHECK(value->json() == tiny::Json{{"v", 1}});
  CHECK(h.send("in", {{"mode", "raw"}})->data == R"({"raw":true})");
  CHECK(h.send("in", {{"mode", "echo"}})->json() == tiny::Json{{"mode", "echo"}});
  auto error = h.send("in", {{"mode", "error"}});
  CHECK(error->status == TINY_STATUS_OK);
  CHECK(error->error == "bad input");
  CHECK(h.send("in", {{"mode", "empty"}})->empty());
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("forward answers with the downstream answer and passes the cause") {
  Harness h(tiny_plugin_entry, "replies");
  h.on_emit([](const tiny::testing::Emitted& e) { return tiny::Result::value({{"downstream", e.data}}); });
  auto r = h.send("in", {{"mode", "forward"}});
  REQUIRE(r);
  CHECK(r->json() == tiny::Json{{"downstream", {{"mode", "forward"}}}});
  auto emitted = h.emitted();
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0].port == "out");
  CHECK(emitted[0].has_cause);
  CHECK(emitted[0].hop == 1);
  // A downstream failure status passes through unchanged.
  h.on_emit([](const tiny::testing::Emitted&) { return tiny::Result{TINY_STATUS_UNAVAILABLE, {}, "peer down"}; });
  auto down = h.send("in", {{"mode", "forward-value"}});
  CHECK(down->status == TINY_STATUS_UNAVAILABLE);
  CHECK(down->error == "peer down");
}

TEST_CASE("exceptions become INTERNAL results, never cross the ABI") {
  Harness h(tiny_plugin_entry, "replies");
  auto r = h.send("in", {{"mode", "throw"}});
  REQUIRE(r);
  CHECK(r->status == TINY_STATUS_INTERNAL);
  CHECK(r->error == "component threw: kaboom");
  auto n = h.send("in", {{"mode", "throw-int"}});
  CHECK(n->status == TINY_STATUS_INTERNAL);
  // Invalid JSON input throws in Message::json(): an error reply, not a crash.
  auto bad = h.send_raw("in", "{not json");
  REQUIRE(bad->done());
  CHECK(bad->result().status == TINY_STATUS_OK);
  CHECK(bad->result().error.rfind("input is not valid JSON: ", 0) == 0);
  auto misuse = h.send("in", {{"mode", "bad-deferred"}});
  CHECK(misuse->status == TINY_STATUS_INTERNAL);
}

TEST_CASE("deferred calls are answered later, once; dropped ones get an error") {
  Harness h(tiny_plugin_entry, "replies");
  auto pending = h.send_async("in", {{"mode", "defer"}});
  CHECK_FALSE(pending->done());
  auto dropped = h.send("in", {{"mode", "drop"}});
  REQUIRE(dropped);
  CHECK(dropped->error == "component dropped the call without answering");
  h.destroy();  // on_destroy answers the held call
  REQUIRE(pending->done());
  CHECK(pending->result().error == "destroyed");
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("emit delivers the answer to the callback") {
  Harness h(tiny_plugin_entry, "replies");
  h.on_emit([](const tiny::testing::Emitted&) { return tiny::Result::raw("\"pong\""); });
  CHECK(h.send("in", {{"mode", "emit"}})->empty());
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].data == tiny::Json{{"e", 1}});
}

TEST_CASE("emit_wait is refused in a non-blocking component") {
  Harness h(tiny_plugin_entry, "replies");
  auto r = h.send("in", {{"mode", "emit-wait"}});
  CHECK(r->status == TINY_STATUS_INTERNAL);
  CHECK(r->error.find("blocking") != std::string::npos);
}

TEST_CASE("timers fire on the host's clock and can be cancelled") {
  Harness h(tiny_plugin_entry, "replies");
  auto pending = h.send_async("in", {{"mode", "timer"}, {"ms", 50}});
  CHECK_FALSE(pending->done());
  CHECK(h.pending_timers() == 1);
  h.advance(49);
  CHECK_FALSE(pending->done());
  h.advance(1);
  REQUIRE(pending->done());
  CHECK(pending->result().json() == tiny::Json{{"timer", "fired"}});
  auto c = h.send("in", {{"mode", "timer-cancel"}});
  CHECK(c->json() == tiny::Json{{"cancelled", true}, {"again", false}});
  CHECK(h.pending_timers() == 0);
}

TEST_CASE("settings: defaults overlaid, unknown keys refused, errors reported") {
  {
    Harness h(tiny_plugin_entry, "configurable");
    REQUIRE(h.configure().ok());
    CHECK(h.send("in", {})->json() == tiny::Json{{"limit", 10}});
  }
  {
    Harness h(tiny_plugin_entry, "configurable");
    CHECK(h.configure({{"limt", 3}}).error == "unknown setting: limt");  // refused before delivery
    REQUIRE(h.configure({{"limit", 3}}).ok());
    CHECK(h.send("in", {})->json() == tiny::Json{{"limit", 3}});
  }
  {
    Harness h(tiny_plugin_entry, "configurable");
    CHECK(h.configure({{"limit", -1}}).error == "limit must be >= 0");
  }
  {
    // A JSON type error while reading settings is a bad setting (status OK,
    // an error the host reports as a configuration error), not INTERNAL.
    Harness h(tiny_plugin_entry, "configurable");
    tiny::Result wrong = h.configure({{"limit", "ten"}});
    CHECK(wrong.status == TINY_STATUS_OK);
    CHECK(wrong.error.rfind("bad settings: [json.exception.type_error.302]", 0) == 0);
  }
}

TEST_CASE("the harness delivers settings once, as a host does") {
  Harness h(tiny_plugin_entry, "configurable");
  REQUIRE(h.configure({{"limit", 3}}).ok());
  CHECK_THROWS_AS(h.configure({{"limit", 4}}), std::logic_error);
  CHECK(h.send("in", {})->json() == tiny::Json{{"limit", 3}});  // the first settings stand
  // `_settings` is no input port: a send cannot smuggle a second delivery in.
  auto again = h.send("_settings", {{"limit", 5}});
  REQUIRE(again);
  CHECK(again->status == TINY_STATUS_NOT_FOUND);
  CHECK(again->error == "node 'node-under-test' has no input port '_settings'");
  CHECK(h.send("in", {})->json() == tiny::Json{{"limit", 3}});
}

TEST_CASE("the harness refuses undeclared input ports with the host's answer") {
  Harness h(tiny_plugin_entry, "replies");
  auto r = h.send("out", {{"mode", "value"}});  // an output, not an input
  REQUIRE(r);
  CHECK(r->status == TINY_STATUS_NOT_FOUND);
  CHECK(r->error == "node 'node-under-test' has no input port 'out'");
  auto raw = h.send_raw("nope", "{}");
  REQUIRE(raw->done());
  CHECK(raw->result().error == "node 'node-under-test' has no input port 'nope'");
  // A declared family matches its members only.
  CHECK(h.send("also_x", {{"mode", "value"}})->json() == tiny::Json{{"v", 1}});
  CHECK(h.send("also_", {{"mode", "value"}})->status == TINY_STATUS_NOT_FOUND);
  CHECK(h.emitted().empty());
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("a deferred call completes with any Reply a handler could return") {
  struct Case {
    std::string with;
    int32_t status;
    std::string data, error;
  };
  const Case cases[] = {
      {"value", TINY_STATUS_OK, R"({"late":1})", ""},
      {"raw", TINY_STATUS_OK, "[1,2]", ""},
      {"empty", TINY_STATUS_OK, "", ""},
      {"error", TINY_STATUS_OK, "", "late failure"},
      {"status", TINY_STATUS_UNAVAILABLE, "", "gone away"},
      {"result", TINY_STATUS_DEADLINE_EXCEEDED, "", "too slow"},
      {"deferred", TINY_STATUS_INTERNAL, "", "a deferred call was completed with Reply::deferred()"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.with);
    Harness h(tiny_plugin_entry, "replies");
    auto pending = h.send_async("in", {{"mode", "defer"}});
    CHECK_FALSE(pending->done());
    CHECK(h.send("in", {{"mode", "complete-held"}, {"with", c.with}})->empty());
    REQUIRE(pending->done());
    CHECK(pending->result().status == c.status);
    CHECK(pending->result().data == c.data);
    CHECK(pending->result().error == c.error);
    CHECK(h.extra_completions() == 0);
  }
}

TEST_CASE("a deferred forward emits with the call as cause and answers with the downstream answer") {
  Harness h(tiny_plugin_entry, "replies");
  h.on_emit([](const tiny::testing::Emitted& e) { return tiny::Result::value({{"downstream", e.data}}); });
  auto pending = h.send_raw("in", R"({"mode":"defer"})", /*hop=*/4);
  CHECK(h.send("in", {{"mode", "complete-held"}, {"with", "forward"}})->empty());
  REQUIRE(pending->done());
  CHECK(pending->result().json() == tiny::Json{{"downstream", {{"fwd", true}}}});
  auto emitted = h.emitted();
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0].port == "out");
  CHECK(emitted[0].has_cause);
  CHECK(emitted[0].hop == 5);
  // A forward on an undeclared port gets the host's NOT_FOUND.
  auto typo = h.send_async("in", {{"mode", "defer"}});
  h.send("in", {{"mode", "complete-held"}, {"with", "forward-typo"}});
  REQUIRE(typo->done());
  CHECK(typo->result().status == TINY_STATUS_NOT_FOUND);
}

TEST_CASE("a deferred forward after the node is destroyed answers UNAVAILABLE without emitting") {
  Harness h(tiny_plugin_entry, "replies");
  auto pending = h.send_async("in", {{"mode", "escape"}});
  h.destroy();
  CHECK_FALSE(pending->done());
  Replies::escaped().complete(tiny::Reply::forward("out", tiny::Json{}));
  REQUIRE(pending->done());
  CHECK(pending->result().status == TINY_STATUS_UNAVAILABLE);
  CHECK(pending->result().error == "node destroyed");
  CHECK(h.emitted().empty());
}

TEST_CASE("Message::try_json and is_json read the data without throwing") {
  Harness h(tiny_plugin_entry, "replies");
  CHECK(h.send("in", {{"mode", "try-json"}})->json() == tiny::Json{{"try", true}, {"is", true}});
}

TEST_CASE("SettingsReader reads typed settings; every error names the key") {
  {
    Harness h(tiny_plugin_entry, "reader");
    REQUIRE(h.configure({{"count", 3.0}, {"context", {{"k", 1}}}}).ok());
    CHECK(h.send("in", {})->json() == tiny::Json{{"count", 3},  {"delay", 10},          {"ratio", 2.0},
                                                 {"on", false}, {"name", "x"}, {"context", {{"k", 1}}}});
  }
  auto error_of = [](const tiny::Json& settings) {
    Harness h(tiny_plugin_entry, "reader");
    return h.configure(settings).error;
  };
  CHECK(error_of({{"count", 0}}) == "setting 'count': must be an integer from 1 to 100, got 0");
  CHECK(error_of({{"count", 1.5}}) == "setting 'count': must be an integer from 1 to 100, got 1.5");
  CHECK(error_of({{"delay", "1s"}}) ==
        "setting 'delay': must be an integer number of milliseconds from 0 to 1000, got \"1s\"");
  CHECK(error_of({{"ratio", 0.5}}) == "setting 'ratio': must be a number from 1 to 10, got 0.5");
  CHECK(error_of({{"on", "yes"}}) == "setting 'on': must be true or false, got \"yes\"");
  CHECK(error_of({{"name", 7}}) == "setting 'name': must be a string, got 7");
  CHECK(error_of({{"name", ""}}) == "setting 'name': must not be empty");
  // The first error is the answer.
  CHECK(error_of({{"count", 0}, {"on", 1}}) == "setting 'count': must be an integer from 1 to 100, got 0");
  Reader::read_settings_undeclared_ = true;
  CHECK(error_of({}).rfind("setting 'undeclared': missing", 0) == 0);
  Reader::read_settings_undeclared_ = false;
}

TEST_CASE("the harness is as strict as a host about ports and JSON") {
  Harness h(tiny_plugin_entry, "replies");
  auto typo = h.send("in", {{"mode", "forward-typo"}});
  CHECK(typo->status == TINY_STATUS_NOT_FOUND);
  CHECK(typo->error == "node 'node-under-test' has no output port 'nope'");
  CHECK(h.emitted().empty());
  auto garbage = h.send("in", {{"mode", "raw-garbage"}});
  CHECK(garbage->status == TINY_STATUS_INTERNAL);
  CHECK(garbage->error == "the node answered data that is not JSON");
}

TEST_CASE("an exception after defer() is INTERNAL; a type error in a message handler stays INTERNAL") {
  Harness h(tiny_plugin_entry, "replies");
  auto r = h.send("in", {{"mode", "throw-after-defer"}});
  REQUIRE(r);
  CHECK(r->status == TINY_STATUS_INTERNAL);
  CHECK(r->error == "component threw while holding a deferred call");
  auto t = h.send("in", {{"mode", "type-error"}, {"n", "x"}});
  CHECK(t->status == TINY_STATUS_INTERNAL);
  CHECK(t->error.rfind("component threw: [json.exception.type_error", 0) == 0);
  bool logged = false;
  for (const auto& line : h.logs())
    if (line.find("component threw: kaboom") != std::string::npos || line.find("component threw: [json") != std::string::npos)
      logged = true;
  CHECK(logged);
  CHECK(h.extra_completions() == 0);
}

TEST_CASE("a constructor that throws makes create fail cleanly") {
  CHECK_THROWS_WITH(Harness(tiny_plugin_entry, "throws_on_create"), "create failed");
}
