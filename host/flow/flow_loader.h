// Flow files: parsing YAML into a FlowSet and validating it as a whole.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/flow/mapping.h"
#include "host/loader/module_registry.h"

namespace tiny::host {

struct EdgeSpec {
  std::string port;  // output port of the node
  std::string to;    // "node.port"
  bool has_data = false;
  nlohmann::json data;                     // the mapping template, if any
  std::shared_ptr<const Mapping> mapping;  // compiled once per load
};

struct NodeSpec {
  std::string file;
  std::string name;
  std::string module;
  std::string component;
  nlohmann::json settings = nlohmann::json::object();  // as written
  std::string effective_settings;  // defaults overlaid with `settings` (JSON text); local modules only
  std::vector<EdgeSpec> edges;

  // Same instance config: a changed one means destroy and create.
  bool SameInstance(const NodeSpec& o) const {
    return module == o.module && component == o.component && settings == o.settings;
  }
};

struct FlowSet {
  std::vector<NodeSpec> nodes;  // in file order
  const NodeSpec* Find(std::string_view name) const;
};

// Every problem found, one line each: "FILE: node 'N': FIELD: message".
class FlowError : public std::runtime_error {
 public:
  explicit FlowError(std::vector<std::string> lines);
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::vector<std::string> lines_;
};

// Whether a module without a loaded plugin can be reached (a --peer or a
// discovery template); such nodes are validated by name only.
using ReachableFn = std::function<bool(std::string_view module)>;

// Parses and validates `files` together. Throws FlowError listing every
// problem; nothing is returned unless the whole set is valid.
FlowSet LoadFlows(const std::vector<std::string>& files, const ModuleRegistry& modules, const ReachableFn& reachable);

// The same, from YAML texts (name, text) — for tests and hot reload.
FlowSet ParseFlows(const std::vector<std::pair<std::string, std::string>>& sources, const ModuleRegistry& modules,
                   const ReachableFn& reachable);

}  // namespace tiny::host
