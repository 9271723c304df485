#include "host/admin/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <prometheus/text_serializer.h>
#include <sstream>

#include "host/runtime/plugin_metrics.h"

#ifndef TINYHOST_VERSION
#define TINYHOST_VERSION "0.0.0"
#endif

namespace tiny::host {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = "tinyhost_" + std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddValue(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

using Buckets = std::array<uint64_t, LatencyHistogram::kBounds.size() + 1>;

void AddHistogram(MetricFamily& f, Labels labels, const Buckets& counts, uint64_t sum_ns) {
  ClientMetric m;
  m.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    double bound = i < LatencyHistogram::kBounds.size() ? LatencyHistogram::kBounds[i]
                                                       : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(ClientMetric::Bucket{cumulative, bound});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(sum_ns) / 1e9;
  f.metric.push_back(std::move(m));
}

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// Families of the host itself: build, plugins, calls, refusals, reloads.
void CollectHost(const AdminSources& s, std::vector<MetricFamily>& out) {
  auto build = Family("build_info", "tinyhost " TINYHOST_VERSION " (plugin ABI " + std::to_string(TINY_ABI_VERSION_MAJOR) +
                                        "." + std::to_string(TINY_ABI_VERSION_MINOR) + "); always 1",
                      MetricType::Gauge);
  AddValue(build, {}, 1);
  out.push_back(std::move(build));
  auto plugins = Family("plugin_info", "1 for each loaded plugin (versions are in /status)", MetricType::Gauge);
  for (const Plugin* p : s.modules.Plugins()) AddValue(plugins, {{"module", p->module}}, 1);
  out.push_back(std::move(plugins));
  auto start = Family("start_time_seconds", "when the host started, in seconds since the Unix epoch", MetricType::Gauge);
  AddValue(start, {}, Seconds(s.started));
  out.push_back(std::move(start));

  auto sends = Family("send_answers_total", "ModuleService.Send calls answered, by gRPC status code", MetricType::Counter);
  for (int code = 0; code < kStatusCodes; ++code) {
    uint64_t n = Stats().send_answers[code].Value();
    if (n > 0 || code == 0) AddValue(sends, {{"code", StatusName(code)}}, static_cast<double>(n));
  }
  out.push_back(std::move(sends));
  auto inflight = Family("calls_in_flight", "ModuleService.Send calls open now", MetricType::Gauge);
  AddValue(inflight, {}, static_cast<double>(s.server.inflight()));
  out.push_back(std::move(inflight));
  auto bytes = Family("inflight_bytes", "request bytes held by the open Send calls (--max-inflight-bytes)",
                      MetricType::Gauge);
  AddValue(bytes, {}, static_cast<double>(s.server.inflight_bytes()));
  out.push_back(std::move(bytes));
  auto roots = Family("root_emits_in_flight", "messages a component started (an HTTP request, a tick) not answered yet",
                      MetricType::Gauge);
  AddValue(roots, {}, static_cast<double>(s.scheduler.root_emits()));
  out.push_back(std::move(roots));

  auto hops = Family("hop_limit_refusals_total", "messages refused at the hop limit (a cycle)", MetricType::Counter);
  AddValue(hops, {}, static_cast<double>(Stats().hop_limit_refusals.Value()));
  out.push_back(std::move(hops));
  auto fanout = Family("fanout_refusals_total", "emits refused past --max-fanout deliveries from one message",
                       MetricType::Counter);
  AddValue(fanout, {}, static_cast<double>(Stats().fanout_refusals.Value()));
  out.push_back(std::move(fanout));
  auto applied = Family("reloads_applied_total", "flow reloads that took effect", MetricType::Counter);
  AddValue(applied, {}, static_cast<double>(Stats().reloads_applied.load(std::memory_order_relaxed)));
  out.push_back(std::move(applied));
  auto rejected = Family("reloads_rejected_total", "flow reloads refused (the running flows stayed)", MetricType::Counter);
  AddValue(rejected, {}, static_cast<double>(Stats().reloads_rejected.load(std::memory_order_relaxed)));
  out.push_back(std::move(rejected));
}

// Families per local node, and its component's latency.
void CollectNodes(const AdminSources& s, std::vector<MetricFamily>& out) {
  auto delivered = Family("messages_delivered_total", "messages handed to a node's handler, by input port",
                          MetricType::Counter);
  auto answers = Family("node_answers_total", "answers a node gave, by gRPC status code", MetricType::Counter);
  auto errors = Family("node_errors_total", "answers a node gave that were errors (a status or an error text)",
                       MetricType::Counter);
  auto up = Family("node_up", "1 while the node runs on this host, 0 when it failed or stopped", MetricType::Gauge);
  auto latency = Family("handle_duration_seconds", "time from delivery to a node to its answer, by component",
                        MetricType::Histogram);
  struct Sum {
    Buckets counts{};
    uint64_t sum_ns = 0;
  };
  std::map<std::pair<std::string, std::string>, Sum> by_component;
  std::map<std::string, MetricFamily> plugin_families;
  auto graph = s.scheduler.graph();
  for (const auto& [key, entry] : graph->nodes) {
    if (!entry.local) continue;
    const std::string& name = key;  // a plain reference: lambdas may not capture a structured binding (C++17)
    const Node& node = *entry.local;
    const NodeStats& st = *node.stats;
    const std::string& module = node.type->module;
    const std::string& component = node.type->name;
    for (size_t i = 0; i < st.ports.size(); ++i)
      AddValue(delivered, {{"node", name}, {"port", st.ports[i]}},
               static_cast<double>(st.delivered[i].load(std::memory_order_relaxed)));
    for (int code = 0; code < kStatusCodes; ++code)
      if (uint64_t n = st.answers[code].load(std::memory_order_relaxed); n > 0)
        AddValue(answers, {{"node", name}, {"code", StatusName(code)}}, static_cast<double>(n));
    AddValue(errors, {{"node", name}}, static_cast<double>(st.errors.load(std::memory_order_relaxed)));
    AddValue(up, {{"node", name}, {"module", module}, {"component", component}},
             node.state.load() == NodeState::kRunning ? 1 : 0);
    Sum& sum = by_component[{module, component}];
    st.latency.AddTo(sum.counts, sum.sum_ns);
    node.plugin_metrics.ForEach([&](const tiny_metric& m) {
      auto [it, fresh] = plugin_families.try_emplace(m.name);
      MetricFamily& f = it->second;
      if (fresh)
        f = Family(m.name, PluginMetricHelp(m.name),
                   m.kind == TINY_METRIC_COUNTER ? MetricType::Counter : MetricType::Histogram);
      Labels base{{"node", name}, {"module", module}, {"component", component}};
      if (m.kind == TINY_METRIC_HISTOGRAM) {
        Buckets counts{};
        uint64_t sum_ns = 0;
        m.histogram.AddTo(counts, sum_ns);
        AddHistogram(f, base, counts, sum_ns);
        return;
      }
      for (const auto& slot : m.slots) {
        int32_t code = slot.code.load(std::memory_order_acquire);
        if (code == tiny_metric::kEmpty) continue;
        Labels labels = base;
        if (code != tiny_metric::kNoCode)
          labels.push_back({"code", code == tiny_metric::kOther ? "other" : std::to_string(code)});
        AddValue(f, std::move(labels), static_cast<double>(slot.value.load(std::memory_order_relaxed)));
      }
    });
  }
  for (const auto& [key, sum] : by_component)
    AddHistogram(latency, {{"module", key.first}, {"component", key.second}}, sum.counts, sum.sum_ns);
  for (auto* f : {&delivered, &answers, &errors, &up, &latency}) out.push_back(std::move(*f));
  for (auto& [name, f] : plugin_families) out.push_back(std::move(f));
}

// Families per peer module of the client pool.
void CollectPeers(const AdminSources& s, std::vector<MetricFamily>& out) {
  auto calls = Family("remote_calls_total", "calls to peer hosts, by peer module and gRPC status code",
                      MetricType::Counter);
  auto latency = Family("remote_call_duration_seconds", "time from a call to a peer to its answer",
                        MetricType::Histogram);
  auto state = Family("peer_connection_state",
                      "the channel to each peer module: 0 IDLE, 1 CONNECTING, 2 READY, 3 TRANSIENT_FAILURE, 4 SHUTDOWN",
                      MetricType::Gauge);
  auto up = Family("peer_up", "1 while the channel to the peer module is READY", MetricType::Gauge);
  for (const auto& peer : s.pool.Peers()) {
    for (int code = 0; code < kStatusCodes; ++code)
      if (uint64_t n = peer.stats->calls[code].load(std::memory_order_relaxed); n > 0 || code == 0)
        AddValue(calls, {{"peer_module", peer.module}, {"code", StatusName(code)}}, static_cast<double>(n));
    Buckets counts{};
    uint64_t sum_ns = 0;
    peer.stats->latency.AddTo(counts, sum_ns);
    AddHistogram(latency, {{"peer_module", peer.module}}, counts, sum_ns);
    AddValue(state, {{"peer_module", peer.module}}, static_cast<double>(peer.state));
    AddValue(up, {{"peer_module", peer.module}}, peer.state == GRPC_CHANNEL_READY ? 1 : 0);
  }
  for (auto* f : {&calls, &latency, &state, &up}) out.push_back(std::move(*f));
}

void CollectProcess(std::vector<MetricFamily>& out) {
  ProcessFigures p = ReadProcessFigures();
  auto add = [&](const char* name, const char* help, MetricType type, double value) {
    auto f = Family(name, help, type);
    AddValue(f, {}, value);
    out.push_back(std::move(f));
  };
  add("process_resident_memory_bytes", "resident set size", MetricType::Gauge, p.resident_bytes);
  add("process_virtual_memory_bytes", "virtual memory size", MetricType::Gauge, p.virtual_bytes);
  add("process_cpu_seconds_total", "user and system CPU time", MetricType::Counter, p.cpu_seconds);
  add("process_threads", "threads of the process", MetricType::Gauge, p.threads);
  add("process_open_fds", "open file descriptors", MetricType::Gauge, p.open_fds);
}

}  // namespace

std::vector<MetricFamily> HostCollector::Collect() const {
  std::vector<MetricFamily> out;
  CollectHost(s_, out);
  CollectNodes(s_, out);
  CollectPeers(s_, out);
  CollectProcess(out);
  return out;
}

std::string MetricsText(const prometheus::Collectable& collectable) {
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, collectable.Collect());
  return text.str();
}

ProcessFigures ReadProcessFigures() {
  ProcessFigures p;
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // The command name (field 2) may hold spaces and parentheses: the fields
  // after it start past the last ')'.
  auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    // f[0] is field 3 (state): utime is field 14, stime 15, threads 20,
    // vsize 23, rss 24.
    auto field = [&](size_t n) { return n - 3 < f.size() ? std::strtod(f[n - 3].c_str(), nullptr) : 0.0; };
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    p.cpu_seconds = (field(14) + field(15)) / ticks;
    p.threads = field(20);
    p.virtual_bytes = field(23);
    p.resident_bytes = field(24) * static_cast<double>(sysconf(_SC_PAGESIZE));
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int n = 0;
    while (dirent* e = readdir(dir))
      if (e->d_name[0] != '.') ++n;
    closedir(dir);
    p.open_fds = n - 1;  // the directory's own descriptor
  }
  return p;
}

}  // namespace tiny::host
