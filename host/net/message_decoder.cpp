#include "host/net/message_decoder.h"

#include <charconv>

#include "host/base/excerpt.h"
#include "host/base/names.h"

namespace tiny::host {

DecodedSend DecodeSend(const tinysystems::module::v1::Message& msg) {
  DecodedSend out;
  std::shared_ptr<std::map<std::string, std::string>> extra;
  const std::string* traceparent = nullptr;
  std::string_view tracestate;
  for (const auto& [key, value] : msg.metadata()) {
    if (key == "traceparent") {
      traceparent = &value;
    } else if (key == "tracestate") {
      tracestate = value;
    } else if (key == "hop") {
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
  if (traceparent)
    if (auto sender = ContinueTrace(*traceparent, tracestate))
      out.trace = std::make_shared<const TraceContext>(sender->Child(msg.to()));
  out.ok = true;
  return out;
}

}  // namespace tiny::host
