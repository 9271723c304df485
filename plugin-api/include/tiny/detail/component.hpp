// tiny/detail/component.hpp — the bodies of what tiny/plugin.hpp declares:
// answering a call with a Reply, deferred calls, messages, emits, timers.
// Included by tiny/plugin.hpp; an author does not include it.
#ifndef TINY_DETAIL_COMPONENT_HPP
#define TINY_DETAIL_COMPONENT_HPP

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>

namespace tiny {
namespace detail {

// The SDK's own access to a Component's node handle and state.
struct ComponentAccess {
  static void attach(Component& c, tiny_node* node, bool blocking) {
    c.node_ = node;
    c.blocking_ = blocking;
  }
  static tiny_node* node(const Component& c) { return c.node_; }
  static bool destroyed(const Component& c) { return c.destroyed_.load(std::memory_order_acquire); }
  static void mark_destroyed(Component& c) { c.destroyed_.store(true, std::memory_order_release); }
  static void log_error(const Component& c, std::string_view message) { c.log(TINY_LOG_ERROR, message); }
};

inline void forward_done(void* user, const tiny_result* r) noexcept {
  g_host->complete(static_cast<tiny_call*>(user), r);
}

// Completes `call` with `reply`; a forward emits from `node` with the call
// as its cause, and the emit's answer completes the call (no allocation:
// the call is the callback's context). False, with the call still open,
// for Reply::deferred(), which answers nothing.
inline bool answer(tiny_node* node, tiny_call* call, const Reply& reply) {
  switch (reply.kind()) {
    case Reply::Kind::kEmpty:
      complete(call, TINY_STATUS_OK, {}, {});
      return true;
    case Reply::Kind::kData:
      complete(call, TINY_STATUS_OK, reply.text(), {});
      return true;
    case Reply::Kind::kError:
      complete(call, reply.status(), {}, reply.text());
      return true;
    case Reply::Kind::kForward:
      g_host->emit(node, call, reply.port().c_str(), view(reply.text()), &forward_done, call);
      return true;
    case Reply::Kind::kDeferred:
      return false;
  }
  return false;
}

struct EmitBox {
  std::shared_ptr<Component> keep_alive;
  EmitCallback cb;
  static void done(void* user, const tiny_result* r) noexcept {
    std::unique_ptr<EmitBox> box(static_cast<EmitBox*>(user));
    try {
      box->cb(Result::from(*r));
    } catch (const std::exception& e) {
      ComponentAccess::log_error(*box->keep_alive, std::string("emit callback threw: ") + e.what());
    } catch (...) {
      ComponentAccess::log_error(*box->keep_alive, "emit callback threw");
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
      ComponentAccess::log_error(*box->keep_alive, std::string("timer callback threw: ") + e.what());
    } catch (...) {
      ComponentAccess::log_error(*box->keep_alive, "timer callback threw");
    }
  }
};

}  // namespace detail

// --- Reply ---

inline Reply::Reply(const Result& answer) {
  if (!answer.ok()) {
    kind_ = Kind::kError;
    status_ = answer.status;
    text_ = answer.error;
  } else if (!answer.data.empty()) {
    kind_ = Kind::kData;
    text_ = answer.data;
  }
}
inline Reply Reply::error(int32_t status, std::string message) {
  Reply r(Kind::kError, std::move(message));
  r.status_ = status;
  return r;
}
inline Reply Reply::forward_raw(std::string port, std::string_view json_text) {
  Reply r(Kind::kForward, std::string(json_text));
  r.port_ = std::move(port);
  return r;
}
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

// --- Call ---

inline Call::Call(Call&& other) noexcept : call_(other.call_.exchange(nullptr)), owner_(std::move(other.owner_)) {}
inline Call& Call::operator=(Call&& other) noexcept {
  if (this != &other) {
    drop();
    call_.store(other.call_.exchange(nullptr));
    owner_ = std::move(other.owner_);
  }
  return *this;
}

inline void Call::complete(const Reply& reply) {
  tiny_call* c = call_.exchange(nullptr);
  if (c == nullptr) return;
  tiny_node* node = nullptr;
  std::shared_ptr<Component> owner;  // alive while the forward's emit starts
  if (reply.kind() == Reply::Kind::kForward) {
    owner = owner_.lock();
    if (!owner || detail::ComponentAccess::destroyed(*owner)) {  // the node handle is dead
      detail::complete(c, TINY_STATUS_UNAVAILABLE, {}, "node destroyed");
      return;
    }
    node = detail::ComponentAccess::node(*owner);
  }
  if (!detail::answer(node, c, reply))
    detail::complete(c, TINY_STATUS_INTERNAL, {}, "a deferred call was completed with Reply::deferred()");
}

inline void Call::drop() {
  tiny_call* c = call_.exchange(nullptr);
  if (c == nullptr) return;
  // Destroyed by an exception unwinding through the handler that deferred
  // it: that is the component failing (INTERNAL), not a silent drop.
  if (std::uncaught_exceptions() > 0)
    detail::complete(c, TINY_STATUS_INTERNAL, {}, "component threw while holding a deferred call");
  else
    detail::complete(c, TINY_STATUS_OK, {}, "component dropped the call without answering");
}

// --- Message ---

inline const Json& Message::parsed() const {
  if (!parsed_) {
    json_ = data_.empty() ? Json() : Json::parse(data_.begin(), data_.end(), nullptr, /*allow_exceptions=*/false);
    parsed_ = true;
  }
  return json_;
}
inline const Json& Message::json() const {
  const Json& j = parsed();
  if (j.is_discarded()) {
    Json thrown = Json::parse(data_.begin(), data_.end());  // throws the parse error
    (void)thrown;
  }
  return j;
}
inline const Json* Message::try_json() const {
  const Json& j = parsed();
  return j.is_discarded() ? nullptr : &j;
}
inline bool Message::is_json() const {
  if (parsed_) return !json_.is_discarded();
  return data_.empty() || Json::accept(data_.begin(), data_.end());
}
inline Call Message::defer() {
  deferred_ = true;
  return Call(call_, owner_ ? owner_->weak_from_this() : std::weak_ptr<Component>());
}

// --- Component ---

inline void Component::emit_raw(std::string_view port, std::string_view json_text, EmitCallback cb,
                                const tiny_call* cause) {
  if (destroyed_.load(std::memory_order_acquire)) {  // the node handle is dead
    if (cb) cb(Result{TINY_STATUS_UNAVAILABLE, {}, "node destroyed"});
    return;
  }
  std::string port_z(port);
  if (!cb) {
    detail::g_host->emit(node_, cause, port_z.c_str(), detail::view(json_text), nullptr, nullptr);
    return;
  }
  auto* box = new detail::EmitBox{shared_from_this(), std::move(cb)};
  detail::g_host->emit(node_, cause, port_z.c_str(), detail::view(json_text), &detail::EmitBox::done, box);
}

inline void Component::emit_traced(std::string_view port, std::string_view json_text, const TraceHeaders& inbound,
                                    EmitCallback cb) {
  if (!detail::g_trace) return emit_raw(port, json_text, std::move(cb));
  if (destroyed_.load(std::memory_order_acquire)) {
    if (cb) cb(Result{TINY_STATUS_UNAVAILABLE, {}, "node destroyed"});
    return;
  }
  std::string port_z(port);
  detail::EmitBox* box = cb ? new detail::EmitBox{shared_from_this(), std::move(cb)} : nullptr;
  detail::g_trace->emit_root(node_, port_z.c_str(), detail::view(json_text), detail::view(inbound.traceparent),
                             detail::view(inbound.tracestate), box ? &detail::EmitBox::done : nullptr, box);
}

namespace detail {
// Reads one of the trace table's strings: the length first, then the copy.
inline std::string read_trace(size_t (*get)(const tiny_call*, char*, size_t), const tiny_call* call) {
  if (!g_trace || call == nullptr) return {};
  char small[TINY_TRACEPARENT_SIZE + 1];
  size_t n = get(call, small, sizeof small);
  if (n < sizeof small) return std::string(small, n);
  std::string out(n + 1, '\0');
  n = get(call, out.data(), out.size());
  out.resize(std::min(n, out.size() - 1));
  return out;
}
}  // namespace detail

inline TraceHeaders trace_of(const tiny_call* call) {
  if (!detail::g_trace) return {};
  return {detail::read_trace(detail::g_trace->traceparent, call), detail::read_trace(detail::g_trace->tracestate, call)};
}

inline TraceHeaders outbound_trace(const tiny_call* call) {
  if (!detail::g_trace) return {};
  return {detail::read_trace(detail::g_trace->child_traceparent, call),
          detail::read_trace(detail::g_trace->tracestate, call)};
}

inline Result Component::emit_wait(std::string_view port, const Json& value, const tiny_call* cause) {
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

inline TimerId Component::start_timer(uint64_t delay_ms, std::function<void()> fn) {
  if (!detail::g_timer || destroyed_.load(std::memory_order_acquire)) return 0;
  auto* box = new detail::TimerBox{shared_from_this(), std::move(fn)};
  TimerId id = detail::g_timer->start(node_, delay_ms, &detail::TimerBox::fire, box);
  if (id == 0) delete box;
  return id;
}

inline bool Component::cancel_timer(TimerId id) {
  return id != 0 && detail::g_timer && detail::g_timer->cancel(node_, id) == 1;
}

inline void Component::log(int32_t level, std::string_view message) const {
  tiny_node* node = destroyed_.load(std::memory_order_acquire) ? nullptr : node_;
  detail::g_host->log(detail::g_host, node, level, detail::view(message));
}

// --- ComponentSpec ---

inline const tiny_component* ComponentSpec::descriptor() {
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

}  // namespace tiny

#endif  // TINY_DETAIL_COMPONENT_HPP
