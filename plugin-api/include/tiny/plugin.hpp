// tiny/plugin.hpp — the header-only C++ SDK over tiny/plugin.h: what a
// plugin author reads. The plumbing behind it (the noexcept trampolines the
// host calls, the module entry, member bodies) lives in tiny/detail/.
//
// A component is a class derived from tiny::Component. Its handler answers
// a message with a tiny::Reply: a value, an error, empty, or forward(port,
// data) (the answer of an emit becomes the answer). To answer later, it
// takes the call with msg.defer(), returns Reply::deferred(), and completes
// the tiny::Call with the same kind of Reply: call.complete(Reply(...)).
// No exception ever crosses the C ABI: one escaping a handler becomes an
// INTERNAL answer.
//
//   class Echo final : public tiny::Component {
//    public:
//     tiny::Reply on_message(tiny::Message& msg) override { return tiny::Reply::echo(msg); }
//   };
//   TINY_MODULE("echo-module", "1.0.0",
//               tiny::ComponentSpec::of<Echo>("echo").in("in"))
//
// Settings are read with tiny/settings.hpp; tests drive a component with
// tiny/testing.hpp.
//
// Lifetime: the host owns nothing of the plugin's; an instance lives in a
// std::shared_ptr that pending emit callbacks and timers also hold, so a
// lambda capturing `this` stays valid until it has run, even after destroy.
#ifndef TINY_PLUGIN_HPP
#define TINY_PLUGIN_HPP

#include <tiny/plugin.h>
#include <tiny/detail/host.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// tiny_plugin_entry, the module entry that TINY_MODULE defines, is declared
// in plugin.h, so that a plugin's tests (in other files) can hand it to
// tiny::testing::Harness.

namespace tiny {

using Json = nlohmann::json;

class Component;
namespace detail {
struct ComponentAccess;
template <class C>
struct ComponentTrampolines;
}  // namespace detail

// An owned answer: what an emit answered (the callback's argument, what
// emit_wait returns, what a test harness records).
struct Result {
  int32_t status = TINY_STATUS_OK;
  std::string data;   // JSON text; empty = no data
  std::string error;  // component error (status OK) or failure message

  static Result value(const Json& j) { return Result{TINY_STATUS_OK, j.dump(), {}}; }
  static Result raw(std::string json_text) { return Result{TINY_STATUS_OK, std::move(json_text), {}}; }
  static Result failure(std::string message) { return Result{TINY_STATUS_OK, {}, std::move(message)}; }
  static Result from(const tiny_result& r) {
    return Result{r.status, std::string(detail::view(r.data)), std::string(detail::view(r.error))};
  }

  // True iff the downstream answered without any error.
  bool ok() const { return status == TINY_STATUS_OK && error.empty(); }
  bool empty() const { return ok() && data.empty(); }
  // The data parsed as JSON (null when empty). Throws on invalid JSON.
  Json json() const { return data.empty() ? Json() : Json::parse(data); }

  tiny_result as_c() const { return tiny_result{status, detail::view(data), detail::view(error)}; }
};

class Message;

// W3C trace context as HTTP carries it (`traceparent`, `tracestate`
// headers). Empty when a call is not traced, or when the host does not
// offer tracing (tiny.trace/1): a plugin works the same without it.
struct TraceHeaders {
  std::string traceparent;
  std::string tracestate;
  bool empty() const { return traceparent.empty(); }
};

// The trace context of an open call (its traceparent names this delivery's
// span). [thread: any]
inline TraceHeaders trace_of(const tiny_call* call);
// The headers for one outbound request made on behalf of `call` (an HTTP
// request): same trace, a new span id whose parent is the call's span.
// Empty when the call is not traced. [thread: any]
inline TraceHeaders outbound_trace(const tiny_call* call);

// An answer: what a handler returns, and what completes a deferred Call.
class Reply {
 public:
  enum class Kind { kEmpty, kData, kError, kForward, kDeferred };

  Reply() = default;
  Reply(const Json& value) : kind_(Kind::kData), text_(value.dump()) {}  // NOLINT: implicit on purpose
  // An emit's answer passed on as this answer, as it stands: its data, its
  // error, its status.
  Reply(const Result& answer);  // NOLINT: implicit on purpose

  static Reply empty() { return Reply(); }
  static Reply value(const Json& value) { return Reply(value); }
  static Reply raw(std::string_view json_text) { return Reply(Kind::kData, std::string(json_text)); }
  static Reply error(std::string message) { return Reply(Kind::kError, std::move(message)); }
  // An error with a gRPC status (tiny_status): for failures that are not
  // the component's answer but the environment's, e.g. UNAVAILABLE for a
  // port in use. A `_settings` answer with a status other than OK or
  // INVALID_ARGUMENT makes `tinyhost run` exit 1 (runtime) instead of 2
  // (bad configuration).
  static Reply error(int32_t status, std::string message);
  // The answer is the answer of emitting `json_text` on `port`; the emit
  // carries the call as its cause.
  static Reply forward_raw(std::string port, std::string_view json_text);
  static Reply forward(std::string port, const Json& value) { return forward_raw(std::move(port), value.dump()); }
  // Forwards the message's own data unchanged, without copying it (the
  // common case: transform, relay). Borrows the message: valid only as the
  // handler's return.
  static Reply forward(std::string port, const Message& msg);
  // Answers with the message's own data, without copying it. Borrows the
  // message: valid only as the handler's return.
  static Reply echo(const Message& msg);
  // The handler took the call with Message::defer() and completes it later.
  static Reply deferred() { return Reply(Kind::kDeferred, {}); }

  Kind kind() const { return kind_; }
  // The data to answer or forward (a borrowed view for forward(port, msg)
  // and echo(msg), else the owned text), or the error text.
  std::string_view text() const { return borrowed_ ? *borrowed_ : std::string_view(text_); }
  const std::string& port() const { return port_; }
  int32_t status() const { return status_; }

 private:
  Reply(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}
  Kind kind_ = Kind::kEmpty;
  int32_t status_ = TINY_STATUS_OK;
  std::string text_;
  std::string port_;
  std::optional<std::string_view> borrowed_;
};

// An open call the component answers later: call.complete(reply), with any
// Reply a handler could return (forward included). Move-only; completes
// exactly once. Dropping an uncompleted Call answers it with an error, so a
// lost reply can never leave the caller waiting. [thread: any]
class Call {
 public:
  Call() = default;
  Call(Call&& other) noexcept;
  Call& operator=(Call&& other) noexcept;
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call() { drop(); }

  bool open() const { return call_.load() != nullptr; }
  // The call, as the `cause` of the emits it makes (hop count, deadline).
  const tiny_call* handle() const { return call_.load(); }

  // Answers the call; only the first answer counts, also when two threads
  // race to answer (the handle is taken atomically). A forward emits on the
  // node's port; once the node is destroyed it answers UNAVAILABLE instead.
  // Reply::echo(msg) and forward(port, msg) borrow the message, so they are
  // valid here only while its handler runs. [thread: any]
  void complete(const Reply& reply);

  // Releases the handle without answering: the caller then completes it
  // through the C ABI (tiny_host_api::complete).
  tiny_call* release() { return call_.exchange(nullptr); }

 private:
  friend class Message;
  Call(tiny_call* call, std::weak_ptr<Component> owner) : call_(call), owner_(std::move(owner)) {}
  void drop();
  std::atomic<tiny_call*> call_{nullptr};
  std::weak_ptr<Component> owner_;  // the node a forward emits from
};

// One delivery. Views are borrowed: valid only during the handler.
class Message {
 public:
  std::string_view port() const { return port_; }
  std::string_view data() const { return data_; }
  // The data parsed as JSON (null when empty); parsed once, on first use.
  // Throws when it is not JSON: the SDK answers "input is not valid JSON".
  const Json& json() const;
  // The same without throwing: nullptr when the data is not JSON.
  const Json* try_json() const;
  // True iff the data is empty or JSON. Checks without building a value,
  // for components that pass the bytes on unchanged.
  bool is_json() const;
  // The open call, for Component::emit's `cause`, while not deferred.
  const tiny_call* cause() const { return call_; }
  // The message's trace context (see TraceHeaders), while not deferred.
  TraceHeaders trace() const { return trace_of(call_); }
  // Takes the call out to answer later; return Reply::deferred().
  Call defer();
  bool deferred() const { return deferred_; }

 private:
  template <class C>
  friend struct detail::ComponentTrampolines;
  Message(Component* owner, tiny_call* call, std::string_view port, std::string_view data)
      : owner_(owner), call_(call), port_(port), data_(data) {}
  const Json& parsed() const;

  Component* owner_;
  tiny_call* call_;
  std::string_view port_;
  std::string_view data_;
  mutable Json json_;  // discarded when the data is not JSON
  mutable bool parsed_ = false;
  bool deferred_ = false;
};

using EmitCallback = std::function<void(Result)>;
using TimerId = uint64_t;

// A node's own metric (see Component::counter, histogram); recording on a
// metric the host refused, or on a host without metrics, does nothing.
class Metric {
 public:
  Metric() = default;
  // Counter: adds `n` under code="<code>" (0..999), or with no code (-1).
  void add(int32_t code, uint64_t n = 1) const {
    if (metric_) detail::g_metrics->add(metric_, code, n);
  }
  // Histogram: one sample, in seconds.
  void observe(double seconds) const {
    if (metric_) detail::g_metrics->observe(metric_, seconds);
  }
  explicit operator bool() const { return metric_ != nullptr; }

 private:
  friend class Component;
  explicit Metric(tiny_metric* m) : metric_(m) {}
  tiny_metric* metric_ = nullptr;
};

class Component : public std::enable_shared_from_this<Component> {
 public:
  virtual ~Component() = default;

  // Receives the settings (defaults overlaid with the flow's) on
  // `_settings`, once, before any other message: a changed setting makes
  // the host destroy the node and create a new one, so a component keeps
  // no lock around what it read here. An error reply rejects the node.
  virtual Reply on_settings(const Json& settings) {
    (void)settings;
    return Reply::empty();
  }
  // Handles one message on an input port the component declared (the host
  // refuses the others). May run concurrently.
  virtual Reply on_message(Message& msg) = 0;
  // Called at teardown, after the host cancelled this node's timers and
  // every handler returned: stop threads, answer every deferred Call. No
  // emit after it returns.
  virtual void on_destroy() {}

  const char* node_name() const { return detail::g_host->node_name(node_); }
  tiny_node* node() const { return node_; }

 protected:
  // Emits `json_text` on `port`. `cb` (optional) receives the answer exactly
  // once, on any thread, possibly before emit returns. `cause` is the
  // open call this emit belongs to (msg.cause(), call.handle()), or nullptr.
  // Text that is not JSON is answered INVALID_ARGUMENT and goes nowhere.
  void emit_raw(std::string_view port, std::string_view json_text, EmitCallback cb = {},
                const tiny_call* cause = nullptr);
  void emit(std::string_view port, const Json& value, EmitCallback cb = {}, const tiny_call* cause = nullptr) {
    emit_raw(port, value.dump(), std::move(cb), cause);
  }
  // Emits a root message (no cause) that carries trace context from
  // outside, e.g. an HTTP request's headers: a valid `inbound.traceparent`
  // is continued, else the host starts a new trace. On a host without
  // tracing it is emit_raw(port, json_text, cb). [thread: any]
  void emit_traced(std::string_view port, std::string_view json_text, const TraceHeaders& inbound,
                   EmitCallback cb = {});
  // Emits and waits for the answer. Only for components declared blocking
  // (they run on the host's worker pool); elsewhere it throws.
  Result emit_wait(std::string_view port, const Json& value, const tiny_call* cause = nullptr);

  // Runs `fn` on a host timer thread after `delay_ms`. Returns 0 when the
  // node is shutting down or the host offers no timers. [thread: any]
  TimerId start_timer(uint64_t delay_ms, std::function<void()> fn);
  // True iff the timer was cancelled before it fired. [thread: any]
  bool cancel_timer(TimerId id);

  // Declares this node's metric `name` (tinyhost_<name> on /metrics; it
  // starts with the component's name, a counter's ends in _total, a
  // histogram's in _seconds). Usually in on_settings; valid until teardown.
  Metric counter(const char* name, const char* help) const { return define_metric(name, TINY_METRIC_COUNTER, help); }
  Metric histogram(const char* name, const char* help) const {
    return define_metric(name, TINY_METRIC_HISTOGRAM, help);
  }

  bool log_enabled(int32_t level) const { return detail::g_host->log_enabled(detail::g_host, level) != 0; }
  void log(int32_t level, std::string_view message) const;
  void log_debug(std::string_view m) const { log(TINY_LOG_DEBUG, m); }
  void log_info(std::string_view m) const { log(TINY_LOG_INFO, m); }
  void log_warn(std::string_view m) const { log(TINY_LOG_WARN, m); }
  void log_error(std::string_view m) const { log(TINY_LOG_ERROR, m); }

 private:
  friend struct detail::ComponentAccess;
  Metric define_metric(const char* name, int32_t kind, const char* help) const {
    if (!detail::g_metrics || destroyed_.load(std::memory_order_acquire)) return Metric();
    return Metric(detail::g_metrics->define(node_, name, kind, help));
  }

  tiny_node* node_ = nullptr;
  bool blocking_ = false;
  // Set once destroy returned: callbacks that run later must not use node_.
  std::atomic<bool> destroyed_{false};
};

// Declares a component: its name, ports, settings with defaults, flags.
class ComponentSpec {
 public:
  // Component `name`, implemented by class C (one instance per node).
  template <class C>
  static ComponentSpec of(std::string name);

  ComponentSpec& describe(std::string text) {
    description_ = std::move(text);
    return *this;
  }
  // Ports: [a-z0-9_]+; an output port ending in `*` is a family (out_*).
  ComponentSpec& in(std::string port, std::string description = {}) {
    ports_.push_back({std::move(port), TINY_PORT_IN, std::move(description)});
    return *this;
  }
  ComponentSpec& out(std::string port, std::string description = {}) {
    ports_.push_back({std::move(port), TINY_PORT_OUT, std::move(description)});
    return *this;
  }
  // A JSON object of accepted settings keys and their defaults.
  ComponentSpec& settings(const Json& defaults) {
    settings_ = defaults.dump();
    return *this;
  }
  // The handler may block: the host runs it on its worker pool.
  ComponentSpec& blocking() {
    flags_ |= TINY_COMPONENT_BLOCKING;
    *blocking_flag_ = true;
    return *this;
  }

  // Fills the C descriptor; pointers refer into this spec, which must not
  // move afterwards.
  const tiny_component* descriptor();

 private:
  struct PortDecl {
    std::string name;
    int32_t direction;
    std::string description;
  };
  std::string name_, description_, settings_ = "{}";
  std::vector<PortDecl> ports_;
  uint32_t flags_ = 0;
  std::vector<tiny_port> c_ports_;
  tiny_component desc_{};
  tiny_instance* (*create_)(const tiny_host_api*, tiny_node*) = nullptr;
  void (*handle_)(tiny_instance*, tiny_call*, const char*, tiny_bytes) = nullptr;
  void (*destroy_)(tiny_instance*) = nullptr;
  bool* blocking_flag_ = nullptr;
};

}  // namespace tiny

#include <tiny/detail/component.hpp>
#include <tiny/detail/trampolines.hpp>
#include <tiny/detail/module.hpp>

// Defines the module entry, the plugin's one exported symbol. Use once per
// plugin, at namespace scope:
//   TINY_MODULE("my-module", "1.0.0", tiny::ComponentSpec::of<A>("a").in("in"), ...)
// The component table is built on first use (the host's first call).
#define TINY_MODULE(module_name, module_version, ...)                                          \
  namespace {                                                                                   \
  const ::tiny::detail::Module& tiny_module_instance() {                                        \
    static const ::tiny::detail::Module module(std::vector<::tiny::ComponentSpec>{__VA_ARGS__}); \
    return module;                                                                              \
  }                                                                                             \
  }                                                                                             \
  extern "C" TINY_PLUGIN_EXPORT const tiny_entry tiny_plugin_entry =                            \
      ::tiny::detail::ModuleEntry<&tiny_module_instance>::make(module_name, module_version);

#endif  // TINY_PLUGIN_HPP
