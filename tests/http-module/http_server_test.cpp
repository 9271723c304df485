// http_server through the real C ABI (tiny::testing::Harness), with real
// HTTP clients over loopback: the Beast client from test_support and curl.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <tiny/testing.hpp>

#include "test_support.h"
#include "support/temp_dir.h"

using namespace std::chrono_literals;
using tiny::Json;
using tiny::Result;
using tiny::testing::Emitted;
using tiny::testing::Harness;
using namespace tiny::test;

namespace {

constexpr auto kWait = 5000ms;

// A harness around one http_server bound to 127.0.0.1 on an ephemeral port.
struct ServerFixture {
  Harness h{tiny_plugin_entry, "http_server", "web"};

  uint16_t start(Json settings = Json::object()) {
    settings["host"] = "127.0.0.1";
    if (!settings.contains("port")) settings["port"] = 0;
    Result r = h.configure(settings);
    REQUIRE_MESSAGE(r.ok(), r.error);
    return last_status_port();
  }
  uint16_t last_status_port() {
    for (auto& e : h.emitted())
      if (e.port == "status" && e.data.value("listening", false)) last_port = e.data.at("port").get<uint16_t>();
    return last_port;
  }
  std::vector<Emitted> requests() {
    std::vector<Emitted> out;
    for (auto& e : h.emitted())
      if (e.port == "request") out.push_back(e);
    return out;
  }
  bool log_contains(std::string_view needle) {
    for (auto& l : h.logs())
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  uint16_t last_port = 0;
};

Result answer(const Json& j) { return Result::value(j); }

std::string header(const Response& r, http::field f) { return std::string(r[f]); }
std::string header(const Response& r, const char* name) { return std::string(r[name]); }

}  // namespace

TEST_CASE("http_server listens on an ephemeral port, logs the address and emits status") {
  ServerFixture f;
  uint16_t port = f.start();
  REQUIRE(port != 0);
  auto emitted = f.h.emitted();
  REQUIRE(emitted.size() == 1);
  CHECK(emitted[0].port == "status");
  CHECK(emitted[0].data == Json{{"listening", true}, {"host", "127.0.0.1"}, {"port", port}});
  CHECK(f.log_contains("info: http server listening address=127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("http_server emits the request message: method, decoded path, query, lowercase headers, body, remote") {
  ServerFixture f;
  f.h.on_emit([](const Emitted&) { return answer({{"statusCode", 200}, {"body", "ok"}}); });
  uint16_t port = f.start();
  Client c(port);
  Response r = c.request(http::verb::get, "/hello%20world/x?name=Bob%20B&x=1&x=2&flag&plus=a+b", "",
                         {{"X-Custom", "A"}, {"Accept", "text/plain"}, {"Accept", "text/html"}});
  CHECK(r.result_int() == 200);
  r = c.request(http::verb::post, "/submit", "payload text", {{"Content-Type", "text/plain"}});
  CHECK(r.result_int() == 200);

  auto reqs = f.requests();
  REQUIRE(reqs.size() == 2);
  const Json& get = reqs[0].data;
  CHECK(get["method"] == "GET");
  CHECK(get["path"] == "/hello world/x");
  CHECK(get["query"] == Json{{"name", "Bob B"}, {"x", "1"}, {"flag", ""}, {"plus", "a b"}});
  CHECK(get["headers"]["x-custom"] == "A");
  CHECK(get["headers"]["accept"] == "text/plain, text/html");
  CHECK(get["headers"]["host"] == "127.0.0.1");
  CHECK(get["body"] == "");
  CHECK(get["remote"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  CHECK_FALSE(reqs[0].has_cause);  // a spontaneous emit: the server starts the flow

  const Json& post = reqs[1].data;
  CHECK(post["method"] == "POST");
  CHECK(post["path"] == "/submit");
  CHECK(post["query"] == Json::object());
  CHECK(post["body"] == "payload text");
  CHECK(post["headers"]["content-type"] == "text/plain");
}

TEST_CASE("http_server answers with the response that flows back through its response port") {
  // The DESIGN flow: request -> transform -> server.response with a mapping.
  // The transform forwards, so the request emit's answer is what the
  // `response` port answered: the mapped message itself.
  ServerFixture f;
  f.h.on_emit([&](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    Json mapped = {{"statusCode", 200}, {"body", "Hello " + e.data["query"].value("name", "?") + "!"}};
    auto r = f.h.send("response", mapped);
    return r ? *r : Result::failure("response port did not answer inline");
  });
  uint16_t port = f.start();
  Client c(port);
  Response r = c.request(http::verb::get, "/greet?name=Ada");
  CHECK(r.result_int() == 200);
  CHECK(r.body() == "Hello Ada!");
  CHECK(header(r, http::field::content_type) == "text/plain; charset=utf-8");
}

TEST_CASE("http_server maps the answer to status, headers, content type and body") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    std::string path = e.data["path"];
    if (path == "/created")
      return answer({{"statusCode", 201}, {"headers", {{"X-Reply", "yes"}, {"X-Num", 7}, {"Set-Cookie", {"a=1", "b=2"}}}},
                     {"body", "created"}});
    if (path == "/json") return answer({{"statusCode", 200}, {"body", {{"items", {1, 2, 3}}}}});
    if (path == "/csv") return answer({{"contentType", "text/csv"}, {"body", "a,b\n1,2\n"}});
    if (path == "/typed-json") return answer({{"contentType", "application/vnd.x+json"}, {"body", {{"a", 1}}}});
    if (path == "/plain-value") return answer({{"name", "x"}, {"n", 1}});
    if (path == "/array") return answer(Json::array({1, 2}));
    if (path == "/no-content") return answer({{"statusCode", 204}, {"body", "ignored"}});
    if (path == "/bad-status") return answer({{"statusCode", 42}});
    if (path == "/framing")
      return answer({{"statusCode", 200}, {"headers", {{"Content-Length", "999"}, {"X-Ok", "1"}}}, {"body", "abc"}});
    return {};
  });
  uint16_t port = f.start();
  Client c(port);

  Response r = c.request(http::verb::get, "/created");
  CHECK(r.result_int() == 201);
  CHECK(r.body() == "created");
  CHECK(header(r, "X-Reply") == "yes");
  CHECK(header(r, "X-Num") == "7");
  CHECK(std::distance(r.equal_range("Set-Cookie").first, r.equal_range("Set-Cookie").second) == 2);

  r = c.request(http::verb::get, "/json");
  CHECK(header(r, http::field::content_type) == "application/json");
  CHECK(Json::parse(r.body()) == Json{{"items", {1, 2, 3}}});

  r = c.request(http::verb::get, "/csv");
  CHECK(header(r, http::field::content_type) == "text/csv");
  CHECK(r.body() == "a,b\n1,2\n");

  r = c.request(http::verb::get, "/typed-json");
  CHECK(header(r, http::field::content_type) == "application/vnd.x+json");
  CHECK(Json::parse(r.body()) == Json{{"a", 1}});

  r = c.request(http::verb::get, "/plain-value");  // not a response object: the value is the JSON body
  CHECK(r.result_int() == 200);
  CHECK(Json::parse(r.body()) == Json{{"name", "x"}, {"n", 1}});
  r = c.request(http::verb::get, "/array");
  CHECK(Json::parse(r.body()) == Json::array({1, 2}));

  r = c.request(http::verb::get, "/no-content");
  CHECK(r.result_int() == 204);
  CHECK(r.body().empty());

  r = c.request(http::verb::get, "/bad-status");
  CHECK(r.result_int() == 500);
  CHECK(f.log_contains("invalid statusCode"));

  r = c.request(http::verb::get, "/framing");  // the server owns Content-Length
  CHECK(r.body() == "abc");
  CHECK(header(r, http::field::content_length) == "3");
  CHECK(header(r, "X-Ok") == "1");

  // HEAD: the length of the body a GET would get, and no body.
  r = c.request(http::verb::head, "/created");
  CHECK(r.result_int() == 201);
  CHECK(header(r, http::field::content_length) == "7");
  CHECK(r.body().empty());
  // The connection survived all of it.
  CHECK(c.request(http::verb::get, "/csv").result_int() == 200);
}

TEST_CASE("http_server: a flow error is a 500 with a short body, details only in the log") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    if (e.data["path"] == "/routing") return Result{TINY_STATUS_UNAVAILABLE, {}, "module not discovered: x"};
    if (e.data["path"] == "/invalid") return Result::raw("{not json");
    return Result::failure("secret database error");
  });
  uint16_t port = f.start();
  Client c(port);
  Response r = c.request(http::verb::get, "/component");
  CHECK(r.result_int() == 500);
  CHECK(r.body() == "internal server error\n");
  CHECK(f.log_contains("secret database error"));
  r = c.request(http::verb::get, "/routing");
  CHECK(r.result_int() == 500);
  CHECK(r.body().find("module") == std::string::npos);
  CHECK(f.log_contains("module not discovered"));
  r = c.request(http::verb::get, "/invalid");
  CHECK(r.result_int() == 500);
  CHECK(c.request(http::verb::get, "/component").result_int() == 500);  // still serving
}

TEST_CASE("http_server: a header the flow answers that cannot be sent is a 500, logged; the connection stays usable") {
  // Beast cannot hold a name or value over 64 KiB (it throws), and CR, LF
  // or NUL would inject headers: each is refused whole, never sent.
  const std::string big(70000, 'a');
  const std::map<std::string, Json> answers = {
      {"/big-value", {{"headers", {{"X-Big", big}}}, {"body", "x"}}},
      {"/big-name", {{"headers", {{"X-" + big, "v"}}}, {"body", "x"}}},
      {"/crlf-value", {{"headers", {{"X-Evil", "a\r\nX-Injected: 1"}}}, {"body", "x"}}},
      {"/lf-name", {{"headers", {{"X-Evil\nX-Injected", "1"}}}, {"body", "x"}}},
      {"/nul-value", {{"headers", {{"X-Nul", std::string("a\0b", 3)}}}, {"body", "x"}}},
      {"/bad-in-list", {{"headers", {{"X-List", {"fine", "bad\r\nX-Injected: 1"}}}}, {"body", "x"}}},
      {"/crlf-type", {{"contentType", "text/plain\r\nX-Injected: 1"}, {"body", "x"}}},
      {"/big-type", {{"contentType", big}, {"body", "x"}}},
  };
  ServerFixture f;
  f.h.on_emit([&](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    auto it = answers.find(e.data["path"].get<std::string>());
    return answer(it != answers.end() ? it->second : Json{{"body", "fine"}});
  });
  uint16_t port = f.start();
  Client c(port);
  for (const auto& [path, ignored] : answers) {
    CAPTURE(path);
    Response r = c.request(http::verb::get, path);
    CHECK(r.result_int() == 500);
    CHECK(r.body() == "internal server error\n");
    CHECK(r.find("X-Injected") == r.end());
    CHECK(r.find("X-Big") == r.end());
    CHECK(c.request(http::verb::get, "/fine").body() == "fine");  // the same connection
  }
  CHECK(f.log_contains("GET /big-value: flow answered a header that cannot be sent: header \"X-Big\" value is 70000 bytes"));
  CHECK(f.log_contains("header name \"X-aaaa"));
  CHECK(f.log_contains("GET /crlf-value: flow answered a header that cannot be sent: header \"X-Evil\" has a control character"));
  CHECK(f.log_contains("header name \"X-Evil\\nX-Injected\" is not a valid field name"));
  CHECK(f.log_contains("header \"X-Nul\" has a control character"));
  CHECK(f.log_contains("GET /crlf-type: flow answered a contentType that cannot be sent"));
}

TEST_CASE("http_server: nothing wired to request (empty answer) is a 404 saying so") {
  ServerFixture f;  // the harness answers every emit empty, as a port without edges
  uint16_t port = f.start();
  Client c(port);
  Response r = c.request(http::verb::get, "/anything");
  CHECK(r.result_int() == 404);
  CHECK(r.body() == "no flow answered this request\n");
  CHECK(c.request(http::verb::get, "/again").result_int() == 404);
}

TEST_CASE("http_server rejects a body over maxBodySize with 413 and keeps serving") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", "got " + std::to_string(e.data["body"].get<std::string>().size())}});
  });
  uint16_t port = f.start({{"maxBodySize", 64}});
  {
    Client c(port);
    Response r = c.request(http::verb::post, "/up", std::string(64, 'a'));
    CHECK(r.result_int() == 200);
    CHECK(r.body() == "got 64");
    r = c.request(http::verb::post, "/up", std::string(65, 'a'));
    CHECK(r.result_int() == 413);
    CHECK_FALSE(r.keep_alive());
    CHECK(c.peer_closed());
  }
  {  // chunked: the limit counts the decoded body
    Client c(port);
    c.write_raw("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" "28\r\n" +
                std::string(40, 'b') + "\r\n28\r\n" + std::string(40, 'b') + "\r\n0\r\n\r\n");
    CHECK(c.read().result_int() == 413);
  }
  // curl with Expect: 100-continue is refused before it sends the body
  // (curl sends the header for bodies over 1 MiB; it is also forced here).
  tiny::test::TempDir dir;
  std::string payload = dir.Write("payload", std::string(64 * 1024, 'c'));
  auto big = curl("-o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' --data-binary @" + payload +
                  " http://127.0.0.1:" + std::to_string(port) + "/up");
  CHECK(big.out == "413");
  Client after(port);
  CHECK(after.request(http::verb::post, "/up", "small").body() == "got 5");
}

TEST_CASE("http_server answers 504 when the flow is slower than the timeout, and drops the late answer") {
  ServerFixture f;
  uint16_t port = f.start({{"timeout", 300}});
  f.h.hold_emits(true);
  f.h.clear_emitted();
  Client c(port);
  Response r = c.request(http::verb::get, "/slow");
  CHECK(r.result_int() == 504);
  CHECK(r.body() == "the flow did not answer in time\n");
  CHECK(f.log_contains("did not answer within 300 ms"));
  REQUIRE(f.h.held_count() == 1);
  // The late answer arrives while the same connection is already waiting
  // for its next request: it must not be taken for that one.
  c.send(http::verb::get, "/next");
  REQUIRE(f.h.wait_for([&] { return f.h.held_count() == 2; }, kWait));
  f.h.answer_held(answer({{"body", "late"}}));
  f.h.answer_held(answer({{"body", "on time"}}));
  Response next = c.read();
  CHECK(next.result_int() == 200);
  CHECK(next.body() == "on time");
}

TEST_CASE("http_server's timeout: busy connections stay open, idle and stalled ones close, a slow flow gets 504") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", "ok"}});
  });
  uint16_t port = f.start({{"timeout", 300}});

  // A connection that keeps sending requests for several timeouts in a row
  // (20 pauses of 60 ms: at least four timeouts) is never cut: each request
  // starts a new time limit. The pauses are the input, the client's pace,
  // not a wait for the server.
  Client busy(port);
  for (int i = 0; i < 20; ++i) {
    Response r = busy.request(http::verb::get, "/busy");
    CHECK(r.result_int() == 200);
    CHECK(r.body() == "ok");
    std::this_thread::sleep_for(60ms);
  }

  // Idle after a request, or stalled in the middle of its header: closed
  // after the timeout (peer_closed gives up after 10 s).
  Client idle(port);
  CHECK(idle.request(http::verb::get, "/idle").body() == "ok");
  Client stalled(port);
  stalled.write_raw("GET /stalled HTTP/1.1\r\nHost: x\r\n");
  CHECK(idle.peer_closed());
  CHECK(stalled.peer_closed());

  // A connection that had answered requests still gets its 504 when the
  // flow stops answering, and its next answered request works.
  Client c(port);
  for (int i = 0; i < 3; ++i) CHECK(c.request(http::verb::get, "/quick").body() == "ok");
  f.h.hold_emits(true);
  Response late = c.request(http::verb::get, "/late");
  CHECK(late.result_int() == 504);
  f.h.hold_emits(false);
  f.h.answer_held(answer({{"body", "too late"}}));
  Response after = c.request(http::verb::get, "/after");
  CHECK(after.result_int() == 200);
  CHECK(after.body() == "ok");
}

TEST_CASE("http_server stops accepting at maxConnections and resumes when a connection closes") {
  // Whether the server had logged that it accepts again when each request
  // reached the flow (declared before the fixture: they outlive its server).
  std::mutex mu;
  std::map<std::string, bool> resumed_before;
  ServerFixture f;
  f.h.on_emit([&](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    std::string path = e.data.value("path", "");
    bool resumed = f.log_contains("http server accepting again");
    {
      std::lock_guard<std::mutex> lock(mu);
      resumed_before[path] = resumed;
    }
    return answer({{"body", path}});
  });
  uint16_t port = f.start({{"maxConnections", 2}});
  std::optional<Client> a(std::in_place, port);
  Client b(port);
  CHECK(a->request(http::verb::get, "/a").body() == "/a");
  CHECK(b.request(http::verb::get, "/b").body() == "/b");
  REQUIRE(f.h.wait_for([&] { return f.log_contains("http server at maxConnections=2"); }, kWait));

  // The third connection waits in the listen backlog: its request is not
  // read while two connections are open. The server logs that it accepts
  // again before it accepts, so /c must reach the flow after that line.
  Client c(port);
  c.send(http::verb::get, "/c");
  a.reset();  // one closes: the server accepts again and serves /c
  Response r = c.read();
  CHECK(r.result_int() == 200);
  CHECK(r.body() == "/c");
  CHECK(f.log_contains("http server accepting again"));
  {
    std::lock_guard<std::mutex> lock(mu);
    CHECK_FALSE(resumed_before.at("/b"));
    CHECK(resumed_before.at("/c"));
  }
  CHECK(b.request(http::verb::get, "/b2").body() == "/b2");
}

TEST_CASE("http_server keeps connections alive and closes on Connection: close and HTTP/1.0") {
  ServerFixture f;
  std::atomic<int> n{0};
  f.h.on_emit([&](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", std::to_string(++n)}});
  });
  uint16_t port = f.start();
  Client c(port);
  for (int i = 1; i <= 5; ++i) {
    Response r = c.request(http::verb::get, "/k");
    CHECK(r.body() == std::to_string(i));
    CHECK(r.keep_alive());
  }
  Response last = c.request(http::verb::get, "/k", "", {{"Connection", "close"}});
  CHECK_FALSE(last.keep_alive());
  CHECK(c.peer_closed());

  Client old(port);
  Response r10 = old.request(http::verb::get, "/k", "", {}, 10);
  CHECK(r10.version() == 10);
  CHECK(old.peer_closed());
}

TEST_CASE("http_server serves 100 concurrent keep-alive connections, several requests each, on its own few threads") {
  ServerFixture f;
  uint16_t port = f.start();
  constexpr int kConnections = 100;
  constexpr int kRounds = 3;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) clients.push_back(std::make_unique<Client>(port));
  int threads_with_connections = thread_count();

  f.h.hold_emits(true);
  for (int round = 0; round < kRounds; ++round) {
    f.h.clear_emitted();
    for (int i = 0; i < kConnections; ++i)
      clients[i]->send(http::verb::get, "/c" + std::to_string(i) + "/r" + std::to_string(round));
    // All 100 requests wait in the flow at the same time.
    REQUIRE(f.h.wait_for([&] { return f.h.held_count() == kConnections; }, 10000ms));
    CHECK(thread_count() == threads_with_connections);
    auto held = f.h.emitted();
    REQUIRE(held.size() == kConnections);
    for (auto& e : held) f.h.answer_held(answer({{"body", e.data["path"]}}));
    for (int i = 0; i < kConnections; ++i) {
      Response r = clients[i]->read();
      CHECK(r.result_int() == 200);
      CHECK(r.body() == "/c" + std::to_string(i) + "/r" + std::to_string(round));
    }
  }
  f.h.hold_emits(false);
}

TEST_CASE("http_server answers malformed HTTP with 400 and keeps serving") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result { return e.port == "request" ? answer({{"body", "fine"}}) : Result{}; });
  uint16_t port = f.start();
  for (std::string bad : {std::string("THIS IS NOT HTTP\r\n\r\n"), std::string("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
                          std::string("GET / HTTP/9.9\r\n\r\n"),
                          std::string("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"),
                          std::string("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    CAPTURE(bad);
    Client c(port);
    c.write_raw(bad);
    std::string reply = c.read_raw_until_close();
    CHECK(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  }
  {
    Client c(port);
    c.write_raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(c.read_raw_until_close().rfind("HTTP/1.1 431", 0) == 0);
  }
  Client good(port);
  CHECK(good.request(http::verb::get, "/").body() == "fine");
}

TEST_CASE("http_server start and stop ports") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result { return e.port == "request" ? answer({{"body", "up"}}) : Result{}; });
  Result configured = f.h.configure({{"host", "127.0.0.1"}, {"port", 0}, {"autostart", false}});
  REQUIRE(configured.ok());
  CHECK(f.h.emitted().empty());  // not listening yet

  auto started = f.h.send("start", Json::object());
  REQUIRE(started);
  REQUIRE(started->ok());
  Json status = started->json();
  CHECK(status["listening"] == true);
  uint16_t port = status["port"];
  CHECK(f.last_status_port() == port);
  CHECK(Client(port).request(http::verb::get, "/").body() == "up");
  CHECK(f.h.send("start", Json::object())->json() == status);  // already listening: same status

  Client open_conn(port);
  auto stopped = f.h.send("stop", Json::object());
  REQUIRE(stopped);
  CHECK(stopped->json() == Json{{"listening", false}});
  CHECK(f.h.emitted().back().port == "status");
  CHECK(f.h.emitted().back().data == Json{{"listening", false}});
  CHECK(open_conn.peer_closed());  // stop closes open connections
  CHECK_THROWS(Client(port));      // and stops accepting
  CHECK(f.log_contains("http server stopped address=127.0.0.1:" + std::to_string(port)));

  auto again = f.h.send("start", Json::object());
  REQUIRE(again);
  uint16_t port2 = again->json()["port"];
  CHECK(Client(port2).request(http::verb::get, "/").body() == "up");
}

TEST_CASE("http_server can be stopped by its own flow (stop delivered on a server thread)") {
  ServerFixture f;
  f.h.on_emit([&](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    if (e.data["path"] == "/shutdown") {
      auto r = f.h.send("stop", Json::object());  // inline, on the server's own thread
      return answer({{"body", r && r->ok() ? "stopping" : "failed"}});
    }
    return answer({{"body", "up"}});
  });
  uint16_t port = f.start();
  Client c(port);
  c.send(http::verb::get, "/shutdown");
  // The answer is dropped (the server was stopped before it arrived), and
  // the connection is closed.
  CHECK(c.peer_closed());
  REQUIRE(f.h.wait_for([&] { return f.log_contains("http server stopped"); }, kWait));
  auto again = f.h.send("start", Json::object());
  REQUIRE(again);
  REQUIRE(again->ok());
  CHECK(Client(again->json()["port"].get<uint16_t>()).request(http::verb::get, "/").body() == "up");
}

TEST_CASE("http_server destroy closes connections while a request waits, and a late answer is dropped") {
  std::optional<ServerFixture> f(std::in_place);
  uint16_t port = f->start();
  f->h.hold_emits(true);
  Client waiting(port);
  waiting.send(http::verb::get, "/pending");
  REQUIRE(f->h.wait_for([&] { return f->h.held_count() == 1; }, kWait));
  Client idle(port);
  f->h.destroy();
  CHECK(waiting.peer_closed());
  CHECK(idle.peer_closed());
  CHECK_THROWS(Client(port));
  f->h.answer_held(answer({{"body", "too late"}}));  // the callback outlives the node: no crash
  f.reset();
}

TEST_CASE("http_server works with curl") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    if (e.data["path"] == "/echo")
      return answer({{"statusCode", 200},
                     {"body", {{"method", e.data["method"]}, {"query", e.data["query"]}, {"body", e.data["body"]},
                               {"ua", e.data["headers"]["user-agent"]}}}});
    if (e.data["path"] == "/teapot") return answer({{"statusCode", 418}, {"headers", {{"X-Tea", "earl grey"}}}, {"body", "short and stout"}});
    return {};
  });
  std::string base = "http://127.0.0.1:" + std::to_string(f.start());

  auto get = curl("'" + base + "/echo?q=tiny%20host&n=1'");
  REQUIRE(get.exit_code == 0);
  Json j = Json::parse(get.out);
  CHECK(j["method"] == "GET");
  CHECK(j["query"] == Json{{"q", "tiny host"}, {"n", "1"}});
  CHECK(j["ua"].get<std::string>().rfind("curl/", 0) == 0);

  auto post = curl("-X POST -H 'Content-Type: application/json' -d '{\"a\":1}' " + base + "/echo");
  REQUIRE(post.exit_code == 0);
  CHECK(Json::parse(post.out)["body"] == "{\"a\":1}");

  auto tea = curl("-i " + base + "/teapot");
  CHECK(tea.out.rfind("HTTP/1.1 418", 0) == 0);
  CHECK(tea.out.find("X-Tea: earl grey") != std::string::npos);
  CHECK(tea.out.find("short and stout") != std::string::npos);

  CHECK(curl("-o /dev/null -w '%{http_code}' " + base + "/missing").out == "404");
  // A body within the limit behind Expect: 100-continue gets the go-ahead
  // (curl would otherwise wait a second and send it anyway).
  auto expect = curl("-v -H 'Expect: 100-continue' -d 'small body' " + base + "/echo");
  CHECK(expect.out.find("< HTTP/1.1 100 Continue") != std::string::npos);
  CHECK(expect.out.find("\"body\":\"small body\"") != std::string::npos);
  // Two URLs on one curl command line share one keep-alive connection.
  auto two = curl("-v " + base + "/teapot " + base + "/teapot");
  CHECK(two.out.find("Re-using existing connection") != std::string::npos);
}

TEST_CASE("http_server settings are validated and a busy port is a clear error") {
  {
    Harness h(tiny_plugin_entry, "http_server");
    CHECK(h.configure({{"port", "eighty"}}).error == "setting 'port': must be an integer from 0 to 65535, got \"eighty\"");
  }
  {
    Harness h(tiny_plugin_entry, "http_server");
    CHECK(h.configure({{"timeout", 0}}).error.find("setting 'timeout': ") == 0);
  }
  {
    Harness h(tiny_plugin_entry, "http_server");
    CHECK(h.configure({{"maxConnections", 0}}).error.find("setting 'maxConnections': ") == 0);
  }
  {
    Harness h(tiny_plugin_entry, "http_server");
    CHECK(h.configure({{"prot", 1}}).error == "unknown setting: prot");
  }
  net::io_context io;
  tcp::acceptor busy(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  uint16_t port = busy.local_endpoint().port();
  Harness h(tiny_plugin_entry, "http_server");
  Result r = h.configure({{"host", "127.0.0.1"}, {"port", port}});
  CHECK_FALSE(r.ok());
  CHECK(r.error.find("cannot listen on 127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("http_server refuses every ambiguous framing with one answer and a close, so nothing is smuggled") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", "path " + e.data["path"].get<std::string>()}});
  });
  uint16_t port = f.start();
  // Each body, read as the next request, would be this one.
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  struct Case {
    const char* name;
    std::string head;  // request line and fields, without the blank line
    int status;
  };
  const std::vector<Case> cases = {
      {"last coding not chunked", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity", 400},
      {"identity alone", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity", 400},
      {"codings over two lines, chunked not last",
       "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity", 400},
      {"chunked twice", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked", 400},
      {"Transfer-Encoding and Content-Length",
       "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked", 400},
      {"Transfer-Encoding in HTTP/1.0", "POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked", 400},
      {"an empty Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,", 400},
      {"two Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5", 400},
      {"a Content-Length list", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 5", 400},
      {"a signed Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +0", 400},
      {"whitespace before the colon", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked", 400},
      {"no Host in HTTP/1.1", "GET /a HTTP/1.1\r\nContent-Length: 0", 400},
      {"two Host fields", "GET /a HTTP/1.1\r\nHost: x\r\nHost: y", 400},
      {"a coding this server cannot decode", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked", 501},
  };
  for (const auto& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    Client client(port);
    client.write_raw(c.head + "\r\n\r\n" + smuggled);
    std::string got = client.read_raw_until_close();
    CHECK(got.rfind("HTTP/1.", 0) == 0);
    CHECK(got.find(" " + std::to_string(c.status) + " ") == 8);
    size_t blank = got.find("\r\n\r\n");
    CHECK_MESSAGE(got.find("\r\n\r\n", blank + 4) == std::string::npos, got);  // one answer only
    CHECK(client.peer_closed());  // closed, not timed out
  }
  for (const auto& e : f.requests()) CHECK(e.data["path"] != "/smuggled");
  CHECK(f.requests().empty());
  // Good framing still works on a kept-alive connection, codings in any case.
  Client good(port);
  good.write_raw("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  Response r = good.read();
  CHECK(r.result_int() == 200);
  CHECK(r.body() == "path /c");
  CHECK(good.request(http::verb::get, "/d").body() == "path /d");
}

TEST_CASE("http_server closes a client that sends its header a byte at a time at headerTimeout") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", "ok"}});
  });
  // The flow timeout is long: only headerTimeout can end this connection
  // before the client's 10 s receive timeout.
  uint16_t port = f.start({{"headerTimeout", 300}, {"timeout", 60000}});
  Client slow(port);
  const std::string header = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'p');
  try {
    for (char c : header) {  // the pace is the input under test
      slow.write_raw(std::string_view(&c, 1));
      std::this_thread::sleep_for(25ms);
    }
  } catch (const std::exception&) {
    // the server closed while we were still writing: what we want
  }
  CHECK(slow.peer_closed());
  CHECK(f.requests().empty());
  Client other(port);
  CHECK(other.request(http::verb::get, "/x").body() == "ok");
}

TEST_CASE("http_server closes a kept-alive connection idle past idleTimeout, not before it is answered") {
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", "ok"}});
  });
  uint16_t port = f.start({{"idleTimeout", 200}, {"timeout", 60000}, {"headerTimeout", 60000}});
  Client c(port);
  Response r = c.request(http::verb::get, "/a");
  CHECK(r.result_int() == 200);
  CHECK(r.keep_alive());
  CHECK(c.peer_closed());  // within the 10 s receive timeout: idleTimeout closed it
}

TEST_CASE("a slow-loris of 2000 connections is shed at headerTimeout and other clients are answered") {
  // 2000 client sockets and as many accepted ones live in this process.
  rlimit lim{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  if (lim.rlim_cur < 8192 && lim.rlim_max >= 8192) {
    lim.rlim_cur = 8192;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  }
  // A machine whose hard limit is lower gets as many as fit (each loris is
  // two descriptors here), said in the output.
  const int count = static_cast<int>(std::min<rlim_t>(2000, (lim.rlim_cur - 256) / 2));
  if (count < 2000) MESSAGE("RLIMIT_NOFILE allows " << count << " slow connections, not 2000");
  REQUIRE(count >= 100);
  ServerFixture f;
  f.h.on_emit([](const Emitted& e) -> Result {
    if (e.port != "request") return {};
    return answer({{"body", "ok"}});
  });
  uint16_t port = f.start({{"headerTimeout", 300}, {"maxConnections", 500}, {"timeout", 60000}});
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> loris;
  const std::string partial = "GET / HTTP/1.1\r\nHost: x\r\n";  // never ends
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CHECK(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(partial.size()));
    loris.push_back(fd);
  }
  // Queued behind all of them; answered once the server sheds them (each
  // at 300 ms, 500 at a time), within the client's 10 s receive timeout.
  Client other(port);
  Response r = other.request(http::verb::get, "/after");
  CHECK(r.result_int() == 200);
  CHECK(r.body() == "ok");
  for (int fd : loris) close(fd);
  CHECK(f.requests().size() == 1);
}
