// tiny/testing.hpp — run one component in a unit test, without a host.
//
// Harness plays the host through the real C ABI: it calls the module's
// init, the component's create/handle/destroy, records every emit and log
// line, answers emits (with a responder you choose, or later by hand), and
// runs the tiny.timer/1 extension on a manual clock that `advance` moves.
//
//   tiny::testing::Harness h(tiny_plugin_entry, "transform");
//   REQUIRE(h.configure().ok());
//   auto r = h.send("in", {{"a", 1}});
//   CHECK(h.emitted().at(0).port == "out");
//
// One Harness at a time per process (the SDK keeps one host table).
//
// As strict as a host, with the host's messages, so a component may rely on
// what a host guarantees and a test sees what a host would answer:
//  - a send to a port the component does not declare as an input (also
//    `_settings`: only configure() delivers it) is answered NOT_FOUND
//    without reaching the component;
//  - settings arrive once: a second configure() throws std::logic_error
//    (a host recreates the node for new settings; make a new Harness);
//  - an emit on a port the component does not declare as an output is
//    answered NOT_FOUND (and not recorded), an emit whose data is not JSON
//    is answered INVALID_ARGUMENT, and an answer whose data is not JSON
//    becomes INTERNAL.
// (It does not enforce the message size limit.)
#ifndef TINY_TESTING_HPP
#define TINY_TESTING_HPP

#include <tiny/plugin.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tiny::testing {

struct Emitted {
  std::string port;
  Json data;         // parsed (null when empty or not JSON)
  std::string raw;   // the bytes as emitted
  bool has_cause = false;
  uint32_t hop = 0;  // the hop the host would give this emit
};

// A delivery that may complete later.
class PendingCall {
 public:
  bool done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return result_.has_value();
  }
  // The result; throws if the call is still open.
  Result result() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!result_) throw std::logic_error("call still open");
    return *result_;
  }
  // Waits up to `timeout` for completion (components with own threads).
  bool wait(std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return result_.has_value(); });
  }

 private:
  friend class Harness;
  uint32_t hop = 0;
  int completions = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::optional<Result> result_;
};

// An emit whose answer the test gives by hand (see hold_emits).
struct HeldEmit {
  Emitted emitted;
  tiny_emit_done_fn done = nullptr;
  void* user = nullptr;
};

class Harness {
 public:
  using Responder = std::function<Result(const Emitted&)>;

  Harness(const tiny_entry& entry, std::string_view component, std::string node_name = "node-under-test")
      : node_name_(std::move(node_name)) {
    if (current_ != nullptr) throw std::logic_error("one tiny::testing::Harness at a time");
    current_ = this;
    if (entry.abi.major != TINY_ABI_VERSION_MAJOR) throw std::runtime_error("ABI major mismatch");
    if (const char* err = entry.init(&host_api())) throw std::runtime_error(std::string("init failed: ") + err);
    for (uint32_t i = 0; i < entry.component_count(); ++i) {
      const tiny_component* c = entry.get_component(i);
      if (component == c->name) desc_ = c;
    }
    if (desc_ == nullptr) throw std::runtime_error("no component named " + std::string(component));
    instance_ = desc_->create(&host_api(), node());
    if (instance_ == nullptr) throw std::runtime_error("create failed");
  }
  ~Harness() {
    destroy();
    // Emits still held get their exactly-once answer, so nothing leaks.
    std::vector<HeldEmit> held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      held.swap(held_);
    }
    tiny_result cancelled{TINY_STATUS_CANCELLED, {}, detail::view("harness destroyed")};
    for (auto& h : held)
      if (h.done) h.done(h.user, &cancelled);
    current_ = nullptr;
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  const tiny_component& descriptor() const { return *desc_; }

  // Overlays `settings` on the declared defaults, rejects unknown keys as
  // the host does (without delivering anything), and delivers the result
  // on `_settings`. Settings are delivered once per node: a second
  // delivery throws std::logic_error.
  Result configure(const Json& settings = Json::object()) {
    Json merged = desc_->default_settings_json ? Json::parse(desc_->default_settings_json) : Json::object();
    if (merged.is_null()) merged = Json::object();
    for (auto& [key, value] : settings.items()) {
      if (!merged.contains(key)) return Result::failure("unknown setting: " + key);
      merged[key] = value;
    }
    if (configured_)
      throw std::logic_error("node '" + node_name_ +
                             "' already has its settings: a host delivers them once and recreates the node "
                             "for new ones, so use a new Harness");
    configured_ = true;
    auto call = deliver("_settings", merged.dump());
    if (!call->done()) return Result{TINY_STATUS_INTERNAL, {}, "_settings was not answered synchronously"};
    return call->result();
  }

  // Delivers `data` on `port`; the result if the component answered before
  // returning, else nullopt (use send_async to keep the handle).
  std::optional<Result> send(std::string_view port, const Json& data) {
    auto call = send_async(port, data);
    if (!call->done()) return std::nullopt;
    return call->result();
  }
  // A port the component does not declare as an input is answered
  // NOT_FOUND, as a host answers it, and the component is not called.
  std::shared_ptr<PendingCall> send_raw(std::string_view port, std::string_view data, uint32_t hop = 0) {
    if (!declares(TINY_PORT_IN, port)) {
      auto refused = std::make_shared<PendingCall>();
      std::string message = "node '" + node_name_ + "' has no input port '" + std::string(port) + "'";
      tiny_result r{TINY_STATUS_NOT_FOUND, {}, detail::view(message)};
      complete_cb(reinterpret_cast<tiny_call*>(refused.get()), &r);
      return refused;
    }
    return deliver(port, data, hop);
  }
  std::shared_ptr<PendingCall> send_async(std::string_view port, const Json& data) {
    return send_raw(port, data.is_null() ? std::string() : data.dump());
  }

  // Every emit so far, in order. [thread: any]
  std::vector<Emitted> emitted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return emitted_;
  }
  void clear_emitted() {
    std::lock_guard<std::mutex> lock(mu_);
    emitted_.clear();
  }
  // How emits are answered (default: empty). Runs on the emitting thread.
  void on_emit(Responder responder) {
    std::lock_guard<std::mutex> lock(mu_);
    responder_ = std::move(responder);
  }
  // While held, emits are queued instead of answered; answer them with
  // answer_held.
  void hold_emits(bool hold) {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = hold;
  }
  size_t held_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  // Answers the oldest held emit, or the one at `index` (in emit order).
  void answer_held(const Result& result, size_t index = 0) {
    HeldEmit h;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (index >= held_.size()) throw std::logic_error("no held emit at that index");
      h = held_[index];
      held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(index));
    }
    tiny_result r = result.as_c();
    if (h.done) h.done(h.user, &r);
  }

  // Waits for `pred` (which should read emitted() etc.) up to `timeout`.
  bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      lock.unlock();
      if (pred()) return true;
      lock.lock();
      if (changed_.wait_until(lock, until) == std::cv_status::timeout) {
        lock.unlock();
        return pred();
      }
    }
  }

  // Manual clock for tiny.timer/1.
  uint64_t now_ms() const {
    std::lock_guard<std::mutex> lock(mu_);
    return now_ms_;
  }
  // Moves the clock and fires the timers that fall due, in time order, on
  // this thread.
  void advance(uint64_t ms) {
    uint64_t target;
    {
      std::lock_guard<std::mutex> lock(mu_);
      target = now_ms_ + ms;
    }
    while (true) {
      Timer t;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = timers_.begin();
        if (it == timers_.end() || it->first.first > target) {
          now_ms_ = target;
          break;
        }
        now_ms_ = it->first.first;
        t = it->second;
        timers_.erase(it);
      }
      t.fn(t.user, TINY_TIMER_FIRED);
    }
  }
  size_t pending_timers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return timers_.size();
  }

  std::vector<std::string> logs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }

  // Cancels the timers and destroys the instance, as the host does.
  void destroy() {
    if (instance_ == nullptr) return;
    std::map<std::pair<uint64_t, uint64_t>, Timer> timers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      destroying_ = true;
      timers.swap(timers_);
    }
    for (auto& [key, t] : timers) t.fn(t.user, TINY_TIMER_CANCELLED);
    desc_->destroy(instance_);
    instance_ = nullptr;
  }

  // Completions of one call beyond the first (a contract violation).
  int extra_completions() const {
    std::lock_guard<std::mutex> lock(mu_);
    int extra = 0;
    for (auto& c : open_calls_) extra += c->completions > 1 ? c->completions - 1 : 0;
    return extra;
  }

 private:
  struct Timer {
    tiny_timer_fn fn = nullptr;
    void* user = nullptr;
  };

  tiny_node* node() { return reinterpret_cast<tiny_node*>(this); }
  static Harness& self(tiny_node* n) { return *reinterpret_cast<Harness*>(n); }

  static const tiny_host_api& host_api() {
    static const tiny_host_api api = {sizeof(tiny_host_api),
                                      {TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR},
                                      &complete_cb,
                                      &emit_cb,
                                      &log_cb,
                                      &log_enabled_cb,
                                      &extension_cb,
                                      &node_name_cb};
    return api;
  }
  static const tiny_timer_api& timer_api() {
    static const tiny_timer_api api = {sizeof(tiny_timer_api), &timer_start_cb, &timer_cancel_cb};
    return api;
  }

  static bool is_json(std::string_view text) {
    return text.empty() || !Json::parse(text, nullptr, /*allow_exceptions=*/false).is_discarded();
  }
  // Whether the component declares `port` in `direction`; a declared name
  // ending in `*` stands for a family (out_* matches out_a).
  bool declares(int32_t direction, std::string_view port) const {
    for (uint32_t i = 0; i < desc_->port_count; ++i) {
      const tiny_port& p = desc_->ports[i];
      if (p.direction != direction) continue;
      std::string_view name = p.name;
      if (name == port) return true;
      if (!name.empty() && name.back() == '*' && port.substr(0, name.size() - 1) == name.substr(0, name.size() - 1) &&
          port.size() >= name.size())
        return true;
    }
    return false;
  }

  // Calls the component's handle with a new PendingCall.
  std::shared_ptr<PendingCall> deliver(std::string_view port, std::string_view data, uint32_t hop = 0) {
    auto call = std::make_shared<PendingCall>();
    call->hop = hop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_calls_.push_back(call);
    }
    std::string port_z(port);
    desc_->handle(instance_, reinterpret_cast<tiny_call*>(call.get()), port_z.c_str(), detail::view(data));
    return call;
  }

  static void complete_cb(tiny_call* call, const tiny_result* r) {
    auto* pc = reinterpret_cast<PendingCall*>(call);
    {
      std::lock_guard<std::mutex> lock(pc->mu_);
      ++pc->completions;
      if (!pc->result_) {
        pc->result_ = Result::from(*r);
        if (pc->result_->status == TINY_STATUS_OK && !is_json(pc->result_->data))
          pc->result_ = Result{TINY_STATUS_INTERNAL, {}, "the node answered data that is not JSON"};
      }
      pc->cv_.notify_all();
    }
    if (current_) current_->changed_.notify_all();
  }
  static void emit_cb(tiny_node* node, const tiny_call* cause, const char* port, tiny_bytes data,
                      tiny_emit_done_fn done, void* user) {
    Harness& h = self(node);
    auto refuse = [&](int32_t status, const std::string& message) {
      tiny_result r{status, {}, detail::view(message)};
      if (done) done(user, &r);
    };
    if (!h.declares(TINY_PORT_OUT, port))
      return refuse(TINY_STATUS_NOT_FOUND, "node '" + h.node_name_ + "' has no output port '" + port + "'");
    Emitted e;
    e.port = port;
    e.raw = std::string(detail::view(data));
    if (!e.raw.empty()) {
      e.data = Json::parse(e.raw, nullptr, /*allow_exceptions=*/false);
      if (e.data.is_discarded())
        return refuse(TINY_STATUS_INVALID_ARGUMENT, h.node_name_ + "." + port + " emitted data that is not JSON");
    }
    e.has_cause = cause != nullptr;
    e.hop = cause ? reinterpret_cast<const PendingCall*>(cause)->hop + 1 : 0;
    Responder responder;
    bool hold;
    {
      std::lock_guard<std::mutex> lock(h.mu_);
      h.emitted_.push_back(e);
      responder = h.responder_;
      hold = h.hold_;
      if (hold) h.held_.push_back(HeldEmit{e, done, user});
    }
    h.changed_.notify_all();
    if (hold) return;
    Result answer = responder ? responder(e) : Result{};
    tiny_result r = answer.as_c();
    if (done) done(user, &r);
  }
  static void log_cb(const tiny_host_api*, tiny_node*, int32_t level, tiny_bytes message) {
    if (!current_) return;
    static const char* names[] = {"trace", "debug", "info", "warn", "error"};
    std::string line = std::string(level >= 0 && level <= 4 ? names[level] : "?") + ": " +
                       std::string(detail::view(message));
    {
      std::lock_guard<std::mutex> lock(current_->mu_);
      current_->logs_.push_back(std::move(line));
    }
    current_->changed_.notify_all();
  }
  static int32_t log_enabled_cb(const tiny_host_api*, int32_t) { return 1; }
  static const void* extension_cb(const tiny_host_api*, const char* id) {
    return std::string_view(id) == TINY_EXT_TIMER ? &timer_api() : nullptr;
  }
  static const char* node_name_cb(tiny_node* node) { return self(node).node_name_.c_str(); }
  static uint64_t timer_start_cb(tiny_node* node, uint64_t delay_ms, tiny_timer_fn fn, void* user) {
    Harness& h = self(node);
    std::lock_guard<std::mutex> lock(h.mu_);
    if (h.destroying_) return 0;
    uint64_t id = ++h.next_timer_id_;
    h.timers_[{h.now_ms_ + delay_ms, id}] = Timer{fn, user};
    return id;
  }
  static int32_t timer_cancel_cb(tiny_node* node, uint64_t id) {
    Harness& h = self(node);
    Timer t;
    {
      std::lock_guard<std::mutex> lock(h.mu_);
      auto it = h.timers_.begin();
      while (it != h.timers_.end() && it->first.second != id) ++it;
      if (it == h.timers_.end()) return 0;
      t = it->second;
      h.timers_.erase(it);
    }
    t.fn(t.user, TINY_TIMER_CANCELLED);
    return 1;
  }

  static inline Harness* current_ = nullptr;

  std::string node_name_;
  const tiny_component* desc_ = nullptr;
  tiny_instance* instance_ = nullptr;
  bool configured_ = false;  // _settings delivered

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable changed_;
  std::vector<Emitted> emitted_;
  std::vector<HeldEmit> held_;
  std::vector<std::shared_ptr<PendingCall>> open_calls_;
  std::vector<std::string> logs_;
  Responder responder_;
  bool hold_ = false;
  bool destroying_ = false;
  uint64_t now_ms_ = 0;
  uint64_t next_timer_id_ = 0;
  std::map<std::pair<uint64_t, uint64_t>, Timer> timers_;  // (due, id) -> timer
};

}  // namespace tiny::testing

#endif  // TINY_TESTING_HPP
