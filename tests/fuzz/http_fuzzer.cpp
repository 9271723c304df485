// libFuzzer: raw bytes from a peer into the http_server's own connection
// code: a Session (Beast's request parser with the server's header limit,
// the framing rules of http_framing, 100-continue, keep-alive, the answer)
// on one end of a socketpair; the input is written to the other end, which
// then shuts down and reads whatever comes back. One thread, one
// io_context per input, no timer ever fires: deterministic.
//
// Invariants (a breach aborts, so libFuzzer keeps the input):
//  - the session ends by itself once the peer's bytes are read: io.run()
//    returns (a hang is a libFuzzer timeout; a session left alive, a leak);
//  - every request the flow saw got exactly one response, in order; the
//    flow answers only 200, so any other status is the server's refusal
//    (400, 413, 431, 501), which is the last thing on the connection and
//    after which nothing more reaches the flow;
//  - what comes back is HTTP responses and nothing else;
//  - a request reaches the flow with one framing: a body of exactly its one
//    Content-Length, or chunked (never both, so nothing can be smuggled
//    behind it).
#include <signal.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server_session.h"

namespace {

using namespace http_module;
using local_stream = net::local::stream_protocol;

[[noreturn]] void Breach(const char* what) {
  std::fprintf(stderr, "http_fuzzer: invariant broken: %s\n", what);
  std::abort();
}

void Require(bool ok, const char* what) {
  if (!ok) Breach(what);
}

// What the flow saw of one request.
struct Seen {
  bool head = false;
};

// A request the flow receives: its body is what its Content-Length said.
void CheckRequest(const std::string& json) {
  tiny::Json req = tiny::Json::parse(json, nullptr, false);
  Require(req.is_object() && req["method"].is_string() && req["body"].is_string(), "the request message's shape");
  const tiny::Json& headers = req["headers"];
  // Where a smuggled request would hide: both framings, or a coding the
  // server does not decode.
  if (headers.contains("transfer-encoding")) {
    Require(!headers.contains("content-length"), "no request with both Transfer-Encoding and Content-Length");
    std::string te = headers["transfer-encoding"].get<std::string>();
    for (char& c : te) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Require(te.find("chunked") != std::string::npos, "a Transfer-Encoding that is chunked");
    return;
  }
  if (!headers.contains("content-length")) return;
  const std::string& body = req["body"].get_ref<const std::string&>();
  if (body.find("\xEF\xBF\xBD") != std::string::npos) return;  // bytes that were not UTF-8, replaced
  const std::string& length = headers["content-length"].get_ref<const std::string&>();
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
  Require(ec == std::errc() && end == length.data() + length.size(), "a Content-Length the framing check let through");
  Require(body.size() == n, "a body of its Content-Length");
}

// Parses `out` as the responses to `seen`, in order, then at most one
// refusal; nothing may follow the refusal.
void CheckResponses(std::string_view out, const std::vector<Seen>& seen) {
  size_t answered = 0;
  while (!out.empty()) {
    http::response_parser<http::string_body> p;
    p.header_limit(1 << 20);
    p.body_limit(std::numeric_limits<std::uint64_t>::max());
    const bool head = answered < seen.size() && seen[answered].head;
    if (head) p.skip(true);
    size_t used = 0;
    beast::error_code ec;
    while (!p.is_done()) {
      size_t n = p.put(net::buffer(out.data() + used, out.size() - used), ec);
      used += n;
      if (ec == http::error::need_more && used == out.size()) break;
      if (ec && ec != http::error::need_more) Breach("the server wrote something that is not an HTTP response");
      if (n == 0 && !p.is_done()) break;
    }
    Require(p.is_header_done(), "a complete response header");
    out.remove_prefix(used);
    const unsigned status = p.get().result_int();
    if (status == 100) continue;  // interim, before a body it waits for
    if (status == 200) {
      Require(p.is_done(), "a complete answer");
      Require(answered < seen.size(), "no more responses than requests");
      ++answered;
      continue;
    }
    Require(status == 400 || status == 413 || status == 431 || status == 501, "a refusal's status");
    // The refusal of a HEAD request announces a body it does not send.
    Require(p.is_done() || out.empty(), "a complete refusal");
    Require(out.empty(), "nothing after a refusal");
  }
  Require(answered == seen.size(), "one response per request the flow saw");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  signal(SIGPIPE, SIG_IGN);  // the server may close while the peer still writes
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) Breach("socketpair failed");
  net::io_context io;
  tcp::socket server_end(io);
  server_end.assign(tcp::v4(), fds[0]);
  local_stream::socket peer(io);
  peer.assign(local_stream(), fds[1]);

  auto shared = std::make_shared<ServerShared>();
  shared->config.max_body_size = 64 * 1024;  // small enough for the fuzzer to reach 413
  std::vector<Seen> seen;
  shared->hooks.dispatch = [&seen](std::string json, tiny::TraceHeaders, ServerHooks::Answer answer) {
    CheckRequest(json);
    tiny::Json req = tiny::Json::parse(json);
    seen.push_back(Seen{req["method"] == "HEAD"});
    answer(tiny::Result::value(tiny::Json{{"statusCode", 200}, {"body", req["path"]}}));
  };
  shared->hooks.log = [](int32_t, const std::string&) {};
  shared->hooks.log_enabled = [](int32_t) { return true; };  // build the debug lines too
  std::make_shared<Session>(std::move(server_end), shared)->start();

  net::async_write(peer, net::buffer(data, size), [&peer](beast::error_code, size_t) {
    beast::error_code ignored;
    peer.shutdown(local_stream::socket::shutdown_send, ignored);
  });
  std::string out;
  std::vector<char> chunk(64 * 1024);
  std::function<void()> read_more = [&] {
    peer.async_read_some(net::buffer(chunk), [&](beast::error_code ec, size_t n) {
      out.append(chunk.data(), n);
      if (!ec) read_more();
    });
  };
  read_more();
  io.run();  // returns once the session closed and the peer read to the end
  Require(shared->sessions.empty(), "the session ended");
  CheckResponses(out, seen);
  return 0;
}
