#include "host/runtime/graph.h"

#include <algorithm>
#include <functional>
#include <set>

#include "host/base/names.h"

namespace tiny::host {
namespace {

// The count of the same edge in `before`, else a new one.
std::shared_ptr<std::atomic<uint64_t>> CountOf(const EdgeTable& before, const std::string& port, const std::string& to) {
  if (const std::vector<Route>* routes = before.Find(port))
    for (const Route& r : *routes)
      if (r.to == to) return r.count;
  return std::make_shared<std::atomic<uint64_t>>(0);
}

// `before`: the node's edges until now (empty for a new node).
std::shared_ptr<const EdgeTable> EdgesOf(const NodeSpec& spec, const Graph& graph, const EdgeTable& before) {
  auto table = std::make_shared<EdgeTable>();
  for (size_t i = 0; i < spec.edges.size(); ++i) {
    const EdgeSpec& e = spec.edges[i];
    auto addr = SplitAddress(e.to);
    const GraphEntry* target = addr ? graph.Find(addr->first) : nullptr;
    if (!target) continue;  // flow validation guarantees it exists
    Route r;
    r.from = spec.name + "." + e.port;
    r.to = e.to;
    r.target_port = std::string(addr->second);
    r.local = target->local;
    r.remote_module = target->module;
    if (e.mapping && !e.mapping->IsIdentity()) r.mapping = e.mapping;
    r.label = spec.file + ": node '" + spec.name + "': edges[" + std::to_string(i) + "]";
    r.count = CountOf(before, e.port, e.to);
    auto it = std::find_if(table->by_port.begin(), table->by_port.end(),
                           [&](const auto& p) { return p.first == e.port; });
    if (it == table->by_port.end()) {
      table->by_port.emplace_back(e.port, std::vector<Route>{});
      it = std::prev(table->by_port.end());
    }
    it->second.push_back(std::move(r));
  }
  return table;
}

// Orders by the edges in `wiring` (not yet set on the nodes).
std::vector<std::shared_ptr<Node>> SinksFirstBy(
    const std::vector<std::shared_ptr<Node>>& nodes,
    const std::function<std::shared_ptr<const EdgeTable>(const Node&)>& edges_of) {
  std::vector<std::shared_ptr<Node>> order;
  std::set<const Node*> seen;
  std::set<const Node*> wanted;
  for (const auto& n : nodes) wanted.insert(n.get());
  std::function<void(const std::shared_ptr<Node>&)> visit = [&](const std::shared_ptr<Node>& n) {
    if (!seen.insert(n.get()).second) return;
    auto table = edges_of(*n);
    for (const auto& [port, routes] : table->by_port)
      for (const auto& r : routes)
        if (r.local) visit(r.local);
    if (wanted.count(n.get())) order.push_back(n);
  };
  for (const auto& n : nodes) visit(n);
  return order;
}

}  // namespace

std::vector<std::shared_ptr<Node>> SinksFirst(const std::vector<std::shared_ptr<Node>>& nodes) {
  return SinksFirstBy(nodes, [](const Node& n) { return n.edges(); });
}

GraphPlan PlanGraph(const FlowSet& flows, const Graph& old, const ModuleRegistry& modules, Scheduler* owner) {
  auto next = std::make_shared<Graph>();
  GraphPlan plan;
  std::vector<std::shared_ptr<Node>> created;
  for (const auto& spec : flows.nodes) {
    GraphEntry entry;
    entry.module = spec.module;
    entry.type = modules.FindComponent(spec.module, spec.component);
    if (modules.Serves(spec.module) && entry.type) {
      std::string key = spec.settings.dump();
      const GraphEntry* before = old.Find(spec.name);
      if (before && before->local && before->local->type == entry.type && before->local->settings_key == key &&
          before->local->state.load() == NodeState::kRunning) {
        entry.local = before->local;
      } else {
        entry.local = std::make_shared<Node>(owner, spec.name, spec.file, entry.type, std::move(key));
        created.push_back(entry.local);
      }
    }
    next->nodes.emplace(spec.name, std::move(entry));
  }

  std::unordered_map<const Node*, std::shared_ptr<const EdgeTable>> tables;
  for (const auto& spec : flows.nodes) {
    const GraphEntry* entry = next->Find(spec.name);
    if (!entry->local) continue;
    auto table = EdgesOf(spec, *next, *entry->local->edges());
    tables[entry->local.get()] = table;
    plan.wiring.emplace_back(entry->local, std::move(table));
  }
  auto new_edges = [&](const Node& n) {
    auto it = tables.find(&n);
    return it != tables.end() ? it->second : n.edges();
  };
  plan.created = SinksFirstBy(created, new_edges);

  std::vector<std::shared_ptr<Node>> gone;
  for (const auto& [name, entry] : old.nodes) {
    if (!entry.local) continue;
    const GraphEntry* now = next->Find(name);
    if (!now || now->local != entry.local) gone.push_back(entry.local);
  }
  plan.gone = SinksFirst(gone);  // by the edges they still have
  std::reverse(plan.gone.begin(), plan.gone.end());
  plan.graph = std::move(next);
  return plan;
}

}  // namespace tiny::host
