// A closed-loop gRPC load client on the callback API.
//
//   load_client --address 127.0.0.1:PORT [--to node.port] [--data JSON]
//               [--connections N] [--streams M]
//               [--duration SECONDS [--warmup SECONDS] | --requests K]
//               [--deadline-ms D] [--format text|json]
//
// N channels, each a separate TCP connection (every channel gets a
// distinct channel argument and a local subchannel pool, so gRPC cannot
// share one subchannel between them), with M calls in flight on each: a
// completed call starts the next one from its callback. The result is one
// line: requests per second over the measured window and the p50/p99
// latency of the calls completed in it.
//
// --duration: run --warmup seconds unmeasured, then --duration measured.
// --requests: exactly K calls (no warmup), for instruction-count profiles.
// --deadline-ms 0 sends no deadline (as h2load does).
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tinysystems/module/v1/module.grpc.pb.h"

namespace {

using tinysystems::module::v1::Message;
using tinysystems::module::v1::ModuleService;
using tinysystems::module::v1::Response;
using Clock = std::chrono::steady_clock;

struct Config {
  std::string address;
  std::string to = "echo.in";
  std::string data = R"({"x":1,"msg":"hello"})";
  int connections = 1;
  int streams = 1;
  double duration = 5;
  double warmup = 1;
  long requests = 0;  // > 0: request-count mode
  long deadline_ms = 10000;
  bool json = false;
};

enum Phase : int { kWarmup = 0, kMeasure = 1, kStop = 2 };

class Runner;

// One in-flight call slot: exactly one call outstanding at a time, so its
// fields need no lock.
struct Slot {
  Runner* runner = nullptr;
  ModuleService::Stub* stub = nullptr;
  std::unique_ptr<grpc::ClientContext> ctx;
  Response response;
  Clock::time_point start;
  std::vector<uint32_t> latency_ns;
  long ok = 0, errors = 0, mismatches = 0;
  std::string first_error;
};

class Runner {
 public:
  explicit Runner(const Config& c) : cfg_(c) {
    request_.set_to(c.to);
    request_.set_from("bench.client");
    request_.set_data(c.data);
  }

  int Run() {
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    std::vector<std::unique_ptr<ModuleService::Stub>> stubs;
    for (int i = 0; i < cfg_.connections; ++i) {
      grpc::ChannelArguments args;
      args.SetInt("tiny.bench.connection", i);  // a distinct key: a distinct subchannel
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto ch = grpc::CreateCustomChannel(cfg_.address, grpc::InsecureChannelCredentials(), args);
      if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
        std::fprintf(stderr, "load_client: cannot connect to %s\n", cfg_.address.c_str());
        return 1;
      }
      stubs.push_back(ModuleService::NewStub(ch));
      channels.push_back(std::move(ch));
    }
    slots_.resize(static_cast<size_t>(cfg_.connections) * cfg_.streams);
    for (size_t i = 0; i < slots_.size(); ++i) {
      slots_[i].runner = this;
      slots_[i].stub = stubs[i / cfg_.streams].get();
      slots_[i].latency_ns.reserve(1 << 16);
    }
    bool counted = cfg_.requests > 0;
    phase_ = counted ? kMeasure : kWarmup;
    active_ = static_cast<long>(slots_.size());
    auto t0 = Clock::now();
    for (auto& s : slots_) {
      if (counted && issued_.fetch_add(1) >= cfg_.requests) {
        Finished();
        continue;
      }
      Start(s);
    }
    Clock::time_point t1;
    if (counted) {
      WaitIdle();
      t1 = Clock::now();
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(cfg_.warmup));
      t0 = Clock::now();
      phase_ = kMeasure;
      std::this_thread::sleep_for(std::chrono::duration<double>(cfg_.duration));
      t1 = Clock::now();
      phase_ = kStop;
      WaitIdle();
    }
    Report(std::chrono::duration<double>(t1 - t0).count());
    return 0;
  }

 private:
  void Start(Slot& s) {
    s.ctx = std::make_unique<grpc::ClientContext>();
    if (cfg_.deadline_ms > 0)
      s.ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(cfg_.deadline_ms));
    s.response.Clear();
    s.start = Clock::now();
    s.stub->async()->Send(s.ctx.get(), &request_, &s.response, [&s](grpc::Status status) {
      s.runner->OnDone(s, status);
    });
  }

  void OnDone(Slot& s, const grpc::Status& status) {
    auto now = Clock::now();
    if (phase_.load(std::memory_order_relaxed) == kMeasure) {
      s.latency_ns.push_back(static_cast<uint32_t>(
          std::min<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - s.start).count(), UINT32_MAX)));
      if (!status.ok()) {
        if (s.errors++ == 0) s.first_error = std::to_string(status.error_code()) + " " + status.error_message();
      } else if (s.response.data() != request_.data() || !s.response.error().empty()) {
        ++s.mismatches;
      } else {
        ++s.ok;
      }
    }
    bool more = cfg_.requests > 0 ? issued_.fetch_add(1) < cfg_.requests
                                  : phase_.load(std::memory_order_relaxed) != kStop;
    if (more) {
      Start(s);
    } else {
      Finished();
    }
  }

  void Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) idle_.notify_all();
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [&] { return active_ == 0; });
  }

  void Report(double seconds) {
    std::vector<uint32_t> all;
    long ok = 0, errors = 0, mismatches = 0;
    std::string first_error;
    for (auto& s : slots_) {
      all.insert(all.end(), s.latency_ns.begin(), s.latency_ns.end());
      ok += s.ok;
      errors += s.errors;
      mismatches += s.mismatches;
      if (first_error.empty()) first_error = s.first_error;
    }
    auto pct = [&](double p) -> double {
      if (all.empty()) return 0;
      size_t k = std::min(all.size() - 1, static_cast<size_t>(p * all.size()));
      std::nth_element(all.begin(), all.begin() + static_cast<long>(k), all.end());
      return all[k] / 1000.0;
    };
    double p50 = pct(0.50), p99 = pct(0.99);
    double rps = seconds > 0 ? static_cast<double>(all.size()) / seconds : 0;
    if (cfg_.json) {
      std::printf(R"({"rps":%.1f,"p50_us":%.1f,"p99_us":%.1f,"ok":%ld,"errors":%ld,"mismatches":%ld,"seconds":%.3f})"
                  "\n", rps, p50, p99, ok, errors, mismatches, seconds);
    } else {
      std::printf("rps=%.1f p50_us=%.1f p99_us=%.1f ok=%ld errors=%ld mismatches=%ld seconds=%.3f\n", rps, p50,
                  p99, ok, errors, mismatches, seconds);
    }
    if (!first_error.empty()) std::fprintf(stderr, "load_client: first error: %s\n", first_error.c_str());
    std::fflush(stdout);
  }

  const Config& cfg_;
  Message request_;
  std::vector<Slot> slots_;
  std::atomic<int> phase_{kWarmup};
  std::atomic<long> issued_{0};
  std::mutex mu_;
  std::condition_variable idle_;
  long active_ = 0;
};

[[noreturn]] void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --address HOST:PORT [--to node.port] [--data JSON] [--connections N] [--streams M]\n"
               "          [--duration S] [--warmup S] [--requests K] [--deadline-ms D] [--format text|json]\n",
               argv0);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(argv[0]);
      return argv[++i];
    };
    if (a == "--address") c.address = next();
    else if (a == "--to") c.to = next();
    else if (a == "--data") c.data = next();
    else if (a == "--connections") c.connections = std::atoi(next().c_str());
    else if (a == "--streams") c.streams = std::atoi(next().c_str());
    else if (a == "--duration") c.duration = std::atof(next().c_str());
    else if (a == "--warmup") c.warmup = std::atof(next().c_str());
    else if (a == "--requests") c.requests = std::atol(next().c_str());
    else if (a == "--deadline-ms") c.deadline_ms = std::atol(next().c_str());
    else if (a == "--format") c.json = next() == "json";
    else Usage(argv[0]);
  }
  if (c.address.empty() || c.connections < 1 || c.streams < 1 || c.duration <= 0 || c.warmup < 0) Usage(argv[0]);
  Runner runner(c);
  return runner.Run();
}
