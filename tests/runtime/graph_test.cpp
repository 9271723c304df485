// PlanGraph and SinksFirst without plugins: components are described by
// hand, nodes are never started, so only the plan itself is checked.
#include "host/runtime/graph.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace tiny::host;

namespace {

// A registry with module "local" (served: components a, b, c) and module
// "far" (known, not served: component x). No library is loaded.
ModuleRegistry& Registry() {
  static ModuleRegistry* registry = [] {
    auto* r = new ModuleRegistry();
    auto local = std::make_unique<Plugin>();
    local->module = "local";
    for (const char* name : {"a", "b", "c"}) local->components.push_back(ComponentType{nullptr, "local", name, "{}"});
    r->Add(std::move(local), true);
    auto far = std::make_unique<Plugin>();
    far->module = "far";
    far->components.push_back(ComponentType{nullptr, "far", "x", "{}"});
    r->Add(std::move(far), false);
    return r;
  }();
  return *registry;
}

NodeSpec Spec(std::string name, std::string module, std::string component,
              std::vector<std::pair<std::string, std::string>> edges = {}, nlohmann::json settings = {}) {
  NodeSpec s;
  s.file = "f.yaml";
  s.name = std::move(name);
  s.module = std::move(module);
  s.component = std::move(component);
  if (!settings.is_null()) s.settings = std::move(settings);
  for (auto& [port, to] : edges) {
    EdgeSpec e;
    e.port = port;
    e.to = to;
    s.edges.push_back(std::move(e));
  }
  return s;
}

// source -> middle -> sink, and middle -> remote (a node of "far").
FlowSet Chain(nlohmann::json middle_settings = {}) {
  FlowSet f;
  f.nodes.push_back(Spec("source", "local", "a", {{"out", "middle.in"}}));
  f.nodes.push_back(Spec("middle", "local", "b", {{"out", "sink.in"}, {"out", "remote.in"}}, middle_settings));
  f.nodes.push_back(Spec("sink", "local", "c"));
  f.nodes.push_back(Spec("remote", "far", "x"));
  return f;
}

std::vector<std::string> Names(const std::vector<std::shared_ptr<Node>>& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes) out.push_back(n->name);
  return out;
}

// Carries out the wiring of a plan and marks its new nodes running, as
// the scheduler would after starting them.
std::shared_ptr<const Graph> Apply(const GraphPlan& plan) {
  for (const auto& [node, table] : plan.wiring) node->set_edges(table);
  for (const auto& n : plan.created) n->state = NodeState::kRunning;
  return plan.graph;
}

const EdgeTable& EdgesIn(const GraphPlan& plan, const std::string& name) {
  for (const auto& [node, table] : plan.wiring)
    if (node->name == name) return *table;
  FAIL("no wiring for " << name);
  throw 0;
}

}  // namespace

TEST_CASE("a first plan creates every served node, sinks first, and wires local and remote routes") {
  Graph empty;
  GraphPlan plan = PlanGraph(Chain(), empty, Registry(), nullptr);
  CHECK(Names(plan.created) == std::vector<std::string>{"sink", "middle", "source"});
  CHECK(plan.gone.empty());
  REQUIRE(plan.graph->nodes.size() == 4);

  const GraphEntry* remote = plan.graph->Find("remote");
  REQUIRE(remote != nullptr);
  CHECK(remote->local == nullptr);  // known, not served: reached through the pool
  CHECK(remote->module == "far");
  CHECK(remote->type != nullptr);

  CHECK(plan.wiring.size() == 3);  // the local nodes only
  const auto* out = EdgesIn(plan, "middle").Find("out");
  REQUIRE(out != nullptr);
  REQUIRE(out->size() == 2);  // both edges of one port, in file order
  CHECK((*out)[0].local == plan.graph->Find("sink")->local);
  CHECK((*out)[0].from == "middle.out");
  CHECK((*out)[0].to == "sink.in");
  CHECK((*out)[0].target_port == "in");
  CHECK((*out)[0].label == "f.yaml: node 'middle': edges[0]");
  CHECK((*out)[1].local == nullptr);
  CHECK((*out)[1].remote_module == "far");
  CHECK(EdgesIn(plan, "sink").by_port.empty());
}

TEST_CASE("the same flows again keep every running node and re-wire it") {
  Graph empty;
  auto first = Apply(PlanGraph(Chain(), empty, Registry(), nullptr));
  GraphPlan again = PlanGraph(Chain(), *first, Registry(), nullptr);
  CHECK(again.created.empty());
  CHECK(again.gone.empty());
  for (const char* name : {"source", "middle", "sink"})
    CHECK(again.graph->Find(name)->local == first->Find(name)->local);
  CHECK(again.wiring.size() == 3);
}

TEST_CASE("changed settings recreate that node only; its neighbours are kept and point at the new one") {
  Graph empty;
  auto first = Apply(PlanGraph(Chain(), empty, Registry(), nullptr));
  GraphPlan next = PlanGraph(Chain({{"k", 1}}), *first, Registry(), nullptr);
  CHECK(Names(next.created) == std::vector<std::string>{"middle"});
  CHECK(Names(next.gone) == std::vector<std::string>{"middle"});
  CHECK(next.gone.front() == first->Find("middle")->local);
  CHECK(next.graph->Find("source")->local == first->Find("source")->local);
  const auto* out = EdgesIn(next, "source").Find("out");
  REQUIRE(out != nullptr);
  CHECK(out->front().local == next.graph->Find("middle")->local);
  CHECK(out->front().local != first->Find("middle")->local);
}

TEST_CASE("a node that is not running is recreated even when its spec is unchanged") {
  Graph empty;
  auto first = Apply(PlanGraph(Chain(), empty, Registry(), nullptr));
  first->Find("sink")->local->state = NodeState::kFailed;
  GraphPlan next = PlanGraph(Chain(), *first, Registry(), nullptr);
  CHECK(Names(next.created) == std::vector<std::string>{"sink"});
  CHECK(Names(next.gone) == std::vector<std::string>{"sink"});
}

TEST_CASE("removed nodes go sources first") {
  Graph empty;
  auto first = Apply(PlanGraph(Chain(), empty, Registry(), nullptr));
  FlowSet only_remote;
  only_remote.nodes.push_back(Spec("remote", "far", "x"));
  GraphPlan next = PlanGraph(only_remote, *first, Registry(), nullptr);
  CHECK(next.created.empty());
  CHECK(Names(next.gone) == std::vector<std::string>{"source", "middle", "sink"});
  CHECK(next.wiring.empty());
}

TEST_CASE("a node of an unknown component gets no instance but stays addressable by name") {
  FlowSet f;
  f.nodes.push_back(Spec("ghost", "local", "nope"));
  Graph empty;
  GraphPlan plan = PlanGraph(f, empty, Registry(), nullptr);
  CHECK(plan.created.empty());
  REQUIRE(plan.graph->Find("ghost") != nullptr);
  CHECK(plan.graph->Find("ghost")->type == nullptr);
}

TEST_CASE("a cycle is cut: every node is ordered once") {
  FlowSet f;
  f.nodes.push_back(Spec("p", "local", "a", {{"out", "q.in"}}));
  f.nodes.push_back(Spec("q", "local", "b", {{"out", "r.in"}}));
  f.nodes.push_back(Spec("r", "local", "c", {{"out", "p.in"}}));
  Graph empty;
  GraphPlan plan = PlanGraph(f, empty, Registry(), nullptr);
  auto names = Names(plan.created);
  REQUIRE(names.size() == 3);
  CHECK(names == std::vector<std::string>{"r", "q", "p"});  // the walk starts at p, so p comes last
  Apply(plan);
  CHECK(Names(SinksFirst({plan.graph->Find("q")->local})) == std::vector<std::string>{"q"});
  // The routes of a cycle hold its nodes; the scheduler clears a node's
  // edges when it stops it, and so does this test.
  for (const auto& [node, table] : plan.wiring) node->set_edges(std::make_shared<const EdgeTable>());
}
