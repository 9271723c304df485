// A node instantiated on this host, and the resolved edges it emits along.
#pragma once

#include <tiny/plugin.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/flow/mapping.h"
#include "host/loader/plugin_loader.h"
#include "host/runtime/plugin_metrics.h"
#include "host/runtime/stats.h"

namespace tiny::host {

class Scheduler;
class Node;

// The declared input ports of a component (in the plugin's order).
inline std::vector<std::string> InputPorts(const ComponentType* type) {
  std::vector<std::string> ports;
  if (type && type->desc)
    for (uint32_t i = 0; i < type->desc->port_count; ++i)
      if (type->desc->ports[i].direction == TINY_PORT_IN) ports.emplace_back(type->desc->ports[i].name);
  return ports;
}

// One edge, resolved against the current graph.
struct Route {
  std::string from;         // "node.port" of the source, for Message.from
  std::string to;           // "node.port" of the target
  std::string target_port;
  std::shared_ptr<Node> local;  // the target when this host serves it
  std::string remote_module;    // else: the module to reach through the pool
  std::shared_ptr<const Mapping> mapping;  // null: pass the data through
  std::string label;        // "FILE: node 'N': edges[i]" for log lines
  // Messages sent along this edge (for /status); kept across a reload that
  // keeps the edge.
  std::shared_ptr<std::atomic<uint64_t>> count;
};

// A node's outgoing edges by output port. Immutable once published.
struct EdgeTable {
  std::vector<std::pair<std::string, std::vector<Route>>> by_port;

  const std::vector<Route>* Find(std::string_view port) const {
    for (const auto& [name, routes] : by_port)
      if (name == port) return &routes;
    return nullptr;
  }
};

enum class NodeState : int { kNew, kStarting, kRunning, kStopping, kStopped, kFailed };

// Passed to the plugin as tiny_node*. Lives (shared) while any graph, edge
// or in-flight delivery refers to it; the plugin instance lives from Start
// to Stop.
class Node {
 public:
  Node(Scheduler* owner, std::string node_name, std::string flow_file, const ComponentType* component,
       std::string settings_json)
      : scheduler(owner), name(std::move(node_name)), file(std::move(flow_file)), type(component),
        settings_key(std::move(settings_json)), stats(std::make_shared<NodeStats>(InputPorts(component))) {}

  tiny_node* handle() { return reinterpret_cast<tiny_node*>(this); }
  static Node* From(tiny_node* n) { return reinterpret_cast<Node*>(n); }

  std::shared_ptr<const EdgeTable> edges() const { return edges_.load(std::memory_order_acquire); }
  void set_edges(std::shared_ptr<const EdgeTable> table) { edges_.store(std::move(table), std::memory_order_release); }

  Scheduler* const scheduler;
  const std::string name;
  const std::string file;
  const ComponentType* const type;
  const std::string settings_key;  // the flow's settings as JSON text, to spot changes
  const std::shared_ptr<NodeStats> stats;  // shared with the calls it answers
  NodeMetrics plugin_metrics;              // declared by the instance (tiny.metrics/1)

  tiny_instance* instance = nullptr;  // set by Start, cleared by Stop (main thread)
  std::atomic<NodeState> state{NodeState::kNew};
  std::atomic<int> inflight{0};  // handle calls running now

  // A handle call ends: the last one out while the node stops wakes
  // WaitIdleUntil. (inflight and state are seq_cst: either the stopper
  // sees 0, or the last handler sees kStopping and notifies.)
  void LeaveHandler() {
    if (inflight.fetch_sub(1) == 1 && state.load() == NodeState::kStopping) {
      std::lock_guard<std::mutex> lock(idle_mu_);
      idle_cv_.notify_all();
    }
  }
  // After state is set to kStopping: waits until no handler runs or
  // `deadline`; true iff none runs.
  bool WaitIdleUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(idle_mu_);
    return idle_cv_.wait_until(lock, deadline, [this] { return inflight.load() == 0; });
  }

 private:
  std::atomic<std::shared_ptr<const EdgeTable>> edges_{std::make_shared<const EdgeTable>()};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
};

}  // namespace tiny::host
