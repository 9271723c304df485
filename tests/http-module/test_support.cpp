#include "test_support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tiny::test {
namespace {

void set_receive_timeout(int fd) {
  timeval tv{kSocketTimeoutSec, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

Request build_request(http::verb method, const std::string& target, const std::string& body, const Headers& headers,
                      unsigned version) {
  Request req{method, target, version};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.insert(k, v);
  req.body() = body;
  if (!body.empty() || method == http::verb::post || method == http::verb::put) req.prepare_payload();
  return req;
}

}  // namespace

Client::Client(uint16_t port) : socket_(io_) {
  socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  set_receive_timeout(socket_.native_handle());
}

void Client::send(http::verb method, const std::string& target, const std::string& body, const Headers& headers) {
  Request req = build_request(method, target, body, headers, 11);
  http::write(socket_, req);
}

Response Client::read() {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(socket_, buffer_, parser);
  return parser.release();
}

Response Client::request(http::verb method, const std::string& target, const std::string& body,
                         const Headers& headers, unsigned version) {
  Request req = build_request(method, target, body, headers, version);
  http::write(socket_, req);
  http::response_parser<http::string_body> parser;
  if (method == http::verb::head) parser.skip(true);
  http::read(socket_, buffer_, parser);
  return parser.release();
}

void Client::write_raw(std::string_view bytes) { net::write(socket_, net::buffer(bytes.data(), bytes.size())); }

std::string Client::read_raw_until_close() {
  std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  buffer_.consume(buffer_.size());
  char chunk[4096];
  for (;;) {
    beast::error_code ec;
    size_t n = socket_.read_some(net::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec) break;
  }
  return out;
}

bool Client::peer_closed() {
  char c;
  beast::error_code ec;
  socket_.read_some(net::buffer(&c, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

CurlResult curl(const std::string& args) {
  CurlResult r;
  std::string cmd = "curl -sS --max-time 10 " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

int thread_count() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return -1;
}

TestCert::~TestCert() {
  if (!cert_file.empty()) std::remove(cert_file.c_str());
}

TestCert make_self_signed_cert() {
  TestCert out;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EC key generation failed");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());

  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<size_t>(len));
    BIO_free(bio);
    return s;
  };
  out.cert_pem = to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
  out.key_pem = to_pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);

  char path[] = "/tmp/http-module-test-ca-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  (void)!write(fd, out.cert_pem.data(), out.cert_pem.size());
  close(fd);
  out.cert_file = path;
  return out;
}

Response make_response(http::status status, std::string body, const Headers& headers) {
  Response res{status, 11};
  for (const auto& [k, v] : headers) res.insert(k, v);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

UpstreamServer::UpstreamServer(Handler handler, const TestCert* tls)
    : handler_(std::move(handler)), acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  if (tls) {
    tls_.emplace(ssl::context::tls_server);
    tls_->use_certificate_chain(net::buffer(tls->cert_pem));
    tls_->use_private_key(net::buffer(tls->key_pem), ssl::context::pem);
  }
  accept_thread_ = std::thread([this] { accept_loop(); });
}

UpstreamServer::~UpstreamServer() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  cv_.notify_all();
  ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept
  accept_thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(conn_threads_);
  }
  for (auto& t : threads) t.join();
}

void UpstreamServer::accept_loop() {
  for (;;) {
    tcp::socket socket(io_);
    beast::error_code ec;
    acceptor_.accept(socket, ec);
    std::lock_guard<std::mutex> lock(mu_);
    if (ec || stopping_) return;
    set_receive_timeout(socket.native_handle());
    conn_fds_.push_back(socket.native_handle());
    conn_threads_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
  }
}

void UpstreamServer::serve(tcp::socket socket) {
  int fd = socket.native_handle();
  if (tls_) {
    ssl::stream<tcp::socket&> stream(socket, *tls_);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) {
      const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
      {
        std::lock_guard<std::mutex> lock(mu_);
        sni_ = sni ? sni : "";
      }
      serve_stream(stream);
    }
  } else {
    serve_stream(socket);
  }
  // Forget the fd before the socket closes it, so stop never shuts down a
  // reused descriptor.
  std::lock_guard<std::mutex> lock(mu_);
  std::erase(conn_fds_, fd);
}

template <class Stream>
void UpstreamServer::serve_stream(Stream& stream) {
  beast::flat_buffer buffer;
  for (;;) {
    Request req;
    beast::error_code ec;
    http::read(stream, buffer, req, ec);
    if (ec) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(req);
    }
    cv_.notify_all();
    std::optional<Response> res = handler_(req);
    if (!res) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_; });
      return;
    }
    res->keep_alive(req.keep_alive());
    http::write(stream, *res, ec);
    if (ec || !req.keep_alive()) return;
  }
}

std::vector<Request> UpstreamServer::received() const {
  std::lock_guard<std::mutex> lock(mu_);
  return received_;
}

std::string UpstreamServer::last_sni() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sni_;
}

bool UpstreamServer::wait_received(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

}  // namespace tiny::test
