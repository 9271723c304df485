// The admin listener (--admin-listen): a small HTTP/1.1 server on its own
// thread for /metrics, /healthz, /readyz, /status and the flow page. It
// answers GET and HEAD, one request per connection (Connection: close), so
// nothing on it can hold the host: a request must arrive within 5 s and fit
// in 8 KiB, at most 64 connections are open, and the handler runs on this
// thread, never on the message path.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tiny::host {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called with the request's path (no query), on the admin thread.
using AdminHandler = std::function<AdminResponse(std::string_view path)>;

class AdminServer {
 public:
  // Binds HOST:PORT (port 0: any free port) and starts the thread. Throws
  // std::runtime_error naming the address when it cannot listen.
  AdminServer(const std::string& listen, AdminHandler handler);
  ~AdminServer();  // stops the thread; open connections are closed
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // "127.0.0.1:9090", the bound port.
  std::string address() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tiny::host
