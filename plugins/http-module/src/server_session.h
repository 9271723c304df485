// One accepted HTTP/1.1 connection of the http_server, and the state its
// connections share with the runtime.
//
// Threads: everything a Session does runs on its own strand. The flow's
// answer arrives on any thread (the emit callback) and is dispatched onto
// the strand: in place when the flow answered inline on the strand (the
// common case: non-blocking components run on the emitting thread), else
// posted. The `gate` makes sure nothing is posted once the runtime shut
// down, because the io_context may be gone by then.
//
// Time limits: one timer per session enforces them all (idle keep-alive,
// a slow or stalled client, the flow's answer, a slow reader of the
// response, the linger after a close). Each phase only stores its deadline
// (`set_deadline`); the timer, armed at most once at a time, re-arms itself
// when it fires before the current deadline. So a request costs no timer
// operations at all, where Beast's per-operation timeouts cost an arm and a
// cancel (and a handler run) per read and per write.
#pragma once

#include <array>
#include <functional>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "server_mapping.h"
#include "server_runtime.h"

namespace http_module {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class Session;

struct ServerShared {
  ServerConfig config;
  ServerHooks hooks;

  // Open while the runtime runs. An answer callback dispatches onto a
  // session's strand only under this lock (shared) while open, so shutdown
  // (which closes it first, exclusively) knows no post can race the
  // io_context's destruction.
  std::shared_mutex gate_mu;
  bool open = true;

  std::atomic<bool> stopping{false};

  // Live sessions, for closing them at shutdown. A session registers on the
  // acceptor strand and unregisters in its destructor (any thread).
  std::mutex sessions_mu;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;
  // Called (under the gate, while open) after a session unregistered: the
  // runtime resumes accepting if it paused at maxConnections.
  std::function<void()> session_closed;

  void log(int32_t level, const std::string& line) const {
    if (hooks.log) hooks.log(level, line);
  }
  bool log_enabled(int32_t level) const { return hooks.log_enabled && hooks.log_enabled(level); }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerShared> shared);
  ~Session();

  // Registers the session and starts reading. Call once, right after
  // construction, on the acceptor's strand.
  void start();
  // Closes the connection from any thread; answers nothing more.
  void close();

 private:
  void read_header();
  void on_first_bytes(beast::error_code ec, size_t n);
  void read_header_bytes();
  void on_header(beast::error_code ec);
  void read_body();
  void on_body(beast::error_code ec);
  void on_read_error(beast::error_code ec);
  void dispatch_request();
  void on_answer(uint64_t seq, tiny::Result answer);
  void set_deadline(std::chrono::steady_clock::time_point at);
  void arm_timer(std::chrono::steady_clock::time_point at);
  void on_timer(uint64_t generation, beast::error_code ec);
  void send(HttpResponse res, bool force_close);
  void on_written(bool close, beast::error_code ec);
  void reject(http::status status, std::string_view text);
  void linger_close();
  void drain();
  void do_close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  net::steady_timer timer_;  // enforces deadline_ (see "Time limits" above)
  std::shared_ptr<ServerShared> shared_;
  std::string remote_;

  // Strand-only state.
  RequestFacts facts_;
  std::string request_line_;  // "GET /path", for log lines
  uint64_t seq_ = 0;          // the request being answered; late answers carry an older one
  bool awaiting_ = false;     // a request is waiting for the flow's answer
  bool closing_ = false;
  std::chrono::steady_clock::time_point deadline_;  // of the current phase
  std::chrono::steady_clock::time_point request_started_;  // its first bytes arrived
  uint64_t timer_generation_ = 0;  // bumped per wait; an older wait's handler is stale
  bool timer_armed_ = false;
  std::shared_ptr<HttpResponse> out_;  // alive while being written
  std::array<char, 4096> drain_buf_{};
  size_t drained_ = 0;
};

}  // namespace http_module
