// The http_request component's network side: one io_context on one thread
// of its own, running any number of exchanges at once (no thread per call).
// Behind a pimpl so the component file compiles without Beast/OpenSSL.
//
// An exchange: resolve, connect, TLS (certificates verified against the
// system store plus `ca_file`, host name checked, SNI sent), write, read,
// follow redirects, all under one deadline. One connection per exchange.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "client_request.h"

namespace http_module {

struct ClientConfig {
  uint64_t max_response_size = 10 << 20;  // body bytes
  unsigned max_redirects = 10;             // 0: answer 3xx as is
  std::string ca_file;                     // extra trusted CAs (PEM), may be empty
};

class ClientRuntime {
 public:
  using Done = std::function<void(ClientOutcome)>;

  // Builds the TLS context and starts the thread. Throws std::runtime_error
  // (e.g. an unreadable ca_file).
  static std::unique_ptr<ClientRuntime> start(const ClientConfig& config);
  // Stops the thread and drops unfinished exchanges (their `done` is
  // destroyed uncalled). Not from the runtime's own thread.
  ~ClientRuntime();
  ClientRuntime(const ClientRuntime&) = delete;
  ClientRuntime& operator=(const ClientRuntime&) = delete;

  // Starts one exchange. `done` runs exactly once on the runtime's thread,
  // unless the runtime is destroyed first. [thread: any]
  void fetch(ClientRequest request, Done done);

  struct Impl;

 private:
  explicit ClientRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace http_module
