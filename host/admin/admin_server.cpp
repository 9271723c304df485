#include "host/admin/admin_server.h"

#include <pthread.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <stdexcept>
#include <thread>

#include "host/base/names.h"

namespace tiny::host {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr size_t kHeaderLimit = 8 * 1024;
constexpr int kMaxConnections = 64;

}  // namespace

struct AdminServer::Impl {
  // Before io: the connections its handlers still hold at destruction
  // count themselves out of `open`.
  AdminHandler handler;
  std::atomic<int> open{0};
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer retry{io};
  std::thread thread;

  void Accept();
  void Serve(tcp::socket socket);
};

namespace {

// One connection: read one request, answer it, close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, AdminServer::Impl& server) : stream_(std::move(socket)), server_(server) {
    ++server_.open;
  }
  ~Connection() { --server_.open; }

  void Start() {
    parser_.header_limit(kHeaderLimit);
    parser_.body_limit(kHeaderLimit);  // read (and ignored), so a POST gets its 405
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return;
    AdminResponse answer;
    bool head = false;
    if (ec) {
      answer = AdminResponse{400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n"};
    } else {
      const auto& req = parser_.get();
      head = req.method() == http::verb::head;
      if (req.method() != http::verb::get && !head) {
        answer = AdminResponse{405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
      } else {
        std::string_view target(req.target().data(), req.target().size());
        std::string_view path = target.substr(0, target.find('?'));
        try {
          answer = server_.handler(path);
        } catch (const std::exception& e) {
          answer = AdminResponse{500, "text/plain; charset=utf-8", std::string("admin handler failed: ") + e.what() + "\n"};
        }
      }
    }
    Write(std::move(answer), head);
  }

  void Write(AdminResponse answer, bool head) {
    response_.result(static_cast<unsigned>(answer.status));
    response_.version(11);
    response_.set(http::field::server, "tinyhost");
    response_.set(http::field::content_type, answer.content_type);
    response_.set(http::field::cache_control, "no-store");
    response_.set("X-Content-Type-Options", "nosniff");
    response_.keep_alive(false);
    response_.body() = std::move(answer.body);
    response_.prepare_payload();
    if (head) response_.body().clear();  // Content-Length stays the GET's
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  AdminServer::Impl& server_;
  beast::flat_buffer buffer_{kHeaderLimit};
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

void AdminServer::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      Serve(std::move(socket));
      return Accept();
    }
    // Out of descriptors (EMFILE) or the like: accepting again at once
    // would fail again at once and spin; try again a little later.
    retry.expires_after(std::chrono::milliseconds(100));
    retry.async_wait([this](beast::error_code wait) {
      if (!wait) Accept();
    });
  });
}

void AdminServer::Impl::Serve(tcp::socket socket) {
  if (open.load() >= kMaxConnections) return;  // closed as `socket` goes
  std::make_shared<Connection>(std::move(socket), *this)->Start();
}

AdminServer::AdminServer(const std::string& listen, AdminHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";  // ":9090": every interface, as in the image
  std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
  beast::error_code ec;
  tcp::resolver resolver(impl_->io);
  auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) throw std::runtime_error("--admin-listen: cannot resolve '" + listen + "': " + ec.message());
  tcp::endpoint ep = results.begin()->endpoint();
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("--admin-listen: cannot listen on " + listen + ": " + ec.message());
  impl_->Accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  pthread_setname_np(impl_->thread.native_handle(), "tiny-admin");
}

AdminServer::~AdminServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string AdminServer::address() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

}  // namespace tiny::host
