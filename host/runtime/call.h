// tiny_call: one open delivery, as the host implements the C ABI's opaque
// handle. A call is completed exactly once; what happens then depends on
// who made it (a local emit, the gRPC server, a test).
#pragma once

#include <tiny/plugin.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "host/base/bytes.h"
#include "host/base/trace_context.h"
#include "host/runtime/stats.h"

namespace tiny::host {

using Clock = std::chrono::steady_clock;

// The hop limit: a delivery at this depth fails as a cycle.
inline constexpr uint32_t kHopLimit = 256;

// What travels with a message from hop to hop (and host to host).
struct CallContext {
  uint32_t hop = 0;
  Clock::time_point deadline = Clock::time_point::max();
  // Pass-through metadata (never `hop`, `traceparent` or `tracestate`);
  // shared, since every hop of one message carries the same map.
  std::shared_ptr<const std::map<std::string, std::string>> metadata;
  // The span of this hop when the message is traced, else null (then
  // copying a context costs nothing for it).
  std::shared_ptr<const TraceContext> trace;
  // Deliveries along edges caused by one message on this host so far,
  // shared by every hop it causes (--max-fanout); null until its first emit.
  std::shared_ptr<std::atomic<uint64_t>> deliveries;

  CallContext NextHop() const {
    CallContext next = *this;
    ++next.hop;
    return next;
  }
  // The context of one delivery to `to` (NODE.PORT) caused by this one: a
  // traced message gets a new span there, a child of this hop's span.
  CallContext Delivery(std::string_view to) const {
    CallContext next = *this;
    if (trace) next.trace = std::make_shared<const TraceContext>(trace->Child(to));
    return next;
  }
};

}  // namespace tiny::host

// The opaque C handle. Reference-counted so that the host can still answer
// a call whose handler threw across the ABI; the answer goes out once.
struct tiny_call {
 public:
  explicit tiny_call(tiny::host::CallContext ctx) : context(std::move(ctx)) {}
  virtual ~tiny_call() = default;
  tiny_call(const tiny_call&) = delete;
  tiny_call& operator=(const tiny_call&) = delete;

  // Answers the call; later answers are ignored (and logged by the caller
  // of TryComplete). `r` is borrowed. [thread: any]
  bool TryComplete(const tiny_result& r) {
    if (completed_.exchange(true, std::memory_order_acq_rel)) return false;
    if (context.trace) tiny::host::EndSpan(*context.trace, r.status);
    if (measured_) measured_->RecordAnswer(r, started_);
    OnComplete(r);
    Unref();
    return true;
  }
  bool completed() const { return completed_.load(std::memory_order_acquire); }
  // True when nobody waits for the answer any more (a gRPC caller that
  // cancelled or hung up, or whose call the host already ended). Work still
  // queued for such a call is dropped. [thread: any]
  virtual bool abandoned() const { return false; }

  // Counts this call's answer in `stats` (of the node whose handler gets
  // it), timed from now. Before the handler runs. [thread: the deliverer]
  void Measure(std::shared_ptr<tiny::host::NodeStats> stats) {
    started_ = std::chrono::steady_clock::now();
    measured_ = std::move(stats);
  }

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  const tiny::host::CallContext context;

 protected:
  // Delivers the answer. Runs once, on the completing thread.
  virtual void OnComplete(const tiny_result& r) = 0;

 private:
  std::atomic<bool> completed_{false};
  std::shared_ptr<tiny::host::NodeStats> measured_;  // null unless measuring
  std::chrono::steady_clock::time_point started_;
  std::atomic<int> refs_{1};  // one for the answer
};

namespace tiny::host {

// Completes `call` with a status and message. [thread: any]
inline void FailCall(tiny_call* call, int32_t status, std::string_view message) {
  tiny_result r{status, {}, AsBytes(message)};
  call->TryComplete(r);
}

// A call whose answer goes to an emit's done(user, result).
class CallbackCall final : public tiny_call {
 public:
  CallbackCall(CallContext ctx, tiny_emit_done_fn done, void* user)
      : tiny_call(std::move(ctx)), done_(done), user_(user) {}

 private:
  void OnComplete(const tiny_result& r) override {
    if (done_) done_(user_, &r);
  }
  tiny_emit_done_fn done_;
  void* user_;
};

}  // namespace tiny::host
