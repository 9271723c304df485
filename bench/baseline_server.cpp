// The gRPC baseline: a bare C++ callback-API server on the same proto.
// ModuleService.Send answers with the request's data, nothing else: no
// routing, no JSON check, no timers. bench/run.sh runs the same load
// against it and against a tinyhost to get the benchmark grid's ratios.
//
//   baseline_server [--listen 127.0.0.1:0] [--health] [--reflection]
//                   [--reactor default|custom|custom-inline] [--no-deadlock-detection]
//
// --health and --reflection add what tinyhost's server also registers (the
// default health service, the v1alpha reflection service), to isolate what
// those cost; bench/run.sh uses the bare server as the baseline.
// --reactor picks how Send answers: `default` (ctx->DefaultReactor(), the
// baseline), `custom` (a heap ServerUnaryReactor subclass with OnDone and
// OnCancel, as tinyhost's SendReactor), `custom-inline` (the same, declaring
// InternalInlineable() so gRPC runs OnDone inline instead of on its executor).
// --no-deadlock-detection turns off Abseil's mutex deadlock detection, which
// Debian's libabsl leaves on (every absl::Mutex lock under another lock
// updates a global lock graph, GraphCycles, inside gRPC).
//
// Prints "serving address=HOST:PORT" (the line the harness and run.sh
// parse) once it listens; SIGTERM/SIGINT stop it.
#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tinysystems/module/v1/module.grpc.pb.h"

namespace {

using tinysystems::module::v1::Message;
using tinysystems::module::v1::ModuleService;
using tinysystems::module::v1::Response;

enum class ReactorKind { kDefault, kCustom, kCustomInline };

// A reactor as an application writes one: it lives on the heap until OnDone.
template <bool kInline>
class OwnReactor final : public grpc::ServerUnaryReactor {
 public:
  OwnReactor() = default;
  void OnDone() override { delete this; }
  void OnCancel() override {}
  // Not gRPC API ("for internally-defined reactors with trivial reactions"):
  // false, the default, makes gRPC hand OnDone to its executor threads.
  bool InternalInlineable() override { return kInline; }
};

class EchoService final : public ModuleService::CallbackService {
 public:
  explicit EchoService(ReactorKind kind) : kind_(kind) {}

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* ctx, const Message* request,
                                 Response* response) override {
    response->set_data(request->data());
    grpc::ServerUnaryReactor* reactor;
    switch (kind_) {
      case ReactorKind::kCustom: reactor = new OwnReactor<false>(); break;
      case ReactorKind::kCustomInline: reactor = new OwnReactor<true>(); break;
      default: reactor = ctx->DefaultReactor(); break;
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  ReactorKind kind_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  bool health = false;
  bool reflection = false;
  ReactorKind kind = ReactorKind::kDefault;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      listen = argv[++i];
    } else if (std::strcmp(argv[i], "--health") == 0) {
      health = true;
    } else if (std::strcmp(argv[i], "--reflection") == 0) {
      reflection = true;
    } else if (std::strcmp(argv[i], "--reactor") == 0 && i + 1 < argc) {
      std::string k = argv[++i];
      if (k == "custom") kind = ReactorKind::kCustom;
      else if (k == "custom-inline") kind = ReactorKind::kCustomInline;
      else if (k != "default") return 2;
    } else if (std::strcmp(argv[i], "--no-deadlock-detection") == 0) {
      absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    } else {
      std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--health] [--reflection] [--reactor default|custom|custom-inline]\n"
                   "          [--no-deadlock-detection]\n", argv[0]);
      return 2;
    }
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before gRPC starts its threads

  if (health) grpc::EnableDefaultHealthCheckService(true);
  if (reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  EchoService service(kind);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "baseline_server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::printf("serving address=%s:%d\n", listen.substr(0, listen.rfind(':')).c_str(), port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  server->Wait();
  return 0;
}
