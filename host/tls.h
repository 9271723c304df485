// TLS and mTLS credentials from PEM files, for the server and the client
// pool. The files are watched by gRPC's file-watcher provider, so rotated
// certificates take effect without a restart.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "host/options.h"

namespace tiny::host {

class TlsReloader {
 public:
  // Checks the files are readable PEM. Throws std::runtime_error naming the
  // file. A CA makes the server require and verify client certificates.
  explicit TlsReloader(const TlsOptions& options, unsigned refresh_seconds = 5);

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  // Nothing to do by hand: the provider polls the files itself.
  void Poll() {}

 private:
  TlsOptions options_;
  unsigned refresh_seconds_;
};

// Client credentials for `tinyhost send`: TLS when any file is given.
std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& options);

}  // namespace tiny::host
