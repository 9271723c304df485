// What the http_request component asks the client to do, and what comes
// back. Validation of the `request` message lives here (no Beast), so a bad
// message is rejected before any I/O. [thread: any]
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <tiny/plugin.hpp>

#include "url_codec.h"

namespace http_module {

struct ClientRequest {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;  // as given, validated
  bool has_body = false;
  std::string body;
  std::chrono::milliseconds timeout{30000};  // the whole exchange, redirects included
};

// Parses {method, url, headers, body, timeout}. A non-string body is sent as
// JSON (content-type application/json unless a header says otherwise).
bool parse_client_request(const tiny::Json& in, std::chrono::milliseconds default_timeout, ClientRequest& out,
                          std::string& error);

// Puts the call's trace headers on the request (`traceparent` with a span
// of its own, and `tracestate`), replacing any the flow set under either
// name in any case: the host's span is the parent the server must see.
// Nothing changes when `trace` is empty.
void set_trace_headers(ClientRequest& request, const tiny::TraceHeaders& trace);

struct ClientOutcome {
  bool responded = false;  // an HTTP response arrived (status/headers/body valid)
  unsigned status = 0;
  tiny::Json headers = tiny::Json::object();  // lowercase names, repeats joined with ", "
  std::string body;
  std::string error;       // empty: success
  bool retryable = false;  // 429, 5xx, network errors, timeouts

  bool ok() const { return error.empty(); }
  // {statusCode, headers, body}
  tiny::Json response_json() const;
  // {error, retryable} plus {statusCode, response} when the server answered.
  tiny::Json error_json() const;
};

// Classifies a complete response: status >= 400 is a failure, retryable
// for 429 and 5xx.
void classify_status(ClientOutcome& outcome, std::string_view reason);

}  // namespace http_module
