// `tinyhost run`: the life of a host, top to bottom.
#include <signal.h>
#include <sys/resource.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "host/net/client_pool.h"
#include "host/cli/commands.h"
#include "host/flow/flow_watcher.h"
#include "host/base/log.h"
#include "host/loader/plugin_set.h"
#include "host/runtime/host_api.h"
#include "host/runtime/scheduler.h"
#include "host/net/server.h"
#include "host/net/tls.h"

namespace tiny::host {
namespace {

// Blocks the stop signals in every thread started after this, so that the
// main thread alone receives them, with sigtimedwait.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Waits up to `timeout` for SIGINT/SIGTERM; returns the signal or 0.
int WaitForSignal(const sigset_t& set, std::chrono::milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

std::string BoundAddress(const std::string& listen, int port) {
  if (listen.rfind("unix:", 0) == 0) return listen;
  return listen.substr(0, listen.rfind(':')) + ":" + std::to_string(port);
}

// Every connection is a file descriptor. gRPC's listener stops accepting
// for good once accept() has failed with EMFILE (a gRPC C-core bug), so the
// soft limit (often 1024) is raised to the hard one, as Go's runtime does.
void RaiseOpenFileLimit() {
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  rlim_t was = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
    spdlog::debug("open files limit raised from {} to {}", static_cast<uint64_t>(was), static_cast<uint64_t>(lim.rlim_max));
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

int RunHost(const RunOptions& o) {
  sigset_t stop_signals = BlockStopSignals();
  ConfigureLogging(o.log_level, o.log_format);
  RaiseOpenFileLimit();

  ModuleRegistry modules;
  try {
    LoadPluginSet(o.plugin_dir, o.plugins, HostApi(), modules);
  } catch (const PluginLoadError& e) {
    std::cerr << "tinyhost: error: " << e.what() << "\n";
    modules.DeinitAll();
    return 2;
  }
  if (modules.ServedModules().empty()) {
    std::cerr << "tinyhost: error: no plugin to serve in " << o.plugin_dir << "\n";
    modules.DeinitAll();
    return 2;
  }

  ClientPoolOptions pool_options;
  pool_options.peers = o.peers;
  pool_options.discovery_template = o.discovery_template;
  pool_options.keepalive_time = o.keepalive_time;
  pool_options.keepalive_timeout = o.keepalive_timeout;
  pool_options.max_message_size = o.max_message_size;
  ServerOptions server_options;
  server_options.listen = o.listen;
  server_options.max_message_size = o.max_message_size;
  server_options.max_inflight = o.max_inflight;
  server_options.default_deadline = o.default_deadline;
  server_options.keepalive_time = o.keepalive_time;
  server_options.keepalive_timeout = o.keepalive_timeout;
  server_options.keepalive_min_time = o.keepalive_min_time;
  std::unique_ptr<TlsReloader> tls;
  if (o.tls.enabled()) {
    try {
      tls = std::make_unique<TlsReloader>(o.tls);
    } catch (const std::exception& e) {
      std::cerr << "tinyhost: error: " << e.what() << "\n";
      modules.DeinitAll();
      return 2;
    }
    server_options.credentials = tls->ServerCredentials();
    pool_options.credentials = tls->ChannelCredentials();
  }
  ClientPool pool(pool_options);

  auto reachable = [&](std::string_view module) { return pool.CanReach(module); };
  FlowSet flows;
  try {
    flows = LoadFlows(o.flows, modules, reachable);
  } catch (const FlowError& e) {
    for (const auto& line : e.lines()) std::cerr << "tinyhost: error: " << line << "\n";
    modules.DeinitAll();
    return 2;
  }
  if (o.check_only) {
    std::cout << "ok: " << modules.KnownModules().size() << " plugins, " << flows.nodes.size() << " nodes in "
              << o.flows.size() << " flow files\n";
    modules.DeinitAll();
    return 0;
  }

  SchedulerOptions scheduler_options;
  scheduler_options.worker_threads = o.worker_threads;
  scheduler_options.default_deadline = o.default_deadline;
  Scheduler scheduler(modules, scheduler_options);
  scheduler.set_remote(&pool);
  bool environment_failure = false;
  if (auto errors = scheduler.Reconcile(flows, &environment_failure); !errors.empty()) {
    for (const auto& line : errors) std::cerr << "tinyhost: error: " << line << "\n";
    scheduler.Shutdown();
    modules.DeinitAll();
    // A rejected setting is a configuration error (2); a node that could
    // not start for another reason (a port in use) a runtime failure (1).
    return environment_failure ? 1 : 2;
  }

  ModuleServer server(scheduler, server_options);
  try {
    server.Start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    std::cerr << "tinyhost: error: " << e.what() << "\n";
    scheduler.Shutdown();
    modules.DeinitAll();
    return 1;
  }
  pool.Prewarm();
  server.SetServing(true);
  spdlog::info("serving address={} modules={} nodes={}", BoundAddress(o.listen, server.port()),
               Join(modules.ServedModules()), flows.nodes.size());

  FlowWatcher watcher(o.flows);
  auto tick = o.reload_interval.count() > 0 ? o.reload_interval : std::chrono::milliseconds(1000);
  int sig = 0;
  while ((sig = WaitForSignal(stop_signals, tick)) == 0) {
    if (tls) tls->Poll();
    if (o.reload_interval.count() == 0 || !watcher.Poll()) continue;
    try {
      FlowSet next = LoadFlows(o.flows, modules, reachable);
      auto errors = scheduler.Reconcile(next);
      if (errors.empty()) {
        flows = std::move(next);
        spdlog::info("flows reloaded nodes={}", flows.nodes.size());
      } else {
        // A node of the new flows refused its settings (or could not
        // start): the reload is rejected as a whole, like an invalid file,
        // and the previous flows come back (the nodes that changed are
        // recreated with their previous settings).
        for (const auto& line : errors) spdlog::error("reload rejected, the running flows stay: {}", line);
        for (const auto& line : scheduler.Reconcile(flows))
          spdlog::error("restoring the previous flows: {}", line);
        spdlog::warn("previous flows restored nodes={}", flows.nodes.size());
      }
    } catch (const FlowError& e) {
      for (const auto& line : e.lines()) spdlog::error("reload rejected, the running flows stay: {}", line);
    } catch (const std::exception& e) {
      spdlog::error("reload rejected, the running flows stay: {}", e.what());
    }
  }

  spdlog::info("draining signal={} inflight={} grace_ms={}", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               server.inflight(), o.grace_period.count());
  const auto drain_until = std::chrono::steady_clock::now() + o.grace_period;
  size_t left = server.Drain(o.grace_period);
  if (left > 0) spdlog::warn("grace period over; cancelling calls inflight={}", left);
  // Work no gRPC call counts (an http_server request in its flow, a tick)
  // gets the rest of the grace period to be answered before the nodes go.
  while (scheduler.root_emits() > 0 && std::chrono::steady_clock::now() < drain_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (size_t open = scheduler.root_emits(); open > 0)
    spdlog::warn("grace period over; destroying nodes with emits still open emits={}", open);
  server.Shutdown();
  // Every call is answered by now; handlers still running (blocking ones
  // cannot be interrupted) get up to another grace period, at least 10 s.
  auto handler_grace = std::max<std::chrono::milliseconds>(o.grace_period, std::chrono::seconds(10));
  if (auto stuck = scheduler.Shutdown(std::chrono::steady_clock::now() + handler_grace); !stuck.empty()) {
    // Their instances cannot be destroyed, nor their plugins deinitialised,
    // nor this process's statics torn down under them: leave at once.
    spdlog::error("handlers still running {} ms after the drain; exiting without destroying nodes={}",
                  handler_grace.count(), Join(stuck));
    spdlog::default_logger()->flush();
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(1);
  }
  modules.DeinitAll();
  spdlog::info("stopped");
  return 0;
}

}  // namespace tiny::host
