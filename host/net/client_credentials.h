// Client credentials for `tinyhost send`: one call, no rotation.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "host/net/tls_options.h"

namespace tiny::host {

// Insecure when no file is given; else TLS from the files' content as read
// (and checked, pem_check.h) now: --tls-ca alone verifies the server only;
// --tls-cert with --tls-key adds a client certificate. Throws
// std::runtime_error with one line naming a bad flag or file. Logs nothing
// (`send` prints the answer on stdout).
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& options);

}  // namespace tiny::host
