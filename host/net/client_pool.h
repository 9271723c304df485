// The client pool: one channel per remote module, reused for every
// message, found by static peers or a discovery template.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "host/runtime/remote_sender.h"
#include "host/runtime/stats.h"
#include "tinysystems/module/v1/module.grpc.pb.h"

namespace tiny::host {

struct ClientPoolOptions {
  std::map<std::string, std::string> peers;  // module -> address
  std::string discovery_template;            // "dns:///{module}-v1...:50051"
  std::chrono::milliseconds keepalive_time{10000};
  std::chrono::milliseconds keepalive_timeout{3000};
  size_t max_message_size = 4 * 1024 * 1024;
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // null: insecure
};

class ClientPool final : public RemoteSender {
 public:
  explicit ClientPool(ClientPoolOptions options);
  ~ClientPool() override;

  // True iff `module` has a static peer or a template can name it.
  bool CanReach(std::string_view module) const;
  // Opens the channels of the static peers now, so the first message does
  // not pay for the connection.
  void Prewarm();
  // The target a module resolves to ("" when not discovered).
  std::string TargetFor(std::string_view module) const;
  // How many channels are open: one per module reached so far. [thread: any]
  size_t open_channels() const;

  void Send(const std::string& module, const std::string& to, const std::string& from, std::string_view data,
            uint32_t hop, tiny_call* call) override;

  // Each peer module reached so far, for /metrics and /status. [thread: any]
  struct PeerView {
    std::string module;
    std::string target;
    grpc_connectivity_state state;
    std::shared_ptr<const PeerStats> stats;
  };
  std::vector<PeerView> Peers() const;

  // Calls to peers not answered yet. [thread: any]
  size_t open_calls() const;
  // For the end of a drain: refuses new calls (UNAVAILABLE), cancels the
  // open ones (their callers get UNAVAILABLE) and waits until `deadline`
  // for gRPC to hand their last callbacks back, so that no answer arrives
  // after the scheduler is gone. True iff none is left. [thread: one]
  bool CancelAndClose(std::chrono::steady_clock::time_point deadline);

 private:
  struct RemoteCall;
  struct Peer {
    std::string module;
    std::string target;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<tinysystems::module::v1::ModuleService::Stub> stub;
    grpc_connectivity_state last_state = GRPC_CHANNEL_IDLE;
    std::shared_ptr<PeerStats> stats = std::make_shared<PeerStats>();
  };

  std::shared_ptr<Peer> Get(const std::string& module);
  std::shared_ptr<Peer> Open(const std::string& module, const std::string& target);
  void Watch(const std::shared_ptr<Peer>& peer);
  // Asks the watcher to hear of `peer` leaving `state`, unless stopping.
  void Arm(const std::shared_ptr<Peer>& peer, grpc_connectivity_state state);
  void RunWatcher();

  const ClientPoolOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Peer>> peers_;  // guarded by mu_
  grpc::CompletionQueue state_cq_;  // connectivity watches, served by watcher_
  std::once_flag watcher_started_;
  std::thread watcher_;
  std::mutex arm_mu_;  // orders arming watches against the queue's shutdown
  std::atomic<bool> stopping_{false};  // set under arm_mu_

  // Calls in flight, for CancelAndClose (an intrusive list under calls_mu_).
  bool Track(RemoteCall* rpc);  // false once closed
  bool CancelledHere(RemoteCall* rpc);
  void Untrack(RemoteCall* rpc);
  mutable std::mutex calls_mu_;
  std::condition_variable calls_cv_;
  RemoteCall* calls_ = nullptr;  // guarded by calls_mu_
  size_t open_calls_ = 0;        // guarded by calls_mu_
  bool closed_ = false;          // guarded by calls_mu_
};

}  // namespace tiny::host
