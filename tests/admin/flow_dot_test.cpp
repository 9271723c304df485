// FlowDot and RenderSvg: what the drawing holds (ids the page needs,
// ports, dashed nodes), that names from files stay text, and that a bad
// DOT text is an error line. The binary's `graph` command is cli_test.py's.
#include "host/admin/flow_dot.h"

#include <doctest/doctest.h>

#include <string>

#include "support/host_test_support.h"

using namespace tiny::host;

namespace {

// common-module, served.
const ModuleRegistry& Registry() {
  static ModuleRegistry* registry = [] {
    auto* r = new ModuleRegistry();
    tiny::test::LoadInto(*r, COMMON_MODULE_SO);
    return r;
  }();
  return *registry;
}

FlowSet Parse(const std::string& yaml) {
  return ParseFlows({{"flows/a.yaml", yaml}}, Registry(), [](std::string_view) { return true; });
}

std::string Svg(const std::string& dot) {
  std::string svg;
  Result r = RenderSvg(dot, &svg);
  INFO(r.message());
  REQUIRE(r.ok());
  return svg;
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* kTicker = R"(
nodes:
  - name: clock
    module: common-module
    component: ticker
    edges:
      - {port: out, to: shaper.in}
  - name: shaper
    module: common-module
    component: transform
    edges:
      - {port: out, to: far.in}
  - {name: far, module: other-module, component: thing}
  - {name: printer, module: common-module, component: debug}
)";

// The DOT line that draws node `name`.
std::string NodeLine(const std::string& dot, const std::string& name) {
  size_t at = dot.find("\"" + name + "\" [id=");
  return at == std::string::npos ? std::string() : dot.substr(at, dot.find('\n', at) - at);
}

}  // namespace

TEST_CASE("the drawing has the ids, ports and clusters the page looks for") {
  FlowSet flows = Parse(kTicker);
  std::string dot = FlowDot(flows, &Registry());
  std::string svg = Svg(dot);
  for (const char* id :
       {"id=\"node:clock\"", "id=\"node:shaper\"", "id=\"node:far\"", "id=\"a_badge:clock\"", "id=\"a_badge:far\"",
        "id=\"edge:clock.out&#45;&gt;shaper.in\"", "id=\"edge:shaper.out&#45;&gt;far.in\""})
    CHECK_MESSAGE(Has(svg, id), id);
  CHECK(Has(svg, ">flows/a.yaml</text>"));
  CHECK(Has(svg, ">common&#45;module/ticker</text>"));
  // A declared port shows without an edge (debug's in); a system port
  // (ticker's _control) does not.
  CHECK(Has(NodeLine(dot, "printer"), "PORT=\"i0\""));
  CHECK(Has(NodeLine(dot, "printer"), ">in</FONT>"));
  CHECK_FALSE(Has(dot, "_control"));
  // other-module is no plugin here: reached remotely, dashed.
  CHECK(Has(svg, "class=\"node remote\""));
  CHECK(Has(svg, "class=\"node local\""));
  CHECK(Has(dot, "STYLE=\"dashed\""));
}

TEST_CASE("without a registry, nodes show the ports their edges name and none is remote") {
  FlowSet flows = Parse(kTicker);
  std::string dot = FlowDot(flows);
  CHECK_FALSE(Has(dot, "remote"));
  CHECK(Has(dot, ">in</FONT>"));
  Svg(dot);
}

TEST_CASE("an edge to a node no flow holds draws that node dashed") {
  FlowSet flows;
  flows.nodes.push_back(NodeSpec{"a.yaml", "src", "m", "c", nlohmann::json::object(), "", {}});
  flows.nodes[0].edges.push_back(EdgeSpec{"out", "gone.in", false, nullptr, nullptr});
  std::string svg = Svg(FlowDot(flows));
  CHECK(Has(svg, "id=\"node:gone\""));
  CHECK(Has(svg, "class=\"node missing\""));
  CHECK(Has(svg, "id=\"edge:src.out&#45;&gt;gone.in\""));
}

TEST_CASE("names from files stay text: quotes, markup, backslashes, newlines, bad UTF-8") {
  const std::string hostile = "x\"];<b>&amp;\\N\\\\\n\r'\x01\xff\xc3";
  FlowSet flows;
  flows.nodes.push_back(NodeSpec{"dir/<script>" + hostile + ".yaml",
                                 "a" + hostile,
                                 "m<" + hostile,
                                 "c>" + hostile,
                                 nlohmann::json::object(),
                                 "",
                                 {}});
  flows.nodes[0].edges.push_back(EdgeSpec{"o" + hostile, "b.p" + hostile, false, nullptr, nullptr});
  flows.nodes.push_back(NodeSpec{"b.yaml", "b", "m", "c", nlohmann::json::object(), "", {}});
  std::string dot = FlowDot(flows);
  std::string svg = Svg(dot);  // no Graphviz error: every label parsed as written
  CHECK_FALSE(Has(svg, "<script"));
  CHECK_FALSE(Has(svg, "<b>"));
  CHECK(Has(svg, "&lt;b&gt;&amp;amp;\\N\\\\"));  // shown as written, "\N" not expanded
  CHECK(Has(svg, "id=\"node:ax%22%5D%3B%3Cb%3E%26amp%3B%5CN%5C%5C%0A%0D%27%01%FF%C3\""));
  CHECK(Has(svg, "\xEF\xBF\xBD"));  // the control and stray bytes, as U+FFFD
  CHECK_FALSE(Has(svg, "\xff"));
}

TEST_CASE("IdText keeps plain names and percent-encodes the rest") {
  CHECK(IdText("tick-1_x") == "tick-1_x");
  CHECK(IdText("a.b") == "a%2Eb");
  CHECK(IdText("50%") == "50%25");
  CHECK(IdText("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("RenderSvg: bad DOT is one error line, and the next render still works") {
  std::string svg = "untouched";
  Result bad = RenderSvg("digraph { a -> ", &svg);
  CHECK_FALSE(bad.ok());
  CHECK(Has(bad.message(), "graph: not a DOT graph"));
  CHECK(Has(bad.message(), "syntax error"));
  CHECK(bad.message().find('\n') == std::string::npos);
  CHECK(svg == "untouched");
  CHECK_FALSE(RenderSvg("not dot at all", &svg).ok());
  CHECK_FALSE(RenderSvg("digraph { a [label=<<TABLE><TR>>] }", &svg).ok());  // a malformed HTML label
  CHECK(Has(Svg("digraph { a -> b }"), "<svg"));
  Result big = RenderSvg(std::string(kMaxDotBytes + 1, ' '), &svg);
  CHECK_FALSE(big.ok());
  CHECK(Has(big.message(), "bytes (at most"));
}
