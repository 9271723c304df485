#include "host/runtime/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <set>
#include <thread>

#include "host/runtime/host_api.h"
#include "host/base/bytes.h"
#include "host/base/names.h"

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

// The answer to `_settings`, awaited by the reconciling thread.
class SettingsCall final : public tiny_call {
 public:
  SettingsCall() : tiny_call(CallContext{}) {}
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  int32_t status = TINY_STATUS_OK;
  std::string error;

 private:
  void OnComplete(const tiny_result& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    status = r.status;
    error.assign(AsView(r.error));
    done_ = true;
    cv_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

}  // namespace

Scheduler::Scheduler(const ModuleRegistry& modules, SchedulerOptions options)
    : modules_(modules),
      options_(options),
      dispatch_("tiny-dispatch", options.dispatch_threads),
      workers_("tiny-worker", options.worker_threads) {}

Scheduler::~Scheduler() {
  Shutdown();
  dispatch_.Stop();
  workers_.Stop();
}

void Scheduler::Emit(Node& from, const tiny_call* cause, std::string_view port, std::string_view data,
                     tiny_emit_done_fn done, void* user) {
  auto table = from.edges();
  const std::vector<Route>* routes = table->Find(port);
  if (routes == nullptr || routes->empty()) {
    if (!from.type->HasOutput(port))
      Answer(done, user, TINY_STATUS_NOT_FOUND,
             "node '" + from.name + "' has no output port '" + std::string(port) + "'");
    else
      Answer(done, user, TINY_STATUS_OK, {});
    return;
  }
  CallContext ctx;
  if (cause) {
    ctx = cause->context.NextHop();
  } else {
    ctx.deadline = Clock::now() + options_.default_deadline;
  }
  if (ctx.hop >= kHopLimit) {
    Answer(done, user, TINY_STATUS_FAILED_PRECONDITION,
           "hop limit " + std::to_string(kHopLimit) + " exceeded at " + from.name + "." + std::string(port) +
               ": the flow has a cycle");
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
  if (routes->size() == 1) {
    DeliverRoute(routes->front(), data, new CallbackCall(ctx, done, user));
    return;
  }
  auto* fan = new FanOut(routes->size(), done, user);
  for (size_t i = 0; i < routes->size(); ++i)
    DeliverRoute((*routes)[i], data, new CallbackCall(ctx, &FanOut::OnResult, fan->slot(i)));
}

void Scheduler::DeliverRoute(const Route& route, std::string_view data, tiny_call* call) {
  std::string mapped;
  if (route.mapping) {
    auto input = data.empty() ? nlohmann::json() : nlohmann::json::parse(data, nullptr, false);
    if (input.is_discarded()) {
      FailCall(call, TINY_STATUS_INTERNAL, route.from + " emitted data that is not JSON");
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
    ThreadPool& pool = node->type->blocking ? workers_ : dispatch_;
    const bool blocking = node->type->blocking;
    bool posted = pool.Post([this, node, port = std::string(port), data = std::string(data), call, blocking] {
      // The caller may have given up while this waited for a worker.
      if (call->context.deadline != Clock::time_point::max() && call->context.deadline <= Clock::now()) {
        FailCall(call, TINY_STATUS_DEADLINE_EXCEEDED, "deadline exceeded while queued for " + node->name);
        return;
      }
      if (call->abandoned()) {  // cancelled or gone: do not hold a worker for nobody
        FailCall(call, TINY_STATUS_CANCELLED, "the caller is gone");
        return;
      }
      WorkerScope scope(blocking);  // the dispatch pool's threads must not block
      RunHandle(*node, port.c_str(), data, call);
    });
    if (!posted) FailCall(call, TINY_STATUS_UNAVAILABLE, "host is shutting down");
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

void Scheduler::RunHandle(Node& node, const char* port, std::string_view data, tiny_call* call) {
  node.inflight.fetch_add(1);
  if (node.state.load() != NodeState::kRunning) {
    node.inflight.fetch_sub(1);
    FailCall(call, TINY_STATUS_UNAVAILABLE, "node '" + node.name + "' is not running");
    return;
  }
  call->Ref();  // keeps the call answerable if the handler throws
  try {
    node.type->desc->handle(node.instance, call, port, AsBytes(data));
  } catch (const std::exception& e) {
    spdlog::error("plugin threw across the ABI node={} module={} error={}", node.name, node.type->module, e.what());
    FailCall(call, TINY_STATUS_INTERNAL, "node '" + node.name + "' failed: " + e.what());
  } catch (...) {
    spdlog::error("plugin threw across the ABI node={} module={}", node.name, node.type->module);
    FailCall(call, TINY_STATUS_INTERNAL, "node '" + node.name + "' failed");
  }
  call->Unref();
  node.inflight.fetch_sub(1);
}

bool Scheduler::StartNode(const std::shared_ptr<Node>& node, const std::string& settings, std::string* error,
                          bool* environment_failure) {
  timers_.OpenOwner(node.get());
  node->state = NodeState::kStarting;
  try {
    node->instance = node->type->desc->create(HostApi(), node->handle());
  } catch (...) {
    node->instance = nullptr;
  }
  if (node->instance == nullptr) {
    *error = "create: the component returned no instance (see the plugin's log line)";
    *environment_failure = true;
    node->state = NodeState::kFailed;
    return false;
  }
  auto* call = new SettingsCall();
  call->Ref();  // ours, for reading the answer
  try {
    node->type->desc->handle(node->instance, call, "_settings", AsBytes(settings));
  } catch (...) {
    FailCall(call, TINY_STATUS_INTERNAL, "the component threw on _settings");
  }
  bool answered = call->Wait(std::chrono::seconds(10));
  std::string why = !answered            ? "no answer to _settings within 10 s"
                    : call->error.empty() ? "settings: rejected"
                                          : "settings: " + call->error;
  bool ok = answered && call->status == TINY_STATUS_OK && call->error.empty();
  if (!ok && (!answered || (call->status != TINY_STATUS_OK && call->status != TINY_STATUS_INVALID_ARGUMENT)))
    *environment_failure = true;
  call->Unref();
  if (!ok) {
    *error = why;
    StopNode(*node);
    node->state = NodeState::kFailed;
    return false;
  }
  node->state = NodeState::kRunning;
  return true;
}

bool Scheduler::StopNode(Node& node, std::chrono::steady_clock::time_point give_up) {
  NodeState s = node.state.load();
  if (s == NodeState::kStopped || s == NodeState::kNew) return true;
  node.state = NodeState::kStopping;
  timers_.CloseOwner(&node);
  // Handlers already running finish first (a blocking one may take long);
  // say so after 1 s and then every 5 s rather than hang silently.
  const auto began = std::chrono::steady_clock::now();
  auto next_warning = began + std::chrono::seconds(1);
  for (int spins = 0; node.inflight.load() != 0; ++spins) {
    std::this_thread::sleep_for(spins < 50 ? std::chrono::microseconds(200) : std::chrono::microseconds(10000));
    auto now = std::chrono::steady_clock::now();
    if (now >= give_up) return false;  // the instance stays: a handler still runs in it
    if (now >= next_warning) {
      spdlog::warn("waiting for running handlers before destroying node={} running={} waited_ms={}", node.name,
                   node.inflight.load(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(now - began).count());
      next_warning = now + std::chrono::seconds(5);
    }
  }
  if (node.instance) {
    try {
      node.type->desc->destroy(node.instance);
    } catch (...) {
      spdlog::error("plugin threw from destroy node={}", node.name);
    }
    node.instance = nullptr;
    spdlog::info("node destroyed node={} module={}", node.name, node.type->module);
  }
  node.state = NodeState::kStopped;
  return true;
}

namespace {

// `nodes` ordered so that every node comes after the local nodes its edges
// lead to (sinks first); cycles are cut where the walk meets them.
std::vector<std::shared_ptr<Node>> SinksFirst(const std::vector<std::shared_ptr<Node>>& nodes) {
  std::vector<std::shared_ptr<Node>> order;
  std::set<Node*> seen;
  std::function<void(const std::shared_ptr<Node>&)> visit = [&](const std::shared_ptr<Node>& n) {
    if (!seen.insert(n.get()).second) return;
    auto table = n->edges();
    for (const auto& [port, routes] : table->by_port)
      for (const auto& r : routes)
        if (r.local) visit(r.local);
    order.push_back(n);
  };
  for (const auto& n : nodes) visit(n);
  return order;
}

}  // namespace

std::vector<std::string> Scheduler::Reconcile(const FlowSet& flows, bool* environment_failure) {
  bool environment = false;
  std::lock_guard<std::mutex> lock(reconcile_mu_);
  auto old_graph = graph();
  auto next = std::make_shared<Graph>();
  std::vector<std::shared_ptr<Node>> created;

  for (const auto& spec : flows.nodes) {
    GraphEntry entry;
    entry.module = spec.module;
    entry.type = modules_.FindComponent(spec.module, spec.component);
    if (modules_.Serves(spec.module) && entry.type) {
      std::string key = spec.settings.dump();
      const GraphEntry* old = old_graph->Find(spec.name);
      if (old && old->local && old->local->type == entry.type && old->local->settings_key == key &&
          old->local->state.load() == NodeState::kRunning) {
        entry.local = old->local;
      } else {
        entry.local = std::make_shared<Node>(this, spec.name, spec.file, entry.type, key);
        created.push_back(entry.local);
      }
    }
    next->nodes.emplace(spec.name, std::move(entry));
  }

  // Wire every local node against the new graph.
  for (const auto& spec : flows.nodes) {
    const GraphEntry* entry = next->Find(spec.name);
    if (!entry->local) continue;
    auto table = std::make_shared<EdgeTable>();
    for (size_t i = 0; i < spec.edges.size(); ++i) {
      const EdgeSpec& e = spec.edges[i];
      auto addr = SplitAddress(e.to);
      const GraphEntry* target = addr ? next->Find(addr->first) : nullptr;
      if (!target) continue;  // validation guarantees it exists
      Route r;
      r.from = spec.name + "." + e.port;
      r.to = e.to;
      r.target_port = std::string(addr->second);
      r.local = target->local;
      r.remote_module = target->module;
      if (e.mapping && !e.mapping->IsIdentity()) r.mapping = e.mapping;
      r.label = spec.file + ": node '" + spec.name + "': edges[" + std::to_string(i) + "]";
      auto it = std::find_if(table->by_port.begin(), table->by_port.end(),
                             [&](const auto& p) { return p.first == e.port; });
      if (it == table->by_port.end()) {
        table->by_port.emplace_back(e.port, std::vector<Route>{});
        it = std::prev(table->by_port.end());
      }
      it->second.push_back(std::move(r));
    }
    entry->local->set_edges(std::move(table));
  }
  graph_.store(next, std::memory_order_release);

  // Destroy what the new graph no longer holds, sources first.
  std::vector<std::shared_ptr<Node>> gone;
  for (const auto& [name, entry] : old_graph->nodes) {
    if (!entry.local) continue;
    const GraphEntry* now = next->Find(name);
    if (!now || now->local != entry.local) gone.push_back(entry.local);
  }
  auto gone_order = SinksFirst(gone);
  std::reverse(gone_order.begin(), gone_order.end());
  for (const auto& node : gone_order)
    if (std::find(gone.begin(), gone.end(), node) != gone.end()) StopNode(*node);

  // Start the new nodes, sinks first, so a source's first emit finds its
  // targets running.
  std::vector<std::string> errors;
  std::set<Node*> fresh;
  for (const auto& n : created) fresh.insert(n.get());
  for (const auto& node : SinksFirst(created)) {
    if (!fresh.count(node.get())) continue;
    const NodeSpec* spec = flows.Find(node->name);
    std::string error;
    if (StartNode(node, spec->effective_settings.empty() ? "{}" : spec->effective_settings, &error, &environment)) {
      spdlog::info("node started node={} module={} component={}", node->name, node->type->module, node->type->name);
    } else {
      errors.push_back(node->file + ": node '" + node->name + "': " + error);
      spdlog::error("node failed to start node={} error={}", node->name, error);
    }
  }
  if (environment_failure) *environment_failure = environment;
  return errors;
}

std::vector<std::string> Scheduler::Shutdown(std::chrono::steady_clock::time_point give_up) {
  std::lock_guard<std::mutex> lock(reconcile_mu_);
  auto old_graph = graph_.exchange(std::make_shared<const Graph>());
  // Sources first, so nothing emits into a node already destroyed.
  std::vector<std::shared_ptr<Node>> locals;
  for (const auto& [name, entry] : old_graph->nodes)
    if (entry.local) locals.push_back(entry.local);
  auto order = SinksFirst(locals);
  std::reverse(order.begin(), order.end());
  std::vector<std::string> stuck;
  for (const auto& node : order) {
    if (!StopNode(*node, give_up)) {
      stuck.push_back(node->name);
      stuck_.push_back(node);  // a handler still runs in it: never freed
      continue;
    }
    node->set_edges(std::make_shared<const EdgeTable>());
  }
  return stuck;
}

}  // namespace tiny::host
