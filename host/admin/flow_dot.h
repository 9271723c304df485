// The loaded flows as a picture: Graphviz DOT text, and its layout as SVG.
// `tinyhost graph` prints them; the admin page shows the SVG and fills in
// the live counts through the ids described below.
#pragma once

#include <cstddef>
#include <string>

#include "host/base/result.h"
#include "host/flow/flow_loader.h"
#include "host/loader/module_registry.h"

namespace tiny::host {

// The DOT of `flows`: one cluster per flow file (labelled with the file
// name), one node per NodeSpec showing its name, module/component and
// ports, one edge per EdgeSpec from the output port to the input port.
//
// With `modules` (may be null), each node also shows the ports its
// component declares (system ports and port families left out), and a
// node of a module this host does not serve is drawn dashed, as is a node
// an edge names that no flow holds. Without it, a node shows the ports its
// edges name, and only missing nodes are dashed. Settings are never drawn.
//
// The SVG made from it carries, for the page (text ids, see IdText):
//   - each node: a group with id "node:NAME" (class "node local"|"node remote"),
//     and in it a group "a_badge:NAME" whose <text> is an empty badge;
//   - each edge: a group with id "edge:FROM.PORT->TO.PORT" whose <text>
//     is an empty label (the page writes the rate there).
// Every name a file gave (file, node, module, component, port) is escaped
// for DOT and for Graphviz's HTML labels, so no flow can change the
// drawing's structure or put markup into the SVG.
std::string FlowDot(const FlowSet& flows, const ModuleRegistry* modules = nullptr);

// A name as the ids above spell it: unchanged when it is made of
// [A-Za-z0-9_-] (every node and port name a valid flow has), else each
// other byte (and '%') as %XX, so an id is always plain text.
std::string IdText(std::string_view name);

// The largest DOT text RenderSvg lays out (a flow set's DOT is a few
// hundred bytes a node): beyond it, an error rather than minutes of layout.
constexpr size_t kMaxDotBytes = 4 * 1024 * 1024;

// Lays `dot` out with libgvc's dot engine and renders it as SVG into
// *svg (set only when ok). A text that is not DOT, that Graphviz reports
// any error about (a malformed HTML label), or that is larger than
// kMaxDotBytes, is an error naming Graphviz's complaint. Thread-safe
// (libgvc is not: one call at a time, under a process-wide lock).
Result RenderSvg(const std::string& dot, std::string* svg);

}  // namespace tiny::host
