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
// joins. A call still open at destroy is failed by its CallGuard. The
// runtime is made once, with the settings, and lives until on_destroy, which
// the host calls only after every handler returned: no lock guards it.
#include <memory>

#include <tiny/settings.hpp>

#include "components.h"
#include "http_client.h"

namespace http_module {
namespace {

// Owns a deferred call; whoever drops it last without answering fails it
// with a message that says why.
struct CallGuard {
  explicit CallGuard(tiny::Call c) : call(std::move(c)) {}
  ~CallGuard() {
    if (call.open()) call.complete(tiny::Reply::error("http_request node stopped before the response arrived"));
  }
  tiny::Call call;
};

class HttpRequest final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    ClientConfig config;
    error_port_ = in.boolean("enableErrorPort");
    config.max_response_size = static_cast<uint64_t>(in.integer("maxResponseSize", 1, int64_t{1} << 40));
    default_timeout_ = std::chrono::milliseconds(in.integer("timeout", 1, int64_t{24} * 3600 * 1000, "milliseconds"));
    config.max_redirects = static_cast<unsigned>(in.integer("maxRedirects", 0, 100));
    config.ca_file = in.string("caFile");
    if (!in.ok()) return in.reply();
    try {
      runtime_ = ClientRuntime::start(config);
    } catch (const std::exception& e) {
      return tiny::Reply::error(e.what());
    }
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (!runtime_) return tiny::Reply::error("http_request received a message before its settings");
    ClientRequest request;
    std::string error;
    if (!parse_client_request(msg.json(), default_timeout_, request, error)) {
      if (!error_port_) return tiny::Reply::error(error);
      return tiny::Reply::forward("error", tiny::Json{{"error", error}, {"retryable", false}});
    }
    set_trace_headers(request, tiny::outbound_trace(msg.cause()));
    // Here, in the handler, the line carries the call's trace in the host log.
    if (log_enabled(TINY_LOG_DEBUG)) log_debug("http request out " + request.method + " " + request.url.text());
    auto guard = std::make_shared<CallGuard>(msg.defer());
    runtime_->fetch(std::move(request), [this, guard](ClientOutcome outcome) { deliver(guard, std::move(outcome)); });
    return tiny::Reply::deferred();
  }

  void on_destroy() override {
    runtime_.reset();  // joins; open calls are failed by their guards
  }

 private:
  // On the runtime's thread (before on_destroy returns, so emitting is fine).
  void deliver(const std::shared_ptr<CallGuard>& guard, ClientOutcome outcome) {
    if (outcome.ok()) {
      std::string json = outcome.response_json().dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
      // The flow's answer when it gave one, else the response itself.
      emit_raw("response", json, [guard, json](tiny::Result r) {
        guard->call.complete(r.empty() ? tiny::Reply::raw(json) : tiny::Reply(r));
      }, guard->call.handle());
      return;
    }
    if (log_enabled(TINY_LOG_DEBUG)) log_debug("http request failed: " + outcome.error);
    if (!error_port_) {
      guard->call.complete(tiny::Reply::error(outcome.error));
      return;
    }
    guard->call.complete(tiny::Reply::forward_raw(
        "error", outcome.error_json().dump(-1, ' ', false, tiny::Json::error_handler_t::replace)));
  }

  // Settings, and the runtime made from them: fixed before the first message.
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
