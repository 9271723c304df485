#include "host/runtime/plugin_metrics.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <map>
#include <string_view>

#include "host/base/excerpt.h"
#include "host/runtime/node.h"

void tiny_metric::Add(int32_t code, uint64_t n) {
  if (code != kNoCode && (code < 0 || code > 999)) code = kOther;
  if (code != kOther) {
    for (int i = 0; i < kSlots; ++i) {
      int32_t seen = slots[i].code.load(std::memory_order_acquire);
      if (seen == kEmpty) {
        // Claim the slot; whoever wins, it now holds some code: look again.
        slots[i].code.compare_exchange_strong(seen, code, std::memory_order_acq_rel);
        seen = slots[i].code.load(std::memory_order_acquire);
      }
      if (seen == code) {
        slots[i].value.fetch_add(n, std::memory_order_relaxed);
        return;
      }
    }
  }
  slots[kSlots].code.store(kOther, std::memory_order_relaxed);
  slots[kSlots].value.fetch_add(n, std::memory_order_relaxed);
}

namespace tiny::host {
namespace {

constexpr size_t kMaxHelp = 512;  // bytes of a help text kept

struct Family {
  int32_t kind;
  std::string help;
};
std::mutex g_families_mu;
std::map<std::string, Family, std::less<>>& Families() {
  static std::map<std::string, Family, std::less<>> families;
  return families;
}

bool EndsWith(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// Why `name` cannot be a metric of `component`, or "".
std::string Refusal(const std::string& component, std::string_view name, int32_t kind) {
  if (name.empty() || name.size() > 64) return "a name of 1 to 64 characters";
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return "only [a-z0-9_]";
  if (name.substr(0, component.size() + 1) != component + "_") return "a name starting with '" + component + "_'";
  if (kind == TINY_METRIC_COUNTER && !EndsWith(name, "_total")) return "a counter's name ending in _total";
  if (kind == TINY_METRIC_HISTOGRAM && !EndsWith(name, "_seconds")) return "a histogram's name ending in _seconds";
  if (kind != TINY_METRIC_COUNTER && kind != TINY_METRIC_HISTOGRAM) return "a known kind";
  return {};
}

tiny_metric* DefineMetric(tiny_node* node, const char* name, int32_t kind, const char* help) {
  if (node == nullptr || name == nullptr) return nullptr;
  Node* n = Node::From(node);
  try {
    std::string text = help ? std::string(help, strnlen(help, kMaxHelp)) : std::string();
    return n->plugin_metrics.Define(n->type->name, name, kind, text.c_str());
  } catch (const std::exception& e) {
    spdlog::error("metric refused node={} error={}", n->name, e.what());
    return nullptr;
  }
}

void AddMetric(tiny_metric* m, int32_t code, uint64_t n) {
  if (m && m->kind == TINY_METRIC_COUNTER && Measuring()) m->Add(code, n);
}

void ObserveMetric(tiny_metric* m, double seconds) {
  if (!m || m->kind != TINY_METRIC_HISTOGRAM || !Measuring() || !(seconds >= 0)) return;
  m->histogram.Observe(std::chrono::nanoseconds(static_cast<int64_t>(std::min(seconds, 1e9) * 1e9)));
}

const tiny_host_metrics_api kMetricsApi = {sizeof(tiny_host_metrics_api), &DefineMetric, &AddMetric, &ObserveMetric};

}  // namespace

tiny_metric* NodeMetrics::Define(const std::string& component, const char* name, int32_t kind, const char* help) {
  std::string_view wanted(name, strnlen(name, 65));
  if (std::string why = Refusal(component, wanted, kind); !why.empty()) {
    spdlog::error("metric refused name={} error={}", Excerpt(wanted, 64), "needs " + why);
    return nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(g_families_mu);
    auto [it, fresh] = Families().try_emplace(std::string(wanted), Family{kind, help});
    if (!fresh && (it->second.kind != kind || it->second.help != help)) {
      spdlog::error("metric refused name={} error=declared before with another kind or help", wanted);
      return nullptr;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& m : metrics_)
    if (m->name == wanted) return m.get();
  if (metrics_.size() >= kMaxPerNode) {
    spdlog::error("metric refused name={} error=more than {} metrics on one node", wanted, kMaxPerNode);
    return nullptr;
  }
  auto m = std::make_unique<tiny_metric>();
  m->name = std::string(wanted);
  m->kind = kind;
  metrics_.push_back(std::move(m));
  return metrics_.back().get();
}

std::string PluginMetricHelp(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_families_mu);
  auto it = Families().find(name);
  return it == Families().end() ? std::string() : it->second.help;
}

const tiny_host_metrics_api* MetricsApi() { return &kMetricsApi; }

}  // namespace tiny::host
