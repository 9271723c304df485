#include "host/net/tls_reloader.h"

#include <grpcpp/security/tls_credentials_options.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "host/base/log.h"
#include "host/net/pem_check.h"

namespace tiny::host {
namespace {

constexpr unsigned kDefaultRefreshSeconds = 5;
// gRPC reads the staged copies (memory) this often; the files on disk are
// checked every refresh_seconds_.
constexpr unsigned kStagedRefreshSeconds = 1;

}  // namespace

unsigned TlsRefreshSeconds() {
  const char* env = std::getenv("TINYHOST_TLS_REFRESH");
  if (!env || !*env) return kDefaultRefreshSeconds;
  char* end = nullptr;
  errno = 0;
  unsigned long n = std::strtoul(env, &end, 10);
  if (errno != 0 || *end != '\0' || n < 1 || n > 86400 || env[0] == '-')
    throw std::runtime_error(std::string("TINYHOST_TLS_REFRESH: '") + env +
                             "' is not a number of seconds between 1 and 86400");
  return static_cast<unsigned>(n);
}

TlsReloader::TlsReloader(const TlsOptions& options, unsigned refresh_seconds)
    : options_(options), refresh_seconds_(refresh_seconds ? refresh_seconds : TlsRefreshSeconds()) {
  if (options_.cert.empty() || options_.key.empty()) throw std::runtime_error("--tls-cert and --tls-key go together");
  seen_ = StampFiles();
  if (Result r = Load(&staged_); !r.ok()) throw std::runtime_error(r.message());

  Result staged = identity_file_.Open("tinyhost-tls-identity", staged_.identity);
  if (staged.ok() && !options_.ca.empty()) staged = ca_file_.Open("tinyhost-tls-ca", staged_.ca);
  if (staged.ok()) {
    provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        identity_file_.path(), identity_file_.path(), options_.ca.empty() ? "" : ca_file_.path(),
        kStagedRefreshSeconds);
  } else {
    // No memory files: gRPC watches the files on disk itself (a bad file
    // there then fails new handshakes until it is fixed).
    spdlog::warn("tls: cannot stage checked copies ({}); gRPC reads the files directly", staged.message());
    provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(options_.key, options_.cert,
                                                                                     options_.ca, refresh_seconds_);
  }
  spdlog::info("tls enabled cert={} key={} ca={} client_certificates={} refresh_seconds={}", LogValue(options_.cert),
               LogValue(options_.key), LogValue(options_.ca.empty() ? "-" : options_.ca),
               options_.ca.empty() ? "not requested" : "required", refresh_seconds_);
  watcher_ = std::thread([this] { Watch(); });
  pthread_setname_np(watcher_.native_handle(), "tiny-tls-watch");
}

TlsReloader::~TlsReloader() { StopWatching(); }

void TlsReloader::StopWatching() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

Result TlsReloader::Load(Material* out) const {
  std::string cert, key, ca;
  if (Result r = ReadPemFile("--tls-cert", options_.cert, &cert); !r.ok()) return r;
  if (Result r = ReadPemFile("--tls-key", options_.key, &key); !r.ok()) return r;
  if (!options_.ca.empty())
    if (Result r = ReadPemFile("--tls-ca", options_.ca, &ca); !r.ok()) return r;
  if (Result r = CheckKeyPair(options_, cert, key); !r.ok()) return r;
  // OpenSSL takes the certificates of the chain from this text and the key
  // from its key block; gRPC reads one file for both, so they change together.
  out->identity = cert;
  if (!out->identity.empty() && out->identity.back() != '\n') out->identity += '\n';
  out->identity += key;
  out->ca = ca;
  return Result::Ok();
}

TlsReloader::Stamps TlsReloader::StampFiles() const {
  auto stamp = [](const std::string& file) {
    Stamp s;
    struct stat st {};
    if (!file.empty() && stat(file.c_str(), &st) == 0) {
      s.exists = true;
      s.dev = st.st_dev;
      s.ino = st.st_ino;
      s.size = st.st_size;
      s.mtime = st.st_mtim;
    }
    return s;
  };
  return {stamp(options_.cert), stamp(options_.key), stamp(options_.ca)};
}

void TlsReloader::Watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(refresh_seconds_), [this] { return stopping_; })) {
    lock.unlock();
    try {
      CheckForChange();
    } catch (const std::exception& e) {
      spdlog::error("tls: checking the files failed: {}", e.what());
    }
    lock.lock();
  }
}

void TlsReloader::CheckForChange() {
  Stamps now = StampFiles();
  if (now == seen_) return;
  // Let a writer finish: act once the files have been still for a moment.
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; })) return;
  }
  if (!(StampFiles() == now)) return;  // still changing: the next check
  seen_ = now;
  const struct {
    const char* flag;
    const std::string& file;
    const Stamp& stamp;
  } files[] = {
      {"--tls-cert", options_.cert, now.cert}, {"--tls-key", options_.key, now.key}, {"--tls-ca", options_.ca, now.ca}};
  for (const auto& f : files) {
    if (!f.file.empty() && !f.stamp.exists) {
      spdlog::warn("tls file missing flag={} file={}; the last good certificate stays in use", f.flag,
                   LogValue(f.file));
      return;
    }
  }
  Material next;
  if (Result r = Load(&next); !r.ok()) {
    spdlog::error("tls files changed but cannot be used, the last good certificate stays in use: {}", r.message());
    return;
  }
  if (next == staged_) return;  // touched, same content
  if (!identity_file_.is_open()) {
    spdlog::info("tls files changed; new connections use them within {} s", refresh_seconds_);
    staged_ = std::move(next);
    return;
  }
  // The CA first: a new certificate may come from a CA the bundle only now has.
  Result replaced;
  if (next.ca != staged_.ca) replaced = ca_file_.Replace(next.ca);
  if (replaced.ok() && next.identity != staged_.identity) replaced = identity_file_.Replace(next.identity);
  if (!replaced.ok()) {
    spdlog::error("tls: cannot stage the new files: {}; the last good certificate stays in use", replaced.message());
    return;
  }
  staged_ = std::move(next);
  spdlog::info("tls files reloaded cert={} key={} ca={}; new connections use them within {} s", LogValue(options_.cert),
               LogValue(options_.key), LogValue(options_.ca.empty() ? "-" : options_.ca), kStagedRefreshSeconds);
}

std::shared_ptr<grpc::ServerCredentials> TlsReloader::ServerCredentials() const {
  grpc::experimental::TlsServerCredentialsOptions opts(provider_);
  opts.watch_identity_key_cert_pairs();
  if (!options_.ca.empty()) {
    opts.watch_root_certs();
    opts.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    opts.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(opts);
}

std::shared_ptr<grpc::ChannelCredentials> TlsReloader::ChannelCredentials() const {
  grpc::experimental::TlsChannelCredentialsOptions opts;
  opts.set_certificate_provider(provider_);
  opts.watch_identity_key_cert_pairs();
  // Without a CA the peer is verified against the system roots.
  if (!options_.ca.empty()) opts.watch_root_certs();
  return grpc::experimental::TlsCredentials(opts);
}

}  // namespace tiny::host
