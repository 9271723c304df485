// Cycles of edges in the loaded flows. A cycle is allowed (a retry loop, a
// counter), but one that branches multiplies deliveries on every turn, so
// flow loading names each one in a warning; the scheduler's --max-fanout
// bounds what one message can cause.
#pragma once

#include <string>
#include <vector>

#include "host/flow/flow_loader.h"

namespace tiny::host {

// One warning line per strongly connected set of nodes that edges lead
// round (a node with an edge to itself counts), naming up to ten of them
// in file order: "FILE: nodes 'a', 'b': the edges form a cycle; ...".
// Iterative, so a flow of any size is walked without deep recursion.
std::vector<std::string> CycleWarnings(const FlowSet& flows);

}  // namespace tiny::host
