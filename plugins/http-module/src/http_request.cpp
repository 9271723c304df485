// http_request: one HTTP(S) call per `request` message, asynchronous on the
// node's own io_context (ClientRuntime), so it is not declared blocking and
// holds no host thread while the server works.
//
//   in  request {method, url, headers, body, timeout}
//   out response {statusCode, headers, body}
//   out error    {error, retryable[, statusCode, response]} (enableErrorPort)
//
// Answers:
//  - success: emits on `response`; the call's answer is that emit's answer
//    when the flow answered something (data or an error), else the response
//    itself, so `request -> http_request` alone works as a proxy call.
//  - failure (network error, timeout, TLS, status >= 400, bad message):
//    with enableErrorPort the call is forwarded to `error` (its answer is
//    the error emit's answer); without it, an error reply.
//    retryable: 429, 5xx, network errors and timeouts.
// Redirects (301/302/303/307/308) are followed up to maxRedirects.
//
// Threads: handle runs on host threads and only validates and queues; the
// exchange and the emits run on the runtime's thread, which on_destroy
// joins. A call still open at destroy is failed by its CallGuard.
#include <memory>
#include <mutex>

#include "components.h"
#include "http_client.h"
#include "settings_util.h"

namespace http_module {
namespace {

// Owns a deferred call; whoever drops it last without answering fails it
// with a message that says why.
struct CallGuard {
  explicit CallGuard(tiny::Call c) : call(std::move(c)) {}
  ~CallGuard() {
    if (call.open()) call.fail("http_request node stopped before the response arrived");
  }
  tiny::Call call;
};

class HttpRequest final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    std::string error;
    ClientConfig config;
    uint64_t max_response = 0, timeout = 0, max_redirects = 0;
    bool error_port = false;
    if (!read_bool(s, "enableErrorPort", error_port, error) ||
        !read_uint(s, "maxResponseSize", 1, uint64_t{1} << 40, max_response, error) ||
        !read_uint(s, "timeout", 1, uint64_t{24} * 3600 * 1000, timeout, error) ||
        !read_uint(s, "maxRedirects", 0, 100, max_redirects, error) || !read_string(s, "caFile", config.ca_file, error))
      return tiny::Reply::error(error);
    config.max_response_size = max_response;
    config.max_redirects = static_cast<unsigned>(max_redirects);
    std::unique_ptr<ClientRuntime> runtime;
    try {
      runtime = ClientRuntime::start(config);
    } catch (const std::exception& e) {
      return tiny::Reply::error(e.what());
    }
    std::unique_ptr<ClientRuntime> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      old = std::move(runtime_);  // new settings: calls in flight on the old one are failed
      runtime_ = std::move(runtime);
      error_port_ = error_port;
      default_timeout_ = std::chrono::milliseconds(timeout);
    }
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (msg.port() != "request") return tiny::Reply::error("http_request has no input port " + std::string(msg.port()));
    std::unique_lock<std::mutex> lock(mu_);
    bool error_port = error_port_;
    auto timeout = default_timeout_;
    if (!runtime_) return tiny::Reply::error("http_request received a message before its settings");

    ClientRequest request;
    std::string error;
    if (!parse_client_request(msg.json(), timeout, request, error)) {
      if (!error_port) return tiny::Reply::error(error);
      return tiny::Reply::forward("error", tiny::Json{{"error", error}, {"retryable", false}});
    }
    auto guard = std::make_shared<CallGuard>(msg.defer());
    // Queued under the lock so on_settings cannot swap the runtime between
    // the check and the call.
    runtime_->fetch(std::move(request), [this, guard, error_port](ClientOutcome outcome) {
      deliver(guard, std::move(outcome), error_port);
    });
    return tiny::Reply::deferred();
  }

  void on_destroy() override {
    std::unique_ptr<ClientRuntime> runtime;
    {
      std::lock_guard<std::mutex> lock(mu_);
      runtime = std::move(runtime_);
    }
    runtime.reset();  // joins; open calls are failed by their guards
  }

 private:
  // On the runtime's thread (before on_destroy returns, so emitting is fine).
  void deliver(const std::shared_ptr<CallGuard>& guard, ClientOutcome outcome, bool error_port) {
    const tiny_call* cause = guard->call.handle();
    if (outcome.ok()) {
      std::string json = outcome.response_json().dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
      emit_raw("response", json, [guard, json](tiny::Result r) {
        if (!r.ok() || !r.data.empty()) {
          guard->call.complete(r);
        } else {
          guard->call.reply_raw(json);
        }
      }, cause);
      return;
    }
    if (log_enabled(TINY_LOG_DEBUG)) log_debug("http request failed: " + outcome.error);
    if (!error_port) {
      guard->call.fail(outcome.error);
      return;
    }
    std::string json = outcome.error_json().dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
    emit_raw("error", json, [guard](tiny::Result r) { guard->call.complete(r); }, cause);
  }

  std::mutex mu_;  // guards everything below
  std::unique_ptr<ClientRuntime> runtime_;
  bool error_port_ = false;
  std::chrono::milliseconds default_timeout_{30000};
};

}  // namespace

tiny::ComponentSpec http_request_spec() {
  return tiny::ComponentSpec::of<HttpRequest>("http_request")
      .describe("HTTP(S) client: one call per request message")
      .settings({{"enableErrorPort", false},
                 {"maxResponseSize", 10 << 20},
                 {"timeout", 30000},
                 {"maxRedirects", 10},
                 {"caFile", ""}})
      .in("request", "{method, url, headers, body, timeout}")
      .out("response", "{statusCode, headers, body}")
      .out("error", "{error, retryable, statusCode?, response?} when enableErrorPort is set");
}

}  // namespace http_module
