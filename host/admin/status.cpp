#include "host/admin/status.h"

#include <cstdio>
#include <ctime>

#include "host/admin/metrics.h"
#include "host/base/names.h"

#ifndef TINYHOST_VERSION
#define TINYHOST_VERSION "0.0.0"
#endif

namespace tiny::host {
namespace {

using nlohmann::json;

const char* StateName(NodeState s) {
  switch (s) {
    case NodeState::kNew: return "new";
    case NodeState::kStarting: return "starting";
    case NodeState::kRunning: return "running";
    case NodeState::kStopping: return "stopping";
    case NodeState::kStopped: return "stopped";
    case NodeState::kFailed: return "failed";
  }
  return "unknown";
}

const char* ChannelStateName(grpc_connectivity_state s) {
  switch (s) {
    case GRPC_CHANNEL_IDLE: return "IDLE";
    case GRPC_CHANNEL_CONNECTING: return "CONNECTING";
    case GRPC_CHANNEL_READY: return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE: return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

json NodeJson(const NodeSpec& spec, const GraphEntry* entry) {
  json n = {{"name", spec.name},     {"flow", spec.file}, {"module", spec.module}, {"component", spec.component},
            {"local", false},        {"state", "remote"}, {"messages", 0},        {"errors", 0},
            {"last_error", nullptr}, {"settings_hash", TextHash(spec.settings.dump())}};
  if (!entry || !entry->local) return n;
  const Node& node = *entry->local;
  n["local"] = true;
  n["state"] = StateName(node.state.load());
  n["messages"] = node.stats->messages();
  n["errors"] = node.stats->errors.load(std::memory_order_relaxed);
  if (n["errors"].get<uint64_t>() > 0) {
    NodeStats::LastError last = node.stats->last_error();
    n["last_error"] = {{"message", last.message}, {"time", Rfc3339(last.time)}};
  }
  return n;
}

// The count of `spec`'s edge from `port` to `to`, when this host sends along it.
json EdgeCount(const GraphEntry* entry, const std::string& port, const std::string& to) {
  if (!entry || !entry->local) return nullptr;
  auto table = entry->local->edges();
  if (const std::vector<Route>* routes = table->Find(port))
    for (const Route& r : *routes)
      if (r.to == to && r.count) return r.count->load(std::memory_order_relaxed);
  return nullptr;
}

}  // namespace

std::string TextHash(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

json StatusJson(const AdminSources& s) {
  json out;
  out["build"] = {{"version", TINYHOST_VERSION},
                  {"abi", std::to_string(TINY_ABI_VERSION_MAJOR) + "." + std::to_string(TINY_ABI_VERSION_MINOR)}};
  out["uptime_seconds"] = std::chrono::duration<double>(std::chrono::system_clock::now() - s.started).count();
  out["ready"] = s.server.serving();
  json plugins = json::array();
  for (const Plugin* p : s.modules.Plugins())
    plugins.push_back({{"module", p->module}, {"version", p->version}, {"file", p->file}, {"served", s.modules.Serves(p->module)}});
  out["plugins"] = std::move(plugins);
  auto graph = s.scheduler.graph();
  auto flows = s.flows();
  json nodes = json::array(), edges = json::array();
  if (flows) {
    for (const auto& spec : flows->nodes) {
      const GraphEntry* entry = graph->Find(spec.name);
      nodes.push_back(NodeJson(spec, entry));
      for (const auto& e : spec.edges)
        edges.push_back({{"from", spec.name + "." + e.port}, {"to", e.to}, {"messages", EdgeCount(entry, e.port, e.to)}});
    }
  }
  out["nodes"] = std::move(nodes);
  out["edges"] = std::move(edges);
  json peers = json::array();
  for (const auto& p : s.pool.Peers())
    peers.push_back({{"module", p.module}, {"address", p.target}, {"state", ChannelStateName(p.state)}});
  out["peers"] = std::move(peers);
  ProcessFigures proc = ReadProcessFigures();
  out["process"] = {{"resident_bytes", proc.resident_bytes}, {"threads", proc.threads}, {"open_fds", proc.open_fds}};
  out["inflight"] = {{"calls", s.server.inflight()}, {"root_emits", s.scheduler.root_emits()}};
  return out;
}

}  // namespace tiny::host
