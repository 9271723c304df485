// Test-side HTTP tools: a synchronous Beast client, curl through popen, an
// upstream server (plain or TLS) for http_request, and a self-signed
// certificate made with OpenSSL. Everything binds to 127.0.0.1 port 0 and
// every blocking socket call has a receive timeout, so a bug fails a test
// instead of hanging it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <tiny/plugin.h>

extern "C" const tiny_entry tiny_plugin_entry;

namespace tiny::test {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr int kSocketTimeoutSec = 10;

// One keep-alive connection to 127.0.0.1:port.
class Client {
 public:
  explicit Client(uint16_t port);
  Response request(http::verb method, const std::string& target, const std::string& body = {},
                   const Headers& headers = {}, unsigned version = 11);
  void send(http::verb method, const std::string& target, const std::string& body = {}, const Headers& headers = {});
  Response read();
  void write_raw(std::string_view bytes);
  // Reads until the server closes (or the timeout); returns what arrived.
  std::string read_raw_until_close();
  // True iff the server closed the connection (a read sees EOF/reset).
  bool peer_closed();

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// Runs curl with `args` (a shell-quoted string); returns exit code and stdout.
struct CurlResult {
  int exit_code = -1;
  std::string out;
};
CurlResult curl(const std::string& args);

// Threads of this process, from /proc/self/status.
int thread_count();

// A self-signed certificate for "localhost" and 127.0.0.1.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  std::string cert_file;  // cert_pem written to a temporary file (a CA file)
  ~TestCert();
};
TestCert make_self_signed_cert();

// An upstream HTTP/1.1 server on 127.0.0.1:0 with one thread per
// connection (tests only). The handler's nullopt means "never answer": the
// connection is held open until the server stops.
class UpstreamServer {
 public:
  using Handler = std::function<std::optional<Response>(const Request&)>;
  explicit UpstreamServer(Handler handler, const TestCert* tls = nullptr);
  ~UpstreamServer();
  uint16_t port() const { return port_; }
  std::vector<Request> received() const;
  std::string last_sni() const;
  // Waits until `n` requests arrived.
  bool wait_received(size_t n, std::chrono::milliseconds timeout) const;

 private:
  void accept_loop();
  void serve(tcp::socket socket);
  template <class Stream>
  void serve_stream(Stream& stream);

  Handler handler_;
  std::optional<ssl::context> tls_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;  // guards everything below
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> conn_threads_;
  std::vector<int> conn_fds_;
  std::vector<Request> received_;
  std::string sni_;
};

Response make_response(http::status status, std::string body, const Headers& headers = {});

}  // namespace tiny::test
