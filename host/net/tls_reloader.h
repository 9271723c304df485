// TLS and mTLS credentials from PEM files for the server and the client
// pool, with rotation without a restart. See docs/security.md.
//
// gRPC's file-watcher provider does not read the operator's files directly:
// the host checks them first (pem_check.h) and hands gRPC a checked copy (a
// StagedFile it replaces atomically). So a rotation that leaves a bad file
// on disk (truncated, not PEM, a key that is not the certificate's) is
// logged and the last good certificate stays in use, instead of every new
// connection failing.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <sys/stat.h>

#include <condition_variable>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "host/base/result.h"
#include "host/net/staged_file.h"
#include "host/net/tls_options.h"

namespace tiny::host {

// How often the files on disk are checked for a change, in seconds:
// TINYHOST_TLS_REFRESH when set (1..86400), else 5. Throws
// std::runtime_error naming a bad value.
unsigned TlsRefreshSeconds();

class TlsReloader {
 public:
  // Checks the files (readable, PEM of the right kind; the key belongs to
  // the certificate when the host is built with OpenSSL). Throws
  // std::runtime_error with one line naming the flag and the file. A CA
  // makes the server require and verify client certificates, and the client
  // pool verify its peers against it (without one: the system roots).
  // `refresh_seconds` 0: TlsRefreshSeconds(). Starts the watch thread, which
  // checks the files every refresh_seconds() until the destructor joins it.
  explicit TlsReloader(const TlsOptions& options, unsigned refresh_seconds = 0);
  ~TlsReloader();  // StopWatching()
  TlsReloader(const TlsReloader&) = delete;
  TlsReloader& operator=(const TlsReloader&) = delete;

  // Both share one provider (one refresh thread of gRPC's). [thread: any]
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  unsigned refresh_seconds() const { return refresh_seconds_; }
  // Joins the watch thread; the credentials stay valid (the files as last
  // staged). For the end of a drain, when the listener outlives the host's
  // threads (design rule 8). Idempotent. [thread: the owner's]
  void StopWatching();

 private:
  struct Stamp {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    struct timespec mtime {};
    bool operator==(const Stamp& o) const {
      return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size && mtime.tv_sec == o.mtime.tv_sec &&
             mtime.tv_nsec == o.mtime.tv_nsec;
    }
  };
  struct Stamps {
    Stamp cert, key, ca;
    bool operator==(const Stamps& o) const { return cert == o.cert && key == o.key && ca == o.ca; }
  };
  // What gRPC gets: the certificate chain followed by the key (one file, so
  // that the pair always changes together), and the CA bundle.
  struct Material {
    std::string identity, ca;
    bool operator==(const Material& o) const { return identity == o.identity && ca == o.ca; }
  };

  // Reads and checks the three files into *out; an error is one line
  // naming the flag and the file.
  Result Load(Material* out) const;
  Stamps StampFiles() const;
  void Watch();
  void CheckForChange();

  TlsOptions options_;
  unsigned refresh_seconds_;
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider_;  // set once, by the constructor
  // Set by the constructor, then touched by the watch thread only.
  StagedFile identity_file_, ca_file_;
  Material staged_;
  Stamps seen_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread watcher_;
};

}  // namespace tiny::host
