// The W3C trace headers the http_server reads and http_request writes.
#include <doctest/doctest.h>

#include "client_request.h"
#include "server_mapping.h"

using namespace http_module;

namespace {

constexpr const char* kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

size_t count(const ClientRequest& r, std::string_view name) {
  size_t n = 0;
  for (const auto& h : r.headers) n += h.first == name;
  return n;
}

}  // namespace

TEST_CASE("http_server: trace headers are read in any case; repeated tracestate fields join") {
  HttpRequest req;
  req.set("TraceParent", kParent);
  req.insert("TRACESTATE", "congo=1");
  req.insert("tracestate", "rojo=2");
  tiny::TraceHeaders t = trace_headers(req);
  CHECK(t.traceparent == kParent);
  CHECK(t.tracestate == "congo=1,rojo=2");
}

TEST_CASE("http_server: no traceparent, or a repeated one, is passed on empty (a new trace)") {
  HttpRequest none;
  none.set("tracestate", "congo=1");
  CHECK(trace_headers(none).empty());
  HttpRequest twice;
  twice.insert("traceparent", kParent);
  twice.insert("traceparent", kParent);
  CHECK(trace_headers(twice).empty());
}

TEST_CASE("http_request: the call's trace replaces trace headers the flow set, in any case") {
  ClientRequest r;
  r.headers = {{"Accept", "*/*"}, {"TraceParent", "00-bogus"}, {"TRACESTATE", "x=1"}};
  set_trace_headers(r, tiny::TraceHeaders{kParent, "congo=1"});
  CHECK(count(r, "traceparent") == 1);
  CHECK(count(r, "tracestate") == 1);
  CHECK(count(r, "TraceParent") == 0);
  CHECK(count(r, "TRACESTATE") == 0);
  CHECK(r.headers.front() == std::pair<std::string, std::string>{"Accept", "*/*"});
  CHECK(r.headers[1].second == kParent);
  CHECK(r.headers[2].second == "congo=1");
}

TEST_CASE("http_request: an untraced call leaves the headers as the flow set them") {
  ClientRequest r;
  r.headers = {{"traceparent", "flow's own"}};
  set_trace_headers(r, tiny::TraceHeaders{});
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0].second == "flow's own");
  set_trace_headers(r, tiny::TraceHeaders{kParent, ""});
  REQUIRE(r.headers.size() == 1);  // no empty tracestate is added
  CHECK(r.headers[0].second == kParent);
}
