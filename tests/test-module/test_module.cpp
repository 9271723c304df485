// test-module: small components that make the host's paths observable in
// tests (routing, fan-out, blocking, deadlines, failures). Built as a real
// plugin .so and loaded through the real loader.
#include <tiny/plugin.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// Answers with what arrived.
class Echo final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override { return tiny::Reply::echo(msg); }
};

// Forwards what arrived on `in` to `out`; its answer is the downstream one.
class Relay final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override { return tiny::Reply::forward("out", msg); }
};

// Answers with the trace context of its call ({traceparent, tracestate},
// empty strings when untraced), and logs a line through the host (which
// carries the trace there).
class TraceProbe final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    tiny::TraceHeaders trace = msg.trace();
    log_info("trace probe");
    return tiny::Json{{"traceparent", trace.traceparent}, {"tracestate", trace.tracestate}};
  }
};

// Fails every message with a component error.
class Fail final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message&) override { return tiny::Reply::error("failed on purpose"); }
};

// Blocking: sleeps {"ms": N} then answers {"thread": "<id>"}.
class Sleepy final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    const auto& j = msg.json();
    int ms = j.is_object() ? j.value("ms", 0) : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return tiny::Json{{"slept", ms}};
  }
};

// Blocking: emits its input on `out`, waits for the answer (emit_wait) and
// answers with it. Chained asker -> asker is what exhausted the worker pool
// before blocking deliveries from a worker ran on that worker.
class Asker final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    return emit_wait("out", msg.json(), msg.cause());  // the downstream answer as it stands
  }
};

// Never answers until destroyed (deadline and drain tests).
class Never final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    std::lock_guard<std::mutex> lock(mu_);
    held_.push_back(msg.defer());
    return tiny::Reply::deferred();
  }
  void on_destroy() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& call : held_) call.complete(tiny::Reply::error("node destroyed"));
    held_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<tiny::Call> held_;
};

// Answers bytes that are not JSON.
class Garbage final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message&) override { return tiny::Reply::raw("not json {"); }
};

// Forwards bytes that are not JSON on `out`: an emit the host refuses.
class GarbageRelay final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message&) override { return tiny::Reply::forward_raw("out", "not json {"); }
};

// Counts messages; answers {"count": N}. Settings: {"start": N}.
class Counter final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    count_ = s.at("start").get<int64_t>();
    return tiny::Reply::empty();
  }
  tiny::Reply on_message(tiny::Message&) override { return tiny::Json{{"count", ++count_}}; }

 private:
  std::atomic<int64_t> count_{0};
};

// Throws from the handler (the SDK turns it into INTERNAL).
class Thrower final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message&) override { throw std::runtime_error("boom"); }
};

// Rejects its settings when {"reject": true}.
class Picky final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    if (s.at("reject").get<bool>()) return tiny::Reply::error("reject was set");
    return tiny::Reply::empty();
  }
  tiny::Reply on_message(tiny::Message& msg) override { return tiny::Reply::echo(msg); }
};

// Takes `ms` to accept its settings; answers {"tag": tag}. Settings:
// {"ms": N, "tag": "..."} (a node that is slow to start, for reloads).
class SlowStart final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(s.at("ms").get<int64_t>()));
    tag_ = s.at("tag").get<std::string>();
    return tiny::Reply::empty();
  }
  tiny::Reply on_message(tiny::Message&) override { return tiny::Json{{"tag", tag_}}; }

 private:
  std::string tag_;  // set before the node is reachable
};

}  // namespace

#ifndef TEST_MODULE_NAME
#define TEST_MODULE_NAME "test-module"
#endif

TINY_MODULE(TEST_MODULE_NAME, "0.0.1",
            tiny::ComponentSpec::of<Echo>("echo").in("in"),
            tiny::ComponentSpec::of<Relay>("relay").in("in").out("out"),
            tiny::ComponentSpec::of<Fail>("fail").in("in"),
            tiny::ComponentSpec::of<TraceProbe>("trace_probe").in("in"),
            tiny::ComponentSpec::of<Sleepy>("sleepy").in("in").blocking(),
            tiny::ComponentSpec::of<Asker>("asker").in("in").out("out").blocking(),
            tiny::ComponentSpec::of<Never>("never").in("in"),
            tiny::ComponentSpec::of<Garbage>("garbage").in("in"),
            tiny::ComponentSpec::of<GarbageRelay>("garbage_relay").in("in").out("out"),
            tiny::ComponentSpec::of<Counter>("counter").in("in").settings({{"start", 0}}),
            tiny::ComponentSpec::of<Thrower>("thrower").in("in"),
            tiny::ComponentSpec::of<Picky>("picky").in("in").settings({{"reject", false}}),
            tiny::ComponentSpec::of<SlowStart>("slowstart").in("in").settings({{"ms", 0}, {"tag", ""}}))
