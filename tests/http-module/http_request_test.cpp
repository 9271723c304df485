// http_request through the real C ABI against an upstream server started in
// the test on 127.0.0.1 port 0 (plain and TLS).
#include <doctest/doctest.h>

#include <tiny/testing.hpp>

#include "test_support.h"

using namespace std::chrono_literals;
using tiny::Json;
using tiny::Result;
using tiny::testing::Emitted;
using tiny::testing::Harness;
using namespace tiny::test;

namespace {

constexpr auto kWait = 10000ms;

struct ClientFixture {
  Harness h{tiny_plugin_entry, "http_request", "fetch"};
  explicit ClientFixture(Json settings = Json::object()) {
    Result r = h.configure(settings);
    REQUIRE_MESSAGE(r.ok(), r.error);
  }
  Result call(const Json& request) {
    auto pending = h.send_async("request", request);
    REQUIRE_MESSAGE(pending->wait(kWait), "http_request did not answer");
    return pending->result();
  }
  std::vector<Emitted> on(std::string_view port) {
    std::vector<Emitted> out;
    for (auto& e : h.emitted())
      if (e.port == port) out.push_back(e);
    return out;
  }
};

std::string url(const UpstreamServer& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

// An upstream whose path says what to answer: /status/N, /redirect, ...
std::optional<Response> routes(const Request& req) {
  std::string target(req.target());
  if (target.rfind("/status/", 0) == 0)
    return make_response(static_cast<http::status>(std::stoi(target.substr(8))), "status body");
  if (target == "/redirect") return make_response(http::status::found, "", {{"Location", "/landing"}});
  if (target == "/see-other") return make_response(http::status::see_other, "", {{"Location", "/landing"}});
  if (target == "/loop") return make_response(http::status::found, "", {{"Location", "/loop"}});
  if (target == "/big") return make_response(http::status::ok, std::string(5000, 'x'));
  if (target == "/hold") return std::nullopt;
  return make_response(http::status::ok, "method=" + std::string(req.method_string()) + " body=" + req.body(),
                       {{"X-Upstream", "1"}, {"X-Multi", "a"}, {"X-Multi", "b"}});
}

}  // namespace

TEST_CASE("http_request answers and emits status, headers and body; sends method, headers and body") {
  UpstreamServer up(routes);
  ClientFixture f;
  Result r = f.call({{"method", "post"},
                     {"url", url(up, "/things?x=1")},
                     {"headers", {{"X-Token", "abc"}, {"X-Num", 5}}},
                     {"body", {{"name", "widget"}}}});
  REQUIRE_MESSAGE(r.ok(), r.error);
  Json res = r.json();
  CHECK(res["statusCode"] == 200);
  CHECK(res["body"] == "method=POST body={\"name\":\"widget\"}");
  CHECK(res["headers"]["x-upstream"] == "1");
  CHECK(res["headers"]["x-multi"] == "a, b");
  auto emitted = f.on("response");
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0].data == res);
  CHECK(emitted[0].has_cause);  // the response belongs to the request's call

  auto seen = up.received();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method_string() == "POST");
  CHECK(seen[0].target() == "/things?x=1");
  CHECK(seen[0]["X-Token"] == "abc");
  CHECK(seen[0]["X-Num"] == "5");
  CHECK(seen[0][http::field::content_type] == "application/json");
  CHECK(seen[0][http::field::host] == "127.0.0.1:" + std::to_string(up.port()));
  CHECK(seen[0][http::field::user_agent] == "tinyhost-http/0.1.0");

  // Any method; a string body goes as is.
  r = f.call({{"method", "PATCH"}, {"url", url(up, "/p")}, {"body", "raw text"}});
  CHECK(r.json()["body"] == "method=PATCH body=raw text");
  r = f.call({{"url", url(up, "/")}});
  CHECK(r.json()["body"] == "method=GET body=");
  r = f.call({{"method", "HEAD"}, {"url", url(up, "/")}});
  CHECK(r.json()["statusCode"] == 200);
  CHECK(r.json()["body"] == "");
}

TEST_CASE("http_request answers with the downstream answer of `response` when there is one") {
  UpstreamServer up(routes);
  ClientFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port == "response") return Result::value({{"seen", e.data["statusCode"]}});
    return {};
  });
  CHECK(f.call({{"url", url(up, "/")}}).json() == Json{{"seen", 200}});
}

TEST_CASE("http_request failures without the error port are error replies") {
  UpstreamServer up(routes);
  ClientFixture f;
  Result r = f.call({{"url", url(up, "/status/404")}});
  CHECK(r.status == TINY_STATUS_OK);
  CHECK(r.error == "HTTP 404 Not Found");
  CHECK(f.call({{"url", url(up, "/status/503")}}).error == "HTTP 503 Service Unavailable");
  CHECK(f.call({{"url", "ftp://example.com/"}}).error.find("unsupported url scheme") != std::string::npos);
  CHECK(f.call({{"method", "GET"}}).error == "request.url must be a string");
  CHECK(f.call({{"url", url(up, "/")}, {"headers", {{"X-Bad", "a\r\nb"}}}}).error.find("CR") != std::string::npos);
  // Beast throws on a field over 64 KiB: refused with a reason, at once (not at the timeout).
  const std::string big(70000, 'a');
  CHECK(f.call({{"url", url(up, "/")}, {"headers", {{"X-Big", big}}}}).error ==
        "request.headers: header \"X-Big\" value is 70000 bytes, over the limit of 65533");
  CHECK(f.call({{"url", url(up, "/")}, {"headers", {{"X-Nul", std::string("a\0b", 3)}}}}).error.find("control") !=
        std::string::npos);
  // The Authorization header made from the URL's userinfo is too long.
  Result auth = f.call({{"url", "http://" + big + "@127.0.0.1:" + std::to_string(up.port()) + "/"}});
  CHECK(auth.error.find("cannot build the request to 127.0.0.1:") == 0);
  CHECK(auth.error.find("field value too large") != std::string::npos);
  CHECK(f.on("response").empty());
  CHECK(f.on("error").empty());
}

TEST_CASE("http_request maps failures to the error port with retryable flags") {
  UpstreamServer up(routes);
  ClientFixture f(Json{{"enableErrorPort", true}, {"maxResponseSize", 1000}});
  struct Case {
    std::string path;
    bool retryable;
    int status;
  };
  for (const Case& c : {Case{"/status/500", true, 500}, Case{"/status/503", true, 503}, Case{"/status/429", true, 429},
                        Case{"/status/400", false, 400}, Case{"/status/404", false, 404}}) {
    CAPTURE(c.path);
    f.h.clear_emitted();
    Result r = f.call({{"url", url(up, c.path)}});
    CHECK(r.ok());  // forwarded to `error`; the harness answers that emit empty
    auto errors = f.on("error");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].data["retryable"] == c.retryable);
    CHECK(errors[0].data["statusCode"] == c.status);
    CHECK(errors[0].data["error"].get<std::string>().rfind("HTTP " + std::to_string(c.status), 0) == 0);
    CHECK(errors[0].data["response"]["body"] == "status body");
    CHECK(f.on("response").empty());
  }

  f.h.clear_emitted();
  Result big_result = f.call({{"url", url(up, "/big")}});
  CAPTURE(big_result.error);
  CAPTURE(big_result.data.substr(0, 200));
  auto big = f.on("error");
  REQUIRE(big.size() == 1);
  CHECK(big[0].data["error"].get<std::string>().find("maxResponseSize") != std::string::npos);
  CHECK(big[0].data["retryable"] == false);

  // Connection refused: a port nobody listens on any more.
  uint16_t closed_port;
  {
    net::io_context io;
    tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }
  f.h.clear_emitted();
  f.call({{"url", "http://127.0.0.1:" + std::to_string(closed_port) + "/"}});
  auto refused = f.on("error");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].data["retryable"] == true);
  CHECK(refused[0].data["error"].get<std::string>().find("connect 127.0.0.1:" + std::to_string(closed_port)) == 0);
  CHECK_FALSE(refused[0].data.contains("statusCode"));

  // A bad message also goes to the error port, not retryable.
  f.h.clear_emitted();
  f.call({{"url", 42}});
  REQUIRE(f.on("error").size() == 1);
  CHECK(f.on("error")[0].data == Json{{"error", "request.url must be a string"}, {"retryable", false}});

  // The answer of a forwarded error is the error port's downstream answer.
  f.h.on_emit([](const Emitted& e) -> Result {
    return e.port == "error" ? Result::value({{"handled", e.data["statusCode"]}}) : Result{};
  });
  CHECK(f.call({{"url", url(up, "/status/502")}}).json() == Json{{"handled", 502}});
}

TEST_CASE("http_request times out with a retryable error") {
  UpstreamServer up(routes);
  ClientFixture f(Json{{"enableErrorPort", true}});
  Result r = f.call({{"url", url(up, "/hold")}, {"timeout", 300}});
  CHECK(r.ok());
  auto errors = f.on("error");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].data["retryable"] == true);
  CHECK(errors[0].data["error"].get<std::string>().rfind("timeout after 300 ms", 0) == 0);
}

TEST_CASE("http_request takes the timeout setting when the message has none") {
  UpstreamServer up(routes);
  ClientFixture f(Json{{"timeout", 250}});
  Result r = f.call({{"url", url(up, "/hold")}});
  CHECK(r.error.rfind("timeout after 250 ms", 0) == 0);
}

TEST_CASE("http_request follows redirects up to maxRedirects") {
  UpstreamServer up(routes);
  {
    ClientFixture f;
    Result r = f.call({{"method", "POST"}, {"url", url(up, "/redirect")}, {"body", "data"}});
    CHECK(r.json()["statusCode"] == 200);
    CHECK(r.json()["body"] == "method=GET body=");  // 302 after POST becomes GET, as browsers do
    r = f.call({{"url", url(up, "/loop")}});
    CHECK(r.json()["statusCode"] == 302);  // gave up after 10: the last 3xx is the answer
  }
  ClientFixture f(Json{{"maxRedirects", 0}});
  Result r = f.call({{"url", url(up, "/see-other")}});
  CHECK(r.json()["statusCode"] == 303);
  CHECK(r.json()["headers"]["location"] == "/landing");
}

TEST_CASE("http_request speaks HTTPS: verifies the certificate and sends SNI") {
  TestCert cert = make_self_signed_cert();
  UpstreamServer up(routes, &cert);
  std::string https = "https://localhost:" + std::to_string(up.port()) + "/secure";
  {
    // The test CA is not in the system store: verification fails, for good.
    ClientFixture f(Json{{"enableErrorPort", true}});
    f.call({{"url", https}});
    auto errors = f.on("error");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].data["error"].get<std::string>().find("tls certificate verification failed") == 0);
    CHECK(errors[0].data["retryable"] == false);
  }
  ClientFixture f(Json{{"caFile", cert.cert_file}});
  Result r = f.call({{"url", https}});
  REQUIRE_MESSAGE(r.ok(), r.error);
  CHECK(r.json()["body"] == "method=GET body=");
  CHECK(up.last_sni() == "localhost");
  // By IP: the certificate's IP SAN is checked, and no SNI is sent.
  r = f.call({{"url", "https://127.0.0.1:" + std::to_string(up.port()) + "/ip"}});
  REQUIRE_MESSAGE(r.ok(), r.error);
  // A name the certificate does not cover fails verification.
  r = f.call({{"url", "https://127.0.0.2:" + std::to_string(up.port()) + "/wrong-name"}});
  CHECK((r.error.find("verification failed") != std::string::npos || r.error.find("connect") == 0));
}

TEST_CASE("http_request fails open calls when destroyed mid-flight") {
  UpstreamServer up(routes);
  std::optional<ClientFixture> f(std::in_place);
  auto pending = f->h.send_async("request", {{"url", url(up, "/hold")}});
  REQUIRE(up.wait_received(1, kWait));
  CHECK_FALSE(pending->done());
  f->h.destroy();
  REQUIRE(pending->done());
  CHECK(pending->result().error == "http_request node stopped before the response arrived");
  CHECK(f->h.extra_completions() == 0);
  f.reset();
}

TEST_CASE("http_request validates its settings") {
  {
    Harness h(tiny_plugin_entry, "http_request");
    CHECK(h.configure({{"maxResponseSize", -1}}).error.find("setting 'maxResponseSize': must be an integer") == 0);
  }
  {
    Harness h(tiny_plugin_entry, "http_request");
    CHECK(h.configure({{"caFile", "/nonexistent/ca.pem"}}).error.find("cannot load caFile") == 0);
  }
  Harness h(tiny_plugin_entry, "http_request");
  CHECK(h.configure({{"enableErrorPort", "yes"}}).error == "setting 'enableErrorPort': must be true or false, got \"yes\"");
}
