// The PEM files of --tls-cert/--tls-key/--tls-ca, as the server, the client
// pool and `send` take them. Apart from tls_reloader.h so that option parsing
// needs no gRPC header.
#pragma once

#include <string>

namespace tiny::host {

struct TlsOptions {
  std::string cert, key, ca;  // PEM files; all empty = plaintext
  bool enabled() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

}  // namespace tiny::host
