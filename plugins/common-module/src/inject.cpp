// inject: emits its configured `data` on `out` when asked on `_control`
// ({"inject": true}, the button of an editor) and, with onStart, once each
// time its settings arrive.
#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

class Inject final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    bool on_start = in.boolean("onStart");
    data_ = in.value("data").dump();
    if (!in.ok()) return in.reply();
    // After the settings answer, not inside it: the node is configured
    // (and the flow started) before anything leaves it.
    if (on_start) start_timer(0, [this] { emit_raw("out", data_); });
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    const tiny::Json* control = msg.try_json();
    if (!control || !control->is_object() || !control->contains("inject") || !control->at("inject").is_boolean())
      return tiny::Reply::error("_control expects {\"inject\": true}");
    if (!control->at("inject").get<bool>()) return tiny::Reply::empty();
    return tiny::Reply::forward_raw("out", data_);
  }

 private:
  std::string data_ = "null";  // a setting: fixed before the first message
};

}  // namespace

tiny::ComponentSpec inject_spec() {
  return tiny::ComponentSpec::of<Inject>("inject")
      .describe("Emits its configured data on out when triggered on _control, and optionally on start")
      .settings({{"data", nullptr}, {"onStart", false}})
      .in("_control", "{\"inject\": true}")
      .out("out", "the configured data");
}

}  // namespace common_module
