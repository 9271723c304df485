// retry: emits each message on `out` and answers with the downstream
// answer; when that answer is a failure, emits again after a backoff (host
// timers), up to maxAttempts emits in all. The backoff before attempt n+1
// is backoff * multiplier^(n-1) ms, capped at maxBackoff. After the last
// attempt the answer is the last failure, or with enableErrorPort the
// downstream answer of an emit on `error` {context, error, attempts}.
// Routing failures that a retry cannot fix (INVALID_ARGUMENT, NOT_FOUND,
// FAILED_PRECONDITION: bad address, missing node, a cycle) are not retried.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include <tiny/settings.hpp>

#include "components.h"
#include "emit_gate.h"

namespace common_module {
namespace {

constexpr int64_t kMaxAttemptsLimit = 1000;
constexpr int64_t kMaxBackoffMs = 86'400'000;

struct RetryConfig {
  int64_t max_attempts = 3;
  int64_t backoff_ms = 1000;
  double multiplier = 2.0;
  int64_t max_backoff_ms = 60000;
  bool error_port = false;
};

// One message being retried. Its steps are sequential (emit, answer,
// timer, emit ...), so only the hand-over between them needs the lock.
struct RetryJob {
  tiny::Call call;
  std::string data;
  int64_t attempts = 0;
};

bool retryable(const tiny::Result& r) {
  return r.status != TINY_STATUS_INVALID_ARGUMENT && r.status != TINY_STATUS_NOT_FOUND &&
         r.status != TINY_STATUS_FAILED_PRECONDITION;
}

std::string describe_failure(const tiny::Result& r) {
  if (r.status == TINY_STATUS_OK) return r.error;
  return "status " + std::to_string(r.status) + (r.error.empty() ? std::string() : ": " + r.error);
}

class Retry final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    config_.max_attempts = in.integer("maxAttempts", 1, kMaxAttemptsLimit);
    config_.backoff_ms = in.integer("backoff", 0, kMaxBackoffMs, "milliseconds");
    config_.multiplier = in.number("multiplier", 1, 100);
    config_.max_backoff_ms = in.integer("maxBackoff", 0, kMaxBackoffMs, "milliseconds");
    config_.error_port = in.boolean("enableErrorPort");
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (!msg.is_json()) return tiny::Reply::error("in expects JSON");
    auto job = std::make_shared<RetryJob>();
    job->data = std::string(msg.data());
    job->call = msg.defer();
    attempt(job);
    return tiny::Reply::deferred();
  }

  void on_destroy() override {
    gate_.close();  // no emit or timer starts from here on
    std::map<RetryJob*, std::shared_ptr<RetryJob>> waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      waiting.swap(waiting_);
    }
    for (auto& [ptr, job] : waiting) job->call.complete(tiny::Reply::error("node destroyed while waiting to retry"));
  }

 private:
  void attempt(const std::shared_ptr<RetryJob>& job) {
    if (!gate_.enter()) {
      job->call.complete(tiny::Reply::error("node destroyed while retrying"));
      return;
    }
    ++job->attempts;
    emit_raw("out", job->data, [this, job](tiny::Result r) { answered(job, std::move(r)); }, job->call.handle());
    gate_.leave();
  }

  void answered(const std::shared_ptr<RetryJob>& job, tiny::Result r) {
    if (r.ok()) {
      job->call.complete(r);
      return;
    }
    if (!retryable(r) || job->attempts >= config_.max_attempts) {
      give_up(job, r);
      return;
    }
    const RetryConfig& c = config_;
    double wait = static_cast<double>(c.backoff_ms) * std::pow(c.multiplier, static_cast<double>(job->attempts - 1));
    auto wait_ms = static_cast<uint64_t>(std::min(wait, static_cast<double>(c.max_backoff_ms)));
    if (!gate_.enter()) {
      job->call.complete(r);
      return;
    }
    tiny::TimerId timer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Registered before the timer can fire, so wake() finds it.
      waiting_[job.get()] = job;
      timer = start_timer(wait_ms, [this, job] { wake(job); });
      if (timer == 0) waiting_.erase(job.get());
    }
    gate_.leave();
    if (timer == 0) job->call.complete(r);  // node shutting down: the last failure stands
  }

  void wake(const std::shared_ptr<RetryJob>& job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (waiting_.erase(job.get()) == 0) return;  // answered by on_destroy
    }
    attempt(job);
  }

  void give_up(const std::shared_ptr<RetryJob>& job, const tiny::Result& last) {
    if (!config_.error_port || !gate_.enter()) {
      job->call.complete(last);
      return;
    }
    // The data was checked on arrival, so it parses (empty: null).
    tiny::Json context = job->data.empty() ? tiny::Json() : tiny::Json::parse(job->data, nullptr, false);
    tiny::Json report = {{"context", std::move(context)},
                         {"error", describe_failure(last)},
                         {"attempts", job->attempts}};
    job->call.complete(tiny::Reply::forward("error", report));
    gate_.leave();
  }

  EmitGate gate_;  // emits and timer starts happen only while the node lives
  RetryConfig config_;  // settings: fixed before the first message

  std::mutex mu_;  // guards waiting_
  std::map<RetryJob*, std::shared_ptr<RetryJob>> waiting_;  // jobs sleeping on a timer
};

}  // namespace

tiny::ComponentSpec retry_spec() {
  return tiny::ComponentSpec::of<Retry>("retry")
      .describe("Emits on out and retries failed answers with exponential backoff")
      .settings({{"maxAttempts", 3},
                 {"backoff", 1000},
                 {"multiplier", 2.0},
                 {"maxBackoff", 60000},
                 {"enableErrorPort", false}})
      .in("in", "any JSON")
      .out("out", "the same JSON, once per attempt")
      .out("error", "{context, error, attempts} after the last attempt failed (enableErrorPort)");
}

}  // namespace common_module
