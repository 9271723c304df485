// The HTTP baseline: a bare Boost.Beast HTTP/1.1 server answering what the
// bench http flow answers (http_server -> transform -> response with
// {statusCode: 200, body: "Hello {{$.query.name}}!"}): GET /hello?name=Ada
// -> 200 "Hello Ada!" text/plain. Keep-alive, asynchronous sessions on an
// io_context run by --threads threads (2, as the http-module's server).
//
//   beast_server [--listen 127.0.0.1] [--port 0] [--threads 2]
//
// Prints "serving address=HOST:PORT" once it listens; SIGTERM/SIGINT stop it.
#include <utility>  // before Boost 1.74 asio: its awaitable.hpp uses std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string Greeting(beast::string_view target) {
  std::string name;
  auto q = target.find('?');
  if (q != beast::string_view::npos) {
    beast::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      beast::string_view pair = query.substr(0, amp);
      if (pair.substr(0, 5) == "name=") {
        name = std::string(pair.substr(5));
        break;
      }
      if (amp == beast::string_view::npos) break;
      query = query.substr(amp + 1);
    }
  }
  return "Hello " + name + "!";
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}
  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }
  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    response_ = {};
    response_.version(request_.version());
    response_.result(http::status::ok);
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    response_.keep_alive(request_.keep_alive());
    response_.body() = Greeting(request_.target());
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code written, std::size_t) {
      if (written || !self->response_.keep_alive()) return self->Close();
      self->Read();
    });
  }
  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

class Listener {
 public:
  Listener(net::io_context& io, tcp::endpoint at) : io_(io), acceptor_(io) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void Accept() {
    acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed
      socket.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(socket))->Start();
      Accept();
    });
  }
  void Close() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  net::io_context& io_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) host = argv[++i];
    else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = static_cast<unsigned short>(std::atoi(argv[++i]));
    else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::max(1, std::atoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: %s [--listen HOST] [--port N] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  net::io_context io{threads};
  Listener listener(io, tcp::endpoint(net::ip::make_address(host), port));
  listener.Accept();
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    listener.Close();
    io.stop();
  });
  std::printf("serving address=%s:%u\n", host.c_str(), listener.port());
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}
