#include "host/flow/cycles.h"

#include <algorithm>
#include <unordered_map>

#include "host/base/names.h"

namespace tiny::host {

std::vector<std::string> CycleWarnings(const FlowSet& flows) {
  const size_t n = flows.nodes.size();
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < n; ++i) index.emplace(flows.nodes[i].name, i);
  std::vector<std::vector<size_t>> out(n);
  std::vector<bool> self_loop(n, false);
  for (size_t i = 0; i < n; ++i)
    for (const auto& e : flows.nodes[i].edges) {
      auto addr = SplitAddress(e.to);
      if (!addr) continue;
      auto it = index.find(addr->first);
      if (it == index.end()) continue;
      out[i].push_back(it->second);
      if (it->second == i) self_loop[i] = true;
    }

  // Tarjan's strongly connected components, with an explicit stack.
  constexpr size_t kUnseen = static_cast<size_t>(-1);
  std::vector<size_t> order(n, kUnseen), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  std::vector<std::pair<size_t, size_t>> walk;  // (node, next edge)
  std::vector<std::vector<size_t>> components;
  size_t counter = 0;
  for (size_t root = 0; root < n; ++root) {
    if (order[root] != kUnseen) continue;
    walk.emplace_back(root, 0);
    order[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!walk.empty()) {
      auto& [v, next] = walk.back();
      if (next < out[v].size()) {
        size_t w = out[v][next++];
        if (order[w] == kUnseen) {
          order[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          walk.emplace_back(w, 0);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], order[w]);
        }
        continue;
      }
      size_t done = v;
      walk.pop_back();
      if (!walk.empty()) low[walk.back().first] = std::min(low[walk.back().first], low[done]);
      if (low[done] != order[done]) continue;
      std::vector<size_t> component;
      size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != done);
      if (component.size() > 1 || self_loop[done]) components.push_back(std::move(component));
    }
  }

  std::vector<std::string> warnings;
  std::vector<size_t> component_of(n, kUnseen);
  for (size_t k = 0; k < components.size(); ++k)
    for (size_t v : components[k]) component_of[v] = k;
  for (auto& c : components) {
    // A ring has as many edges inside as nodes; more, and some turn of the
    // cycle sends a message on twice.
    size_t inside = 0;
    for (size_t v : c)
      for (size_t w : out[v])
        if (component_of[w] == component_of[v]) ++inside;
    std::sort(c.begin(), c.end());  // file order
    std::string names;
    const size_t shown = std::min<size_t>(c.size(), 10);
    for (size_t k = 0; k < shown; ++k) names += (k ? ", '" : "'") + flows.nodes[c[k]].name + "'";
    if (c.size() > shown) names += " and " + std::to_string(c.size() - shown) + " more";
    if (inside > c.size())
      warnings.push_back(flows.nodes[c.front()].file + ": nodes " + names +
                         ": the edges form a cycle that branches: the deliveries of a message that goes round it "
                         "multiply on every turn, up to --max-fanout");
    else
      warnings.push_back(flows.nodes[c.front()].file + ": nodes " + names +
                         ": the edges form a cycle (a ring, as in a request/response loop; a message sent round "
                         "it stops at the hop limit)");
  }
  return warnings;
}

}  // namespace tiny::host
