// http_server: listens for HTTP/1.1 and turns each request into a `request`
// message; the flow's answer to that emit becomes the HTTP response.
//
// How the response gets back: the server emits on `request` and waits for
// the emit's ANSWER (not for a separate message). A flow such as
//   request -> greeter.in (transform), greeter.out -> server.response
// answers the emit with whatever delivering to `response` answered, and the
// `response` port answers with exactly the message it received. So the
// mapped {statusCode, headers, contentType, body} travels back along the
// path, across hosts too, to the emit's callback, which writes it. Any flow
// that answers the request with such an object works the same way, with or
// without the `response` port.
//
// Status codes the server picks itself:
//   413 body over maxBodySize, 400 malformed HTTP, 431 header too large,
//   504 no answer within `timeout`, 500 the flow failed (details only in the
//   log), 404 the flow answered empty (nothing wired to `request`, or
//   nothing in the flow produced an answer): "no flow answered this request".
// At `maxConnections` open connections the server stops accepting until one
// closes (the kernel's listen backlog holds the newcomers); nothing queues
// inside the process.
//
// Threads: the network runs on the node's own io_context (ServerRuntime);
// on_settings/start/stop run on host threads and start/stop may also arrive
// on the runtime's own threads when a flow wires a request to `stop`. A
// runtime stopped from its own thread is retired and joined later (next
// start or on_destroy). The settings arrive once, before any start or stop
// (new settings recreate the node), so only the runtimes need the lock.
#include <memory>
#include <mutex>
#include <vector>

#include <tiny/settings.hpp>

#include "components.h"
#include "server_runtime.h"

namespace http_module {
namespace {

class HttpServer final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    requests_ = counter("http_server_requests_total", "HTTP responses written, by status code");
    latency_ = histogram("http_server_request_duration_seconds", "time from a request's first bytes to its response");
    tiny::SettingsReader in(s);
    config_.host = in.string("host");
    if (in.ok() && config_.host.empty()) in.fail("host", "must not be empty (use 0.0.0.0 for every interface)");
    config_.port = static_cast<uint16_t>(in.integer("port", 0, 65535));
    config_.max_body_size = static_cast<uint64_t>(in.integer("maxBodySize", 0, int64_t{1} << 40));
    config_.timeout = std::chrono::milliseconds(in.integer("timeout", 1, int64_t{24} * 3600 * 1000, "milliseconds"));
    config_.header_timeout =
        std::chrono::milliseconds(in.integer("headerTimeout", 1, int64_t{24} * 3600 * 1000, "milliseconds"));
    config_.idle_timeout =
        std::chrono::milliseconds(in.integer("idleTimeout", 1, int64_t{24} * 3600 * 1000, "milliseconds"));
    config_.max_connections = static_cast<uint64_t>(in.integer("maxConnections", 1, 1000000));
    bool autostart = in.boolean("autostart");
    if (!in.ok()) return in.reply();
    if (autostart) {
      try {
        start_server(nullptr);
      } catch (const std::exception& e) {
        // The address is taken or not ours: the environment's failure, not
        // a bad setting (the host exits 1 rather than 2 at start).
        log_error(e.what());
        return tiny::Reply::error(TINY_STATUS_UNAVAILABLE, e.what());
      }
    }
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    std::string_view port = msg.port();
    if (port == "response") {
      // The answer IS the response: it travels back to the request's emit.
      return tiny::Reply::raw(msg.data());
    }
    if (port == "start") {
      try {
        return start_server(msg.cause());
      } catch (const std::exception& e) {
        log_error(e.what());
        return tiny::Reply::error(e.what());
      }
    }
    return stop_server(msg.cause());  // "stop": the host delivers only the declared ports
  }

  void on_destroy() override {
    std::vector<std::unique_ptr<ServerRuntime>> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (running_) all.push_back(std::move(running_));
      for (auto& r : retired_) all.push_back(std::move(r));
      retired_.clear();
    }
    for (auto& rt : all) rt->shutdown();
    for (auto& rt : all) {
      std::string address = rt->address();
      rt.reset();  // joins (the host never destroys from our own threads)
      log_info("http server stopped address=" + address);
    }
  }

 private:
  // Starts listening unless already listening; answers the status.
  tiny::Json start_server(const tiny_call* cause) {
    reap_retired();
    std::unique_lock<std::mutex> lock(mu_);
    if (running_) return status_of(*running_);
    auto rt = ServerRuntime::start(config_, hooks());
    tiny::Json status = status_of(*rt);
    std::string address = rt->address();
    running_ = std::move(rt);
    lock.unlock();
    log_info("http server listening address=" + address);
    emit("status", status, {}, cause);
    return status;
  }

  tiny::Json stop_server(const tiny_call* cause) {
    std::unique_ptr<ServerRuntime> rt;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rt = std::move(running_);
    }
    tiny::Json status = {{"listening", false}};
    if (!rt) return status;
    std::string address = rt->address();
    rt->shutdown();
    if (rt->runs_in_this_thread()) {
      std::lock_guard<std::mutex> lock(mu_);
      retired_.push_back(std::move(rt));
    } else {
      rt.reset();
    }
    log_info("http server stopped address=" + address);
    emit("status", status, {}, cause);
    return status;
  }

  // Joins runtimes that were stopped from their own threads.
  void reap_retired() {
    std::vector<std::unique_ptr<ServerRuntime>> done, keep;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& r : retired_) (r->runs_in_this_thread() ? keep : done).push_back(std::move(r));
      retired_ = std::move(keep);
    }
    done.clear();  // joins, outside the lock
  }

  static tiny::Json status_of(const ServerRuntime& rt) {
    return {{"listening", true}, {"host", rt.host()}, {"port", rt.port()}};
  }

  ServerHooks hooks() {
    ServerHooks h;
    // The runtime threads are joined before on_destroy returns, so `this`
    // outlives every call of these.
    // Every request is traced: an inbound traceparent is continued, a
    // missing or invalid one starts a new trace (the host decides which).
    h.dispatch = [this](std::string json, tiny::TraceHeaders trace, ServerHooks::Answer answer) {
      emit_traced("request", json, trace, std::move(answer));
    };
    h.log = [this](int32_t level, const std::string& line) { log(level, line); };
    h.log_enabled = [this](int32_t level) { return log_enabled(level); };
    h.responded = [this](unsigned status, std::chrono::steady_clock::duration took) {
      requests_.add(static_cast<int32_t>(status));
      latency_.observe(std::chrono::duration<double>(took).count());
    };
    return h;
  }

  ServerConfig config_;  // settings: fixed before the first message
  // On the host's /metrics (no-ops without an admin listener); declared in
  // on_settings, before any runtime starts.
  tiny::Metric requests_, latency_;

  std::mutex mu_;  // guards everything below
  std::unique_ptr<ServerRuntime> running_;
  std::vector<std::unique_ptr<ServerRuntime>> retired_;
};

}  // namespace

tiny::ComponentSpec http_server_spec() {
  return tiny::ComponentSpec::of<HttpServer>("http_server")
      .describe("HTTP/1.1 server: each request goes out on `request`; the flow's answer is the response")
      .settings({{"host", "0.0.0.0"},
                 {"port", 8080},
                 {"maxBodySize", 1 << 20},
                 {"timeout", 30000},
                 {"headerTimeout", 10000},
                 {"idleTimeout", 30000},
                 {"maxConnections", 10000},
                 {"autostart", true}})
      .in("response", "{statusCode, headers, contentType, body}: answered back as the response to the request")
      .in("start", "starts listening; answers {listening, host, port}")
      .in("stop", "stops listening and closes connections; answers {listening: false}")
      .out("request", "{method, path, query{}, headers{}, body, remote}; its answer is the HTTP response")
      .out("status", "{listening, host, port} when the server starts or stops");
}

}  // namespace http_module
