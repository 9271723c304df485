// Flow validation: every error kind gives one line naming file, node and
// field, and every problem in a set is reported at once.
#include <doctest/doctest.h>

#include <algorithm>

#include "host/flow/flow_loader.h"
#include "support/host_test_support.h"

using namespace tiny::host;

namespace {

ModuleRegistry& Registry() {
  static ModuleRegistry* registry = [] {
    auto* r = new ModuleRegistry();
    tiny::test::LoadInto(*r, COMMON_MODULE_SO);
    return r;
  }();
  return *registry;
}

std::vector<std::string> Errors(const std::string& yaml, const ReachableFn& reachable = [](std::string_view) {
  return false;
}) {
  try {
    ParseFlows({{"f.yaml", yaml}}, Registry(), reachable);
  } catch (const FlowError& e) {
    return e.lines();
  }
  return {};
}

bool Has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

}  // namespace

TEST_CASE("a valid flow parses with typed settings and compiled mappings") {
  auto set = ParseFlows({{"f.yaml", R"(
nodes:
  - name: clock
    module: common-module
    component: ticker
    settings: {period: 250, context: {a: "1", b: 2, c: true, d: ~}}
    edges:
      - port: out
        to: t.in
        data: {x: "{{$.b}}"}
  - {name: t, module: common-module, component: transform}
)"}},
                        Registry(), [](std::string_view) { return false; });
  REQUIRE(set.nodes.size() == 2);
  const NodeSpec& clock = set.nodes[0];
  CHECK(clock.settings["period"] == 250);
  CHECK(clock.settings["context"] == nlohmann::json{{"a", "1"}, {"b", 2}, {"c", true}, {"d", nullptr}});
  auto effective = nlohmann::json::parse(clock.effective_settings);
  CHECK(effective["period"] == 250);
  CHECK(effective.contains("autostart"));  // defaults overlaid
  REQUIRE(clock.edges.size() == 1);
  REQUIRE(clock.edges[0].mapping);
  CHECK(clock.edges[0].mapping->Apply({{"b", 7}}, nullptr) == nlohmann::json{{"x", 7}});
}

TEST_CASE("YAML syntax errors name the file and the line") {
  auto e = Errors("nodes:\n  - name: [unclosed\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("f.yaml: YAML syntax error at line ", 0) == 0);
}

TEST_CASE("the file must be a map with a nodes list") {
  CHECK(Errors("- a\n- b\n") == std::vector<std::string>{"f.yaml: nodes: a flow file is a map with a 'nodes' list"});
  CHECK(Errors("nodes: 3\n") == std::vector<std::string>{"f.yaml: nodes: must be a list of nodes"});
  CHECK(Has(Errors("nodes: []\nnodez: 1\n"), "f.yaml: nodez: unknown top-level key (known: nodes, name, description)"));
}

TEST_CASE("unknown module and unknown component") {
  auto e = Errors("nodes:\n  - {name: a, module: nosuch-module, component: x}\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0] ==
        "f.yaml: node 'a': module: unknown module 'nosuch-module' (no loaded plugin provides it, and no --peer or "
        "--discovery-template reaches it)");
  // A module a peer serves is accepted without knowing its components.
  CHECK(Errors("nodes:\n  - {name: a, module: far-module, component: x}\n",
               [](std::string_view m) { return m == "far-module"; })
            .empty());
  auto c = Errors("nodes:\n  - {name: a, module: common-module, component: tickr}\n");
  REQUIRE(c.size() == 1);
  CHECK(c[0].rfind("f.yaml: node 'a': component: module 'common-module' has no component 'tickr' (it has: ", 0) == 0);
}

TEST_CASE("invalid node names and port names") {
  CHECK(Has(Errors("nodes:\n  - {name: Bad_Name, module: common-module, component: debug}\n"),
            "f.yaml: node 'Bad_Name': name: 'Bad_Name' is not a DNS label ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63)"));
  CHECK(Has(Errors("nodes:\n  - {name: " + std::string(64, 'a') + ", module: common-module, component: debug}\n"),
            "f.yaml: node '" + std::string(64, 'a') + "': name: '" + std::string(64, 'a') +
                "' is not a DNS label ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63)"));
  CHECK(Has(Errors("nodes:\n  - {module: common-module, component: debug}\n"), "f.yaml: nodes[0].name: missing"));
  auto e = Errors(R"(
nodes:
  - {name: t, module: common-module, component: transform, edges: [{port: Out-Port, to: d.in}]}
  - {name: d, module: common-module, component: debug}
)");
  CHECK(Has(e, "f.yaml: node 't': edges[0].port: 'Out-Port' is not a port name ([a-z0-9_]+)"));
}

TEST_CASE("edges to missing nodes or ports, and from ports that are not outputs") {
  auto e = Errors(R"(
nodes:
  - name: t
    module: common-module
    component: transform
    edges:
      - {port: out, to: ghost.in}
      - {port: out, to: d.nope}
      - {port: in, to: d.in}
      - {port: out, to: d.in.x}
  - {name: d, module: common-module, component: debug}
)");
  CHECK(Has(e, "f.yaml: node 't': edges[0].to: no node 'ghost' in any flow"));
  CHECK(Has(e, "f.yaml: node 't': edges[1].to: 'nope' is not an input port of node 'd' (debug)"));
  CHECK(Has(e, "f.yaml: node 't': edges[2].port: 'in' is not an output port of transform"));
  CHECK(Has(e, "f.yaml: node 't': edges[3].to: 'd.in.x' is not node.port"));
  CHECK(e.size() == 4);
}

TEST_CASE("duplicate node names, also across files") {
  auto e = Errors(R"(
nodes:
  - {name: d, module: common-module, component: debug}
  - {name: d, module: common-module, component: debug}
)");
  CHECK(Has(e, "f.yaml: node 'd': name: duplicate node name (also in f.yaml)"));
  try {
    ParseFlows({{"a.yaml", "nodes:\n  - {name: d, module: common-module, component: debug}\n"},
                {"b.yaml", "nodes:\n  - {name: d, module: common-module, component: debug}\n"}},
               Registry(), [](std::string_view) { return false; });
    FAIL("expected a FlowError");
  } catch (const FlowError& err) {
    CHECK(Has(err.lines(), "b.yaml: node 'd': name: duplicate node name (also in a.yaml)"));
  }
}

TEST_CASE("a whole-message expression mapping compiles; one that does not parse is an error") {
  auto set = ParseFlows({{"f.yaml", R"(
nodes:
  - name: t
    module: common-module
    component: transform
    edges:
      - {port: out, to: d.in, data: "{{$.item}}"}
  - {name: d, module: common-module, component: debug}
)"}},
                        Registry(), [](std::string_view) { return false; });
  REQUIRE(set.nodes.size() == 2);
  REQUIRE(set.nodes[0].edges.size() == 1);
  REQUIRE(set.nodes[0].edges[0].mapping);
  CHECK(set.nodes[0].edges[0].mapping->Apply(nlohmann::json::parse(R"({"item":[1,{"a":2}]})"), nullptr) ==
        nlohmann::json::parse(R"([1,{"a":2}])"));

  auto e = Errors(R"(
nodes:
  - name: t
    module: common-module
    component: transform
    edges:
      - {port: out, to: d.in, data: "{{$.x +"}
      - {port: out, to: d.in, data: {a: "{{$.x +}}"}}
  - {name: d, module: common-module, component: debug}
)");
  CHECK(e.size() == 2);
  bool found = false;
  for (const auto& line : e)
    if (line.rfind("f.yaml: node 't': edges[1].data.a: ", 0) == 0 && line.find("position") != std::string::npos)
      found = true;
  CHECK(found);
}

TEST_CASE("unknown settings keys name the key and the known ones") {
  auto e = Errors("nodes:\n  - {name: c, module: common-module, component: ticker, settings: {perod: 5}}\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].rfind("f.yaml: node 'c': settings.perod: unknown setting for common-module/ticker (known: ", 0) == 0);
  CHECK(Has(Errors("nodes:\n  - {name: c, module: common-module, component: debug, settings: [1]}\n"),
            "f.yaml: node 'c': settings: must be a map"));
}

TEST_CASE("unknown keys on nodes and edges are errors, so typos never pass") {
  auto e = Errors(R"(
nodes:
  - name: t
    module: common-module
    component: transform
    setings: {}
    edges: [{port: out, to: d.in, date: {}}]
  - {name: d, module: common-module, component: debug}
)");
  CHECK(Has(e, "f.yaml: node 't': setings: unknown key (known: name, module, component, settings, edges)"));
  CHECK(Has(e, "f.yaml: node 't': edges[0].date: unknown key (known: port, to, data)"));
}

TEST_CASE("a file that cannot be read is named") {
  try {
    LoadFlows({"/nonexistent/flow.yaml"}, Registry(), [](std::string_view) { return false; });
    FAIL("expected a FlowError");
  } catch (const FlowError& e) {
    CHECK(e.lines() == std::vector<std::string>{"/nonexistent/flow.yaml: cannot read flow file"});
  }
}

TEST_CASE("non-scalar keys and odd YAML are errors, never exceptions (fuzzer regression)") {
  auto e = Errors("nodes:\n  - {name: a, module: common-module, component: debug, [x]: 1}\n");
  CHECK(Has(e, "f.yaml: node 'a': ?: unknown key (known: name, module, component, settings, edges)"));
  auto e2 = Errors("nodes:\n  - {name: a, module: common-module, component: debug, settings: {[k]: 1}}\n");
  CHECK(Has(e2, "f.yaml: node 'a': settings.?: unknown setting for common-module/debug (known: none)"));
  CHECK_FALSE(Errors("{? [a, b] : c}\n").empty());
}

TEST_CASE("numbers of any length: taken when JSON can hold them, else one line naming file, node and key") {
  auto parse = [](const std::string& settings) {
    return ParseFlows({{"f.yaml", "nodes:\n  - {name: c, module: common-module, component: ticker, settings: " +
                                      settings + "}\n"}},
                      Registry(), [](std::string_view) { return false; });
  };
  // Beyond int64: uint64, then the nearest double.
  auto big = parse("{context: {u: 18446744073709551615, d: 123456789012345678901234567890, f: -1.5e3, z: 1e-400}}");
  const auto& ctx = big.nodes[0].settings["context"];
  CHECK(ctx["u"].is_number_unsigned());
  CHECK(ctx["u"].get<uint64_t>() == 18446744073709551615ull);
  CHECK(ctx["d"].is_number_float());
  CHECK(ctx["d"].get<double>() == doctest::Approx(1.2345678901234568e29));
  CHECK(ctx["f"].get<double>() == -1500.0);
  CHECK(ctx["z"].get<double>() == 0.0);

  // 100k digits once overflowed the stack of a recursive matcher.
  std::string digits(100000, '9');
  auto lines = Errors("nodes:\n  - {name: c, module: common-module, component: ticker, settings: {context: {n: " +
                      digits + "}}}\n");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "f.yaml: node 'c': settings.context.n: the number " + digits.substr(0, 40) +
                        "... (100000 bytes) is out of range (at most about 1.8e308)");
  CHECK(Has(Errors("nodes:\n  - {name: c, module: common-module, component: ticker, settings: {context: [1, 1e400]}}\n"),
            "f.yaml: node 'c': settings.context[1]: the number 1e400 is out of range (at most about 1.8e308)"));
  CHECK(Has(Errors("nodes:\n  - name: a\n    module: common-module\n    component: ticker\n    edges:\n"
                   "      - {port: out, to: b.in, data: {x: -1e999}}\n"
                   "  - {name: b, module: common-module, component: transform}\n"),
            "f.yaml: node 'a': edges[0].data.x: the number -1e999 is out of range (at most about 1.8e308)"));
  // A long plain string that only starts like a number stays a string.
  std::string text = digits + "x";
  auto s = parse("{context: {t: " + text + "}}");
  CHECK(s.nodes[0].settings["context"]["t"] == text);
}
