// `tinyhost run`: the life of a host. RunHost lists its phases; a Host holds
// the parts they start, and its destructor stops them in reverse order.
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "host/admin/admin.h"
#include "host/base/log.h"
#include "host/cli/commands.h"
#include "host/cli/flow_check.h"
#include "host/cli/startup_error.h"
#include "host/flow/cycles.h"
#include "host/flow/flow_watcher.h"
#include "host/net/client_pool.h"
#include "host/net/server.h"
#include "host/net/tls_reloader.h"
#include "host/runtime/scheduler.h"

namespace tiny::host {
namespace {

// How long a drain waits for gRPC to hand back the calls it cancelled,
// and for the answers it gave to be sent.
constexpr std::chrono::seconds kCancelWait{2};
constexpr std::chrono::seconds kFlushWait{1};


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

// Waits for SIGINT/SIGTERM, however long it takes; returns the signal.
int WaitForSignal(const sigset_t& set) {
  int sig;
  while ((sig = sigwaitinfo(&set, nullptr)) <= 0) {
  }
  return sig;
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

// The parts' options, from the run options (and the TLS credentials, when on).
ClientPoolOptions PoolOptionsFrom(const RunOptions& o, const TlsReloader* tls) {
  ClientPoolOptions p;
  p.peers = o.peers;
  p.discovery_template = o.discovery_template;
  p.keepalive_time = o.keepalive_time;
  p.keepalive_timeout = o.keepalive_timeout;
  p.max_message_size = o.max_message_size;
  if (tls) p.credentials = tls->ChannelCredentials();
  return p;
}

ServerOptions ServerOptionsFrom(const RunOptions& o, const TlsReloader* tls) {
  ServerOptions s;
  s.listen = o.listen;
  s.max_message_size = o.max_message_size;
  s.max_inflight = o.max_inflight;
  s.max_inflight_bytes = o.max_inflight_bytes;
  s.default_deadline = o.default_deadline;
  s.keepalive_time = o.keepalive_time;
  s.keepalive_timeout = o.keepalive_timeout;
  s.keepalive_min_time = o.keepalive_min_time;
  if (tls) s.credentials = tls->ServerCredentials();
  return s;
}

SchedulerOptions SchedulerOptionsFrom(const RunOptions& o) {
  SchedulerOptions s;
  s.worker_threads = o.worker_threads;
  s.default_deadline = o.default_deadline;
  s.max_fanout = o.max_fanout;
  s.max_queued = o.max_queued;
  return s;
}

// The parts of one running host, each started by one phase; a start-up
// phase that fails throws StartupError. The members are destroyed in
// reverse: the server, the nodes (Scheduler), the client pool, TLS, and
// last the plugins (~ModuleRegistry deinitialises them). [thread: main]
class Host {
 public:
  explicit Host(const RunOptions& o) : o_(o) {}

  void LoadPlugins();
  void OpenClientPool();  // TLS credentials too; flows need to know who is reachable
  void LoadFlows();
  int ReportCheck() const;
  void StartNodes();
  void Serve();
  int WaitForStop(const sigset_t& stop_signals);
  void Drain(int sig);
  void Stop();
  // After Stop: the gRPC listener (and the TLS credentials it uses), left
  // refusing calls until the process exits (see ModuleServer::Detach).
  struct Listener {
    std::unique_ptr<TlsReloader> tls;
    std::unique_ptr<ModuleServer> server;
  };
  Listener TakeListener() {
    if (tls_) tls_->StopWatching();  // no thread of the host's outlives deinit
    return Listener{std::move(tls_), std::move(server_)};
  }

 private:
  void ReloadFlows();
  ReachableFn Reachable() const {
    return [pool = pool_.get()](std::string_view module) { return pool->CanReach(module); };
  }

  // Keeps what /status and the page read in step with flows_.
  void PublishFlows() { flows_view_.store(std::make_shared<const FlowSet>(flows_)); }

  const RunOptions& o_;
  const std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  ModuleRegistry modules_;
  std::unique_ptr<TlsReloader> tls_;  // null: plaintext
  std::unique_ptr<FlowWatcher> watcher_;  // from LoadFlows on
  std::unique_ptr<ClientPool> pool_;
  FlowSet flows_;  // the flows running now
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ModuleServer> server_;
  std::atomic<std::shared_ptr<const FlowSet>> flows_view_;
  std::unique_ptr<Admin> admin_;  // from Serve to Stop, when --admin-listen
};

void Host::LoadPlugins() { LoadPluginsOrFail(o_.plugin_dir, o_.plugins, modules_); }

void Host::OpenClientPool() {
  if (o_.tls.enabled()) {
    try {
      tls_ = std::make_unique<TlsReloader>(o_.tls);
    } catch (const std::exception& e) {
      throw StartupError(2, e.what());
    }
  }
  pool_ = std::make_unique<ClientPool>(PoolOptionsFrom(o_, tls_.get()));
}

void Host::LoadFlows() {
  // The watcher's first copy is taken before the files are read, so an
  // edit made at any moment after is seen as a change (at worst one
  // reload too many), never lost.
  watcher_ = std::make_unique<FlowWatcher>(o_.flows);
  // --check prints cycle warnings (a person reads them); run logs them.
  flows_ = LoadFlowsOrFail(o_.flows, modules_, Reachable(), o_.check_only);
}

int Host::ReportCheck() const {
  std::cout << "ok: " << modules_.KnownModules().size() << " plugins, " << flows_.nodes.size() << " nodes in "
            << o_.flows.size() << " flow files\n";
  return 0;
}

void Host::StartNodes() {
  scheduler_ = std::make_unique<Scheduler>(modules_, SchedulerOptionsFrom(o_));
  scheduler_->set_remote(pool_.get());
  bool environment_failure = false;
  // A rejected setting is a configuration error (2); a node that could not
  // start for another reason (a port in use) a runtime failure (1).
  if (auto errors = scheduler_->Reconcile(flows_, &environment_failure); !errors.empty())
    throw StartupError(environment_failure ? 1 : 2, std::move(errors));
}

void Host::Serve() {
  server_ = std::make_unique<ModuleServer>(*scheduler_, ServerOptionsFrom(o_, tls_.get()));
  try {
    server_->Start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    throw StartupError(1, e.what());
  }
  pool_->Prewarm();
  PublishFlows();
  if (!o_.admin_listen.empty()) {
    try {
      admin_ = std::make_unique<Admin>(
          o_.admin_listen, AdminSources{modules_, *scheduler_, *server_, *pool_, started_,
                                        [this] { return flows_view_.load(); }});
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      throw StartupError(1, e.what());
    }
    spdlog::info("admin listening address=http://{}/", admin_->address());
  }
  server_->SetServing(true);
  spdlog::info("serving address={} modules={} nodes={}", BoundAddress(o_.listen, server_->port()),
               Join(modules_.ServedModules()), flows_.nodes.size());
}

int Host::WaitForStop(const sigset_t& stop_signals) {
  if (o_.reload_interval.count() == 0) return WaitForSignal(stop_signals);
  int sig = 0;
  while ((sig = WaitForSignal(stop_signals, o_.reload_interval)) == 0)
    if (watcher_->Poll()) ReloadFlows();
  return sig;
}

void Host::ReloadFlows() {
  try {
    FlowSet next = tiny::host::LoadFlows(o_.flows, modules_, Reachable());
    for (const auto& line : CycleWarnings(next)) spdlog::warn("flow cycle: {}", line);
    auto errors = scheduler_->Reconcile(next);
    if (errors.empty()) {
      flows_ = std::move(next);
      PublishFlows();
      Stats().reloads_applied.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("flows reloaded nodes={}", flows_.nodes.size());
      return;
    }
    // A node of the new flows refused its settings (or could not start):
    // the reload is rejected as a whole, like an invalid file, and the
    // previous flows come back (the nodes that changed are recreated with
    // their previous settings).
    for (const auto& line : errors) spdlog::error("reload rejected, the running flows stay: {}", line);
    for (const auto& line : scheduler_->Reconcile(flows_)) spdlog::error("restoring the previous flows: {}", line);
    spdlog::warn("previous flows restored nodes={}", flows_.nodes.size());
  } catch (const FlowError& e) {
    for (const auto& line : e.lines()) spdlog::error("reload rejected, the running flows stay: {}", line);
  } catch (const std::exception& e) {
    spdlog::error("reload rejected, the running flows stay: {}", e.what());
  }
  Stats().reloads_rejected.fetch_add(1, std::memory_order_relaxed);
}

void Host::Drain(int sig) {
  spdlog::info("draining signal={} inflight={} grace_ms={}", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               server_->inflight(), o_.grace_period.count());
  const auto drain_until = std::chrono::steady_clock::now() + o_.grace_period;
  size_t left = server_->Drain(o_.grace_period);
  if (left > 0) spdlog::warn("grace period over; cancelling calls inflight={}", left);
  // Work no gRPC call counts (an http_server request in its flow, a tick)
  // gets the rest of the grace period to be answered before the nodes go.
  scheduler_->WaitForRootEmits(drain_until);
  // Calls to peers still open now are cut (their callers get UNAVAILABLE),
  // so that no answer arrives after the scheduler is gone.
  if (size_t open = pool_->open_calls(); open > 0)
    spdlog::warn("grace period over; cancelling calls to peers calls={}", open);
  if (!pool_->CancelAndClose(std::chrono::steady_clock::now() + kCancelWait))
    spdlog::warn("calls to peers still open after cancelling calls={}", pool_->open_calls());
  scheduler_->WaitForRootEmits(std::chrono::steady_clock::now() + kCancelWait);
  if (size_t open = scheduler_->root_emits(); open > 0)
    spdlog::warn("grace period over; destroying nodes with emits still open emits={}", open);
  server_->Detach(std::chrono::steady_clock::now() + kFlushWait);
}

void Host::Stop() {
  admin_.reset();  // it reads the parts stopped below
  // Every call is answered by now; handlers still running (blocking ones
  // cannot be interrupted) get up to another grace period, at least 10 s.
  auto handler_grace = std::max<std::chrono::milliseconds>(o_.grace_period, std::chrono::seconds(10));
  if (auto stuck = scheduler_->Shutdown(std::chrono::steady_clock::now() + handler_grace); !stuck.empty()) {
    // Their instances cannot be destroyed, nor their plugins deinitialised,
    // nor this process's statics torn down under them: leave at once.
    spdlog::error("handlers still running {} ms after the drain; exiting without destroying nodes={}",
                  handler_grace.count(), Join(stuck));
    spdlog::default_logger()->flush();
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(1);
  }
  // The nodes are gone; the scheduler still is. Closing the channels hands
  // back any call to a peer that a cancel did not end, into live code.
  scheduler_->set_remote(nullptr);
  pool_.reset();
}

// The listener left running at the end of a drain: reachable, so that
// LeakSanitizer does not count it, until _exit.
Host::Listener* g_listener = nullptr;

// Ends the process after a clean drain without gRPC's Shutdown (which
// would cancel calls still arriving): the kernel closes the connections,
// and a client sees UNAVAILABLE. Flushes the logs; under LeakSanitizer
// the leak check runs first, as it would at exit.
[[noreturn]] void ExitAfterDrain() {
  spdlog::default_logger()->flush();
  std::fflush(stdout);
  std::fflush(stderr);
#if defined(__SANITIZE_ADDRESS__)
  __lsan_do_leak_check();
#endif
  _exit(0);
}

// glibc raises its mmap threshold to the size of each large block freed
// (up to 32 MiB), so after the first 4 MiB message every later one is
// carved from a heap that keeps its pages. A fixed threshold turns the
// dynamic one off: a block of 1 MiB or more is mapped, and unmapped when
// freed. Before any thread starts.
void ReturnLargeBlocksToTheSystem() { mallopt(M_MMAP_THRESHOLD, 1024 * 1024); }

}  // namespace

int RunHost(const RunOptions& o) {
  ReturnLargeBlocksToTheSystem();
  sigset_t stop_signals = BlockStopSignals();
  ConfigureLogging(o.log_level, o.log_format);
  RaiseOpenFileLimit();
  {
    // Outside the try, so that an error is printed before the parts that
    // did start are stopped (which may wait for a node's handler).
    Host host(o);
    try {
      host.LoadPlugins();
      host.OpenClientPool();
      host.LoadFlows();
      if (o.check_only) return host.ReportCheck();
      host.StartNodes();
      host.Serve();
      int sig = host.WaitForStop(stop_signals);  // reloading changed flows meanwhile
      host.Drain(sig);
      host.Stop();  // or _Exit(1) when a handler is stuck
      g_listener = new Host::Listener(host.TakeListener());
    } catch (const StartupError& e) {
      for (const auto& line : e.lines()) std::cerr << "tinyhost: error: " << line << "\n";
      return e.exit_code();
    }
  }
  // The nodes, the client pool and the plugins are gone; the listener
  // still refuses calls (UNAVAILABLE) until this process ends.
  spdlog::info("stopped");
  if (g_listener != nullptr) ExitAfterDrain();
  return 0;
}

}  // namespace tiny::host
