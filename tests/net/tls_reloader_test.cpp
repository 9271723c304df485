// TlsReloader and ClientCredentials refuse bad files at start with the PEM
// check's line; TINYHOST_TLS_REFRESH is read strictly. Handshakes and
// rotation through real processes are tests/integration/tls_test.py's.
#include "host/net/tls_reloader.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "host/net/client_credentials.h"
#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace {

using tiny::host::ClientCredentials;
using tiny::host::TlsOptions;
using tiny::host::TlsRefreshSeconds;
using tiny::host::TlsReloader;
using tiny::test::TempDir;
using tiny::test::TestIdentity;

// Sets (or, with nullopt, unsets) a variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* was = std::getenv(name)) was_ = was;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (was_) {
      setenv(name_, was_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> was_;
};

struct Files {
  TempDir dir;
  TestIdentity id{"a"}, other{"b"};
  std::string cert = dir.Write("tls.crt", id.CertPem());
  std::string key = dir.Write("tls.key", id.KeyPem());
  std::string other_key = dir.Write("other.key", other.KeyPem());
  std::string not_pem = dir.Write("notes.txt", "hello\n");
};

}  // namespace

TEST_CASE("TlsReloader: good files give both credentials") {
  Files f;
  TlsReloader tls(TlsOptions{f.cert, f.key, ""}, 1);
  CHECK(tls.refresh_seconds() == 1);
  CHECK(tls.ServerCredentials() != nullptr);
  CHECK(tls.ChannelCredentials() != nullptr);
  TlsReloader mtls(TlsOptions{f.cert, f.key, f.cert}, 1);  // with a CA: client certificates required
  CHECK(mtls.ServerCredentials() != nullptr);
}

TEST_CASE("TlsReloader: a bad file throws the PEM check's line") {
  Files f;
  CHECK_THROWS_WITH_AS(TlsReloader(TlsOptions{f.cert, "", ""}, 1), "--tls-cert and --tls-key go together",
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(
      TlsReloader(TlsOptions{f.not_pem, f.key, ""}, 1),
      ("--tls-cert: '" + f.not_pem + "' is not a PEM file (no -----BEGIN CERTIFICATE----- block)").c_str(),
      std::runtime_error);
  CHECK_THROWS_WITH_AS(
      TlsReloader(TlsOptions{f.cert, f.other_key, ""}, 1),
      ("--tls-key: '" + f.other_key + "' is not the key of the certificate in '" + f.cert + "'").c_str(),
      std::runtime_error);
  const std::string missing = f.dir.File("missing.pem");
  CHECK_THROWS_WITH_AS(TlsReloader(TlsOptions{f.cert, f.key, missing}, 1),
                       ("--tls-ca: cannot read '" + missing + "': No such file or directory").c_str(),
                       std::runtime_error);
}

TEST_CASE("TlsRefreshSeconds: 5 by default, else 1..86400 seconds") {
  {
    ScopedEnv env("TINYHOST_TLS_REFRESH", std::nullopt);
    CHECK(TlsRefreshSeconds() == 5);
  }
  {
    ScopedEnv env("TINYHOST_TLS_REFRESH", "");
    CHECK(TlsRefreshSeconds() == 5);
  }
  for (const char* good : {"1", "7", "86400"}) {
    ScopedEnv env("TINYHOST_TLS_REFRESH", good);
    CHECK(TlsRefreshSeconds() == std::stoul(good));
  }
  for (const char* bad : {"0", "86401", "-1", "5s", "x", "99999999999999999999"}) {
    CAPTURE(bad);
    ScopedEnv env("TINYHOST_TLS_REFRESH", bad);
    CHECK_THROWS_WITH_AS(
        TlsRefreshSeconds(),
        ("TINYHOST_TLS_REFRESH: '" + std::string(bad) + "' is not a number of seconds between 1 and 86400").c_str(),
        std::runtime_error);
  }
}

TEST_CASE("ClientCredentials: plaintext without files; a bad file is its line") {
  Files f;
  CHECK(ClientCredentials(TlsOptions{}) != nullptr);
  CHECK(ClientCredentials(TlsOptions{"", "", f.cert}) != nullptr);
  CHECK(ClientCredentials(TlsOptions{f.cert, f.key, f.cert}) != nullptr);
  CHECK_THROWS_WITH_AS(ClientCredentials(TlsOptions{"", f.key, ""}), "--tls-cert and --tls-key go together",
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(
      ClientCredentials(TlsOptions{"", "", f.not_pem}),
      ("--tls-ca: '" + f.not_pem + "' is not a PEM file (no -----BEGIN CERTIFICATE----- block)").c_str(),
      std::runtime_error);
  CHECK_THROWS_WITH_AS(
      ClientCredentials(TlsOptions{f.cert, f.other_key, ""}),
      ("--tls-key: '" + f.other_key + "' is not the key of the certificate in '" + f.cert + "'").c_str(),
      std::runtime_error);
}
