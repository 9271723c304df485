#include "host/net/message_decoder.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <charconv>

#include "host/base/excerpt.h"
#include "host/base/names.h"

namespace tiny::host {

namespace {

// A thread's parser keeps its buffers for the next message up to this size;
// after a larger one they go back (a 4 MiB message grows them to ~50 MiB).
constexpr size_t kKeptCapacity = 1 << 20;

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

Result CheckJsonText(std::string_view data) {
  if (data.empty()) return Result::Ok();
  simdjson::dom::parser& parser = ThreadParser();
  simdjson::padded_string padded(data);
  auto error = parser.parse(padded).error();
  const size_t max_depth = parser.max_depth();
  if (parser.capacity() > kKeptCapacity) parser = simdjson::dom::parser();
  if (!error) return Result::Ok();
  // Components read JSON with nlohmann::json, which takes integers beyond
  // 64 bits (as doubles) where simdjson stops: for a number simdjson
  // refuses, nlohmann decides, so the check and the components agree.
  if (error == simdjson::NUMBER_ERROR && nlohmann::json::accept(data))
    return Result::Ok();
  // The two a user can act on get plain words; the rest simdjson's.
  if (error == simdjson::DEPTH_ERROR) return Result::Error("nested deeper than " + std::to_string(max_depth) + " levels");
  if (error == simdjson::UTF8_ERROR) return Result::Error("not valid UTF-8");
  return Result::Error(simdjson::error_message(error));
}

size_t JsonCheckCapacity() { return ThreadParser().capacity(); }

DecodedSend DecodeSend(const tinysystems::module::v1::Message& msg) {
  DecodedSend out;
  std::shared_ptr<std::map<std::string, std::string>> extra;
  for (const auto& [key, value] : msg.metadata()) {
    if (key == "hop") {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out.hop);
      if (ec != std::errc() || p != value.data() + value.size()) {
        out.error = "metadata 'hop' is not a non-negative integer";
        return out;
      }
    } else {
      if (!extra) extra = std::make_shared<std::map<std::string, std::string>>();
      (*extra)[key] = value;
    }
  }
  auto address = SplitAddress(msg.to());
  if (!address) {
    out.error = "to '" + Excerpt(msg.to(), 200) + "' is not node.port";
    return out;
  }
  if (Result json = CheckJsonText(msg.data()); !json.ok()) {
    out.error = "data is not valid JSON: " + json.message();
    return out;
  }
  out.node = address->first;
  out.port = address->second;
  out.metadata = std::move(extra);
  out.ok = true;
  return out;
}

}  // namespace tiny::host
