// signal: any message on `in` makes it emit its configured `context` on
// `out`; the answer is the downstream answer.
#include <mutex>

#include "components.h"
#include "json_input.h"

namespace common_module {
namespace {

class Signal final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    context_ = s.at("context").dump();
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (msg.port() != "in") return tiny::Reply::error("signal has no input port " + std::string(msg.port()));
    if (!is_json(msg.data())) return tiny::Reply::error("in expects JSON");
    std::lock_guard<std::mutex> lock(mu_);
    return tiny::Reply::forward_raw("out", context_);
  }

 private:
  std::mutex mu_;  // guards context_
  std::string context_ = "null";
};

}  // namespace

tiny::ComponentSpec signal_spec() {
  return tiny::ComponentSpec::of<Signal>("signal")
      .describe("Emits its configured context on out whenever anything arrives on in")
      .settings({{"context", nullptr}})
      .in("in", "any JSON: the trigger (its content is ignored)")
      .out("out", "the configured context");
}

}  // namespace common_module
