#include "http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

namespace http_module {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;

constexpr uint32_t kResponseHeaderLimit = 64 * 1024;
constexpr const char* kUserAgent = "tinyhost-http/0.1.0";

std::string base64_encode(std::string_view in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(abc[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(abc[(acc << (6 - bits)) & 0x3f]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// One exchange (with its redirects). Lives on its own strand; the handlers
// of its pending operations own it.
class Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  Fetch(net::io_context& io, std::shared_ptr<ssl::context> tls, const ClientConfig& config, ClientRequest request,
        ClientRuntime::Done done)
      : strand_(net::make_strand(io)),
        resolver_(strand_),
        deadline_(strand_),
        tls_ctx_(std::move(tls)),
        config_(config),
        request_(std::move(request)),
        done_(std::move(done)),
        redirects_left_(config.max_redirects) {}

  void run() {
    net::dispatch(strand_, [self = shared_from_this()] {
      self->deadline_.expires_after(self->request_.timeout);
      self->deadline_.async_wait([self](beast::error_code ec) { self->on_deadline(ec); });
      self->begin();
    });
  }

 private:
  void begin() {
    tcp_.reset();
    tls_.reset();
    buffer_.clear();
    try {
      build_request();
    } catch (const std::exception& e) {
      // A header made here from the URL (Host, Authorization from its
      // userinfo) that Beast cannot hold: an answer now, not at the timeout.
      return fail("cannot build the request to " + request_.url.host_header().substr(0, 64) + ": " + e.what(), false);
    }
    resolver_.async_resolve(request_.url.host, std::to_string(request_.url.port),
                            [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                              self->on_resolve(ec, std::move(r));
                            });
  }

  void build_request() {
    const Url& url = request_.url;
    req_ = {};
    req_.version(11);
    req_.method_string(request_.method);
    req_.target(url.target);
    bool has_host = false, has_agent = false, has_auth = false;
    for (const auto& [name, value] : request_.headers) {
      // Framing is computed from the body; a stale length would corrupt it.
      if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
      has_host |= iequals(name, "host");
      has_agent |= iequals(name, "user-agent");
      has_auth |= iequals(name, "authorization");
      req_.insert(name, value);
    }
    if (!has_host) req_.set(http::field::host, url.host_header());
    if (!has_agent) req_.set(http::field::user_agent, kUserAgent);
    if (!has_auth && !url.userinfo.empty())
      req_.set(http::field::authorization, "Basic " + base64_encode(percent_decode(url.userinfo, false)));
    if (request_.has_body) req_.body() = request_.body;
    req_.prepare_payload();
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec) return fail_network(ec, "resolve " + request_.url.host);
    if (request_.url.tls) {
      tls_.emplace(strand_, *tls_ctx_);
      SSL* ssl = tls_->native_handle();
      const std::string& host = request_.url.host;
      // Check the certificate against the URL's host: a name (with SNI) or
      // an IP literal (no SNI, RFC 6066).
      if (is_ip_literal(host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
      } else {
        SSL_set_tlsext_host_name(ssl, host.c_str());
        SSL_set1_host(ssl, host.c_str());
      }
    } else {
      tcp_.emplace(strand_);
    }
    lowest().async_connect(results, [self = shared_from_this()](beast::error_code cec, const tcp::endpoint&) {
      self->on_connect(cec);
    });
  }

  void on_connect(beast::error_code ec) {
    if (finished_) return;
    if (ec) return fail_network(ec, "connect " + request_.url.host_header());
    if (!tls_) return write();
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](beast::error_code hec) { self->on_handshake(hec); });
  }

  void on_handshake(beast::error_code ec) {
    if (finished_) return;
    if (!ec) return write();
    if (timed_out_) return fail_network(ec, "tls handshake");
    long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify != X509_V_OK) {
      return fail(std::string("tls certificate verification failed for ") + request_.url.host + ": " +
                      X509_verify_cert_error_string(verify),
                  false);
    }
    if (ec.category() == net::error::get_ssl_category())
      return fail("tls handshake with " + request_.url.host_header() + " failed: " + ec.message(), false);
    fail_network(ec, "tls handshake");
  }

  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*tcp_);
    }
  }

  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }

  void write() {
    with_stream([&](auto& stream) {
      http::async_write(stream, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
        self->on_write(ec);
      });
    });
  }

  void on_write(beast::error_code ec) {
    if (finished_) return;
    if (ec) return fail_network(ec, "send request to " + request_.url.host_header());
    parser_.emplace();
    parser_->header_limit(kResponseHeaderLimit);
    parser_->body_limit(config_.max_response_size);
    if (request_.method == "HEAD") parser_->skip(true);
    // Header first, then body: Beast 1.74's eager parse (what async_read of
    // a whole message does) loses the Content-Length vs body_limit error of
    // a response parser; reading the header alone reports it.
    with_stream([&](auto& stream) {
      http::async_read_header(stream, buffer_, *parser_, [self = shared_from_this()](beast::error_code rec, size_t) {
        self->on_header(rec);
      });
    });
  }

  void on_header(beast::error_code ec) {
    if (finished_) return;
    if (!ec && !parser_->is_done()) {
      auto length = parser_->content_length();
      if (length && *length > config_.max_response_size) ec = http::error::body_limit;
    }
    if (ec || parser_->is_done()) return on_read(ec);
    with_stream([&](auto& stream) {
      http::async_read(stream, buffer_, *parser_, [self = shared_from_this()](beast::error_code rec, size_t) {
        self->on_read(rec);
      });
    });
  }

  void on_read(beast::error_code ec) {
    if (finished_) return;
    if (ec == http::error::body_limit)
      return fail("response body exceeds maxResponseSize (" + std::to_string(config_.max_response_size) + " bytes)",
                  false);
    if (ec && !timed_out_ && &ec.category() == &make_error_code(http::error::bad_target).category() &&
        ec != http::error::partial_message && ec != http::error::end_of_stream)
      return fail("malformed HTTP response from " + request_.url.host_header() + ": " + ec.message(), false);
    if (ec) return fail_network(ec, "read response from " + request_.url.host_header());

    const auto& res = parser_->get();
    unsigned code = res.result_int();
    if ((code == 301 || code == 302 || code == 303 || code == 307 || code == 308) && redirects_left_ > 0) {
      auto loc = res.find(http::field::location);
      if (loc != res.end()) {
        std::string error;
        auto next = resolve_location(request_.url, std::string(loc->value()), error);
        if (next) return redirect(code, std::move(*next));
      }
    }

    ClientOutcome out;
    out.responded = true;
    out.status = code;
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value(field.value());
      auto it = out.headers.find(name);
      if (it == out.headers.end()) {
        out.headers[name] = std::move(value);
      } else {
        it->get_ref<std::string&>() += ", " + value;
      }
    }
    out.body = res.body();
    classify_status(out, std::string(res.reason()));
    finish(std::move(out));
  }

  void redirect(unsigned code, Url next) {
    --redirects_left_;
    close_stream();
    bool to_get = (code == 303 && request_.method != "HEAD") ||
                  ((code == 301 || code == 302) && request_.method == "POST");
    if (to_get) {
      request_.method = "GET";
      request_.has_body = false;
      request_.body.clear();
      std::erase_if(request_.headers, [](const auto& h) { return iequals(h.first, "content-type"); });
    }
    if (next.host != request_.url.host || next.port != request_.url.port || next.tls != request_.url.tls) {
      // Credentials stay with the origin they were meant for.
      std::erase_if(request_.headers, [](const auto& h) {
        return iequals(h.first, "authorization") || iequals(h.first, "cookie") || iequals(h.first, "host");
      });
    }
    request_.url = std::move(next);
    begin();
  }

  void on_deadline(beast::error_code ec) {
    if (ec || finished_) return;
    timed_out_ = true;
    resolver_.cancel();
    close_stream();
  }

  void fail_network(beast::error_code ec, const std::string& what) {
    if (timed_out_)
      return fail("timeout after " + std::to_string(request_.timeout.count()) + " ms (" + what + ")", true);
    fail(what + ": " + ec.message(), true);
  }

  void fail(std::string error, bool retryable) {
    ClientOutcome out;
    out.error = std::move(error);
    out.retryable = retryable;
    finish(std::move(out));
  }

  void finish(ClientOutcome out) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    close_stream();
    ClientRuntime::Done done = std::move(done_);
    done(std::move(out));
  }

  void close_stream() {
    if (!tcp_ && !tls_) return;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  Strand strand_;
  tcp::resolver resolver_;
  net::steady_timer deadline_;
  std::shared_ptr<ssl::context> tls_ctx_;
  ClientConfig config_;
  ClientRequest request_;
  ClientRuntime::Done done_;
  unsigned redirects_left_;

  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buffer_;
  bool finished_ = false;
  bool timed_out_ = false;
};

}  // namespace

struct ClientRuntime::Impl {
  net::io_context io{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<ssl::context> tls = std::make_shared<ssl::context>(ssl::context::tls_client);
  ClientConfig config;
  std::thread thread;
};

std::unique_ptr<ClientRuntime> ClientRuntime::start(const ClientConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto& ctx = *impl->tls;
  beast::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  ec);
  ctx.set_default_verify_paths(ec);
  if (ec) throw std::runtime_error("cannot load the system certificate store: " + ec.message());
  if (!config.ca_file.empty()) {
    ctx.load_verify_file(config.ca_file, ec);
    if (ec) throw std::runtime_error("cannot load caFile " + config.ca_file + ": " + ec.message());
  }
  ctx.set_verify_mode(ssl::verify_peer, ec);

  impl->work.emplace(impl->io.get_executor());
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->io.run();
        break;
      } catch (...) {
        // A handler threw (only allocation can): keep the thread serving.
      }
    }
  });
  return std::unique_ptr<ClientRuntime>(new ClientRuntime(std::move(impl)));
}

ClientRuntime::ClientRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientRuntime::~ClientRuntime() {
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // impl_ goes now: the io_context destroys the pending exchanges, whose
  // `done` callbacks are destroyed without being called.
}

void ClientRuntime::fetch(ClientRequest request, Done done) {
  std::make_shared<Fetch>(impl_->io, impl_->tls, impl_->config, std::move(request), std::move(done))->run();
}

}  // namespace http_module
