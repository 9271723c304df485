// The node life cycle: making the running nodes match the loaded flows
// (PlanGraph decides, this carries it out), starting a node through its
// `_settings` answer, and stopping nodes once their handlers have left.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "host/base/bytes.h"
#include "host/runtime/graph.h"
#include "host/runtime/host_api.h"
#include "host/runtime/scheduler.h"

namespace tiny::host {
namespace {

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

const std::string kNoSettings = "{}";
// How long a stopped node's handle stays valid (see Scheduler::retired_):
// well past the default deadline, by which any emit callback has run.
constexpr std::chrono::minutes kRetireFor{2};

}  // namespace

Result Scheduler::StartNode(const std::shared_ptr<Node>& node, const std::string& settings,
                            bool* environment_failure) {
  timers_.OpenOwner(node.get());
  node->state = NodeState::kStarting;
  try {
    node->instance = node->type->desc->create(HostApi(), node->handle());
  } catch (...) {
    node->instance = nullptr;
  }
  if (node->instance == nullptr) {
    *environment_failure = true;
    node->state = NodeState::kFailed;
    return Result::Error("create: the component returned no instance (see the plugin's log line)");
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
    StopNode(*node);
    node->state = NodeState::kFailed;
    return Result::Error(std::move(why));
  }
  node->state = NodeState::kRunning;
  return Result::Ok();
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
  while (!node.WaitIdleUntil(std::min(next_warning, give_up))) {
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

std::vector<std::string> Scheduler::Reconcile(const FlowSet& flows, bool* environment_failure) {
  bool environment = false;
  std::lock_guard<std::mutex> lock(reconcile_mu_);
  auto old_graph = graph();
  GraphPlan plan = PlanGraph(flows, *old_graph, modules_, this);
  std::unordered_map<std::string_view, std::shared_ptr<Node>> gone_by_name;
  for (const auto& node : plan.gone) gone_by_name.emplace(node->name, node);

  // The new nodes start before the new graph is published, so messages to
  // a changed node reach its old instance until the new one runs. Sinks
  // first, so a source's first emit finds its targets running. New nodes
  // are reachable only through each other's edges until then.
  std::unordered_set<const Node*> created;
  for (const auto& node : plan.created) created.insert(node.get());
  for (const auto& [node, table] : plan.wiring)
    if (created.count(node.get())) node->set_edges(table);
  std::vector<std::string> errors;
  std::vector<std::shared_ptr<Node>> started;
  for (const auto& node : plan.created) {
    const NodeSpec* spec = flows.Find(node->name);
    const std::string& settings = spec->effective_settings.empty() ? kNoSettings : spec->effective_settings;
    bool node_environment = false;
    Result result = StartNode(node, settings, &node_environment);
    auto old = gone_by_name.find(node->name);
    if (!result.ok() && node_environment && old != gone_by_name.end()) {
      // The old instance may hold what the new one needs (a listening
      // port): stop it first and try once more.
      spdlog::info("restarting node in place node={} error={}", node->name, result.message());
      if (StopNode(*old->second)) old->second->set_edges(std::make_shared<const EdgeTable>());
      node_environment = false;
      result = StartNode(node, settings, &node_environment);
    }
    environment = environment || node_environment;
    if (result.ok()) {
      spdlog::info("node started node={} module={} component={}", node->name, node->type->module, node->type->name);
      started.push_back(node);
    } else {
      errors.push_back(node->file + ": node '" + node->name + "': " + result.message());
      spdlog::error("node failed to start node={} error={}", node->name, result.message());
    }
  }
  if (environment_failure) *environment_failure = environment;
  if (!errors.empty()) {
    // Rejected as a whole: the published graph stays as it was. (A node
    // stopped above for its replacement is recreated by the caller's
    // Reconcile of the previous flows.)
    for (auto it = started.rbegin(); it != started.rend(); ++it)
      if (StopNode(**it)) (*it)->set_edges(std::make_shared<const EdgeTable>());
    for (const auto& node : plan.created) Retire(node);  // a plugin thread may hold its handle
    return errors;
  }

  for (auto& [node, table] : plan.wiring)
    if (!created.count(node.get())) node->set_edges(std::move(table));
  graph_.store(plan.graph, std::memory_order_release);

  // Sources first. A stopped node's edges go, so nodes on a cycle (which
  // hold each other through their routes) are freed.
  for (const auto& node : plan.gone)
    if (StopNode(*node)) node->set_edges(std::make_shared<const EdgeTable>());
  for (const auto& node : plan.gone) Retire(node);
  return errors;
}

void Scheduler::Retire(const std::shared_ptr<Node>& node) {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(retired_, [&](const auto& r) { return r.first + kRetireFor <= now; });
  retired_.emplace_back(now, node);
}

std::vector<std::string> Scheduler::Shutdown(std::chrono::steady_clock::time_point give_up) {
  std::lock_guard<std::mutex> lock(reconcile_mu_);
  auto old_graph = graph_.exchange(std::make_shared<const Graph>());
  // Deliveries still waiting for a worker are answered UNAVAILABLE now, and
  // later ones at once: a blocking handler waiting on one (emit_wait) is
  // freed, so that its node can stop before `give_up`.
  workers_.Close();
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
