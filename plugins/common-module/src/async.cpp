// async: fire-and-forget. Emits each message on `out` and answers at once
// (empty), without waiting for the downstream answer. At most
// maxConcurrency emits are in flight; past that a message is refused with
// an error reply (back-pressure instead of an unbounded queue).
#include <mutex>

#include <tiny/settings.hpp>

#include "components.h"
#include "emit_gate.h"

namespace common_module {
namespace {

constexpr int64_t kMaxConcurrencyLimit = 1'000'000;

class Async final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    max_in_flight_ = static_cast<size_t>(in.integer("maxConcurrency", 1, kMaxConcurrencyLimit));
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (!msg.is_json()) return tiny::Reply::error("in expects JSON");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (in_flight_ >= max_in_flight_)
        return tiny::Reply::error("async has " + std::to_string(in_flight_) +
                                  " messages in flight (maxConcurrency); try again later");
      ++in_flight_;
    }
    // The call is still open here, so the emit inherits its hop count and
    // trace; the answer below completes it right after.
    emit_raw("out", msg.data(), [this](tiny::Result r) { finished(r); }, msg.cause());
    return tiny::Reply::empty();
  }

  void on_destroy() override { gate_.close(); }

 private:
  void finished(const tiny::Result& r) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --in_flight_;
    }
    if (r.ok()) return;
    // The answer may arrive after destroy, when the node handle is dead.
    if (!gate_.enter()) return;
    if (log_enabled(TINY_LOG_WARN))
      log_warn("async downstream failed: status=" + std::to_string(r.status) + " error=" + r.error);
    gate_.leave();
  }

  EmitGate gate_;  // the node handle is live (for logging from late answers)
  size_t max_in_flight_ = 100;  // a setting: fixed before the first message

  std::mutex mu_;  // guards in_flight_
  size_t in_flight_ = 0;
};

}  // namespace

tiny::ComponentSpec async_spec() {
  return tiny::ComponentSpec::of<Async>("async")
      .describe("Emits each message on out and answers at once, with at most maxConcurrency in flight")
      .settings({{"maxConcurrency", 100}})
      .in("in", "any JSON")
      .out("out", "the same JSON; its answer is not awaited");
}

}  // namespace common_module
