// The two translations the http_server makes between HTTP and the flow:
// a parsed request -> the `request` message, and the flow's answer -> the
// HTTP response. Pure functions of their inputs: [thread: any].
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

#include <tiny/plugin.hpp>

namespace http_module {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// What a response needs to know about the request it answers.
struct RequestFacts {
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;  // HEAD: send the headers of the would-be body, no body
};

// {method, path, query{}, headers{}, body, remote} as JSON text. The path is
// percent-decoded, query values are strings, header names are lowercase and
// repeated headers are joined with ", ". Bytes that are not UTF-8 are
// replaced (U+FFFD) so the message is always valid JSON.
std::string request_to_json(const HttpRequest& req, std::string_view remote);

// The request's W3C trace headers (names are case-insensitive). A repeated
// traceparent is invalid (W3C 3.2), so it is passed on empty: the host
// starts a new trace. Repeated tracestate fields join with ',' (W3C 3.3).
tiny::TraceHeaders trace_headers(const HttpRequest& req);

// The flow's answer to one request. `problem` is set to a line for the log
// when the answer could not be used as given (never sent to the client).
//  - error result or non-OK status        -> 500, short body
//  - empty answer (nothing wired/answered) -> 404 "no flow answered this request"
//  - an object with any of statusCode, headers, contentType, body
//                                         -> that response
//  - any other JSON value                 -> 200 with the value as application/json
HttpResponse response_from_answer(const tiny::Result& answer, const RequestFacts& facts, std::string& problem);

// A fixed text response (errors the server produces itself: 400, 413, 504).
HttpResponse text_response(http::status status, std::string_view text, const RequestFacts& facts);

}  // namespace http_module
