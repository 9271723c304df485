// signal: any message on `in` makes it emit its configured `context` on
// `out`; the answer is the downstream answer.
#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

class Signal final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    context_ = in.value("context").dump();
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (!msg.is_json()) return tiny::Reply::error("in expects JSON");
    return tiny::Reply::forward_raw("out", context_);
  }

 private:
  std::string context_ = "null";  // a setting: fixed before the first message
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
