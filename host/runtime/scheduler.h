// The scheduler: owns the local nodes and moves messages along edges.
//
// Threads: nothing here owns a thread on the message path except the two
// pools. A non-blocking component's handle runs inline on the thread that
// delivers (a gRPC callback thread, a timer, a component's own thread),
// unless the inline depth on that thread passes a bound, when the delivery
// hops to the dispatch pool so the stack stays bounded. Blocking
// components run on the worker pool. No thread ever waits for an answer:
// answers come back through tiny_call completions.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/base/result.h"
#include "host/flow/flow_loader.h"
#include "host/loader/module_registry.h"
#include "host/runtime/call.h"
#include "host/runtime/graph.h"
#include "host/runtime/node.h"
#include "host/runtime/remote_sender.h"
#include "host/runtime/thread_pool.h"
#include "host/runtime/timer_service.h"

namespace tiny::host {

struct SchedulerOptions {
  size_t dispatch_threads = 2;       // for deliveries past the inline depth
  size_t worker_threads = 8;         // for components declared blocking
  int max_inline_depth = 32;         // nested inline deliveries per thread
  uint64_t max_fanout = 65536;       // edge deliveries one message may cause on this host
  size_t max_queued = 10000;         // deliveries waiting for a thread, per pool (--max-queued)
  std::chrono::milliseconds default_deadline{30000};
};

class Scheduler {
 public:
  Scheduler(const ModuleRegistry& modules, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Where messages for nodes of other hosts go. Set before Reconcile.
  void set_remote(RemoteSender* remote) { remote_ = remote; }

  // Makes the running nodes match `flows`: creates, re-wires and destroys
  // only what changed. Returns one error line per node whose settings the
  // component rejected (those nodes stay down). `environment_failure`, if
  // given, is set when a node failed for a reason other than its settings
  // (its answer had a status other than OK and INVALID_ARGUMENT, e.g. a port
  // in use, or it did not answer). [thread: one at a time]
  std::vector<std::string> Reconcile(const FlowSet& flows, bool* environment_failure = nullptr);

  // Destroys every node, sources first, waiting until `give_up` for
  // handlers still running (a blocking one cannot be interrupted); the
  // deliveries queued for workers are answered UNAVAILABLE first. Returns
  // the names of nodes left undestroyed because a handler still ran in them
  // then; their instances are never freed.
  std::vector<std::string> Shutdown(
      std::chrono::steady_clock::time_point give_up = std::chrono::steady_clock::time_point::max());

  // Emits without a cause (from a component's own thread: an HTTP request,
  // a tick) whose answer has not come back yet. [thread: any]
  size_t root_emits() const { return root_emits_.load(std::memory_order_relaxed); }
  // Waits until root_emits() is 0 or `deadline` passes; true iff it is 0.
  // [thread: any]
  bool WaitForRootEmits(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(root_emits_mu_);
    return root_emits_cv_.wait_until(lock, deadline, [this] { return root_emits() == 0; });
  }

  // Emits from `from` (see tiny_host_api.emit). A root emit (no cause) may
  // carry `root_trace`, the span it continues (tiny.trace/1's emit_root);
  // an emit with a cause continues the cause's trace. [thread: any]
  void Emit(Node& from, const tiny_call* cause, std::string_view port, std::string_view data,
            tiny_emit_done_fn done, void* user, const TraceContext* root_trace = nullptr);

  // Delivers a message addressed "node.port" from outside (the gRPC server):
  // to a local node, or on through the client pool. Completes `call`.
  // `data` is JSON: the caller checked it (DecodeSend), and a node that
  // forwards it unchanged is not checked again. [thread: any]
  void DeliverToAddress(std::string_view node, std::string_view port, std::string_view from,
                        std::string_view data, tiny_call* call);

  TimerService& timers() { return timers_; }
  const SchedulerOptions& options() const { return options_; }
  std::shared_ptr<const Graph> graph() const { return graph_.load(std::memory_order_acquire); }

 private:
  void DeliverRoute(const Route& route, std::string_view data, tiny_call* call);
  // Runs the node's handle for `call` (inline, dispatched or on a worker).
  void Invoke(const std::shared_ptr<Node>& node, std::string_view port, std::string_view data, tiny_call* call);
  // Hands the delivery to the worker pool (blocking) or the dispatch pool;
  // a full queue answers RESOURCE_EXHAUSTED at once.
  void Queue(const std::shared_ptr<Node>& node, std::string_view port, std::string_view data, tiny_call* call);
  void RunHandle(Node& node, const char* port, std::string_view data, tiny_call* call);
  // Creates the instance and awaits its `_settings` answer (reconcile.cpp).
  Result StartNode(const std::shared_ptr<Node>& node, const std::string& settings, bool* environment_failure);
  // False (and the node left as it is) if handlers still run at `give_up`.
  bool StopNode(Node& node, std::chrono::steady_clock::time_point give_up = std::chrono::steady_clock::time_point::max());

  const ModuleRegistry& modules_;
  const SchedulerOptions options_;
  RemoteSender* remote_ = nullptr;
  TimerService timers_;
  ThreadPool dispatch_;
  ThreadPool workers_;
  std::mutex reconcile_mu_;  // one Reconcile/Shutdown at a time
  std::vector<std::shared_ptr<Node>> stuck_;  // see Shutdown
  // Nodes a reconcile stopped, kept (instance destroyed, edges cleared) for
  // kRetireFor so that a plugin thread's late emit on the handle finds a
  // node that answers UNAVAILABLE rather than freed memory.
  // [guarded by reconcile_mu_]
  void Retire(const std::shared_ptr<Node>& node);
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::shared_ptr<Node>>> retired_;
  std::atomic<size_t> root_emits_{0};
  // For WaitForRootEmits: a root emit's end decrements under this lock (and
  // touches nothing after), so a waiter misses no notification and the
  // scheduler may go as soon as the wait returns.
  std::mutex root_emits_mu_;
  std::condition_variable root_emits_cv_;
  struct RootDone {
    Scheduler* scheduler;
    tiny_emit_done_fn done;
    void* user;
    static void Finish(void* self, const tiny_result* r) {
      auto* root = static_cast<RootDone*>(self);
      if (root->done) root->done(root->user, r);
      Scheduler* scheduler = root->scheduler;
      delete root;
      std::lock_guard<std::mutex> lock(scheduler->root_emits_mu_);
      if (scheduler->root_emits_.fetch_sub(1, std::memory_order_relaxed) == 1) scheduler->root_emits_cv_.notify_all();
    }
  };
  std::atomic<std::shared_ptr<const Graph>> graph_{std::make_shared<const Graph>()};
};

}  // namespace tiny::host
