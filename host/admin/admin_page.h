// The admin listener's page (`/`): the loaded flows, live.
#pragma once

#include <string_view>

namespace tiny::host {

// One self-contained HTML page (inline CSS and JS, no external asset, no
// build step). It fetches `graph.svg` (RenderSvg(FlowDot(flows))) and
// `status` relative to its own URL, shows the drawing, then polls
// `status` every second and writes into it:
//   - each edge's label (the "edge:..." group of FlowDot): its message
//     rate, from the delta of `messages` between two polls; the group's
//     data-messages / data-rate attributes hold the last values;
//   - each node's badge ("a_badge:..."): its error count, red when > 0,
//     the last error as tooltip; the node group's class "state-STATE";
//   - a header (build, uptime, ready, #total-messages, #total-errors),
//     and tables of nodes, peers and plugins.
// It fetches graph.svg again when the set of nodes and edges in `status`
// changes (a hot reload). Text from the host is written with textContent
// only. Static storage.
std::string_view AdminPageHtml();

}  // namespace tiny::host
