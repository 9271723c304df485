// array_get: picks one item of `array` by `index` (negative counts from the
// end) and emits {context, item, index} on `out`. An index out of range is
// an error reply, or with enableErrorPort an emit on `error`.
#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

constexpr int64_t kMaxIndex = int64_t{1} << 52;

class ArrayGet final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    error_port_ = in.boolean("enableErrorPort");
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    // An owned parse, not msg.json(): the item moves into the answer.
    tiny::Json body = tiny::Json::parse(msg.data(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) return tiny::Reply::error("in expects an object {context, array, index}");
    auto array = body.find("array");
    if (array == body.end() || !array->is_array()) return tiny::Reply::error("array must be an array");
    tiny::Json given = body.value("index", tiny::Json());
    auto index = tiny::integer_in(given, -kMaxIndex, kMaxIndex);
    if (!index) return tiny::Reply::error("index " + tiny::integer_rule(-kMaxIndex, kMaxIndex, given));
    tiny::Json context = body.value("context", tiny::Json());
    int64_t size = static_cast<int64_t>(array->size());
    int64_t at = *index < 0 ? size + *index : *index;
    if (at < 0 || at >= size) {
      std::string error = "index " + std::to_string(*index) + " is out of range for an array of " +
                          std::to_string(size) + " items";
      if (!error_port_) return tiny::Reply::error(error);
      return tiny::Reply::forward("error", {{"context", std::move(context)}, {"error", error},
                                            {"index", *index}, {"size", size}});
    }
    return tiny::Reply::forward(
        "out", {{"context", std::move(context)}, {"item", std::move((*array)[static_cast<size_t>(at)])}, {"index", at}});
  }

 private:
  bool error_port_ = false;  // a setting: fixed before the first message
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
