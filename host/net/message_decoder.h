// Checks an inbound Send before anything is delivered: `to` is node.port,
// `data` is JSON (or empty), metadata `hop` is a number; reads the W3C
// trace context. Pure and cheap;
// the fuzzers drive it with arbitrary bytes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "host/base/json_check.h"
#include "host/base/result.h"
#include "host/base/trace_context.h"
#include "tinysystems/module/v1/module.pb.h"

namespace tiny::host {

struct DecodedSend {
  bool ok = false;
  std::string error;         // INVALID_ARGUMENT message when !ok
  std::string_view node;     // views into the message
  std::string_view port;
  uint32_t hop = 0;
  // Pass-through metadata (never `hop`, `traceparent`, `tracestate`); null
  // when there is none.
  std::shared_ptr<const std::map<std::string, std::string>> metadata;
  // The span of this delivery when metadata `traceparent` is valid W3C (a
  // child of the sender's span), else null: an invalid one is dropped.
  std::shared_ptr<const TraceContext> trace;
};

// Decodes `msg`; the views in the result live as long as `msg`.
DecodedSend DecodeSend(const tinysystems::module::v1::Message& msg);

}  // namespace tiny::host
