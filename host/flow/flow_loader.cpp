// Flow validation. Every error names the file, the node and the field, and
// all of them are reported at once, so a user fixes a file in one pass.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "host/flow/flow_loader.h"
#include "host/base/excerpt.h"
#include "host/base/names.h"

namespace tiny::host {
namespace {

using nlohmann::json;

// A map key as text; non-scalar keys (`{[a]: 1}`) become "?" and are then
// reported as unknown keys rather than thrown.
std::string KeyOf(const YAML::Node& key) { return key.IsScalar() ? key.Scalar() : std::string("?"); }

// A value YAML can write but JSON cannot hold, by where it is.
struct BadValue {
  std::string path;  // "settings.limits.max", "edges[0].data.x"
  std::string message;
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Skips the digits from i; returns how many there were.
size_t SkipDigits(std::string_view s, size_t& i) {
  size_t from = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i - from;
}

// [-+]?[0-9]+ (the core schema's decimal int), read in one pass.
bool IsInt(std::string_view s) {
  size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return SkipDigits(s, i) > 0 && i == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, read in one pass.
bool IsFloat(std::string_view s) {
  size_t i = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (SkipDigits(s, i) == 0) return false;
  } else {
    if (SkipDigits(s, i) == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      SkipDigits(s, i);
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (SkipDigits(s, i) == 0) return false;
  }
  return i == s.size();
}

std::string Cut(const std::string& s) { return Excerpt(s, 40); }

// YAML 1.2 core schema for plain scalars; quoted scalars stay strings. No
// pattern matcher runs on the text: a scalar of any length is read once.
// An integer is taken as int64, else uint64, else the nearest double; a
// number beyond a double's range is reported and becomes null.
json ScalarToJson(const YAML::Node& n, const std::string& path, std::vector<BadValue>* bad) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const bool is_int = IsInt(s);
  if (!is_int && !IsFloat(s)) return s;
  if (is_int) {
    const char* begin = s.data() + (s[0] == '+' ? 1 : 0);
    const char* end = s.data() + s.size();
    int64_t i = 0;
    if (auto r = std::from_chars(begin, end, i); r.ec == std::errc() && r.ptr == end) return i;
    uint64_t u = 0;
    if (auto r = std::from_chars(begin, end, u); r.ec == std::errc() && r.ptr == end) return u;
  }
  double d = std::strtod(s.c_str(), nullptr);
  if (std::isinf(d)) {
    bad->push_back({path, "the number " + Cut(s) + " is out of range (at most about 1.8e308)"});
    return nullptr;
  }
  return d;
}

json YamlToJson(const YAML::Node& n, const std::string& path, std::vector<BadValue>* bad) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return ScalarToJson(n, path, bad);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      size_t i = 0;
      for (const auto& item : n) a.push_back(YamlToJson(item, path + "[" + std::to_string(i++) + "]", bad));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) {
        std::string key = KeyOf(kv.first);
        o[key] = YamlToJson(kv.second, path + "." + key, bad);
      }
      return o;
    }
  }
  return nullptr;
}

class Validator {
 public:
  Validator(const ModuleRegistry& modules, const ReachableFn& reachable) : modules_(modules), reachable_(reachable) {}

  void Parse(const std::string& file, const std::string& text) {
    try {
      ParseChecked(file, text);
    } catch (const YAML::Exception& e) {
      Error(file, "", "", "invalid flow structure at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
  }

  void ParseChecked(const std::string& file, const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      Error(file, "", "", "YAML syntax error at line " + std::to_string(e.mark.line + 1) + ", column " +
                              std::to_string(e.mark.column + 1) + ": " + e.msg);
      return;
    }
    if (!root.IsMap() || !root["nodes"]) {
      Error(file, "", "nodes", "a flow file is a map with a 'nodes' list");
      return;
    }
    for (const auto& kv : root) {
      std::string key = KeyOf(kv.first);
      if (key != "nodes" && key != "name" && key != "description")
        Error(file, "", key, "unknown top-level key (known: nodes, name, description)");
    }
    const YAML::Node& nodes = root["nodes"];
    if (!nodes.IsSequence()) {
      Error(file, "", "nodes", "must be a list of nodes");
      return;
    }
    size_t index = 0;
    for (const auto& n : nodes) ParseNode(file, n, index++);
  }

  // Checks what needs every file: names, modules, ports, settings, edges.
  void Check() {
    std::map<std::string, const NodeSpec*> by_name;
    for (const auto& n : set_.nodes) {
      auto [it, fresh] = by_name.emplace(n.name, &n);
      if (!fresh)
        Error(n.file, n.name, "name", "duplicate node name (also in " + it->second->file + ")");
    }
    for (auto& n : set_.nodes) CheckNode(n, by_name);
  }

  FlowSet Take() {
    if (!errors_.empty()) throw FlowError(std::move(errors_));
    return std::move(set_);
  }

 private:
  void Error(const std::string& file, const std::string& node, const std::string& field, const std::string& msg) {
    std::string line = file + ": ";
    if (!node.empty()) line += "node '" + node + "': ";
    if (!field.empty()) line += field + ": ";
    errors_.push_back(line + msg);
  }

  static std::string Scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

  void ParseNode(const std::string& file, const YAML::Node& n, size_t index) {
    std::string label = "nodes[" + std::to_string(index) + "]";
    if (!n.IsMap()) {
      Error(file, "", label, "must be a map with name, module, component");
      return;
    }
    NodeSpec spec;
    spec.file = file;
    spec.name = Scalar(n["name"]);
    const std::string& id = spec.name.empty() ? label : spec.name;
    auto node_error = [&](const std::string& field, const std::string& msg) {
      if (spec.name.empty())
        Error(file, "", label + "." + field, msg);
      else
        Error(file, id, field, msg);
    };
    for (const auto& kv : n) {
      std::string key = KeyOf(kv.first);
      if (key != "name" && key != "module" && key != "component" && key != "settings" && key != "edges")
        node_error(key, "unknown key (known: name, module, component, settings, edges)");
    }
    if (spec.name.empty())
      node_error("name", "missing");
    else if (!IsDnsLabel(spec.name))
      node_error("name", "'" + spec.name + "' is not a DNS label ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63)");
    spec.module = Scalar(n["module"]);
    spec.component = Scalar(n["component"]);
    if (spec.module.empty()) node_error("module", "missing");
    if (spec.component.empty()) node_error("component", "missing");
    if (n["settings"] && !n["settings"].IsNull()) {
      std::vector<BadValue> bad;
      spec.settings = YamlToJson(n["settings"], "settings", &bad);
      for (const auto& b : bad) node_error(b.path, b.message);
      if (!spec.settings.is_object()) node_error("settings", "must be a map");
    }
    if (const YAML::Node& edges = n["edges"]; edges && !edges.IsNull()) {
      if (!edges.IsSequence()) {
        node_error("edges", "must be a list");
      } else {
        size_t ei = 0;
        for (const auto& e : edges) {
          std::string field = "edges[" + std::to_string(ei++) + "]";
          if (!e.IsMap()) {
            node_error(field, "must be a map with port and to");
            continue;
          }
          for (const auto& kv : e) {
            std::string key = KeyOf(kv.first);
            if (key != "port" && key != "to" && key != "data")
              node_error(field + "." + key, "unknown key (known: port, to, data)");
          }
          EdgeSpec edge;
          edge.port = Scalar(e["port"]);
          edge.to = Scalar(e["to"]);
          if (edge.port.empty()) node_error(field + ".port", "missing");
          if (edge.to.empty()) node_error(field + ".to", "missing");
          if (e["data"]) {
            edge.has_data = true;
            std::vector<BadValue> bad;
            edge.data = YamlToJson(e["data"], field + ".data", &bad);
            for (const auto& b : bad) node_error(b.path, b.message);
            // Any template: usually a map; "{{expr}}" makes the whole
            // message the expression's value (docs/expressions.md).
            try {
              edge.mapping = std::make_shared<const Mapping>(Mapping::Compile(edge.data));
            } catch (const MappingError& err) {
              std::string msg = err.what(), prefix = err.path + ": ";
              if (msg.rfind(prefix, 0) == 0) msg.erase(0, prefix.size());
              node_error(field + ".data" + (err.path.empty() ? "" : "." + err.path), msg);
            } catch (const std::exception& err) {
              node_error(field + ".data", err.what());
            }
          }
          spec.edges.push_back(std::move(edge));
        }
      }
    }
    set_.nodes.push_back(std::move(spec));
  }

  void CheckNode(NodeSpec& n, const std::map<std::string, const NodeSpec*>& by_name) {
    if (n.name.empty() || !IsDnsLabel(n.name)) return;  // reported already
    const ComponentType* type = nullptr;
    if (!n.module.empty()) {
      if (const Plugin* plugin = modules_.Find(n.module)) {
        type = plugin->FindComponent(n.component);
        if (type == nullptr && !n.component.empty()) {
          std::string known;
          for (const auto& c : plugin->components) known += (known.empty() ? "" : ", ") + c.name;
          Error(n.file, n.name, "component",
                "module '" + n.module + "' has no component '" + n.component + "' (it has: " + known + ")");
        }
      } else if (!reachable_(n.module)) {
        Error(n.file, n.name, "module",
              "unknown module '" + n.module + "' (no loaded plugin provides it, and no --peer or "
              "--discovery-template reaches it)");
      }
    }
    if (type) CheckSettings(n, *type);
    for (size_t i = 0; i < n.edges.size(); ++i) CheckEdge(n, type, n.edges[i], i, by_name);
  }

  void CheckSettings(NodeSpec& n, const ComponentType& type) {
    json merged = json::parse(type.default_settings);
    if (!n.settings.is_object()) return;
    for (auto& [key, value] : n.settings.items()) {
      if (!merged.contains(key)) {
        std::string known;
        for (auto& [k, v] : merged.items()) known += (known.empty() ? "" : ", ") + k;
        Error(n.file, n.name, "settings." + key,
              "unknown setting for " + n.module + "/" + n.component + " (known: " + (known.empty() ? "none" : known) + ")");
        continue;
      }
      merged[key] = value;
    }
    n.effective_settings = merged.dump();
  }

  void CheckEdge(const NodeSpec& n, const ComponentType* type, const EdgeSpec& e, size_t i,
                 const std::map<std::string, const NodeSpec*>& by_name) {
    std::string field = "edges[" + std::to_string(i) + "]";
    if (!e.port.empty()) {
      if (!IsPortName(e.port))
        Error(n.file, n.name, field + ".port", "'" + e.port + "' is not a port name ([a-z0-9_]+)");
      else if (type && !type->HasOutput(e.port))
        Error(n.file, n.name, field + ".port", "'" + e.port + "' is not an output port of " + n.component);
    }
    if (e.to.empty()) return;
    auto address = SplitAddress(e.to);
    if (!address) {
      Error(n.file, n.name, field + ".to", "'" + e.to + "' is not node.port");
      return;
    }
    auto target = by_name.find(std::string(address->first));
    if (target == by_name.end()) {
      Error(n.file, n.name, field + ".to", "no node '" + std::string(address->first) + "' in any flow");
      return;
    }
    const NodeSpec& t = *target->second;
    if (const ComponentType* ttype = modules_.FindComponent(t.module, t.component)) {
      if (!ttype->HasInput(address->second))
        Error(n.file, n.name, field + ".to",
              "'" + std::string(address->second) + "' is not an input port of node '" + t.name + "' (" + t.component + ")");
    }
  }

  const ModuleRegistry& modules_;
  const ReachableFn& reachable_;
  FlowSet set_;
  std::vector<std::string> errors_;
};

}  // namespace

const NodeSpec* FlowSet::Find(std::string_view name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

FlowError::FlowError(std::vector<std::string> lines)
    : std::runtime_error(lines.empty() ? "invalid flow" : lines.front()), lines_(std::move(lines)) {}

FlowSet ParseFlows(const std::vector<std::pair<std::string, std::string>>& sources, const ModuleRegistry& modules,
                   const ReachableFn& reachable) {
  Validator v(modules, reachable);
  for (const auto& [name, text] : sources) v.Parse(name, text);
  v.Check();
  return v.Take();
}

FlowSet LoadFlows(const std::vector<std::string>& files, const ModuleRegistry& modules, const ReachableFn& reachable) {
  std::vector<std::pair<std::string, std::string>> sources;
  std::vector<std::string> errors;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) {
      errors.push_back(f + ": cannot read flow file");
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    sources.emplace_back(f, text.str());
  }
  if (!errors.empty()) throw FlowError(std::move(errors));
  return ParseFlows(sources, modules, reachable);
}

}  // namespace tiny::host
