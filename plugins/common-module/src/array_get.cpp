// array_get: picks one item of `array` by `index` (negative counts from the
// end) and emits {context, item, index} on `out`. An index out of range is
// an error reply, or with enableErrorPort an emit on `error`.
#include <mutex>

#include "components.h"
#include "json_input.h"

namespace common_module {
namespace {

constexpr int64_t kMaxIndex = int64_t{1} << 52;

class ArrayGet final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    if (!s.at("enableErrorPort").is_boolean()) return tiny::Reply::error("enableErrorPort must be true or false");
    std::lock_guard<std::mutex> lock(mu_);
    error_port_ = s.at("enableErrorPort").get<bool>();
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (msg.port() != "in") return tiny::Reply::error("array_get has no input port " + std::string(msg.port()));
    auto body = parse_body(msg.data());
    if (!body || !body->is_object()) return tiny::Reply::error("in expects an object {context, array, index}");
    auto array = body->find("array");
    if (array == body->end() || !array->is_array()) return tiny::Reply::error("array must be an array");
    auto index = body->contains("index") ? integer_in(body->at("index"), -kMaxIndex, kMaxIndex) : std::nullopt;
    if (!index) return tiny::Reply::error(integer_error("index", -kMaxIndex, kMaxIndex, body->value("index", tiny::Json())));
    tiny::Json context = body->value("context", tiny::Json());
    int64_t size = static_cast<int64_t>(array->size());
    int64_t at = *index < 0 ? size + *index : *index;
    if (at < 0 || at >= size) {
      std::string error = "index " + std::to_string(*index) + " is out of range for an array of " +
                          std::to_string(size) + " items";
      bool error_port;
      {
        std::lock_guard<std::mutex> lock(mu_);
        error_port = error_port_;
      }
      if (!error_port) return tiny::Reply::error(error);
      return tiny::Reply::forward("error", {{"context", std::move(context)}, {"error", error},
                                            {"index", *index}, {"size", size}});
    }
    return tiny::Reply::forward(
        "out", {{"context", std::move(context)}, {"item", std::move((*array)[static_cast<size_t>(at)])}, {"index", at}});
  }

 private:
  std::mutex mu_;  // guards error_port_
  bool error_port_ = false;
};

}  // namespace

tiny::ComponentSpec array_get_spec() {
  return tiny::ComponentSpec::of<ArrayGet>("array_get")
      .describe("Emits the array item at index (negative: from the end)")
      .settings({{"enableErrorPort", false}})
      .in("in", "{context, array, index}")
      .out("out", "{context, item, index}")
      .out("error", "{context, error, index, size} when index is out of range (enableErrorPort)");
}

}  // namespace common_module
