// The http_server's network side: one io_context, a few threads, one
// acceptor and the connections, all owned by one node. Kept behind a pimpl
// so the component file compiles without Beast.
//
// Threads: start() binds on the caller's thread and then runs the
// io_context on kThreads threads of its own. Every connection lives on its
// own strand, so there is no thread per connection.
//
// Shutdown is two steps so it can be started from anywhere:
//   shutdown() [thread: any, also the runtime's own]: answer nothing more,
//     stop accepting, close every connection. Returns at once.
//   join() [thread: any but the runtime's own]: waits for the threads
//     (bounded: after a grace period the io_context is stopped hard).
// Destroying the runtime requires both (the destructor does them if not).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <tiny/plugin.hpp>

namespace http_module {

struct ServerConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;           // 0: the kernel picks one
  uint64_t max_body_size = 1 << 20;
  std::chrono::milliseconds timeout{30000};  // flow answer, reading a body, writing a response
  // From a connection's first byte wait (or the first byte of a request)
  // to the end of its header: a client that sends its header a byte at a
  // time is closed then.
  std::chrono::milliseconds header_timeout{10000};
  // A kept-alive connection waiting for its next request's first byte.
  std::chrono::milliseconds idle_timeout{30000};
  // Open connections at most; at the limit the server stops accepting (new
  // connections wait in the kernel's listen backlog) until one closes.
  uint64_t max_connections = 10000;
};

// What the runtime needs from its owner.
struct ServerHooks {
  // Receives the answer to one dispatched request: exactly once, on any
  // thread, possibly after shutdown (then it is dropped).
  using Answer = std::function<void(tiny::Result)>;
  // Sends one request message into the flow, with the request's W3C trace
  // headers (empty when it had none). Called on a runtime thread.
  std::function<void(std::string request_json, tiny::TraceHeaders trace, Answer answer)> dispatch;
  // Log sink. [thread: any]
  std::function<void(int32_t level, const std::string& line)> log;
  std::function<bool(int32_t level)> log_enabled;
  // A response is about to be written: its status, and the time since the
  // request's first bytes. Optional. Called on a runtime thread.
  std::function<void(unsigned status, std::chrono::steady_clock::duration took)> responded;
};

class ServerRuntime {
 public:
  // Resolves and binds `config.host:port`, then starts the threads. Throws
  // std::runtime_error naming the address when it cannot listen.
  static std::unique_ptr<ServerRuntime> start(const ServerConfig& config, ServerHooks hooks);
  ~ServerRuntime();
  ServerRuntime(const ServerRuntime&) = delete;
  ServerRuntime& operator=(const ServerRuntime&) = delete;

  // The bound address (the real port when configured with 0).
  const std::string& host() const;
  uint16_t port() const;
  // "127.0.0.1:8080", "[::1]:8080".
  std::string address() const;

  void shutdown();
  void join();
  // True on one of this runtime's threads (join would deadlock there).
  bool runs_in_this_thread() const;

  struct Impl;

 private:
  explicit ServerRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace http_module
