// Keys and self-signed certificates made in-process with OpenSSL, as PEM
// text, for the TLS unit tests (no openssl binary, no files of the system).
// Link OpenSSL::Crypto.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <string>

namespace tiny::test {

// One EC P-256 key and a certificate for it.
class TestIdentity {
 public:
  explicit TestIdentity(const std::string& common_name = "tinyhost-test") {
    key_ = EVP_EC_gen("P-256");
    cert_ = X509_new();
    if (!key_ || !cert_) throw std::runtime_error("OpenSSL could not make a key");
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 3600);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    if (X509_sign(cert_, key_, EVP_sha256()) == 0) throw std::runtime_error("OpenSSL could not sign");
  }
  ~TestIdentity() {
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  TestIdentity(const TestIdentity&) = delete;
  TestIdentity& operator=(const TestIdentity&) = delete;

  // "-----BEGIN CERTIFICATE-----" ...
  std::string CertPem() const {
    return Write([&](BIO* b) { return PEM_write_bio_X509(b, cert_); });
  }
  // PKCS#8, unencrypted: "-----BEGIN PRIVATE KEY-----" ...
  std::string KeyPem() const {
    return Write([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key_, nullptr, nullptr, 0, nullptr, nullptr); });
  }
  // PKCS#8 encrypted with a passphrase: "-----BEGIN ENCRYPTED PRIVATE KEY-----" ...
  std::string EncryptedKeyPem() const {
    static char pass[] = "secret";
    return Write([&](BIO* b) {
      return PEM_write_bio_PKCS8PrivateKey(b, key_, EVP_aes_256_cbc(), pass, sizeof pass - 1, nullptr, nullptr);
    });
  }

 private:
  template <typename F>
  static std::string Write(F write) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio || write(bio) != 1) {
      BIO_free(bio);
      throw std::runtime_error("OpenSSL could not write PEM");
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }

  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

}  // namespace tiny::test
