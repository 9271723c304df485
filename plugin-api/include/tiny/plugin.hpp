// tiny/plugin.hpp — the header-only C++ SDK over tiny/plugin.h.
//
// A component is a class derived from tiny::Component. Its handler answers a
// message with a Reply: a value, an error, empty, forward(port, data) (the
// answer of an emit becomes the answer) or deferred (the component keeps a
// tiny::Call and completes it later). Every call from the host enters
// through a noexcept trampoline that turns an escaping exception into an
// INTERNAL result, so no exception ever crosses the C ABI.
//
//   class Echo final : public tiny::Component {
//    public:
//     tiny::Reply on_message(tiny::Message& msg) override { return tiny::Reply::raw(msg.data()); }
//   };
//   TINY_MODULE("echo-module", "1.0.0",
//               tiny::ComponentSpec::of<Echo>("echo").in("in"))
//
// Lifetime: the host owns nothing of the plugin's; an instance lives in a
// std::shared_ptr that pending emit callbacks and timers also hold, so a
// lambda capturing `this` stays valid until it has run, even after destroy.
#ifndef TINY_PLUGIN_HPP
#define TINY_PLUGIN_HPP

#include <tiny/plugin.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// tiny_plugin_entry, the module entry that TINY_MODULE defines, is declared
// in plugin.h, so that a plugin's tests (in other files) can hand it to
// tiny::testing::Harness.

namespace tiny {

using Json = nlohmann::json;

namespace detail {
// Set once by the entry's init, read-only afterwards. One plugin = one
// shared object = one copy of these (the symbols are hidden).
inline const tiny_host_api* g_host = nullptr;
inline const tiny_timer_api* g_timer = nullptr;

inline tiny_bytes view(std::string_view s) {
  return tiny_bytes{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view view(tiny_bytes b) {
  return b.len ? std::string_view(reinterpret_cast<const char*>(b.ptr), b.len) : std::string_view();
}
}  // namespace detail

// An owned answer: what an emit answered, or what a component answers.
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

// An open call the component answers later. Move-only; completes exactly
// once. Dropping an uncompleted Call answers it with an error, so a lost
// reply can never leave the caller waiting. [thread: any]
class Call {
 public:
  Call() = default;
  explicit Call(tiny_call* call) : call_(call) {}
  Call(Call&& other) noexcept : call_(other.call_.exchange(nullptr)) {}
  Call& operator=(Call&& other) noexcept {
    if (this != &other) {
      drop();
      call_.store(other.call_.exchange(nullptr));
    }
    return *this;
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  ~Call() { drop(); }

  bool open() const { return call_.load() != nullptr; }
  const tiny_call* handle() const { return call_.load(); }

  // Answers the call; only the first answer counts, also when two threads
  // race to answer (the handle is taken atomically). [thread: any]
  void complete(const tiny_result& r) {
    if (tiny_call* c = call_.exchange(nullptr)) detail::g_host->complete(c, &r);
  }
  void complete(const Result& r) { complete(r.as_c()); }
  void reply(const Json& value) { complete(Result::value(value)); }
  void reply_raw(std::string_view json_text) {
    complete(tiny_result{TINY_STATUS_OK, detail::view(json_text), {}});
  }
  void reply_empty() { complete(tiny_result{TINY_STATUS_OK, {}, {}}); }
  void fail(std::string_view message) { complete(tiny_result{TINY_STATUS_OK, {}, detail::view(message)}); }
  // Releases the handle without answering; the caller must complete it.
  tiny_call* release() { return call_.exchange(nullptr); }

 private:
  void drop() {
    if (!call_.load()) return;
    // Destroyed by an exception unwinding through the handler that deferred
    // it: that is the component failing (INTERNAL), not a silent drop.
    if (std::uncaught_exceptions() > 0)
      complete(tiny_result{TINY_STATUS_INTERNAL, {}, detail::view("component threw while holding a deferred call")});
    else
      fail("component dropped the call without answering");
  }
  std::atomic<tiny_call*> call_{nullptr};
};

// What a handler returns.
class Reply {
 public:
  enum class Kind { kEmpty, kData, kError, kForward, kDeferred };

  Reply() = default;
  Reply(const Json& value) : kind_(Kind::kData), text_(value.dump()) {}  // NOLINT: implicit on purpose

  static Reply empty() { return Reply(); }
  static Reply value(const Json& value) { return Reply(value); }
  static Reply raw(std::string_view json_text) { return Reply(Kind::kData, std::string(json_text)); }
  static Reply error(std::string message) { return Reply(Kind::kError, std::move(message)); }
  // An error with a gRPC status (tiny_status): for failures that are not
  // the component's answer but the environment's, e.g. UNAVAILABLE for a
  // port in use. A `_settings` answer with a status other than OK or
  // INVALID_ARGUMENT makes `tinyhost run` exit 1 (runtime) instead of 2
  // (bad configuration).
  static Reply error(int32_t status, std::string message) {
    Reply r(Kind::kError, std::move(message));
    r.status_ = status;
    return r;
  }
  // The answer is the answer of emitting `json_text` on `port`.
  static Reply forward_raw(std::string port, std::string_view json_text) {
    Reply r(Kind::kForward, std::string(json_text));
    r.port_ = std::move(port);
    return r;
  }
  static Reply forward(std::string port, const Json& value) { return forward_raw(std::move(port), value.dump()); }
  // Forwards the message's own data unchanged, without copying it (the
  // common case: transform, relay). Valid only as the handler's return.
  static Reply forward(std::string port, const class Message& msg);
  // Answers with the message's own data, without copying it.
  static Reply echo(const class Message& msg);
  // The component took the call with Message::defer() and answers later.
  static Reply deferred() { return Reply(Kind::kDeferred, {}); }

  Kind kind() const { return kind_; }
  // The data to answer or forward: a borrowed view for forward(port, msg)
  // and echo(msg), else the owned text.
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

// One delivery. Views are borrowed: valid only during the handler.
class Message {
 public:
  Message(tiny_call* call, std::string_view port, std::string_view data)
      : call_(call), port_(port), data_(data) {}

  std::string_view port() const { return port_; }
  std::string_view data() const { return data_; }
  // The data parsed as JSON (null when empty); parsed once, on first use.
  const Json& json() const {
    if (!parsed_) {
      json_ = data_.empty() ? Json() : Json::parse(data_);
      parsed_ = true;
    }
    return json_;
  }
  // The open call, for Component::emit's `cause`, while not deferred.
  const tiny_call* cause() const { return call_; }
  // Takes the call out to answer later; return Reply::deferred().
  Call defer() {
    deferred_ = true;
    return Call(call_);
  }
  bool deferred() const { return deferred_; }

 private:
  tiny_call* call_;
  std::string_view port_;
  std::string_view data_;
  mutable Json json_;
  mutable bool parsed_ = false;
  bool deferred_ = false;
};

inline Reply Reply::forward(std::string port, const Message& msg) {
  Reply r(Kind::kForward, {});
  r.port_ = std::move(port);
  r.borrowed_ = msg.data();
  return r;
}
inline Reply Reply::echo(const Message& msg) {
  Reply r(Kind::kData, {});
  r.borrowed_ = msg.data();
  return r;
}

using EmitCallback = std::function<void(Result)>;
using TimerId = uint64_t;

class Component : public std::enable_shared_from_this<Component> {
 public:
  virtual ~Component() = default;

  // Receives the settings (defaults overlaid with the flow's) on
  // `_settings`, before any other message. An error reply rejects the node.
  virtual Reply on_settings(const Json& settings) {
    (void)settings;
    return Reply::empty();
  }
  // Handles one message on an input port. May run concurrently.
  virtual Reply on_message(Message& msg) = 0;
  // Called at teardown, after the host cancelled this node's timers: stop
  // threads, answer every deferred Call. No emit after it returns.
  virtual void on_destroy() {}

  const char* node_name() const { return detail::g_host->node_name(node_); }
  tiny_node* node() const { return node_; }

 protected:
  // Emits `json_text` on `port`. `cb` (optional) receives the answer exactly
  // once, on any thread, possibly before emit returns. `cause` is the
  // open call this emit belongs to (msg.cause()), or nullptr.
  void emit_raw(std::string_view port, std::string_view json_text, EmitCallback cb = {},
                const tiny_call* cause = nullptr) {
    if (destroyed_.load(std::memory_order_acquire)) {  // the node handle is dead
      if (cb) cb(Result{TINY_STATUS_UNAVAILABLE, {}, "node destroyed"});
      return;
    }
    std::string port_z(port);
    if (!cb) {
      detail::g_host->emit(node_, cause, port_z.c_str(), detail::view(json_text), nullptr, nullptr);
      return;
    }
    auto* box = new EmitBox{shared_from_this(), std::move(cb)};
    detail::g_host->emit(node_, cause, port_z.c_str(), detail::view(json_text), &EmitBox::done, box);
  }
  void emit(std::string_view port, const Json& value, EmitCallback cb = {}, const tiny_call* cause = nullptr) {
    emit_raw(port, value.dump(), std::move(cb), cause);
  }
  // Emits and waits for the answer. Only for components declared blocking
  // (they run on the host's worker pool); elsewhere it throws.
  Result emit_wait(std::string_view port, const Json& value, const tiny_call* cause = nullptr) {
    if (!blocking_) throw std::logic_error("emit_wait needs a component declared blocking");
    struct Waiter {
      std::mutex mu;
      std::condition_variable cv;
      std::optional<Result> result;
    };
    auto waiter = std::make_shared<Waiter>();
    emit(port, value, [waiter](Result r) {
      std::lock_guard<std::mutex> lock(waiter->mu);
      waiter->result = std::move(r);
      waiter->cv.notify_all();
    }, cause);
    std::unique_lock<std::mutex> lock(waiter->mu);
    waiter->cv.wait(lock, [&] { return waiter->result.has_value(); });
    return std::move(*waiter->result);
  }

  // Runs `fn` on a host timer thread after `delay_ms`. Returns 0 when the
  // node is shutting down or the host offers no timers. [thread: any]
  TimerId start_timer(uint64_t delay_ms, std::function<void()> fn) {
    if (!detail::g_timer || destroyed_.load(std::memory_order_acquire)) return 0;
    auto* box = new TimerBox{shared_from_this(), std::move(fn)};
    TimerId id = detail::g_timer->start(node_, delay_ms, &TimerBox::fire, box);
    if (id == 0) delete box;
    return id;
  }
  // True iff the timer was cancelled before it fired. [thread: any]
  bool cancel_timer(TimerId id) { return id != 0 && detail::g_timer && detail::g_timer->cancel(node_, id) == 1; }

  bool log_enabled(int32_t level) const { return detail::g_host->log_enabled(detail::g_host, level) != 0; }
  void log(int32_t level, std::string_view message) const {
    tiny_node* node = destroyed_.load(std::memory_order_acquire) ? nullptr : node_;
    detail::g_host->log(detail::g_host, node, level, detail::view(message));
  }
  void log_debug(std::string_view m) const { log(TINY_LOG_DEBUG, m); }
  void log_info(std::string_view m) const { log(TINY_LOG_INFO, m); }
  void log_warn(std::string_view m) const { log(TINY_LOG_WARN, m); }
  void log_error(std::string_view m) const { log(TINY_LOG_ERROR, m); }

 private:
  template <class C>
  friend struct ComponentTrampolines;

  struct EmitBox {
    std::shared_ptr<Component> keep_alive;
    EmitCallback cb;
    static void done(void* user, const tiny_result* r) noexcept {
      std::unique_ptr<EmitBox> box(static_cast<EmitBox*>(user));
      try {
        box->cb(Result::from(*r));
      } catch (const std::exception& e) {
        box->keep_alive->log_error(std::string("emit callback threw: ") + e.what());
      } catch (...) {
        box->keep_alive->log_error("emit callback threw");
      }
    }
  };
  struct TimerBox {
    std::shared_ptr<Component> keep_alive;
    std::function<void()> fn;
    static void fire(void* user, int32_t event) noexcept {
      std::unique_ptr<TimerBox> box(static_cast<TimerBox*>(user));
      if (event != TINY_TIMER_FIRED) return;
      try {
        box->fn();
      } catch (const std::exception& e) {
        box->keep_alive->log_error(std::string("timer callback threw: ") + e.what());
      } catch (...) {
        box->keep_alive->log_error("timer callback threw");
      }
    }
  };

  tiny_node* node_ = nullptr;
  bool blocking_ = false;
  // Set once destroy returned: callbacks that run later must not use node_.
  std::atomic<bool> destroyed_{false};
};

// Declares a component: its name, ports, settings with defaults, flags.
class ComponentSpec {
 public:
  template <class C>
  static ComponentSpec of(std::string name);

  ComponentSpec& describe(std::string text) {
    description_ = std::move(text);
    return *this;
  }
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
  const tiny_component* descriptor() {
    c_ports_.clear();
    for (const auto& p : ports_)
      c_ports_.push_back(tiny_port{p.name.c_str(), p.direction, p.description.empty() ? nullptr : p.description.c_str()});
    desc_ = tiny_component{};
    desc_.struct_size = sizeof(tiny_component);
    desc_.name = name_.c_str();
    desc_.description = description_.empty() ? nullptr : description_.c_str();
    desc_.flags = flags_;
    desc_.ports = c_ports_.data();
    desc_.port_count = static_cast<uint32_t>(c_ports_.size());
    desc_.default_settings_json = settings_.c_str();
    desc_.create = create_;
    desc_.handle = handle_;
    desc_.destroy = destroy_;
    return &desc_;
  }

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

// The noexcept functions the host calls for component C.
template <class C>
struct ComponentTrampolines {
  struct Instance {
    std::shared_ptr<Component> component;
  };

  static tiny_instance* create(const tiny_host_api* host, tiny_node* node) noexcept {
    try {
      auto component = std::make_shared<C>();
      component->node_ = node;
      component->blocking_ = blocking;
      return reinterpret_cast<tiny_instance*>(new Instance{std::move(component)});
    } catch (const std::exception& e) {
      std::string m = std::string("create failed: ") + e.what();
      host->log(host, node, TINY_LOG_ERROR, detail::view(m));
    } catch (...) {
      host->log(host, node, TINY_LOG_ERROR, detail::view("create failed"));
    }
    return nullptr;
  }

  static void handle(tiny_instance* instance, tiny_call* call, const char* port, tiny_bytes data) noexcept {
    Component& component = *reinterpret_cast<Instance*>(instance)->component;
    Message msg(call, port, detail::view(data));
    const bool settings = std::strcmp(port, "_settings") == 0;
    try {
      Reply reply = settings ? component.on_settings(msg.json()) : component.on_message(msg);
      if (msg.deferred()) return;  // the component owns the call now
      answer(component, call, reply);
    } catch (const Json::exception& e) {
      if (msg.deferred()) return;
      // Bad input is the sender's failure, not the component's: an error
      // reply. In `_settings`, any JSON type or range error (settings.at(),
      // get<int>() on a string) is a bad setting: the flow's failure, so a
      // plain error reply too (the host exits 2, not 1).
      if (settings || dynamic_cast<const Json::parse_error*>(&e) != nullptr) {
        std::string m = std::string(settings ? "bad settings: " : "input is not valid JSON: ") + e.what();
        tiny_result r{TINY_STATUS_OK, {}, detail::view(m)};
        detail::g_host->complete(call, &r);
        return;
      }
      fail_internal(component, call, std::string("component threw: ") + e.what());
    } catch (const std::exception& e) {
      if (msg.deferred()) return;  // a Call object answered or will answer it
      fail_internal(component, call, std::string("component threw: ") + e.what());
    } catch (...) {
      if (msg.deferred()) return;
      fail_internal(component, call, "component threw a non-standard exception");
    }
  }

  static void destroy(tiny_instance* instance) noexcept {
    std::unique_ptr<Instance> owned(reinterpret_cast<Instance*>(instance));
    try {
      owned->component->on_destroy();
    } catch (...) {
      owned->component->log_error("on_destroy threw");
    }
    owned->component->destroyed_.store(true, std::memory_order_release);
  }

  static inline bool blocking = false;

 private:
  static void answer(Component& component, tiny_call* call, const Reply& reply) {
    switch (reply.kind()) {
      case Reply::Kind::kEmpty: {
        tiny_result r{TINY_STATUS_OK, {}, {}};
        detail::g_host->complete(call, &r);
        return;
      }
      case Reply::Kind::kData: {
        tiny_result r{TINY_STATUS_OK, detail::view(reply.text()), {}};
        detail::g_host->complete(call, &r);
        return;
      }
      case Reply::Kind::kError: {
        tiny_result r{reply.status(), {}, detail::view(reply.text())};
        detail::g_host->complete(call, &r);
        return;
      }
      case Reply::Kind::kForward:
        // The call itself is the callback's context: no allocation.
        detail::g_host->emit(component.node_, call, reply.port().c_str(), detail::view(reply.text()),
                             &forward_done, call);
        return;
      case Reply::Kind::kDeferred:
        fail_internal(component, call, "Reply::deferred() returned without Message::defer()");
        return;
    }
  }
  static void forward_done(void* user, const tiny_result* r) noexcept {
    detail::g_host->complete(static_cast<tiny_call*>(user), r);
  }
  // INTERNAL to the caller, and a log line: an exception is a bug the
  // operator should see even when nobody reads the answer (an emit's).
  static void fail_internal(Component& component, tiny_call* call, std::string_view message) {
    component.log_error(message);
    tiny_result r{TINY_STATUS_INTERNAL, {}, detail::view(message)};
    detail::g_host->complete(call, &r);
  }
};

template <class C>
ComponentSpec ComponentSpec::of(std::string name) {
  static_assert(std::is_base_of_v<Component, C>, "a component derives from tiny::Component");
  ComponentSpec spec;
  spec.name_ = std::move(name);
  spec.create_ = &ComponentTrampolines<C>::create;
  spec.blocking_flag_ = &ComponentTrampolines<C>::blocking;
  spec.handle_ = &ComponentTrampolines<C>::handle;
  spec.destroy_ = &ComponentTrampolines<C>::destroy;
  return spec;
}

namespace detail {
// The module behind the TINY_MODULE entry: built once, on first use.
class Module {
 public:
  explicit Module(std::vector<ComponentSpec> specs) : specs_(std::move(specs)) {
    for (auto& s : specs_) descriptors_.push_back(s.descriptor());
  }
  uint32_t count() const { return static_cast<uint32_t>(descriptors_.size()); }
  const tiny_component* get(uint32_t i) const { return i < descriptors_.size() ? descriptors_[i] : nullptr; }

 private:
  std::vector<ComponentSpec> specs_;
  std::vector<const tiny_component*> descriptors_;
};

inline const char* init_host(const tiny_host_api* host) noexcept {
  if (host == nullptr || host->struct_size < sizeof(tiny_host_api)) return "host API table is too old for this plugin";
  // The same rule the host's loader applies, from this side: a host that
  // loads a plugin built for a newer minor (or another major) is refused.
  if (!tiny_abi_compatible(host->abi, tiny_abi_version{TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR}))
    return "host ABI version is not compatible with this plugin's";
  g_host = host;
  g_timer = static_cast<const tiny_timer_api*>(host->get_extension(host, TINY_EXT_TIMER));
  return nullptr;
}
}  // namespace detail

}  // namespace tiny

// Defines the module entry. Use once per plugin, at namespace scope:
//   TINY_MODULE("my-module", "1.0.0", tiny::ComponentSpec::of<A>("a").in("in"), ...)
#define TINY_MODULE(module_name, module_version, ...)                                       \
  namespace {                                                                                \
  const ::tiny::detail::Module& tiny_module_instance() {                                     \
    static const ::tiny::detail::Module module(std::vector<::tiny::ComponentSpec>{__VA_ARGS__}); \
    return module;                                                                           \
  }                                                                                          \
  const char* tiny_module_init(const tiny_host_api* host) noexcept {                         \
    if (const char* err = ::tiny::detail::init_host(host)) return err;                       \
    try {                                                                                    \
      (void)tiny_module_instance();                                                          \
    } catch (...) {                                                                          \
      return "module failed to build its component table";                                  \
    }                                                                                        \
    return nullptr;                                                                          \
  }                                                                                          \
  void tiny_module_deinit() noexcept {}                                                      \
  uint32_t tiny_module_count() noexcept { return tiny_module_instance().count(); }           \
  const tiny_component* tiny_module_get(uint32_t i) noexcept { return tiny_module_instance().get(i); } \
  const void* tiny_module_extension(const char*) noexcept { return nullptr; }                \
  }                                                                                          \
  extern "C" TINY_PLUGIN_EXPORT const tiny_entry tiny_plugin_entry = {                       \
      {TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR}, sizeof(tiny_entry), module_name,     \
      module_version, &tiny_module_init, &tiny_module_deinit, &tiny_module_count,            \
      &tiny_module_get, &tiny_module_extension};

#endif  // TINY_PLUGIN_HPP
