// ClientPool against real in-process gRPC servers (loopback port 0, or a
// Unix socket in a temp dir): discovery order, the UNAVAILABLE answer for a
// module nobody serves, one channel per module, and what a message carries.
#include "host/net/client_pool.h"

#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/host_test_support.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using tiny::host::CallContext;
using tiny::host::ClientPool;
using tiny::host::ClientPoolOptions;
using tiny::host::Clock;
using tiny::host::ContinueTrace;
using tiny::host::TraceContext;
using tiny::test::Answer;
using tiny::test::RecordingCall;
using tiny::test::TempDir;
using tinysystems::module::v1::Message;
using tinysystems::module::v1::ModuleService;
using tinysystems::module::v1::Response;

// What a peer received.
struct Received {
  std::string to, from, data;
  std::map<std::string, std::string> metadata;
  bool has_deadline = false;
};

// A peer host: answers {"echo": DATA}; "fail.in" with NOT_FOUND, "err.in"
// with a component error.
class RecordingService final : public ModuleService::Service {
 public:
  grpc::Status Send(grpc::ServerContext* ctx, const Message* req, Response* resp) override {
    Received r{
        req->to(), req->from(), req->data(), {}, ctx->deadline() != std::chrono::system_clock::time_point::max()};
    for (const auto& [k, v] : req->metadata()) r.metadata[k] = v;
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(r);
    }
    if (req->to() == "hold.in") {  // answers only once released, or the caller is gone
      std::unique_lock<std::mutex> lock(mu_);
      released_cv_.wait_for(lock, 30s, [&] { return released_ || ctx->IsCancelled(); });
      return grpc::Status(grpc::StatusCode::ABORTED, "held");
    }
    if (req->to() == "fail.in") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no node 'fail'");
    if (req->to() == "err.in") {
      resp->set_error("component failed");
      return grpc::Status::OK;
    }
    resp->set_data(R"({"echo":)" + (req->data().empty() ? std::string("null") : req->data()) + "}");
    return grpc::Status::OK;
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    released_cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable released_cv_;
  bool released_ = false;  // guarded by mu_
  std::vector<Received> received_;  // guarded by mu_
};

class Peer {
 public:
  // `address`: "127.0.0.1:0" (any free port) or "unix:PATH".
  explicit Peer(const std::string& address = "127.0.0.1:0") {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    REQUIRE_MESSAGE(server_ != nullptr, "cannot listen on " << address);
    address_ = address.rfind("unix:", 0) == 0 ? address : "127.0.0.1:" + std::to_string(port);
  }
  ~Peer() { server_->Shutdown(std::chrono::system_clock::now() + 5s); }

  const std::string& address() const { return address_; }
  std::vector<Received> received() { return service_.received(); }
  void Release() { service_.Release(); }

 private:
  RecordingService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

CallContext WithDeadline() {
  CallContext ctx;
  ctx.deadline = Clock::now() + 10s;
  return ctx;
}

// Sends through `pool` and waits (bounded) for the answer.
Answer SendVia(ClientPool& pool, const std::string& module, const std::string& to, const std::string& data = "{}",
               CallContext ctx = WithDeadline(), uint32_t hop = 1) {
  auto* call = new RecordingCall(std::move(ctx));
  auto state = call->state;
  pool.Send(module, to, "test.out", data, hop, call);
  auto answer = state->Wait(15s);
  REQUIRE_MESSAGE(answer.has_value(), "no answer for " << module << " " << to);
  return *answer;
}

ClientPoolOptions Options(std::map<std::string, std::string> peers, std::string discovery_template = "") {
  ClientPoolOptions o;
  o.peers = std::move(peers);
  o.discovery_template = std::move(discovery_template);
  return o;
}

}  // namespace

TEST_CASE("discovery order: --peer, then the template with {module}, else nothing") {
  ClientPool pool(Options({{"static-module", "10.0.0.1:7"}}, "dns:///{module}-v1.tinysystems.svc:50051"));
  CHECK(pool.TargetFor("static-module") == "10.0.0.1:7");
  CHECK(pool.TargetFor("http-module") == "dns:///http-module-v1.tinysystems.svc:50051");
  CHECK(pool.CanReach("static-module"));
  CHECK(pool.CanReach("http-module"));

  ClientPool twice(Options({}, "unix:/run/{module}/{module}.sock"));
  CHECK(twice.TargetFor("m") == "unix:/run/m/m.sock");

  ClientPool static_only(Options({{"a", "h:1"}}));
  CHECK(static_only.TargetFor("b").empty());
  CHECK_FALSE(static_only.CanReach("b"));
  CHECK(static_only.open_channels() == 0);  // asking opens nothing
}

TEST_CASE("a module nobody serves is UNAVAILABLE, naming it, with no channel opened") {
  ClientPool pool(Options({{"a", "h:1"}}));
  Answer a = SendVia(pool, "nosuch-module", "n.in");
  CHECK(a.status == TINY_STATUS_UNAVAILABLE);
  CHECK(a.error == "module not discovered: nosuch-module");
  CHECK(pool.open_channels() == 0);
}

TEST_CASE("a --peer message arrives with to, from, data, hop, metadata and a deadline") {
  Peer peer;
  ClientPool pool(Options({{"test-module", peer.address()}}));
  CallContext ctx = WithDeadline();
  ctx.metadata = std::make_shared<const std::map<std::string, std::string>>(
      std::map<std::string, std::string>{{"tenant", "acme"}});
  Answer a = SendVia(pool, "test-module", "echo.in", R"({"x":1})", ctx, 7);
  CHECK(a.status == TINY_STATUS_OK);
  CHECK(a.data == R"({"echo":{"x":1}})");
  CHECK(a.error.empty());
  auto got = peer.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].to == "echo.in");
  CHECK(got[0].from == "test.out");
  CHECK(got[0].data == R"({"x":1})");
  CHECK(got[0].metadata == std::map<std::string, std::string>{{"hop", "7"}, {"tenant", "acme"}});
  CHECK(got[0].has_deadline);
}

TEST_CASE("a traced call sends its span as the peer's traceparent, with the tracestate") {
  Peer peer;
  ClientPool pool(Options({{"test-module", peer.address()}}));
  CallContext ctx = WithDeadline();
  auto root = ContinueTrace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE");
  REQUIRE(root);
  ctx.trace = std::make_shared<const TraceContext>(root->Child("echo.in"));
  Answer a = SendVia(pool, "test-module", "echo.in", R"({"x":1})", ctx, 1);
  CHECK(a.status == TINY_STATUS_OK);
  auto got = peer.received();
  REQUIRE(got.size() == 1);
  CHECK(got[0].metadata == std::map<std::string, std::string>{{"hop", "1"},
                                                              {"traceparent", ctx.trace->TraceParent()},
                                                              {"tracestate", "congo=t61rcWkgMzE"}});
}

TEST_CASE("the template names the peer: {module} becomes the module's name") {
  TempDir dir;
  Peer peer("unix:" + dir.File("test-module.sock"));
  ClientPool pool(Options({}, "unix:" + dir.File("{module}.sock")));
  Answer a = SendVia(pool, "test-module", "echo.in");
  CHECK(a.status == TINY_STATUS_OK);
  CHECK(peer.received().size() == 1);
  // Another module's name makes another path, where nobody listens.
  Answer down = SendVia(pool, "other-module", "x.in");
  CHECK(down.status == TINY_STATUS_UNAVAILABLE);
}

TEST_CASE("--peer wins over the template") {
  TempDir dir;
  Peer by_template("unix:" + dir.File("test-module.sock"));
  Peer by_peer;
  ClientPool pool(Options({{"test-module", by_peer.address()}}, "unix:" + dir.File("{module}.sock")));
  CHECK(SendVia(pool, "test-module", "echo.in").status == TINY_STATUS_OK);
  CHECK(by_peer.received().size() == 1);
  CHECK(by_template.received().empty());
}

TEST_CASE("one channel per module, reused by every message, from any thread") {
  Peer peer;
  // Two modules served by one peer: still a channel each.
  ClientPool two(Options({{"m1", peer.address()}, {"m2", peer.address()}}));
  for (int i = 0; i < 3; ++i) CHECK(SendVia(two, "m1", "echo.in").status == TINY_STATUS_OK);
  CHECK(two.open_channels() == 1);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i)
        if (SendVia(two, "m2", "echo.in").status == TINY_STATUS_OK) ok.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  CHECK(ok.load() == 20);
  CHECK(two.open_channels() == 2);  // m1's and m2's
  CHECK(peer.received().size() == 23);
}

TEST_CASE("Prewarm opens the static peers' channels once") {
  Peer peer;
  ClientPool pool(Options({{"m1", peer.address()}, {"m2", peer.address()}}));
  pool.Prewarm();
  CHECK(pool.open_channels() == 2);
  CHECK(SendVia(pool, "m1", "echo.in").status == TINY_STATUS_OK);
  pool.Prewarm();
  CHECK(pool.open_channels() == 2);
}

TEST_CASE("a peer's answers: its status, a component error, a peer that is down") {
  Peer peer;
  TempDir dir;
  ClientPool pool(Options({{"up", peer.address()}, {"down", "unix:" + dir.File("nobody.sock")}}));
  Answer not_found = SendVia(pool, "up", "fail.in");
  CHECK(not_found.status == TINY_STATUS_NOT_FOUND);
  CHECK(not_found.error == "no node 'fail'");
  Answer component = SendVia(pool, "up", "err.in");
  CHECK(component.status == TINY_STATUS_OK);
  CHECK(component.error == "component failed");
  Answer down = SendVia(pool, "down", "x.in");
  CHECK(down.status == TINY_STATUS_UNAVAILABLE);
}

TEST_CASE("CancelAndClose ends the calls a peer holds, UNAVAILABLE, and refuses new ones") {
  Peer peer;
  ClientPool pool(Options({{"m", peer.address()}}));
  CallContext ctx;
  ctx.deadline = Clock::now() + 60s;
  auto* call = new RecordingCall(ctx);
  auto state = call->state;
  pool.Send("m", "hold.in", "test.out", "{}", 1, call);
  for (int i = 0; i < 1000 && peer.received().empty(); ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(peer.received().size() == 1);
  CHECK(pool.open_calls() == 1);
  CHECK(pool.CancelAndClose(Clock::now() + 10s));
  CHECK(pool.open_calls() == 0);
  auto answer = state->Wait(1s);
  REQUIRE(answer.has_value());
  CHECK(answer->status == TINY_STATUS_UNAVAILABLE);
  CHECK(answer->error == "host is shutting down: the call to peer m was cancelled at the end of the grace period");
  Answer refused = SendVia(pool, "m", "echo.in");
  CHECK(refused.status == TINY_STATUS_UNAVAILABLE);
  CHECK(refused.error == "host is shutting down: no new calls to peer m");
  peer.Release();
}
