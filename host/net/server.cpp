#include "host/net/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "host/base/bytes.h"
#include "host/base/names.h"
#include "host/base/tsan.h"
#include "host/net/message_decoder.h"

namespace tiny::host {
namespace {

using tinysystems::module::v1::Message;
using tinysystems::module::v1::Response;

constexpr const char* kServiceName = "tinysystems.module.v1.ModuleService";
constexpr int kMaxSyncServerThreads = 4;

// A result status as a gRPC code; a plugin's out-of-range number is INTERNAL.
grpc::StatusCode ToGrpc(int32_t status) {
  if (status <= 0 || status > static_cast<int32_t>(grpc::StatusCode::UNAUTHENTICATED))
    return grpc::StatusCode::INTERNAL;
  return static_cast<grpc::StatusCode>(status);
}

Clock::time_point ToSteady(std::chrono::system_clock::time_point deadline) {
  auto left = deadline - std::chrono::system_clock::now();
  if (left > std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(left);
}

}  // namespace

// One Send: the gRPC reactor and the tiny_call the scheduler completes.
// References: the answer's (tiny_call), gRPC's (dropped in OnDone) and,
// for calls without a client deadline, the default-deadline timer's.
// The reactor finishes once: on the answer, on cancellation, on the
// default deadline, or at the end of a drain; whoever claims it first
// owns `response_` and calls Finish.
class SendReactor final : public grpc::ServerUnaryReactor, public tiny_call {
 public:
  SendReactor(ModuleServer& server, const Message* request, Response* response, CallContext ctx,
              size_t charged_bytes)
      : tiny_call(std::move(ctx)),
        server_(server),
        response_(response),
        request_(request),
        charged_bytes_(charged_bytes) {
    Ref();  // gRPC's, until OnDone
    server_.alive_.fetch_add(1, std::memory_order_relaxed);
    server_.Track(this);
  }

  // Finishes the RPC with `status` unless it finished already. [thread: any]
  void FinishWith(const grpc::Status& status) {
    if (Claim()) Done(status);
  }

  // For a client that set no deadline: the server's sweep finishes the
  // call with DEADLINE_EXCEEDED at `at` (one sweep, not a timer per call).
  void SetSweepDeadline(Clock::time_point at) { sweep_deadline_ = at; }

  // gRPC may run OnDone on the finishing thread instead of handing it to
  // an executor thread: OnDone only drops a reference.
  bool InternalInlineable() override { return true; }

 private:
  friend class ModuleServer;

  bool Claim() { return !finished_.exchange(true, std::memory_order_acq_rel); }

  // True iff `data` is the request's own bytes (an echo or a zero-copy
  // forward), which DecodeSend validated already.
  bool AliasesRequest(std::string_view data) const {
    const std::string& in = request_->data();
    return data.data() == in.data() && data.size() == in.size();
  }

  // Runs once, after a successful Claim.
  void Done(const grpc::Status& status) {
    if (Measuring()) Stats().send_answers[static_cast<int>(status.error_code()) % kStatusCodes].Add();
    server_.Untrack(this);
    TINY_HAND_OVER(this);  // to OnDone, on a gRPC thread
    Finish(status);
  }

  void OnComplete(const tiny_result& r) override {
    if (!Claim()) return;  // cancelled, timed out or drained: the RPC is over
    std::string_view error = AsView(r.error);
    std::string_view data = AsView(r.data);
    if (r.status != TINY_STATUS_OK) {
      Done(grpc::Status(ToGrpc(r.status), std::string(error)));
      return;
    }
    if (!error.empty()) {
      response_->set_error(std::string(error));
    } else if (!AliasesRequest(data) && !IsJsonText(data)) {
      Done(grpc::Status(grpc::StatusCode::INTERNAL, "the node answered data that is not JSON"));
      return;
    } else {
      response_->set_data(std::string(data));
    }
    size_t size = response_->ByteSizeLong();
    if (size > server_.options_.max_message_size) {
      response_->Clear();
      Done(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "the answer (" + std::to_string(size) + " bytes) is over the message size limit (" +
                            std::to_string(server_.options_.max_message_size) + " bytes)"));
      return;
    }
    Done(grpc::Status::OK);
  }
  void OnCancel() override {
    TINY_HANDED_OVER(this);
    FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client"));
  }
  bool abandoned() const override { return finished_.load(std::memory_order_acquire); }
  void OnDone() override {
    TINY_HANDED_OVER(this);
    server_.alive_.fetch_sub(1, std::memory_order_release);
    // gRPC has let go of the request and the answer now.
    if (charged_bytes_ >= ModuleServer::kLargeRequest) server_.large_finished_.store(true, std::memory_order_relaxed);
    Unref();
  }

  ModuleServer& server_;
  Response* response_;
  std::atomic<bool> finished_{false};
  const Message* request_ = nullptr;  // valid until Finish; its data was checked
  Clock::time_point sweep_deadline_ = Clock::time_point::max();  // set before delivery, then read-only
  const size_t charged_bytes_;  // counted against --max-inflight-bytes until Untrack
  // ModuleServer's list of open reactors (guarded by its open_mu_).
  SendReactor* prev_ = nullptr;
  SendReactor* next_ = nullptr;
};

ModuleServer::ModuleServer(Scheduler& scheduler, ServerOptions options)
    : scheduler_(scheduler), options_(std::move(options)) {}

ModuleServer::~ModuleServer() { Shutdown(); }

void ModuleServer::Track(SendReactor* r) {
  std::lock_guard<std::mutex> lock(open_mu_);
  r->next_ = open_;
  if (open_) open_->prev_ = r;
  open_ = r;
  inflight_.fetch_add(1, std::memory_order_relaxed);
}

void ModuleServer::Untrack(SendReactor* r) {
  std::lock_guard<std::mutex> lock(open_mu_);
  if (r->prev_) r->prev_->next_ = r->next_;
  else open_ = r->next_;
  if (r->next_) r->next_->prev_ = r->prev_;
  r->prev_ = r->next_ = nullptr;
  inflight_.fetch_sub(1, std::memory_order_relaxed);
  inflight_bytes_.fetch_sub(r->charged_bytes_, std::memory_order_relaxed);
}

bool ModuleServer::ChargeBytes(size_t bytes) {
  if (inflight_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes <= options_.max_inflight_bytes) return true;
  inflight_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
  return false;
}

void ModuleServer::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  auto creds = options_.credentials ? options_.credentials : grpc::InsecureServerCredentials();
  builder.AddListeningPort(options_.listen, creds, &port_);
  builder.RegisterService(this);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options_.max_message_size));
  builder.SetMaxSendMessageSize(static_cast<int>(options_.max_message_size));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_time.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options_.keepalive_timeout.count()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             static_cast<int>(options_.keepalive_min_time.count()));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // gRPC sets SO_REUSEPORT on Linux by default: a second host on a taken
  // port would then start and share the port's connections with the first.
  // A taken port must be an error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Server reflection is a synchronous service: its thread manager would
  // start a thread per concurrent reflection call. Cap it, so that the
  // host's thread count stays bounded whatever the clients do. (Send and
  // health run on the callback API and use no thread of this pool.)
  grpc::ResourceQuota quota("tinyhost-server");
  quota.SetMaxThreads(kMaxSyncServerThreads);
  builder.SetResourceQuota(quota);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0)
    throw std::runtime_error("cannot listen on " + options_.listen + " (address in use, or not an address of this machine)");
  SetServing(false);
  scheduler_.timers().OpenOwner(this);
  ArmSweep();
}

void ModuleServer::ArmSweep() {
  scheduler_.timers().Start(this, kSweepInterval, &ModuleServer::OnSweep, this);
}

void ModuleServer::OnSweep(void* user, int32_t event) {
  if (event != TINY_TIMER_FIRED) return;  // closed at shutdown
  auto* self = static_cast<ModuleServer*>(user);
  self->SweepDeadlines();
  self->TrimAfterLargeRequests();
  self->ArmSweep();
}

void ModuleServer::SweepDeadlines() {
  std::vector<SendReactor*> expired;
  auto now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(open_mu_);
    for (SendReactor* r = open_; r != nullptr; r = r->next_) {
      if (r->sweep_deadline_ > now) continue;
      r->Ref();  // safe: an open reactor still holds gRPC's reference
      expired.push_back(r);
    }
  }
  for (SendReactor* r : expired) {
    r->FinishWith(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                               "deadline exceeded: no answer within the host's default deadline of " +
                                   std::to_string(options_.default_deadline.count()) + " ms"));
    r->Unref();
  }
}

void ModuleServer::TrimAfterLargeRequests() {
  if (!large_finished_.load(std::memory_order_relaxed)) return;
  if (inflight_bytes_.load(std::memory_order_relaxed) >= kLargeRequest) return;  // still busy: the memory is reused
  large_finished_.store(false, std::memory_order_relaxed);
  malloc_trim(0);
}

void ModuleServer::SetServing(bool serving) {
  if (!server_) return;
  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus(serving);
  health->SetServingStatus(kServiceName, serving);
  serving_.store(serving, std::memory_order_release);
}

size_t ModuleServer::Drain(std::chrono::milliseconds grace) {
  draining_ = true;
  SetServing(false);
  auto until = Clock::now() + grace;
  while (inflight_.load() > 0 && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Answer what is still open, so that no caller is left waiting in silence.
  std::vector<SendReactor*> open;
  {
    std::lock_guard<std::mutex> lock(open_mu_);
    for (SendReactor* r = open_; r != nullptr; r = r->next_) {
      r->Ref();  // safe: an open reactor still holds gRPC's reference
      open.push_back(r);
    }
  }
  for (SendReactor* r : open) {
    r->FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "host is shutting down: the grace period ended before the call was answered"));
    r->Unref();
  }
  return open.size();
}

void ModuleServer::Detach(std::chrono::steady_clock::time_point deadline) {
  draining_ = true;
  scheduler_.timers().CloseOwner(this);  // no sweep runs into the scheduler any more
  while (alive_.load(std::memory_order_acquire) > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void ModuleServer::Shutdown() {
  if (!server_) return;
  draining_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  server_->Wait();
  server_.reset();
  scheduler_.timers().CloseOwner(this);  // default-deadline timers: none fires into a dead server
}

grpc::ServerUnaryReactor* ModuleServer::Send(grpc::CallbackServerContext* ctx, const Message* request,
                                             Response* response) {
  CallContext call_ctx;
  call_ctx.deadline = ToSteady(ctx->deadline());
  bool client_deadline = call_ctx.deadline != Clock::time_point::max();
  if (!client_deadline) call_ctx.deadline = Clock::now() + options_.default_deadline;
  DecodedSend decoded = DecodeSend(*request);
  call_ctx.hop = decoded.hop;
  call_ctx.metadata = decoded.metadata;
  call_ctx.trace = std::move(decoded.trace);
  // Given back when the call finishes (Untrack), however it ends.
  const size_t bytes = request->ByteSizeLong();
  const bool charged = ChargeBytes(bytes);
  auto* reactor = new SendReactor(*this, request, response, std::move(call_ctx), charged ? bytes : 0);

  auto fail = [&](grpc::StatusCode code, std::string message) {
    reactor->FinishWith(grpc::Status(code, std::move(message)));
    reactor->Unref();  // the answer's reference: nobody will complete it
    return reactor;
  };
  if (draining_.load()) return fail(grpc::StatusCode::UNAVAILABLE, "host is draining");
  if (inflight_.load() > options_.max_inflight)
    return fail(grpc::StatusCode::RESOURCE_EXHAUSTED,
                "too many calls in flight (limit " + std::to_string(options_.max_inflight) + ")");
  if (!charged)
    return fail(grpc::StatusCode::RESOURCE_EXHAUSTED,
                "too many bytes in flight (limit " + std::to_string(options_.max_inflight_bytes) + ")");
  if (!decoded.ok) return fail(grpc::StatusCode::INVALID_ARGUMENT, decoded.error);
  if (!client_deadline) reactor->SetSweepDeadline(reactor->context.deadline);
  TraceScope trace(reactor->context.trace.get());  // what is logged about this call carries its span
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("received message via gRPC to={} from={}", request->to(), request->from());
  scheduler_.DeliverToAddress(decoded.node, decoded.port, request->from(), request->data(), reactor);
  TINY_HAND_OVER(reactor);  // to OnCancel, on a gRPC thread
  return reactor;
}

}  // namespace tiny::host
