#include "host/net/tls.h"

#include <fcntl.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "host/base/log.h"

// The key/certificate pair check uses OpenSSL, which the host already links
// through gRPC (Debian's gRPC uses the system OpenSSL; host/CMakeLists.txt
// should say so with OpenSSL::Crypto). Without the headers the check is off.
#if !defined(TINYHOST_TLS_OPENSSL) && __has_include(<openssl/x509.h>)
#define TINYHOST_TLS_OPENSSL 1
#endif
#if TINYHOST_TLS_OPENSSL
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#endif

namespace tiny::host {
namespace {

constexpr unsigned kDefaultRefreshSeconds = 5;
// gRPC reads the staged copies (memory) this often; the files on disk are
// checked every refresh_seconds_.
constexpr unsigned kStagedRefreshSeconds = 1;
constexpr off_t kMaxPemBytes = 16 << 20;

// Reads a regular file of at most kMaxPemBytes. Returns "" and sets `error`
// when it cannot.
std::string ReadSmallFile(const std::string& file, std::string& error) {
  struct stat st{};
  if (stat(file.c_str(), &st) != 0) {
    error = std::strerror(errno);
    return {};
  }
  if (S_ISDIR(st.st_mode)) {
    error = "is a directory";
    return {};
  }
  if (!S_ISREG(st.st_mode)) {
    error = "is not a regular file";
    return {};
  }
  if (st.st_size > kMaxPemBytes) {
    error = "is larger than 16 MiB";
    return {};
  }
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) {
    error = std::strerror(errno);
    return {};
  }
  std::string text;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() <= static_cast<size_t>(kMaxPemBytes))
    text.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) error = "read error";
  return text;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=';
}

struct PemBlock {
  std::string label;
  bool encrypted = false;  // legacy "Proc-Type: 4,ENCRYPTED" header
};

// Splits PEM text into its blocks. Returns false with `error` set when a
// block is malformed (no END line, a body that is not base64 DER).
bool ParsePem(const std::string& text, std::vector<PemBlock>& blocks, std::string& error) {
  static const std::string kBegin = "-----BEGIN ", kEnd = "-----END ", kDashes = "-----";
  size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string::npos) {
    size_t label_start = pos + kBegin.size();
    size_t label_end = text.find(kDashes, label_start);
    size_t eol = text.find('\n', label_start);
    if (label_end == std::string::npos || (eol != std::string::npos && label_end > eol)) {
      error = "has a malformed BEGIN line";
      return false;
    }
    PemBlock block;
    block.label = text.substr(label_start, label_end - label_start);
    std::string end_line = kEnd + block.label + kDashes;
    size_t body_start = label_end + kDashes.size();
    size_t end = text.find(end_line, body_start);
    if (end == std::string::npos) {
      error = "has no '" + end_line + "' line (truncated?)";
      return false;
    }
    // The body: optional RFC 1421 headers ("Proc-Type: ...", a blank line),
    // then base64 of DER, which starts with a SEQUENCE (0x30, base64 'M').
    std::string body;
    size_t line_start = body_start;
    while (line_start < end) {
      size_t line_end = std::min(text.find('\n', line_start), end);
      std::string line = text.substr(line_start, line_end - line_start);
      if (line.find(':') != std::string::npos) {
        if (line.find("ENCRYPTED") != std::string::npos) block.encrypted = true;
      } else {
        for (char c : line) {
          if (c == ' ' || c == '\t' || c == '\r') continue;
          if (!IsBase64Char(c)) {
            error = "has a " + block.label + " block that is not base64";
            return false;
          }
          body += c;
        }
      }
      line_start = line_end + 1;
    }
    if (body.empty() || body.size() % 4 != 0 || (!block.encrypted && body[0] != 'M')) {
      error = "has a " + block.label + " block that is not base64 DER";
      return false;
    }
    blocks.push_back(std::move(block));
    pos = end + end_line.size();
  }
  return true;
}

// Which PEM blocks `flag` needs, checked on text already read.
std::string CheckPemText(const std::string& flag, const std::string& file, const std::string& text) {
  std::vector<PemBlock> blocks;
  std::string error;
  if (!ParsePem(text, blocks, error)) return flag + ": '" + file + "' " + error;
  bool want_key = flag == "--tls-key";
  const char* want = want_key ? "PRIVATE KEY" : "CERTIFICATE";
  for (const auto& b : blocks) {
    if (want_key) {
      if (b.label == "ENCRYPTED PRIVATE KEY" || (b.encrypted && b.label.ends_with("PRIVATE KEY")))
        return flag + ": '" + file + "' holds an encrypted private key (not supported: give the key unencrypted, " +
               "in a file only the host can read)";
      if (b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY" || b.label == "EC PRIVATE KEY") return {};
    } else if (b.label == "CERTIFICATE") {
      return {};
    }
  }
  if (blocks.empty()) return flag + ": '" + file + "' is not a PEM file (no -----BEGIN " + want + "----- block)";
  return flag + ": '" + file + "' has no " + want + " block (found " + blocks.front().label + ")";
}

// Reads `file` and checks it for `flag`; "" and `text` set, or the error line.
std::string ReadPem(const std::string& flag, const std::string& file, std::string& text) {
  std::string error;
  text = ReadSmallFile(file, error);
  if (!error.empty()) return flag + ": cannot read '" + file + "': " + error;
  return CheckPemText(flag, file, text);
}

#if TINYHOST_TLS_OPENSSL
int NoPassphrase(char*, int, int, void*) { return 0; }

// The key must be the certificate's (the first certificate of the chain).
std::string CheckPair(const TlsOptions& o, const std::string& cert_pem, const std::string& key_pem) {
  std::string error;
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  X509* cert = cb ? PEM_read_bio_X509(cb, nullptr, NoPassphrase, nullptr) : nullptr;
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, NoPassphrase, nullptr) : nullptr;
  if (!cert) {
    error = "--tls-cert: '" + o.cert + "' holds no certificate OpenSSL can read";
  } else if (!key) {
    error = "--tls-key: '" + o.key + "' holds no private key OpenSSL can read";
  } else if (X509_check_private_key(cert, key) != 1) {
    error = "--tls-key: '" + o.key + "' is not the key of the certificate in '" + o.cert + "'";
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cb);
  BIO_free(kb);
  ERR_clear_error();
  return error;
}
#endif

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentialsFrom(
    std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider, bool with_ca) {
  grpc::experimental::TlsChannelCredentialsOptions opts;
  opts.set_certificate_provider(std::move(provider));
  opts.watch_identity_key_cert_pairs();
  // Without a CA the peer is verified against the system roots.
  if (with_ca) opts.watch_root_certs();
  return grpc::experimental::TlsCredentials(opts);
}

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

std::string CheckPemFile(const std::string& flag, const std::string& file) {
  std::string text;
  return ReadPem(flag, file, text);
}

// --- StagedFile ---------------------------------------------------------------

StagedFile::~StagedFile() {
  if (fd_ >= 0) close(fd_);
}

std::string StagedFile::path() const { return "/proc/self/fd/" + std::to_string(fd_); }

int StagedFile::Make(const std::string& content, std::string& error) {
  int fd = memfd_create(name_, MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create: ") + std::strerror(errno);
    return -1;
  }
  fchmod(fd, 0400);  // it holds the private key
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = std::string("write: ") + std::strerror(errno);
      close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  // gRPC re-reads a file whose modification second changed while it read;
  // give every version a second of its own.
  time_t now = std::time(nullptr);
  mtime_ = std::max(now, mtime_ + 1);
  struct timespec times[2] = {{mtime_, 0}, {mtime_, 0}};
  futimens(fd, times);
  return fd;
}

bool StagedFile::Open(const char* name, const std::string& content, std::string& error) {
  name_ = name;
  fd_ = Make(content, error);
  if (fd_ < 0) return false;
  if (access(path().c_str(), R_OK) != 0) {
    error = path() + ": " + std::strerror(errno);
    close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

bool StagedFile::Replace(const std::string& content, std::string& error) {
  int fd = Make(content, error);
  if (fd < 0) return false;
  // Atomic: whoever opens path() from now on gets the new file.
  bool ok = dup3(fd, fd_, O_CLOEXEC) >= 0;
  if (!ok) error = std::string("dup3: ") + std::strerror(errno);
  close(fd);
  return ok;
}

// --- TlsReloader --------------------------------------------------------------

TlsReloader::TlsReloader(const TlsOptions& options, unsigned refresh_seconds)
    : options_(options), refresh_seconds_(refresh_seconds ? refresh_seconds : TlsRefreshSeconds()) {
  if (options_.cert.empty() || options_.key.empty())
    throw std::runtime_error("--tls-cert and --tls-key go together");
  seen_ = StampFiles();
  if (std::string error = Load(staged_); !error.empty()) throw std::runtime_error(error);

  std::string error;
  bool staged = identity_file_.Open("tinyhost-tls-identity", staged_.identity, error) &&
                (options_.ca.empty() || ca_file_.Open("tinyhost-tls-ca", staged_.ca, error));
  if (staged) {
    provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        identity_file_.path(), identity_file_.path(), options_.ca.empty() ? "" : ca_file_.path(),
        kStagedRefreshSeconds);
  } else {
    // No memory files: gRPC watches the files on disk itself (a bad file
    // there then fails new handshakes until it is fixed).
    spdlog::warn("tls: cannot stage checked copies ({}); gRPC reads the files directly", error);
    provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(options_.key, options_.cert,
                                                                                     options_.ca, refresh_seconds_);
  }
  spdlog::info("tls enabled cert={} key={} ca={} client_certificates={} refresh_seconds={}", LogValue(options_.cert),
               LogValue(options_.key), LogValue(options_.ca.empty() ? "-" : options_.ca),
               options_.ca.empty() ? "not requested" : "required", refresh_seconds_);
  watcher_ = std::thread([this] { Watch(); });
  pthread_setname_np(watcher_.native_handle(), "tiny-tls-watch");
}

TlsReloader::~TlsReloader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  watcher_.join();
}

std::string TlsReloader::Load(Material& out) const {
  std::string cert, key, ca;
  if (std::string e = ReadPem("--tls-cert", options_.cert, cert); !e.empty()) return e;
  if (std::string e = ReadPem("--tls-key", options_.key, key); !e.empty()) return e;
  if (!options_.ca.empty())
    if (std::string e = ReadPem("--tls-ca", options_.ca, ca); !e.empty()) return e;
#if TINYHOST_TLS_OPENSSL
  if (std::string e = CheckPair(options_, cert, key); !e.empty()) return e;
#endif
  // OpenSSL takes the certificates of the chain from this text and the key
  // from its key block; gRPC reads one file for both, so they change together.
  out.identity = cert;
  if (!out.identity.empty() && out.identity.back() != '\n') out.identity += '\n';
  out.identity += key;
  out.ca = ca;
  return {};
}

TlsReloader::Stamps TlsReloader::StampFiles() const {
  auto stamp = [](const std::string& file) {
    Stamp s;
    struct stat st{};
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
  } files[] = {{"--tls-cert", options_.cert, now.cert}, {"--tls-key", options_.key, now.key},
               {"--tls-ca", options_.ca, now.ca}};
  for (const auto& f : files) {
    if (!f.file.empty() && !f.stamp.exists) {
      spdlog::warn("tls file missing flag={} file={}; the last good certificate stays in use", f.flag,
                   LogValue(f.file));
      return;
    }
  }
  Material next;
  if (std::string error = Load(next); !error.empty()) {
    spdlog::error("tls files changed but cannot be used, the last good certificate stays in use: {}", error);
    return;
  }
  if (next == staged_) return;  // touched, same content
  if (!identity_file_.is_open()) {
    spdlog::info("tls files changed; new connections use them within {} s", refresh_seconds_);
    staged_ = std::move(next);
    return;
  }
  std::string error;
  // The CA first: a new certificate may come from a CA the bundle only now has.
  if ((next.ca != staged_.ca && !ca_file_.Replace(next.ca, error)) ||
      (next.identity != staged_.identity && !identity_file_.Replace(next.identity, error))) {
    spdlog::error("tls: cannot stage the new files: {}; the last good certificate stays in use", error);
    return;
  }
  staged_ = std::move(next);
  spdlog::info("tls files reloaded cert={} key={} ca={}; new connections use them within {} s",
               LogValue(options_.cert), LogValue(options_.key), LogValue(options_.ca.empty() ? "-" : options_.ca),
               kStagedRefreshSeconds);
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
  return ChannelCredentialsFrom(provider_, !options_.ca.empty());
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  if (options.cert.empty() != options.key.empty()) throw std::runtime_error("--tls-cert and --tls-key go together");
  std::string cert, key, ca;
  if (!options.cert.empty()) {
    if (std::string e = ReadPem("--tls-cert", options.cert, cert); !e.empty()) throw std::runtime_error(e);
    if (std::string e = ReadPem("--tls-key", options.key, key); !e.empty()) throw std::runtime_error(e);
#if TINYHOST_TLS_OPENSSL
    if (std::string e = CheckPair(options, cert, key); !e.empty()) throw std::runtime_error(e);
#endif
  }
  if (!options.ca.empty())
    if (std::string e = ReadPem("--tls-ca", options.ca, ca); !e.empty()) throw std::runtime_error(e);
  // One call, no rotation: the files' content as read (and checked) now.
  // No logging here: `send` prints the answer on stdout.
  if (cert.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ca;
    return grpc::SslCredentials(ssl);
  }
  std::vector<grpc::experimental::IdentityKeyCertPair> pairs{{key, cert}};
  auto provider = ca.empty() ? std::make_shared<grpc::experimental::StaticDataCertificateProvider>(pairs)
                             : std::make_shared<grpc::experimental::StaticDataCertificateProvider>(ca, pairs);
  grpc::experimental::TlsChannelCredentialsOptions opts;
  opts.set_certificate_provider(provider);
  opts.watch_identity_key_cert_pairs();
  if (!ca.empty()) opts.watch_root_certs();
  return grpc::experimental::TlsCredentials(opts);
}

}  // namespace tiny::host
