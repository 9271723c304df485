#include "host/net/pem_check.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

// The key/certificate pair check uses OpenSSL, which the host already links
// through gRPC (Debian's gRPC uses the system OpenSSL; host/CMakeLists.txt
// says so with OpenSSL::Crypto). Without the headers the check is off.
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

constexpr off_t kMaxPemBytes = 16 << 20;

// Reads a regular file of at most kMaxPemBytes into *text. The error is a
// few words (the caller names the file).
Result ReadSmallFile(const std::string& file, std::string* text) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return Result::Error(std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return Result::Error("is a directory");
  if (!S_ISREG(st.st_mode)) return Result::Error("is not a regular file");
  if (st.st_size > kMaxPemBytes) return Result::Error("is larger than 16 MiB");
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return Result::Error(std::strerror(errno));
  std::string content;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && content.size() <= static_cast<size_t>(kMaxPemBytes))
    content.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return Result::Error("read error");
  *text = std::move(content);
  return Result::Ok();
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

struct PemBlock {
  std::string label;
  bool encrypted = false;  // legacy "Proc-Type: 4,ENCRYPTED" header
};

// Splits PEM text into its blocks, appended to *blocks. An error (a block
// with no END line, a body that is not base64 DER) is a few words.
Result ParsePem(const std::string& text, std::vector<PemBlock>* blocks) {
  static const std::string kBegin = "-----BEGIN ", kEnd = "-----END ", kDashes = "-----";
  size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string::npos) {
    size_t label_start = pos + kBegin.size();
    size_t label_end = text.find(kDashes, label_start);
    size_t eol = text.find('\n', label_start);
    if (label_end == std::string::npos || (eol != std::string::npos && label_end > eol))
      return Result::Error("has a malformed BEGIN line");
    PemBlock block;
    block.label = text.substr(label_start, label_end - label_start);
    std::string end_line = kEnd + block.label + kDashes;
    size_t body_start = label_end + kDashes.size();
    size_t end = text.find(end_line, body_start);
    if (end == std::string::npos) return Result::Error("has no '" + end_line + "' line (truncated?)");
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
          if (!IsBase64Char(c)) return Result::Error("has a " + block.label + " block that is not base64");
          body += c;
        }
      }
      line_start = line_end + 1;
    }
    if (body.empty() || body.size() % 4 != 0 || (!block.encrypted && body[0] != 'M'))
      return Result::Error("has a " + block.label + " block that is not base64 DER");
    blocks->push_back(std::move(block));
    pos = end + end_line.size();
  }
  return Result::Ok();
}

// Which PEM blocks `flag` needs, checked on text already read.
Result CheckPemText(const std::string& flag, const std::string& file, const std::string& text) {
  std::vector<PemBlock> blocks;
  if (Result r = ParsePem(text, &blocks); !r.ok()) return Result::Error(flag + ": '" + file + "' " + r.message());
  bool want_key = flag == "--tls-key";
  const char* want = want_key ? "PRIVATE KEY" : "CERTIFICATE";
  for (const auto& b : blocks) {
    if (want_key) {
      if (b.label == "ENCRYPTED PRIVATE KEY" || (b.encrypted && b.label.ends_with("PRIVATE KEY")))
        return Result::Error(flag + ": '" + file +
                             "' holds an encrypted private key (not supported: give the key unencrypted, " +
                             "in a file only the host can read)");
      if (b.label == "PRIVATE KEY" || b.label == "RSA PRIVATE KEY" || b.label == "EC PRIVATE KEY") return Result::Ok();
    } else if (b.label == "CERTIFICATE") {
      return Result::Ok();
    }
  }
  if (blocks.empty())
    return Result::Error(flag + ": '" + file + "' is not a PEM file (no -----BEGIN " + want + "----- block)");
  return Result::Error(flag + ": '" + file + "' has no " + want + " block (found " + blocks.front().label + ")");
}

#if TINYHOST_TLS_OPENSSL
int NoPassphrase(char*, int, int, void*) { return 0; }
#endif

}  // namespace

Result ReadPemFile(const std::string& flag, const std::string& file, std::string* text) {
  std::string content;
  if (Result r = ReadSmallFile(file, &content); !r.ok())
    return Result::Error(flag + ": cannot read '" + file + "': " + r.message());
  if (Result r = CheckPemText(flag, file, content); !r.ok()) return r;
  *text = std::move(content);
  return Result::Ok();
}

Result CheckPemFile(const std::string& flag, const std::string& file) {
  std::string text;
  return ReadPemFile(flag, file, &text);
}

Result CheckKeyPair(const TlsOptions& o, const std::string& cert_pem, const std::string& key_pem) {
#if TINYHOST_TLS_OPENSSL
  Result result;
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  X509* cert = cb ? PEM_read_bio_X509(cb, nullptr, NoPassphrase, nullptr) : nullptr;
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, NoPassphrase, nullptr) : nullptr;
  if (!cert) {
    result = Result::Error("--tls-cert: '" + o.cert + "' holds no certificate OpenSSL can read");
  } else if (!key) {
    result = Result::Error("--tls-key: '" + o.key + "' holds no private key OpenSSL can read");
  } else if (X509_check_private_key(cert, key) != 1) {
    result = Result::Error("--tls-key: '" + o.key + "' is not the key of the certificate in '" + o.cert + "'");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cb);
  BIO_free(kb);
  ERR_clear_error();
  return result;
#else
  (void)o, (void)cert_pem, (void)key_pem;
  return Result::Ok();
#endif
}

}  // namespace tiny::host
