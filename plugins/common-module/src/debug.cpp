// debug: logs each message and answers with it, so `tinyhost send` shows
// what arrived.
#include "components.h"

namespace common_module {
namespace {

class Debug final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    if (log_enabled(TINY_LOG_INFO)) {
      std::string line = "debug data=";
      line += msg.data().empty() ? std::string_view("null") : msg.data();
      log_info(line);
    }
    return tiny::Reply::echo(msg);
  }
};

}  // namespace

tiny::ComponentSpec debug_spec() {
  return tiny::ComponentSpec::of<Debug>("debug")
      .describe("Logs each message and answers with it")
      .in("in", "any JSON");
}

}  // namespace common_module
