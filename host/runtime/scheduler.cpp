// The message path: emits along edges (fan-out joined into one answer),
// deliveries from outside, and running a handler inline, on the dispatch
// pool or on a worker. The node life cycle is in reconcile.cpp.
#include "host/runtime/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "host/base/bytes.h"
#include "host/base/json_check.h"

namespace tiny::host {
namespace {

thread_local int t_inline_depth = 0;
// True while a worker thread runs a blocking component's handler: such a
// thread may block, so a blocking delivery it makes (emit_wait into another
// blocking node) runs right here instead of queueing for a worker. Queueing
// would deadlock once every worker waits on a queued delivery.
thread_local bool t_on_worker = false;

struct WorkerScope {
  bool saved = t_on_worker;
  explicit WorkerScope(bool on_worker) { t_on_worker = on_worker; }
  ~WorkerScope() { t_on_worker = saved; }
};

// The data of the handler running on this thread. Every delivery's data is
// JSON (checked where it entered, or made by a mapping), so an emit of these
// very bytes (a zero-copy forward, as `relay` does) needs no second check:
// that check is most of an unmapped hop's cost. Only while the handler runs
// (the host owns the buffer until then), and only the same pointer and size:
// a part of a JSON text need not be one.
thread_local std::string_view t_handler_data;

struct HandlerDataScope {
  std::string_view saved = t_handler_data;
  explicit HandlerDataScope(std::string_view data) { t_handler_data = data; }
  ~HandlerDataScope() { t_handler_data = saved; }
};

bool IsHandlerData(std::string_view data) {
  return data.data() == t_handler_data.data() && data.size() == t_handler_data.size();
}

// The one answer to data that is not JSON, whether the edge maps it or not.
std::string NotJson(std::string_view from, std::string_view why) {
  return std::string(from) + " emitted data that is not JSON: " + std::string(why);
}

void Answer(tiny_emit_done_fn done, void* user, int32_t status, std::string_view error) {
  if (!done) return;
  tiny_result r{status, {}, AsBytes(error)};
  done(user, &r);
}

// Joins the answers of an emit along several edges: the first non-empty
// data in edge order, else the first error, else empty.
class FanOut {
 public:
  FanOut(size_t n, tiny_emit_done_fn done, void* user)
      : done_(done), user_(user), results_(n), slots_(n), remaining_(n) {
    for (size_t i = 0; i < n; ++i) slots_[i] = Slot{this, i};
  }
  void* slot(size_t i) { return &slots_[i]; }

  static void OnResult(void* user, const tiny_result* r) {
    auto* slot = static_cast<Slot*>(user);
    FanOut* fan = slot->fan;
    Owned& o = fan->results_[slot->index];  // each slot is written once
    o.status = r->status;
    o.data.assign(AsView(r->data));
    o.error.assign(AsView(r->error));
    if (fan->remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) fan->Finish();
  }

 private:
  struct Slot {
    FanOut* fan;
    size_t index;
  };
  struct Owned {
    int32_t status = TINY_STATUS_OK;
    std::string data, error;
    bool failed() const { return status != TINY_STATUS_OK || !error.empty(); }
  };

  void Finish() {
    const Owned* pick = nullptr;
    for (const auto& o : results_)
      if (!o.failed() && !o.data.empty()) {
        pick = &o;
        break;
      }
    if (!pick)
      for (const auto& o : results_)
        if (o.failed()) {
          pick = &o;
          break;
        }
    tiny_result r{TINY_STATUS_OK, {}, {}};
    if (pick) r = tiny_result{pick->status, AsBytes(pick->data), AsBytes(pick->error)};
    if (done_) done_(user_, &r);
    delete this;
  }

  tiny_emit_done_fn done_;
  void* user_;
  std::vector<Owned> results_;
  std::vector<Slot> slots_;
  std::atomic<size_t> remaining_;
};

// The answer of an emit made by a blocking handler, which may be waiting
// for it (emit_wait, or a C plugin's own wait): given at the deadline as
// DEADLINE_EXCEEDED if nothing answered before, so that the handler is
// freed even when a component holds the delivery or the delivery waits
// for a worker that never comes. The later real answer is dropped.
class EmitDeadline {
 public:
  // Puts the guard between the emit and *done/*user. Nothing changes when
  // the timer service refuses the timer (it is stopping).
  static void Arm(TimerService& timers, const void* owner, Clock::time_point deadline, std::string where,
                  tiny_emit_done_fn* done, void** user) {
    auto* guard = new EmitDeadline(timers, owner, std::move(where), *done, *user);
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    uint64_t id = timers.Start(owner, std::max(left, std::chrono::milliseconds(0)), &EmitDeadline::OnTimer, guard);
    if (id == 0) {
      delete guard;
      return;
    }
    guard->timer_.store(id, std::memory_order_release);
    *done = &EmitDeadline::OnAnswer;
    *user = guard;
  }

 private:
  EmitDeadline(TimerService& timers, const void* owner, std::string where, tiny_emit_done_fn done, void* user)
      : timers_(timers), owner_(owner), where_(std::move(where)), done_(done), user_(user) {}

  static void OnAnswer(void* self, const tiny_result* r) {
    auto* guard = static_cast<EmitDeadline*>(self);
    if (guard->Claim()) {
      guard->done_(guard->user_, r);
      guard->timers_.Cancel(guard->owner_, guard->timer_.load(std::memory_order_acquire));  // its Unref, if cancelled
    }
    guard->Unref();
  }
  static void OnTimer(void* self, int32_t event) {
    auto* guard = static_cast<EmitDeadline*>(self);
    if (event == TINY_TIMER_FIRED && guard->Claim())
      Answer(guard->done_, guard->user_, TINY_STATUS_DEADLINE_EXCEEDED,
             "deadline exceeded waiting for the answer to the emit from " + guard->where_);
    guard->Unref();
  }
  bool Claim() { return !answered_.exchange(true, std::memory_order_acq_rel); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  TimerService& timers_;
  const void* owner_;
  const std::string where_;  // NODE.PORT
  const tiny_emit_done_fn done_;
  void* const user_;
  std::atomic<uint64_t> timer_{0};
  std::atomic<bool> answered_{false};
  std::atomic<int> refs_{2};  // the answer's and the timer's
};

}  // namespace

Scheduler::Scheduler(const ModuleRegistry& modules, SchedulerOptions options)
    : modules_(modules),
      options_(options),
      dispatch_("tiny-dispatch", options.dispatch_threads, options.max_queued),
      workers_("tiny-worker", options.worker_threads, options.max_queued) {}

Scheduler::~Scheduler() {
  Shutdown();
  dispatch_.Stop();
  workers_.Stop();
}

void Scheduler::Emit(Node& from, const tiny_call* cause, std::string_view port, std::string_view data,
                     tiny_emit_done_fn done, void* user, const TraceContext* root_trace) {
  // `done` runs exactly once on every path, exceptions included: until a
  // call owns it (handed), a throw answers INTERNAL here; after, each call
  // is completed by whoever holds it.
  bool handed = false;
  try {
    if (NodeState s = from.state.load(std::memory_order_acquire); s == NodeState::kStopped || s == NodeState::kFailed) {
      handed = true;  // a plugin thread's emit after its node was destroyed
      Answer(done, user, TINY_STATUS_UNAVAILABLE, "node '" + from.name + "' is destroyed");
      return;
    }
    auto table = from.edges();
    const std::vector<Route>* routes = table->Find(port);
    if (routes == nullptr || routes->empty()) {
      handed = true;
      if (!from.type->HasOutput(port))
        Answer(done, user, TINY_STATUS_NOT_FOUND,
               "node '" + from.name + "' has no output port '" + std::string(port) + "'");
      else
        Answer(done, user, TINY_STATUS_OK, {});
      return;
    }
    // Checked once here, before any edge: a mapped edge would fail to parse
    // it, and an unmapped one would hand it on to a node (or a host) that
    // trusts data to be JSON. A forward of the handler's own data is JSON.
    if (Result json = IsHandlerData(data) ? Result::Ok() : CheckJsonText(data); !json.ok()) {
      handed = true;
      Answer(done, user, TINY_STATUS_INVALID_ARGUMENT, NotJson(from.name + "." + std::string(port), json.message()));
      return;
    }
    CallContext ctx;
    if (cause) {
      ctx = cause->context.NextHop();
    } else {
      ctx.deadline = Clock::now() + options_.default_deadline;
      if (root_trace) ctx.trace = std::make_shared<const TraceContext>(*root_trace);
    }
    if (!ctx.deliveries) ctx.deliveries = std::make_shared<std::atomic<uint64_t>>(0);
    // A cycle that branches doubles its deliveries on every turn, long
    // before the hop limit: one message gets a budget of edge deliveries.
    if (ctx.deliveries->fetch_add(routes->size(), std::memory_order_relaxed) + routes->size() >
        options_.max_fanout) {
      std::string why = "more than " + std::to_string(options_.max_fanout) + " deliveries from one message at " +
                        from.name + "." + std::string(port) + ": the flow's cycles branch (--max-fanout)";
      handed = true;
      Stats().fanout_refusals.Add();
      Answer(done, user, TINY_STATUS_FAILED_PRECONDITION, why);
      return;
    }
    if (ctx.hop >= kHopLimit) {
      std::string why = "hop limit " + std::to_string(kHopLimit) + " exceeded at " + from.name + "." +
                        std::string(port) + ": the flow has a cycle";
      handed = true;
      Stats().hop_limit_refusals.Add();
      Answer(done, user, TINY_STATUS_FAILED_PRECONDITION, why);
      return;
    }
    if (!cause) {
      // A root emit (an HTTP request, a tick): no gRPC call counts it, so the
      // drain counts these (see root_emits()).
      auto* root = new RootDone{this, done, user};
      root_emits_.fetch_add(1, std::memory_order_relaxed);
      done = &RootDone::Finish;
      user = root;
    }
    // A handler on a worker may block until this is answered.
    if (t_on_worker && done && ctx.deadline != Clock::time_point::max())
      EmitDeadline::Arm(timers_, this, ctx.deadline, from.name + "." + std::string(port), &done, &user);
    if (routes->size() == 1) {
      auto* call = new CallbackCall(ctx.Delivery(routes->front().to), done, user);
      handed = true;
      DeliverRoute(routes->front(), data, call);
      return;
    }
    auto* fan = new FanOut(routes->size(), done, user);
    handed = true;
    for (size_t i = 0; i < routes->size(); ++i) {
      tiny_call* call = nullptr;
      try {
        call = new CallbackCall(ctx.Delivery((*routes)[i].to), &FanOut::OnResult, fan->slot(i));
      } catch (...) {
        // The slots left get an answer each, so the fan-out finishes.
        static constexpr std::string_view kOom = "out of memory fanning out an emit";
        tiny_result r{TINY_STATUS_RESOURCE_EXHAUSTED, {}, AsBytes(kOom)};
        for (size_t j = i; j < routes->size(); ++j) FanOut::OnResult(fan->slot(j), &r);
        return;
      }
      DeliverRoute((*routes)[i], data, call);
    }
  } catch (const std::exception& e) {
    if (handed) throw;  // cannot happen: DeliverRoute completes its call itself
    Answer(done, user, TINY_STATUS_INTERNAL, e.what());
  }
}

void Scheduler::DeliverRoute(const Route& route, std::string_view data, tiny_call* call) {
  // Completes `call` on every path: a throw (a mapping that grows a string
  // past memory, bad_alloc copying data for a pool) answers it INTERNAL; if
  // whoever got it had answered already, that answer stands. The ref keeps
  // the call alive for that: the answer may have freed it otherwise.
  call->Ref();
  if (Measuring()) route.count->fetch_add(1, std::memory_order_relaxed);
  try {
    std::string mapped;
    if (route.mapping) {
      auto input = data.empty() ? nlohmann::json() : nlohmann::json::parse(data, nullptr, false);
      if (input.is_discarded()) {  // Emit checked it; only where simdjson and nlohmann disagree
        FailCall(call, TINY_STATUS_INVALID_ARGUMENT, NotJson(route.from, "not accepted by the edge's mapping"));
        return;
      }
      std::vector<std::string> errors;
      nlohmann::json out = route.mapping->Apply(input, &errors);
      for (const auto& e : errors) spdlog::warn("mapping error edge={} error={}", route.label, e);
      mapped = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      data = mapped;
    }
    if (route.local) {
      Invoke(route.local, route.target_port, data, call);
    } else if (remote_) {
      remote_->Send(route.remote_module, route.to, route.from, data, call->context.hop, call);
    } else {
      FailCall(call, TINY_STATUS_UNAVAILABLE, "module not discovered: " + route.remote_module);
    }
  } catch (const std::exception& e) {
    spdlog::error("delivery failed edge={} error={}", route.label, e.what());
    static constexpr std::string_view kFailed = "delivery failed on the host (see its log)";
    FailCall(call, TINY_STATUS_INTERNAL, kFailed);
  }
  call->Unref();
}

void Scheduler::DeliverToAddress(std::string_view node, std::string_view port, std::string_view from,
                                 std::string_view data, tiny_call* call) {
  auto g = graph();
  const GraphEntry* entry = g->Find(node);
  if (entry == nullptr) {
    FailCall(call, TINY_STATUS_NOT_FOUND, "node '" + std::string(node) + "' is not in any loaded flow");
    return;
  }
  if (entry->type && !entry->type->HasInput(port)) {
    FailCall(call, TINY_STATUS_NOT_FOUND,
             "node '" + std::string(node) + "' has no input port '" + std::string(port) + "'");
    return;
  }
  if (call->context.hop >= kHopLimit) {
    Stats().hop_limit_refusals.Add();
    FailCall(call, TINY_STATUS_FAILED_PRECONDITION,
             "hop limit " + std::to_string(kHopLimit) + " exceeded at " + std::string(node) + "." +
                 std::string(port) + ": the flow has a cycle");
    return;
  }
  if (entry->local) {
    Invoke(entry->local, std::string(port), data, call);
  } else if (remote_) {
    // Proxy on; the next host counts this as a hop, so a peer loop ends.
    remote_->Send(entry->module, std::string(node) + "." + std::string(port), std::string(from), data,
                  call->context.hop + 1, call);
  } else {
    FailCall(call, TINY_STATUS_UNAVAILABLE, "module not discovered: " + entry->module);
  }
}

void Scheduler::Invoke(const std::shared_ptr<Node>& node, std::string_view port, std::string_view data,
                       tiny_call* call) {
  if (call->context.deadline != Clock::time_point::max() && call->context.deadline <= Clock::now()) {
    FailCall(call, TINY_STATUS_DEADLINE_EXCEEDED, "deadline exceeded before delivery to " + node->name);
    return;
  }
  const bool caller_runs = node->type->blocking && t_on_worker && t_inline_depth < options_.max_inline_depth;
  if (!caller_runs && (node->type->blocking || t_inline_depth >= options_.max_inline_depth)) {
    Queue(node, port, data, call);
    return;
  }
  ++t_inline_depth;
  // handle takes a NUL-terminated port; route ports are std::strings.
  if (port.data()[port.size()] == '\0') {
    RunHandle(*node, port.data(), data, call);
  } else {
    RunHandle(*node, std::string(port).c_str(), data, call);
  }
  --t_inline_depth;
}

void Scheduler::Queue(const std::shared_ptr<Node>& node, std::string_view port, std::string_view data,
                      tiny_call* call) {
  const bool blocking = node->type->blocking;
  ThreadPool& pool = blocking ? workers_ : dispatch_;
  auto task = [this, node, port = std::string(port), data = std::string(data), call, blocking](ThreadPool::Fate fate) {
    // The pool answers for the caller whose deadline passed while this
    // waited, even when every worker is busy (each waiting on a message
    // queued behind it): the answer frees them.
    if (fate == ThreadPool::Fate::kExpired) {
      FailCall(call, TINY_STATUS_DEADLINE_EXCEEDED, "deadline exceeded while queued for " + node->name);
      return;
    }
    if (fate == ThreadPool::Fate::kClosed) {
      FailCall(call, TINY_STATUS_UNAVAILABLE, "host is shutting down");
      return;
    }
    if (call->abandoned()) {  // cancelled or gone: do not hold a worker for nobody
      FailCall(call, TINY_STATUS_CANCELLED, "the caller is gone");
      return;
    }
    WorkerScope scope(blocking);  // the dispatch pool's threads must not block
    RunHandle(*node, port.c_str(), data, call);
  };
  switch (pool.Post(std::move(task), call->context.deadline)) {
    case ThreadPool::Posted::kQueued:
      return;
    case ThreadPool::Posted::kFull:
      FailCall(call, TINY_STATUS_RESOURCE_EXHAUSTED,
               std::string("too many messages queued for ") + (blocking ? "workers" : "dispatch") + " (limit " +
                   std::to_string(pool.max_queued()) + ") at node " + node->name);
      return;
    case ThreadPool::Posted::kStopping:
      FailCall(call, TINY_STATUS_UNAVAILABLE, "host is shutting down");
      return;
  }
}

void Scheduler::RunHandle(Node& node, const char* port, std::string_view data, tiny_call* call) {
  node.inflight.fetch_add(1);
  if (node.state.load() != NodeState::kRunning) {
    node.LeaveHandler();
    FailCall(call, TINY_STATUS_UNAVAILABLE, "node '" + node.name + "' is not running");
    return;
  }
  if (Measuring()) {
    node.stats->CountDelivery(port);
    call->Measure(node.stats);
  }
  call->Ref();  // keeps the call answerable if the handler throws
  try {
    HandlerDataScope scope(data);
    TraceScope trace(call->context.trace.get());  // the handler's log lines carry its span
    node.type->desc->handle(node.instance, call, port, AsBytes(data));
  } catch (const std::exception& e) {
    spdlog::error("plugin threw across the ABI node={} module={} error={}", node.name, node.type->module, e.what());
    FailCall(call, TINY_STATUS_INTERNAL, "node '" + node.name + "' failed: " + e.what());
  } catch (...) {
    spdlog::error("plugin threw across the ABI node={} module={}", node.name, node.type->module);
    FailCall(call, TINY_STATUS_INTERNAL, "node '" + node.name + "' failed");
  }
  call->Unref();
  node.LeaveHandler();
}

}  // namespace tiny::host
