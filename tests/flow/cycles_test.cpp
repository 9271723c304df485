// CycleWarnings on hand-made flow sets: every cycle once, in file order.
#include "host/flow/cycles.h"

#include <doctest/doctest.h>

using namespace tiny::host;

namespace {

FlowSet Flows(std::vector<std::pair<std::string, std::vector<std::string>>> nodes) {
  FlowSet f;
  for (auto& [name, targets] : nodes) {
    NodeSpec n;
    n.file = "f.yaml";
    n.name = name;
    for (auto& t : targets) {
      EdgeSpec e;
      e.port = "out";
      e.to = t + ".in";
      n.edges.push_back(std::move(e));
    }
    f.nodes.push_back(std::move(n));
  }
  return f;
}

}  // namespace

TEST_CASE("no cycle, no warning") {
  CHECK(CycleWarnings(Flows({{"a", {"b"}}, {"b", {"c"}}, {"c", {}}})).empty());
  CHECK(CycleWarnings(Flows({{"a", {"b", "c"}}, {"b", {"c"}}, {"c", {}}})).empty());  // a diamond
}

TEST_CASE("each cycle is one line naming its nodes in file order") {
  auto w = CycleWarnings(Flows({{"self", {"self", "self"}}, {"x", {"y"}}, {"y", {"z"}}, {"z", {"x", "out"}}, {"out", {}}}));
  REQUIRE(w.size() == 2);
  CHECK(w[0] == "f.yaml: nodes 'self': the edges form a cycle that branches: the deliveries of a message that goes "
               "round it multiply on every turn, up to --max-fanout");
  CHECK(w[1] == "f.yaml: nodes 'x', 'y', 'z': the edges form a cycle (a ring, as in a request/response loop; a "
               "message sent round it stops at the hop limit)");
}

TEST_CASE("a long ring of 100000 nodes is walked without deep recursion, and named in short") {
  std::vector<std::pair<std::string, std::vector<std::string>>> ring;
  for (int i = 0; i < 100000; ++i) ring.push_back({"n" + std::to_string(i), {"n" + std::to_string((i + 1) % 100000)}});
  auto w = CycleWarnings(Flows(ring));
  REQUIRE(w.size() == 1);
  CHECK(w[0].find("'n9' and 99990 more") != std::string::npos);
}
