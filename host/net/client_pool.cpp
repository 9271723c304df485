#include "host/net/client_pool.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "host/base/bytes.h"
#include "host/base/log.h"
#include "host/base/tsan.h"

namespace tiny::host {
namespace {

using tinysystems::module::v1::Message;
using tinysystems::module::v1::Response;

const char* StateName(grpc_connectivity_state s) {
  switch (s) {
    case GRPC_CHANNEL_IDLE: return "IDLE";
    case GRPC_CHANNEL_CONNECTING: return "CONNECTING";
    case GRPC_CHANNEL_READY: return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE: return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN: return "SHUTDOWN";
  }
  return "?";
}

// Watches expire so that shutdown never waits on a silent channel.
std::chrono::system_clock::time_point WatchDeadline() {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(500);
}

}  // namespace

// One message in flight to a peer; deleted when answered.
struct ClientPool::RemoteCall {
  grpc::ClientContext context;
  Message request;
  Response response;
  tiny_call* call = nullptr;
  std::string module;
  std::shared_ptr<PeerStats> stats;  // null unless measuring
  Clock::time_point started;
  bool cancelled_here = false;  // by CancelAndClose (guarded by calls_mu_)
  RemoteCall* prev = nullptr;   // the pool's list (guarded by calls_mu_)
  RemoteCall* next = nullptr;
  // gRPC's callback holds one; CancelAndClose another while it cancels
  // (TryCancel may run the callback on the cancelling thread).
  std::atomic<int> refs{1};
  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

ClientPool::ClientPool(ClientPoolOptions options) : options_(std::move(options)) {}

ClientPool::~ClientPool() {
  {
    // Under arm_mu_: no watch is armed on the queue once it shuts down
    // (gRPC aborts on that).
    std::lock_guard<std::mutex> arm(arm_mu_);
    stopping_ = true;
    state_cq_.Shutdown();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    peers_.clear();  // channels shut down; pending watches and calls complete
  }
  {
    // A call's callback touches the pool (Untrack): wait for the last.
    std::unique_lock<std::mutex> lock(calls_mu_);
    if (!calls_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return open_calls_ == 0; }))
      spdlog::error("calls to peers still open as the client pool closes calls={}", open_calls_);
  }
  if (watcher_.joinable()) {
    watcher_.join();
  } else {
    void* tag;
    bool ok;
    while (state_cq_.Next(&tag, &ok)) {
    }
  }
}

std::vector<ClientPool::PeerView> ClientPool::Peers() const {
  std::vector<PeerView> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [module, peer] : peers_)
    out.push_back(PeerView{module, peer->target, peer->channel->GetState(false), peer->stats});
  return out;
}

bool ClientPool::CanReach(std::string_view module) const { return !TargetFor(module).empty(); }

std::string ClientPool::TargetFor(std::string_view module) const {
  auto it = options_.peers.find(std::string(module));
  if (it != options_.peers.end()) return it->second;
  if (options_.discovery_template.empty()) return {};
  std::string target = options_.discovery_template;
  for (size_t pos; (pos = target.find("{module}")) != std::string::npos;) target.replace(pos, 8, module);
  return target;
}

size_t ClientPool::open_channels() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peers_.size();
}

void ClientPool::Prewarm() {
  for (const auto& [module, address] : options_.peers) Get(module);
}

std::shared_ptr<ClientPool::Peer> ClientPool::Get(const std::string& module) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = peers_.find(module);
    if (it != peers_.end()) return it->second;
  }
  std::string target = TargetFor(module);
  if (target.empty()) return nullptr;
  auto peer = Open(module, target);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, fresh] = peers_.emplace(module, peer);
    if (!fresh) return it->second;  // another thread won the race
  }
  Watch(peer);
  return peer;
}

std::shared_ptr<ClientPool::Peer> ClientPool::Open(const std::string& module, const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options_.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(static_cast<int>(options_.max_message_size));
  args.SetMaxSendMessageSize(static_cast<int>(options_.max_message_size));
  // Reconnect quickly after a peer restarts (gRPC's default backoff grows to 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  if (target.rfind("dns:", 0) == 0) args.SetLoadBalancingPolicyName("round_robin");
  auto creds = options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
  auto peer = std::make_shared<Peer>();
  peer->module = module;
  peer->target = target;
  peer->channel = grpc::CreateCustomChannel(target, creds, args);
  peer->stub = tinysystems::module::v1::ModuleService::NewStub(peer->channel);
  return peer;
}

void ClientPool::Watch(const std::shared_ptr<Peer>& peer) {
  // The watcher thread starts with the first channel: a host without peers
  // has no thread polling the queue (gRPC would use it as an extra poller).
  std::call_once(watcher_started_, [this] {
    watcher_ = std::thread([this] { RunWatcher(); });
    pthread_setname_np(watcher_.native_handle(), "tiny-conn-watch");
  });
  grpc_connectivity_state state = peer->channel->GetState(/*try_to_connect=*/true);
  peer->last_state = state;
  Arm(peer, state);
}

void ClientPool::Arm(const std::shared_ptr<Peer>& peer, grpc_connectivity_state state) {
  std::lock_guard<std::mutex> arm(arm_mu_);
  if (stopping_) return;
  // The tag is a heap copy of the shared_ptr: the watcher owns it.
  auto* tag = new std::shared_ptr<Peer>(peer);
  TINY_HAND_OVER(tag);
  peer->channel->NotifyOnStateChange(state, WatchDeadline(), &state_cq_, tag);
}

void ClientPool::RunWatcher() {
  void* tag = nullptr;
  bool ok = false;
  while (state_cq_.Next(&tag, &ok)) {
    TINY_HANDED_OVER(tag);
    std::unique_ptr<std::shared_ptr<Peer>> owned(static_cast<std::shared_ptr<Peer>*>(tag));
    const auto& peer = *owned;
    if (stopping_.load()) continue;  // drop the watch; the queue drains
    grpc_connectivity_state state = peer->channel->GetState(false);
    if (state != peer->last_state) {
      if (state == GRPC_CHANNEL_READY) {
        spdlog::info("connected to module module={} address={}", peer->module, LogValue(peer->target));
      } else if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
        spdlog::info("failed to connect to module module={} error={}", peer->module,
                     LogValue("connection failed to " + peer->target));
      } else {
        spdlog::info("connection state changed module={} address={} state={}", peer->module,
                     LogValue(peer->target), StateName(state));
      }
      peer->last_state = state;
    }
    if (state == GRPC_CHANNEL_SHUTDOWN) continue;
    // IDLE after a disconnect: ask to reconnect so the log shows it and the
    // next message finds a ready channel.
    if (state == GRPC_CHANNEL_IDLE) state = peer->channel->GetState(true);
    (void)ok;  // false: the watch timed out with no change; re-arm either way
    Arm(peer, state);
  }
}

void ClientPool::Send(const std::string& module, const std::string& to, const std::string& from,
                      std::string_view data, uint32_t hop, tiny_call* call) {
  auto peer = Get(module);
  if (!peer) {
    FailCall(call, TINY_STATUS_UNAVAILABLE, "module not discovered: " + module);
    return;
  }
  auto owned = std::make_unique<RemoteCall>();
  RemoteCall* rpc = owned.get();  // owned by the callback once tracked
  rpc->call = call;
  rpc->module = module;
  if (Measuring()) {
    rpc->stats = peer->stats;
    rpc->started = Clock::now();
  }
  rpc->request.set_to(to);
  rpc->request.set_from(from);
  rpc->request.set_data(data.data(), data.size());
  auto& md = *rpc->request.mutable_metadata();
  if (call->context.metadata)
    for (const auto& [k, v] : *call->context.metadata) md[k] = v;
  md["hop"] = std::to_string(hop);
  const TraceContext* trace = call->context.trace.get();
  if (trace) {
    md["traceparent"] = trace->TraceParent();  // this hop's span is the peer's parent
    if (!trace->tracestate.empty()) md["tracestate"] = trace->tracestate;
  }
  TraceScope trace_scope(trace);  // the per-message lines below carry it
  if (call->context.deadline != Clock::time_point::max())
    rpc->context.set_deadline(std::chrono::system_clock::now() + (call->context.deadline - Clock::now()));
  if (!Track(rpc)) {
    FailCall(call, TINY_STATUS_UNAVAILABLE, "host is shutting down: no new calls to peer " + module);
    return;
  }
  (void)owned.release();  // the callback owns it now
  if (spdlog::should_log(spdlog::level::debug))
    spdlog::debug("sent message via gRPC to={} module={} address={}", to, module, LogValue(peer->target));
  TINY_HAND_OVER(rpc);
  peer->stub->async()->Send(&rpc->context, &rpc->request, &rpc->response, [this, rpc](grpc::Status status) {
    TINY_HANDED_OVER(rpc);
    // Untracked last (the guard runs after the answer): CancelAndClose
    // returns only once no callback can still touch a call or the pool.
    struct Done {
      ClientPool* pool;
      RemoteCall* rpc;
      ~Done() {
        pool->Untrack(rpc);
        rpc->Unref();
      }
    } untrack{this, rpc};
    if (rpc->stats) {
      rpc->stats->calls[static_cast<int>(status.error_code()) % kStatusCodes].fetch_add(1, std::memory_order_relaxed);
      rpc->stats->latency.Observe(Clock::now() - rpc->started);
    }
    if (!status.ok()) {
      TraceScope answer_trace(rpc->call->context.trace.get());
      if (spdlog::should_log(spdlog::level::debug))
        spdlog::debug("gRPC send failed module={} to={} code={} error={}", rpc->module, rpc->request.to(),
                      static_cast<int>(status.error_code()), LogValue(status.error_message()));
      // The pool cancels a call only at the end of a drain; any other
      // CANCELLED means the peer dropped it (its server shut down). To the
      // caller, either way, the call can be retried elsewhere.
      bool cancelled = status.error_code() == grpc::StatusCode::CANCELLED;
      std::string msg = !cancelled ? status.error_message()
                        : CancelledHere(rpc)
                            ? "host is shutting down: the call to peer " + rpc->module +
                                  " was cancelled at the end of the grace period"
                            : "peer " + rpc->module + " dropped the call: " + status.error_message();
      int32_t code = cancelled ? TINY_STATUS_UNAVAILABLE : static_cast<int32_t>(status.error_code());
      tiny_result r{code, {}, AsBytes(msg)};
      rpc->call->TryComplete(r);
      return;
    }
    const std::string& d = rpc->response.data();
    const std::string& e = rpc->response.error();
    tiny_result r{TINY_STATUS_OK, AsBytes(d), AsBytes(e)};
    rpc->call->TryComplete(r);
  });
}

}  // namespace tiny::host

namespace tiny::host {

bool ClientPool::CancelledHere(RemoteCall* rpc) {
  std::lock_guard<std::mutex> lock(calls_mu_);
  return rpc->cancelled_here;
}

bool ClientPool::Track(RemoteCall* rpc) {
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (closed_) return false;
  rpc->next = calls_;
  if (calls_) calls_->prev = rpc;
  calls_ = rpc;
  ++open_calls_;
  return true;
}

void ClientPool::Untrack(RemoteCall* rpc) {
  std::lock_guard<std::mutex> lock(calls_mu_);
  if (rpc->prev) rpc->prev->next = rpc->next;
  else calls_ = rpc->next;
  if (rpc->next) rpc->next->prev = rpc->prev;
  if (--open_calls_ == 0) calls_cv_.notify_all();
}

size_t ClientPool::open_calls() const {
  std::lock_guard<std::mutex> lock(calls_mu_);
  return open_calls_;
}

bool ClientPool::CancelAndClose(std::chrono::steady_clock::time_point deadline) {
  std::vector<RemoteCall*> open;
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    closed_ = true;
    for (RemoteCall* rpc = calls_; rpc != nullptr; rpc = rpc->next) {
      rpc->cancelled_here = true;
      rpc->refs.fetch_add(1, std::memory_order_relaxed);
      open.push_back(rpc);
    }
  }
  // Outside the lock: the callback (which takes it) may run right here.
  for (RemoteCall* rpc : open) {
    rpc->context.TryCancel();
    rpc->Unref();
  }
  std::unique_lock<std::mutex> lock(calls_mu_);
  return calls_cv_.wait_until(lock, deadline, [this] { return open_calls_ == 0; });
}

}  // namespace tiny::host
