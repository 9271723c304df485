// The gRPC server: ModuleService.Send on the callback API, health and
// reflection. A Send becomes a tiny_call that the scheduler delivers; the
// reactor finishes when the call is answered. No thread waits.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "host/runtime/scheduler.h"
#include "tinysystems/module/v1/module.grpc.pb.h"

namespace tiny::host {

struct ServerOptions {
  std::string listen;
  size_t max_message_size = 4 * 1024 * 1024;
  size_t max_inflight = 10000;
  // Bytes of requests (their serialized size) held by the calls in flight.
  size_t max_inflight_bytes = size_t{256} * 1024 * 1024;
  // Applied to calls whose client set no deadline: the reactor finishes
  // with DEADLINE_EXCEEDED when it passes (a host timer).
  std::chrono::milliseconds default_deadline{30000};
  std::chrono::milliseconds keepalive_time{10000};
  std::chrono::milliseconds keepalive_timeout{3000};
  std::chrono::milliseconds keepalive_min_time{5000};
  std::shared_ptr<grpc::ServerCredentials> credentials;  // null: insecure
};

class SendReactor;

class ModuleServer final : public tinysystems::module::v1::ModuleService::CallbackService {
 public:
  ModuleServer(Scheduler& scheduler, ServerOptions options);
  ~ModuleServer() override;

  // Binds and starts serving. Throws std::runtime_error naming the address.
  void Start();
  // The bound port (after Start).
  int port() const { return port_; }
  // Health SERVING / NOT_SERVING for "" and the ModuleService.
  void SetServing(bool serving);
  // What health says now (for /readyz). [thread: any]
  bool serving() const { return serving_.load(std::memory_order_acquire); }
  // Health NOT_SERVING, refuses new calls with UNAVAILABLE and waits up to
  // `grace` for the calls in flight. The calls still open then are finished
  // with UNAVAILABLE (never left silent). Returns how many that were.
  // [thread: main]
  size_t Drain(std::chrono::milliseconds grace);
  // Stops the server; open calls are cancelled.
  void Shutdown();
  // For the end of a drain, instead of Shutdown: waits until `deadline`
  // for the answers given to reach the wire (every call's OnDone), and
  // stops using the scheduler. The server goes on refusing new calls with
  // UNAVAILABLE until the process exits, which closes its connections
  // (gRPC's Shutdown would cancel the calls that reach it meanwhile, and a
  // client does not retry CANCELLED). [thread: main]
  void Detach(std::chrono::steady_clock::time_point deadline);
  size_t inflight() const { return inflight_.load(); }
  size_t inflight_bytes() const { return inflight_bytes_.load(); }

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* ctx, const tinysystems::module::v1::Message* request,
                                 tinysystems::module::v1::Response* response) override;

 private:
  friend class SendReactor;
  std::atomic<size_t> alive_{0};  // reactors gRPC has not handed back (OnDone)
  void Track(SendReactor* r);    // a reactor opened
  void Untrack(SendReactor* r);  // a reactor finished (once); gives back its bytes
  // Counts `bytes` against --max-inflight-bytes; false (nothing counted)
  // when they would pass it.
  bool ChargeBytes(size_t bytes);
  // Calls without a client deadline end at the default deadline: one
  // periodic sweep over the open reactors instead of a timer per call.
  static constexpr std::chrono::milliseconds kSweepInterval{100};
  void ArmSweep();
  static void OnSweep(void* user, int32_t event);
  void SweepDeadlines();
  // glibc keeps the memory a burst of large messages took in its arenas
  // (gRPC reads a message in many small slices, spread over the threads'
  // arenas): once such requests have finished and none is left in flight,
  // the sweep gives the free pages back (malloc_trim), at most once per
  // sweep and never while large messages keep coming (they reuse it).
  static constexpr size_t kLargeRequest = 1024 * 1024;
  void TrimAfterLargeRequests();

  Scheduler& scheduler_;
  ServerOptions options_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> draining_{false};
  std::atomic<bool> serving_{false};
  std::atomic<size_t> inflight_{0};
  std::atomic<size_t> inflight_bytes_{0};
  std::atomic<bool> large_finished_{false};  // a call with a request of kLargeRequest or more was done (OnDone) since the last trim
  // The reactors not yet finished, as an intrusive list, so that the end of
  // the grace period can answer each of them.
  std::mutex open_mu_;
  SendReactor* open_ = nullptr;  // guarded by open_mu_
};

}  // namespace tiny::host
