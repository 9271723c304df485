#include "server_runtime.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <atomic>
#include <condition_variable>
#include <pthread.h>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server_session.h"

namespace http_module {
namespace {

// Two threads: the flow runs inline on them (non-blocking components), so a
// second one keeps the server responsive while one is busy in a flow.
constexpr int kThreads = 2;
// How long join() lets the threads finish their handlers before stopping
// the io_context hard.
constexpr std::chrono::seconds kJoinGrace{3};
constexpr std::chrono::milliseconds kAcceptRetry{100};

}  // namespace

struct ServerRuntime::Impl {
  net::io_context io{kThreads};
  net::strand<net::io_context::executor_type> accept_strand{io.get_executor()};
  tcp::acceptor acceptor{accept_strand};
  net::steady_timer accept_retry{accept_strand};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<ServerShared> shared = std::make_shared<ServerShared>();
  std::string host;
  uint16_t port = 0;

  std::vector<std::thread> threads;
  std::mutex run_mu;  // guards running
  std::condition_variable run_cv;
  int running = 0;
  std::atomic<bool> accept_paused{false};  // written on the accept strand: at maxConnections
  bool shut = false;    // owner's thread only
  bool joined = false;  // owner's thread only

  void accept() {
    acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        // Out of file descriptors and the like: keep serving the open
        // connections and try again shortly instead of spinning.
        shared->log(TINY_LOG_WARN, "http server accept failed error=" + ec.message());
        accept_retry.expires_after(kAcceptRetry);
        accept_retry.async_wait([this](beast::error_code wec) {
          if (!wec) accept();
        });
        return;
      }
      std::make_shared<Session>(std::move(socket), shared)->start();
      // Paused before counting, so a session that closes right after the
      // count still posts a resume.
      accept_paused = true;
      if (open_sessions() >= shared->config.max_connections) {
        shared->log(TINY_LOG_WARN, "http server at maxConnections=" + std::to_string(shared->config.max_connections) +
                                       "; not accepting until a connection closes");
        return;
      }
      accept_paused = false;
      accept();
    });
  }

  size_t open_sessions() {
    std::lock_guard<std::mutex> lock(shared->sessions_mu);
    return shared->sessions.size();
  }

  // Runs on the accept strand after a session ended (see session_closed).
  void maybe_resume_accept() {
    if (!accept_paused || !acceptor.is_open() || open_sessions() >= shared->config.max_connections) return;
    accept_paused = false;
    shared->log(TINY_LOG_INFO, "http server accepting again");
    accept();
  }

  void run_thread() {
    pthread_setname_np(pthread_self(), "tiny-http");  // readable in top -H and the bench's per-thread table
    for (;;) {
      try {
        io.run();
        break;
      } catch (const std::exception& e) {
        shared->log(TINY_LOG_ERROR, std::string("http server handler threw: ") + e.what());
      } catch (...) {
        shared->log(TINY_LOG_ERROR, "http server handler threw");
      }
    }
    std::lock_guard<std::mutex> lock(run_mu);
    --running;
    run_cv.notify_all();
  }
};

std::unique_ptr<ServerRuntime> ServerRuntime::start(const ServerConfig& config, ServerHooks hooks) {
  auto impl = std::make_unique<Impl>();
  impl->shared->config = config;
  impl->shared->hooks = std::move(hooks);

  beast::error_code ec;
  tcp::resolver resolver(impl->io);
  auto results = resolver.resolve(config.host, std::to_string(config.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  const std::string wanted = config.host + ":" + std::to_string(config.port);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen address " + wanted + ": " + (ec ? ec.message() : "no address"));
  tcp::endpoint ep = results.begin()->endpoint();

  auto& acc = impl->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + wanted + ": " + ec.message());
  tcp::endpoint bound = acc.local_endpoint(ec);
  impl->host = bound.address().to_string();
  impl->port = bound.port();

  impl->work.emplace(impl->io.get_executor());
  {
    Impl* self = impl.get();
    // Called under the gate while open, so the io_context is alive.
    impl->shared->session_closed = [self] {
      if (self->accept_paused.load(std::memory_order_relaxed))
        net::post(self->accept_strand, [self] { self->maybe_resume_accept(); });
    };
  }
  impl->accept();
  Impl* raw = impl.get();
  impl->running = kThreads;
  for (int i = 0; i < kThreads; ++i) impl->threads.emplace_back([raw] { raw->run_thread(); });
  return std::unique_ptr<ServerRuntime>(new ServerRuntime(std::move(impl)));
}

ServerRuntime::ServerRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ServerRuntime::~ServerRuntime() {
  shutdown();
  if (!runs_in_this_thread()) {
    join();
  } else {
    // Cannot join ourselves: stop hard and let the threads go. Only reached
    // if an owner destroys a runtime from inside its own handler, which the
    // component avoids (it retires such a runtime and joins it later).
    impl_->io.stop();
    for (auto& t : impl_->threads)
      if (t.joinable()) t.detach();
    (void)impl_.release();  // the detached threads still use it: leak, never dangle
  }
}

const std::string& ServerRuntime::host() const { return impl_->host; }
uint16_t ServerRuntime::port() const { return impl_->port; }
std::string ServerRuntime::address() const {
  return (impl_->host.find(':') != std::string::npos ? "[" + impl_->host + "]" : impl_->host) + ":" +
         std::to_string(impl_->port);
}

bool ServerRuntime::runs_in_this_thread() const {
  for (const auto& t : impl_->threads)
    if (t.get_id() == std::this_thread::get_id()) return true;
  return false;
}

void ServerRuntime::shutdown() {
  Impl& im = *impl_;
  if (im.shut) return;
  im.shut = true;
  {
    std::lock_guard<std::shared_mutex> lock(im.shared->gate_mu);
    im.shared->open = false;
  }
  im.shared->stopping = true;
  // On the acceptor strand, so no accept handler registers a session after
  // the list of sessions to close is taken.
  net::post(im.accept_strand, [&im] {
    beast::error_code ec;
    im.acceptor.close(ec);
    im.accept_retry.cancel();
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard<std::mutex> lock(im.shared->sessions_mu);
      for (auto& [ptr, weak] : im.shared->sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->close();
  });
  im.work.reset();  // run() returns once the closes have run
}

void ServerRuntime::join() {
  Impl& im = *impl_;
  if (im.joined) return;
  {
    std::unique_lock<std::mutex> lock(im.run_mu);
    if (!im.run_cv.wait_for(lock, kJoinGrace, [&] { return im.running == 0; })) {
      im.shared->log(TINY_LOG_WARN, "http server threads still busy after shutdown; stopping them");
      im.io.stop();
    }
  }
  for (auto& t : im.threads)
    if (t.joinable()) t.join();
  im.joined = true;
}

}  // namespace http_module
