// One accepted HTTP/1.1 connection of the http_server, and the state its
// connections share with the runtime.
//
// Threads: everything a Session does runs on its own strand. The flow's
// answer arrives on any thread (the emit callback) and is posted onto the
// strand; the `gate` makes sure nothing is posted once the runtime shut
// down, because the io_context may be gone by then.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <mutex>
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

  // Open while the runtime runs. An answer callback posts onto a session's
  // strand only under this lock while open, so shutdown (which closes it
  // first) knows no post can race the io_context's destruction.
  std::mutex gate_mu;
  bool open = true;

  std::atomic<bool> stopping{false};

  // Live sessions, for closing them at shutdown. A session registers on the
  // acceptor strand and unregisters in its destructor (any thread).
  std::mutex sessions_mu;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;

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
  void on_header(beast::error_code ec);
  void read_body();
  void on_body(beast::error_code ec);
  void on_read_error(beast::error_code ec);
  void dispatch_request();
  void on_answer(uint64_t seq, tiny::Result answer);
  void on_deadline(uint64_t seq, beast::error_code ec);
  void send(HttpResponse res, bool force_close);
  void on_written(bool close, beast::error_code ec);
  void reject(http::status status, std::string_view text);
  void linger_close();
  void drain();
  void do_close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  net::steady_timer deadline_;  // the flow's answer time limit
  std::shared_ptr<ServerShared> shared_;
  std::string remote_;

  // Strand-only state.
  RequestFacts facts_;
  std::string request_line_;  // "GET /path", for log lines
  uint64_t seq_ = 0;          // the request being answered; late answers carry an older one
  bool awaiting_ = false;     // a request is waiting for the flow's answer
  bool closing_ = false;
  std::shared_ptr<HttpResponse> out_;  // alive while being written
  std::array<char, 4096> drain_buf_{};
  size_t drained_ = 0;
  std::chrono::steady_clock::time_point linger_until_;
};

}  // namespace http_module
