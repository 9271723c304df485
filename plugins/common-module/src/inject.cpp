// inject: emits its configured `data` on `out` when asked on `_control`
// ({"inject": true}, the button of an editor) and, with onStart, once each
// time its settings arrive.
#include <mutex>

#include "components.h"
#include "json_input.h"

namespace common_module {
namespace {

class Inject final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    if (!s.at("onStart").is_boolean()) return tiny::Reply::error("onStart must be true or false");
    std::lock_guard<std::mutex> lock(mu_);
    data_ = s.at("data").dump();
    if (s.at("onStart").get<bool>()) {
      // After the settings answer, not inside it: the node is configured
      // (and the flow started) before anything leaves it.
      std::string data = data_;
      start_timer(0, [this, data] { emit_raw("out", data); });
    }
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    auto control = parse_body(msg.data());
    if (msg.port() != "_control" || !control || !control->is_object() || !control->contains("inject") ||
        !control->at("inject").is_boolean())
      return tiny::Reply::error("_control expects {\"inject\": true}");
    if (!control->at("inject").get<bool>()) return tiny::Reply::empty();
    std::lock_guard<std::mutex> lock(mu_);
    return tiny::Reply::forward_raw("out", data_);
  }

 private:
  std::mutex mu_;  // guards data_
  std::string data_ = "null";
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
