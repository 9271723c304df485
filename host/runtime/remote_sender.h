// How the scheduler reaches a node that another host serves. The client
// pool implements it; tests may too.
#pragma once

#include <string>
#include <string_view>

#include "host/runtime/call.h"

namespace tiny::host {

class RemoteSender {
 public:
  virtual ~RemoteSender() = default;
  // Sends `data` to `to` ("node.port") on a host serving `module`, at hop
  // `hop` with call->context's deadline and metadata, and completes `call`
  // exactly once with the answer or a status. Never blocks. [thread: any]
  virtual void Send(const std::string& module, const std::string& to, const std::string& from,
                    std::string_view data, uint32_t hop, tiny_call* call) = 0;
};

}  // namespace tiny::host
