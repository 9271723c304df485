#include "server_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "http_framing.h"

namespace http_module {
namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
// After a response that ends the connection, keep reading (and dropping)
// what the client still sends for a while, so the close is a FIN rather than
// an RST that could destroy the response before the client reads it.
constexpr size_t kMaxDrain = 1 << 20;
constexpr std::chrono::milliseconds kMaxLinger{2000};

// What a kept-alive connection reads of the next request before the header
// parser takes over.
constexpr size_t kFirstRead = 4096;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string endpoint_text(const tcp::endpoint& ep) {
  std::string addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  return addr + ":" + std::to_string(ep.port());
}

bool is_http_error(const beast::error_code& ec) {
  return &ec.category() == &make_error_code(http::error::bad_target).category();
}

}  // namespace

Session::Session(tcp::socket socket, std::shared_ptr<ServerShared> shared)
    : stream_(std::move(socket)), timer_(stream_.get_executor()), shared_(std::move(shared)) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  remote_ = ec ? std::string("unknown") : endpoint_text(ep);
}

Session::~Session() {
  {
    std::lock_guard<std::mutex> lock(shared_->sessions_mu);
    shared_->sessions.erase(this);
  }
  std::shared_lock<std::shared_mutex> gate(shared_->gate_mu);
  if (shared_->open && shared_->session_closed) shared_->session_closed();
}

void Session::start() {
  {
    std::lock_guard<std::mutex> lock(shared_->sessions_mu);
    shared_->sessions.emplace(this, weak_from_this());
  }
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read_header, shared_from_this()));
}

void Session::close() {
  net::post(stream_.get_executor(), beast::bind_front_handler(&Session::do_close, shared_from_this()));
}

void Session::read_header() {
  if (closing_) return;
  if (shared_->stopping.load()) return do_close();
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(shared_->config.max_body_size);
  if (seq_ > 0 && buffer_.size() == 0) {
    // Kept alive: wait up to idleTimeout for the next request to begin.
    set_deadline(std::chrono::steady_clock::now() + shared_->config.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kFirstRead), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->on_first_bytes(ec, n);
    });
    return;
  }
  read_header_bytes();
}

void Session::on_first_bytes(beast::error_code ec, size_t n) {
  if (closing_) return;
  if (ec) return do_close();  // the client left, or idleTimeout passed: nothing to answer
  buffer_.commit(n);
  read_header_bytes();
}

void Session::read_header_bytes() {
  // The header, however slowly it comes, within headerTimeout.
  request_started_ = std::chrono::steady_clock::now();
  set_deadline(request_started_ + shared_->config.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void Session::on_header(beast::error_code ec) {
  if (closing_) return;
  if (ec) return on_read_error(ec);
  const auto& req = parser_->get();
  facts_ = RequestFacts{req.version(), req.keep_alive(), req.method() == http::verb::head};
  // Before the body is read or the request dispatched: a request whose end
  // is ambiguous is answered and the connection closed.
  if (FramingVerdict framing = CheckRequestFraming(req.base(), req.version()); !framing.ok) {
    facts_.keep_alive = false;
    if (shared_->log_enabled(TINY_LOG_DEBUG))  // debug, like any malformed request: a peer must not flood the log
      shared_->log(TINY_LOG_DEBUG, "http request refused remote=" + remote_ + " reason=\"" + framing.reason + "\"");
    return reject(framing.status, framing.reason + "\n");
  }
  if (parser_->is_done()) return dispatch_request();
  // The body is within the limit (else the header read failed with
  // body_limit): let a client that waits for "100 Continue" send it.
  if (req.version() >= 11 && beast::iequals(req[http::field::expect], "100-continue")) {
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code wec, size_t) {
                       if (self->closing_) return;
                       if (wec) return self->do_close();
                       self->read_body();
                     });
    return;
  }
  read_body();
}

void Session::read_body() {
  set_deadline(std::chrono::steady_clock::now() + shared_->config.timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
}

void Session::on_body(beast::error_code ec) {
  if (closing_) return;
  if (ec) return on_read_error(ec);
  dispatch_request();
}

void Session::on_read_error(beast::error_code ec) {
  facts_ = RequestFacts{11, false, false};
  if (ec == http::error::body_limit) {
    shared_->log(TINY_LOG_WARN, "http request body over maxBodySize remote=" + remote_ +
                                    " limit=" + std::to_string(shared_->config.max_body_size));
    return reject(http::status::payload_too_large, "request body exceeds maxBodySize\n");
  }
  if (ec == http::error::header_limit) {
    return reject(http::status::request_header_fields_too_large, "request header fields too large\n");
  }
  // end_of_stream: the client closed between requests; partial_message:
  // it went away mid-request. Neither can be answered.
  if (is_http_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
    if (shared_->log_enabled(TINY_LOG_DEBUG))
      shared_->log(TINY_LOG_DEBUG, "malformed http request remote=" + remote_ + " error=" + ec.message());
    return reject(http::status::bad_request, "malformed HTTP request\n");
  }
  do_close();
}

void Session::dispatch_request() {
  HttpRequest req = parser_->release();
  parser_.reset();
  std::string json = request_to_json(req, remote_);
  request_line_ = std::string(req.method_string()) + " " + std::string(req.target());
  if (shared_->log_enabled(TINY_LOG_DEBUG))
    shared_->log(TINY_LOG_DEBUG, "http request " + request_line_ + " remote=" + remote_);

  const uint64_t seq = ++seq_;
  awaiting_ = true;
  // The flow has `timeout` to answer. The armed timer also keeps the
  // session alive until the answer or the timeout.
  set_deadline(std::chrono::steady_clock::now() + shared_->config.timeout);

  std::weak_ptr<Session> weak = weak_from_this();
  std::shared_ptr<ServerShared> shared = shared_;
  ServerHooks::Answer answer = [weak, shared, seq](tiny::Result result) {
    // `self` outlives the lock: were it the last reference, the destructor
    // (which takes the gate too) runs after the lock is released.
    std::shared_ptr<Session> self = weak.lock();
    if (!self) return;
    std::shared_lock<std::shared_mutex> lock(shared->gate_mu);
    if (!shared->open) return;  // the runtime shut down: answer nothing more
    // In place when already on the session's strand (an inline flow), else
    // posted to it.
    net::dispatch(self->stream_.get_executor(), [self, seq, result = std::move(result)]() mutable {
      self->on_answer(seq, std::move(result));
    });
  };
  try {
    shared_->hooks.dispatch(std::move(json), trace_headers(req), std::move(answer));
  } catch (const std::exception& e) {
    // The emit itself failed; answer as a flow failure.
    on_answer(seq, tiny::Result{TINY_STATUS_INTERNAL, {}, std::string("dispatch failed: ") + e.what()});
  }
}

void Session::on_answer(uint64_t seq, tiny::Result answer) {
  if (closing_ || seq != seq_ || !awaiting_) return;  // late: already answered 504
  awaiting_ = false;
  std::string problem;
  HttpResponse res;
  try {
    res = response_from_answer(answer, facts_, problem);
  } catch (const std::exception& e) {
    // What the checks there did not foresee (bad_alloc): still an answer,
    // or the client would wait for one until `timeout`.
    problem = std::string("could not build the response: ") + e.what();
    res = text_response(http::status::internal_server_error, "internal server error\n", facts_);
  }
  if (!problem.empty()) shared_->log(TINY_LOG_ERROR, "http request " + request_line_ + ": " + problem);
  send(std::move(res), false);
}

void Session::set_deadline(std::chrono::steady_clock::time_point at) {
  deadline_ = at;
  // An armed timer that fires no later than `at` re-arms itself then.
  if (timer_armed_ && timer_.expiry() <= at) return;
  arm_timer(at);
}

void Session::arm_timer(std::chrono::steady_clock::time_point at) {
  timer_armed_ = true;
  timer_.expires_at(at);  // aborts a pending wait; its handler is stale by generation
  timer_.async_wait([self = shared_from_this(), generation = ++timer_generation_](beast::error_code ec) {
    self->on_timer(generation, ec);
  });
}

void Session::on_timer(uint64_t generation, beast::error_code ec) {
  if (generation != timer_generation_) return;  // superseded by a later arm_timer
  timer_armed_ = false;
  if (ec == net::error::operation_aborted || closing_) return;
  if (std::chrono::steady_clock::now() < deadline_) return arm_timer(deadline_);
  if (awaiting_) {
    awaiting_ = false;  // a late answer carries this seq_ and finds nothing awaiting
    shared_->log(TINY_LOG_WARN, "http request " + request_line_ + ": flow did not answer within " +
                                    std::to_string(shared_->config.timeout.count()) + " ms");
    return send(text_response(http::status::gateway_timeout, "the flow did not answer in time\n", facts_), false);
  }
  // Reading (idle keep-alive, a stalled client), writing (a client that
  // does not read its response) or lingering: the connection is done.
  do_close();
}

void Session::send(HttpResponse res, bool force_close) {
  if (force_close) res.keep_alive(false);
  bool close = !res.keep_alive();
  if (shared_->hooks.responded) shared_->hooks.responded(res.result_int(), std::chrono::steady_clock::now() - request_started_);
  out_ = std::make_shared<HttpResponse>(std::move(res));
  set_deadline(std::chrono::steady_clock::now() + shared_->config.timeout);
  http::async_write(stream_, *out_, [self = shared_from_this(), close](beast::error_code ec, size_t) {
    self->on_written(close, ec);
  });
}

void Session::on_written(bool close, beast::error_code ec) {
  out_.reset();
  if (closing_) return;
  if (ec) return do_close();
  if (close) return linger_close();
  read_header();
}

void Session::reject(http::status status, std::string_view text) {
  send(text_response(status, text, facts_), true);
}

void Session::linger_close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return do_close();
  set_deadline(std::chrono::steady_clock::now() + std::min(kMaxLinger, shared_->config.timeout));
  drained_ = 0;
  drain();
}

void Session::drain() {
  stream_.async_read_some(net::buffer(drain_buf_), [self = shared_from_this()](beast::error_code ec, size_t n) {
    if (self->closing_) return;
    self->drained_ += n;
    if (ec || self->drained_ > kMaxDrain) return self->do_close();
    self->drain();
  });
}

void Session::do_close() {
  if (closing_) return;
  closing_ = true;
  awaiting_ = false;
  timer_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

}  // namespace http_module
