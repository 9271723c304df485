// Google Benchmark micro-benchmarks of the host's in-process message path.
//
// The plugins are the real .so files, loaded through the real loader
// (LoadPlugin + ModuleRegistry), and the flows go through ParseFlows and
// Scheduler::Reconcile exactly as `tinyhost run` does. One iteration is one
// Scheduler::DeliverToAddress from outside (what the gRPC server does per
// Send) that runs the whole chain inline and is answered before it returns.
//
//   BM_RelayChain/L      L nodes: L-1 test-module `relay` nodes, then `echo`
//   BM_TransformChain/L  the same with common-module `transform` nodes
//   per-hop cost = (time(L=65) - time(L=1)) / 64   (bench/run.sh prints it)
//
// The scheduler's inline-depth bound (32 by default) would hand a chain of
// 65 to the dispatch pool half way; the chain benchmarks raise it so that
// they measure the hop itself. BM_RelayChainDefaultDepth/65 shows what the
// thread hop at depth 32 adds.
//
//   BM_MappingApply              Mapping::Apply of a 3-field mapping
//   BM_MappingParseApplyDump     parse + Apply + dump, as Scheduler::DeliverRoute does
//   BM_EdgeMapped / BM_EdgeIdentity   relay -> echo with / without that mapping
//   BM_ServerIsJson              the server's IsJson (padded copy + simdjson parse)
#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "host/runtime/call.h"
#include "host/flow/flow_loader.h"
#include "host/runtime/host_api.h"
#include "host/flow/mapping.h"
#include "host/loader/module_registry.h"
#include "host/loader/plugin_loader.h"
#include "host/runtime/scheduler.h"

using namespace tiny::host;

namespace {

constexpr const char* kData = R"({"name":"Ada","n":41,"active":true})";
// Three fields, each an expression: a JSONPath interpolation, arithmetic,
// and a logical comparison.
constexpr const char* kMapping3 =
    R"({"greeting":"Hello {{$.name}}!","next":"{{$.n + 1}}","ok":"{{$.active && $.n > 0}}"})";

ModuleRegistry& Registry() {
  static ModuleRegistry* registry = [] {
    auto* r = new ModuleRegistry();
    r->Add(LoadPlugin(TEST_MODULE_SO, HostApi()), /*served=*/true);
    r->Add(LoadPlugin(COMMON_MODULE_SO, HostApi()), /*served=*/true);
    return r;
  }();
  return *registry;
}

// A call that counts its answer; the server's SendReactor is one such
// heap object per Send.
class BenchCall final : public tiny_call {
 public:
  BenchCall(CallContext ctx, std::atomic<long>* answered, std::atomic<long>* failed)
      : tiny_call(std::move(ctx)), answered_(answered), failed_(failed) {}

 private:
  void OnComplete(const tiny_result& r) override {
    if (r.status != TINY_STATUS_OK || r.error.len != 0 || r.data.len == 0)
      failed_->fetch_add(1, std::memory_order_relaxed);
    answered_->fetch_add(1, std::memory_order_release);
  }
  std::atomic<long>* answered_;
  std::atomic<long>* failed_;
};

std::string ChainYaml(const std::string& module, const std::string& component, int length,
                      const std::string& mapping = {}) {
  std::string yaml = "nodes:\n";
  for (int i = 0; i + 1 < length; ++i) {
    std::string next = i + 2 == length ? "sink" : "n" + std::to_string(i + 1);
    yaml += "  - {name: n" + std::to_string(i) + ", module: " + module + ", component: " + component +
            ", edges: [{port: out, to: " + next + ".in" + (mapping.empty() ? "" : ", data: " + mapping) + "}]}\n";
  }
  yaml += "  - {name: sink, module: test-module, component: echo}\n";
  return yaml;
}

struct Host {
  Host(const std::string& yaml, int max_inline_depth) : scheduler(Registry(), Options(max_inline_depth)) {
    auto flows = ParseFlows({{"bench.yaml", yaml}}, Registry(), [](std::string_view) { return false; });
    auto errors = scheduler.Reconcile(flows);
    if (!errors.empty()) throw std::runtime_error(errors.front());
  }
  static SchedulerOptions Options(int depth) {
    SchedulerOptions o;
    o.max_inline_depth = depth;
    return o;
  }
  Scheduler scheduler;
};

// Runs the chain from `entry` once per iteration, with a deadline as the
// gRPC server sets one (so every Invoke checks the clock, as in the host).
void RunChain(benchmark::State& state, Host& host, const std::string& entry, const std::string& data) {
  std::atomic<long> answered{0}, failed{0};
  long sent = 0;
  for (auto _ : state) {
    CallContext ctx;
    ctx.deadline = Clock::now() + std::chrono::seconds(30);
    host.scheduler.DeliverToAddress(entry, "in", "bench.client", data,
                                    new BenchCall(std::move(ctx), &answered, &failed));
    ++sent;
    // Inline chains are answered before DeliverToAddress returns; a chain
    // that crossed to the dispatch pool is waited for here.
    while (answered.load(std::memory_order_acquire) != sent) std::this_thread::yield();
  }
  if (failed.load() != 0) state.SkipWithError("a delivery failed");
  state.SetItemsProcessed(state.iterations());
}

void BM_RelayChain(benchmark::State& state) {
  int length = static_cast<int>(state.range(0));
  Host host(ChainYaml("test-module", "relay", length), 1024);
  RunChain(state, host, length == 1 ? "sink" : "n0", kData);
}
BENCHMARK(BM_RelayChain)->Arg(1)->Arg(2)->Arg(17)->Arg(33)->Arg(65);

void BM_TransformChain(benchmark::State& state) {
  int length = static_cast<int>(state.range(0));
  Host host(ChainYaml("common-module", "transform", length), 1024);
  RunChain(state, host, length == 1 ? "sink" : "n0", kData);
}
BENCHMARK(BM_TransformChain)->Arg(1)->Arg(2)->Arg(17)->Arg(65);

void BM_RelayChainDefaultDepth(benchmark::State& state) {
  int length = static_cast<int>(state.range(0));
  Host host(ChainYaml("test-module", "relay", length), SchedulerOptions{}.max_inline_depth);
  RunChain(state, host, length == 1 ? "sink" : "n0", kData);
}
BENCHMARK(BM_RelayChainDefaultDepth)->Arg(65)->UseRealTime();

// A larger message (about 1 KiB) through the same chains: shows which hops
// copy the data.
std::string BigData() {
  std::string s = R"({"items":[)";
  for (int i = 0; i < 40; ++i) s += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(i) + R"(,"v":"abcdef"})";
  return s + "]}";
}
void BM_RelayChain1K(benchmark::State& state) {
  int length = static_cast<int>(state.range(0));
  Host host(ChainYaml("test-module", "relay", length), 1024);
  RunChain(state, host, length == 1 ? "sink" : "n0", BigData());
}
BENCHMARK(BM_RelayChain1K)->Arg(1)->Arg(65);
void BM_TransformChain1K(benchmark::State& state) {
  int length = static_cast<int>(state.range(0));
  Host host(ChainYaml("common-module", "transform", length), 1024);
  RunChain(state, host, length == 1 ? "sink" : "n0", BigData());
}
BENCHMARK(BM_TransformChain1K)->Arg(1)->Arg(65);

// --- mappings ---

void BM_MappingApply(benchmark::State& state) {
  Mapping m = Mapping::Compile(nlohmann::json::parse(kMapping3));
  nlohmann::json input = nlohmann::json::parse(kData);
  std::vector<std::string> errors;
  for (auto _ : state) {
    nlohmann::json out = m.Apply(input, &errors);
    benchmark::DoNotOptimize(out);
  }
  if (!errors.empty()) state.SkipWithError(errors.front().c_str());
}
BENCHMARK(BM_MappingApply);

// What Scheduler::DeliverRoute does per message on a mapped edge.
void BM_MappingParseApplyDump(benchmark::State& state) {
  Mapping m = Mapping::Compile(nlohmann::json::parse(kMapping3));
  std::string data = kData;
  std::vector<std::string> errors;
  for (auto _ : state) {
    auto input = nlohmann::json::parse(data, nullptr, false);
    nlohmann::json out = m.Apply(input, &errors);
    std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    benchmark::DoNotOptimize(text);
  }
  if (!errors.empty()) state.SkipWithError(errors.front().c_str());
}
BENCHMARK(BM_MappingParseApplyDump);

void BM_JsonParseOnly(benchmark::State& state) {
  std::string data = kData;
  for (auto _ : state) {
    auto input = nlohmann::json::parse(data, nullptr, false);
    benchmark::DoNotOptimize(input);
  }
}
BENCHMARK(BM_JsonParseOnly);

// The http flow's mapping (the body the Beast baseline answers).
void BM_MappingHttpGreeting(benchmark::State& state) {
  Mapping m = Mapping::Compile(nlohmann::json::parse(R"({"statusCode":200,"body":"Hello {{$.query.name}}!"})"));
  std::string data =
      R"({"method":"GET","path":"/hello","query":{"name":"Ada"},"headers":{"host":"127.0.0.1","user-agent":"wrk"},"body":"","remote":"127.0.0.1:40000"})";
  for (auto _ : state) {
    auto input = nlohmann::json::parse(data, nullptr, false);
    nlohmann::json out = m.Apply(input, nullptr);
    std::string text = out.dump();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_MappingHttpGreeting);

// One relay -> echo edge with and without the 3-field mapping: the mapping
// as the scheduler really pays it.
void BM_EdgeMapped(benchmark::State& state) {
  Host host(ChainYaml("test-module", "relay", 2, kMapping3), 1024);
  RunChain(state, host, "n0", kData);
}
BENCHMARK(BM_EdgeMapped);
void BM_EdgeIdentity(benchmark::State& state) {
  Host host(ChainYaml("test-module", "relay", 2), 1024);
  RunChain(state, host, "n0", kData);
}
BENCHMARK(BM_EdgeIdentity);

// --- the server's per-Send JSON check (server.cpp IsJson), as written and
// with a reused padded buffer ---

void BM_ServerIsJson(benchmark::State& state) {
  std::string data = kData;
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::padded_string padded(data);
    bool ok = !parser.parse(padded).error();
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_ServerIsJson);

void BM_ServerIsJsonNoCopy(benchmark::State& state) {
  std::string data = kData;
  data.reserve(data.size() + simdjson::SIMDJSON_PADDING);  // a capacity-padded string parses in place
  simdjson::dom::parser parser;
  for (auto _ : state) {
    bool ok = !parser.parse(data.data(), data.size(), /*realloc_if_needed=*/false).error();
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_ServerIsJsonNoCopy);

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // no "node started" lines between results
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
