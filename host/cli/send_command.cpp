// `tinyhost send`: one Send call and the answer's data on stdout, or a load
// run (--count/--concurrency/--duration/--rate) and its report.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <signal.h>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "host/base/excerpt.h"
#include "host/base/log_histogram.h"
#include "host/cli/commands.h"
#include "host/cli/options.h"
#include "host/net/client_credentials.h"
#include "host/runtime/stats.h"
#include "tinysystems/module/v1/module.grpc.pb.h"

namespace tiny::host {
namespace {

using tinysystems::module::v1::Message;
using tinysystems::module::v1::ModuleService;
using tinysystems::module::v1::Response;
using Clock = std::chrono::steady_clock;

// Error text a peer sent, as this terminal shows it: one line (control
// characters escaped, so no answer can move the cursor or forge a line) and
// at most 1 KiB.
std::string PeerText(const std::string& text) { return UsageError::OneLine(Excerpt(text, 1024)); }

// SIGINT/SIGTERM end a load run early with its report; a second one ends
// the process (SA_RESETHAND).
std::atomic<bool> g_interrupted{false};
void OnInterrupt(int) { g_interrupted.store(true); }

// A load run: `concurrency` slots, each with one call outstanding at a time
// on one channel. Without --rate a slot starts its next call from the
// callback of the last (closed loop, as bench/load_client does); with
// --rate a pacer thread starts the k-th call at t0 + k/rate when a slot is
// free.
class LoadRun {
 public:
  LoadRun(const SendOptions& o, ModuleService::Stub* stub) : o_(o), stub_(stub) {
    request_.set_to(o.to);
    request_.set_from("tinyhost-send");
    request_.set_data(o.data);
    for (const auto& [k, v] : o.metadata) (*request_.mutable_metadata())[k] = v;
    size_t slots = o.concurrency;
    if (o.count > 0 && o.count < slots) slots = static_cast<size_t>(o.count);
    slots_.resize(slots);
    for (auto& s : slots_) s.run = this;
  }

  int Run() {
    started_ = Clock::now();
    if (o_.duration.count() > 0) stop_at_ = started_ + o_.duration;
    if (o_.rate > 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        active_ = 1;  // the pacer, until every slot is back
      }
      std::thread pacer([this] { Pace(); });
      WaitDone();
      pacer.join();
    } else {
      {
        std::lock_guard<std::mutex> lock(mu_);
        active_ = slots_.size();
      }
      for (auto& s : slots_)
        if (!StartNext(s)) SlotIdle();
      WaitDone();
    }
    return Report(std::chrono::duration<double>(finished_ - started_).count());
  }

 private:
  struct Slot {
    LoadRun* run = nullptr;
    grpc::ClientContext* ctx = nullptr;
    Response response;
    Clock::time_point start;
  };

  // Whether another call may start now (and counts it as started).
  bool Claim() {
    if (stopping_.load(std::memory_order_relaxed)) return false;
    if (stop_at_ != Clock::time_point{} && Clock::now() >= stop_at_) return false;
    if (o_.count > 0 && issued_.fetch_add(1, std::memory_order_relaxed) >= o_.count) return false;
    return true;
  }

  bool StartNext(Slot& s) {
    if (!Claim()) return false;
    Start(s);
    return true;
  }

  void Start(Slot& s) {
    delete s.ctx;
    s.ctx = new grpc::ClientContext();
    s.ctx->set_deadline(std::chrono::system_clock::now() + o_.timeout);
    s.response.Clear();
    s.start = Clock::now();
    stub_->async()->Send(s.ctx, &request_, &s.response, [&s](grpc::Status status) { s.run->Done(s, status); });
  }

  void Done(Slot& s, const grpc::Status& status) {
    latency_.Record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - s.start).count()));
    if (!status.ok()) {
      Fail(StatusName(status.error_code()), status.error_message());
    } else if (!s.response.error().empty()) {
      Fail("component_error", s.response.error());
    } else {
      ok_.fetch_add(1, std::memory_order_relaxed);
    }
    if (o_.rate > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(&s);
      cv_.notify_all();
      return;
    }
    if (!StartNext(s)) SlotIdle();
  }

  void Fail(const char* kind, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, first] = errors_.try_emplace(kind);
    if (first) it->second.first = PeerText(message);
    ++it->second.second;
  }

  void SlotIdle() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) {
      finished_ = Clock::now();
      cv_.notify_all();
    }
  }

  // --rate: starts call k at started_ + k / rate on a free slot.
  void Pace() {
    std::unique_lock<std::mutex> lock(mu_);
    for (auto& s : slots_) free_.push_back(&s);
    for (uint64_t k = 0;; ++k) {
      auto due = started_ + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(k) / o_.rate));
      if (stop_at_ != Clock::time_point{} && due >= stop_at_) break;
      cv_.wait_until(lock, due, [&] { return stopping_.load(); });
      cv_.wait(lock, [&] { return !free_.empty() || stopping_; });
      if (stopping_) break;
      lock.unlock();
      bool go = Claim();
      lock.lock();
      if (!go) break;
      Slot* s = free_.back();
      free_.pop_back();
      lock.unlock();
      Start(*s);
      lock.lock();
    }
    cv_.wait(lock, [&] { return free_.size() == slots_.size(); });
    finished_ = Clock::now();
    active_ = 0;
    cv_.notify_all();
  }

  void WaitDone() {
    std::unique_lock<std::mutex> lock(mu_);
    while (active_ > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(50));
      if (g_interrupted.load()) {
        stopping_ = true;  // no new calls; those in flight finish
        cv_.notify_all();
      }
    }
  }

  int Report(double seconds) {
    uint64_t n = latency_.Count();
    uint64_t ok = ok_.load();
    double rps = seconds > 0 ? static_cast<double>(n) / seconds : 0;
    auto us = [&](double q) { return static_cast<double>(latency_.Quantile(q)) / 1000.0; };
    double max_us = static_cast<double>(latency_.Max()) / 1000.0;
    if (o_.json) {
      std::string errors;
      for (const auto& [kind, e] : errors_)
        errors += (errors.empty() ? "\"" : ",\"") + std::string(kind) + "\":" + std::to_string(e.second);
      std::printf(
          "{\"requests\":%llu,\"ok\":%llu,\"errors\":{%s},\"seconds\":%.3f,\"rps\":%.1f,\"concurrency\":%zu,"
          "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f}}\n",
          static_cast<unsigned long long>(n), static_cast<unsigned long long>(ok), errors.c_str(), seconds, rps,
          slots_.size(), us(0.5), us(0.9), us(0.99), max_us);
    } else {
      std::printf("requests: %llu in %.3f s, %.1f req/s, concurrency %zu\n", static_cast<unsigned long long>(n),
                  seconds, rps, slots_.size());
      std::printf("ok: %llu\n", static_cast<unsigned long long>(ok));
      if (!errors_.empty()) {
        std::string line;
        uint64_t failed = 0;
        for (const auto& [kind, e] : errors_) {
          line += (line.empty() ? "" : ", ") + std::string(kind) + " " + std::to_string(e.second);
          failed += e.second;
        }
        std::printf("errors: %llu (%s)\n", static_cast<unsigned long long>(failed), line.c_str());
      }
      std::printf("latency: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n", us(0.5), us(0.9), us(0.99), max_us);
    }
    std::fflush(stdout);
    // The first message of each kind of failure, so a run that fails says why.
    for (const auto& [kind, e] : errors_) std::fprintf(stderr, "first %s: %s\n", kind.c_str(), e.first.c_str());
    if (g_interrupted.load()) std::fprintf(stderr, "interrupted: the report covers the calls made until then\n");
    return errors_.empty() && !g_interrupted.load() ? 0 : 1;
  }

 public:
  ~LoadRun() {
    for (auto& s : slots_) delete s.ctx;
  }

 private:
  const SendOptions& o_;
  ModuleService::Stub* stub_;
  Message request_;
  std::vector<Slot> slots_;
  Clock::time_point started_, finished_, stop_at_{};
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> ok_{0};
  std::atomic<bool> stopping_{false};
  LogHistogram latency_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t active_ = 0;
  std::vector<Slot*> free_;                                            // --rate: slots without a call
  std::map<std::string, std::pair<std::string, uint64_t>> errors_;  // kind -> (first message, count)
};

}  // namespace

int RunSend(const SendOptions& o) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  try {
    creds = ClientCredentials(o.tls);
  } catch (const std::exception& e) {
    std::cerr << "tinyhost: error: " << e.what() << "\n";
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(o.max_message_size));
  args.SetMaxSendMessageSize(static_cast<int>(o.max_message_size));
  auto channel = grpc::CreateCustomChannel(o.address, creds, args);
  auto stub = ModuleService::NewStub(channel);
  if (o.load) {
    struct sigaction sa {};
    sa.sa_handler = OnInterrupt;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    auto run = std::make_unique<LoadRun>(o, stub.get());
    return run->Run();
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + o.timeout);
  Message request;
  request.set_to(o.to);
  request.set_from("tinyhost-send");
  request.set_data(o.data);
  for (const auto& [k, v] : o.metadata) (*request.mutable_metadata())[k] = v;
  Response response;
  grpc::Status status = stub->Send(&ctx, request, &response);
  if (!status.ok()) {
    std::cerr << StatusName(status.error_code()) << ": " << PeerText(status.error_message()) << "\n";
    return 1;
  }
  if (!response.error().empty()) {
    std::cerr << "component error: " << PeerText(response.error()) << "\n";
    return 1;
  }
  std::cout << response.data() << "\n";
  return 0;
}

}  // namespace tiny::host
