// The graph of the loaded flows as this host sees it, and the pure step
// that plans a reconcile: which nodes to keep, create and destroy, and the
// edge table of every local node. Nothing here calls a plugin; the
// scheduler carries out the plan (reconcile.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "host/flow/flow_loader.h"
#include "host/loader/module_registry.h"
#include "host/runtime/node.h"

namespace tiny::host {

// What the scheduler knows of one node name.
struct GraphEntry {
  std::string module;
  const ComponentType* type = nullptr;  // null for a module without a plugin here
  std::shared_ptr<Node> local;          // set iff this host serves the module
};

// Hashes std::string and std::string_view alike, so lookups by a view
// into a request allocate nothing.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// An immutable snapshot of every node in the loaded flows.
struct Graph {
  std::unordered_map<std::string, GraphEntry, NameHash, std::equal_to<>> nodes;
  const GraphEntry* Find(std::string_view name) const {
    auto it = nodes.find(name);
    return it == nodes.end() ? nullptr : &it->second;
  }
};

// What a reconcile must do to go from one graph to the next.
struct GraphPlan {
  std::shared_ptr<const Graph> graph;  // the graph to publish
  // The edge table of every local node of `graph`, to set before it is
  // published (kept nodes are re-wired too: their targets may be new).
  std::vector<std::pair<std::shared_ptr<Node>, std::shared_ptr<const EdgeTable>>> wiring;
  std::vector<std::shared_ptr<Node>> created;  // not started yet, sinks first
  std::vector<std::shared_ptr<Node>> gone;     // in the old graph only, sources first
};

// Plans the graph for `flows` over `old`: a local node whose module,
// component and settings are unchanged and which is running is kept (the
// same Node); any other local node is new (owned by `owner`, not started).
// A node of a module this host knows but does not serve gets no Node.
GraphPlan PlanGraph(const FlowSet& flows, const Graph& old, const ModuleRegistry& modules, Scheduler* owner);

// `nodes` ordered so that every node comes after the local nodes its
// current edges lead to (sinks first); a cycle is cut where the walk meets
// it. Nodes reached through edges but not in `nodes` are not included.
std::vector<std::shared_ptr<Node>> SinksFirst(const std::vector<std::shared_ptr<Node>>& nodes);

}  // namespace tiny::host
