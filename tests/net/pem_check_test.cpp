// The PEM checks a host makes before gRPC sees --tls-cert/--tls-key/--tls-ca:
// each bad file is one line naming the flag and the file (the lines
// docs/security.md shows).
#include "host/net/pem_check.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "support/temp_dir.h"
#include "support/test_pki.h"

namespace {

using tiny::host::CheckKeyPair;
using tiny::host::CheckPemFile;
using tiny::host::ReadPemFile;
using tiny::host::TlsOptions;
using tiny::test::TempDir;
using tiny::test::TestIdentity;

// A PEM block around `body` (base64 lines), as a file would hold it.
std::string Block(const std::string& label, const std::string& body, const std::string& headers = "") {
  return "-----BEGIN " + label + "-----\n" + headers + body + "\n-----END " + label + "-----\n";
}

}  // namespace

TEST_CASE("a certificate and its key pass, and the text read is the file's") {
  TempDir dir;
  TestIdentity id;
  std::string cert = dir.Write("tls.crt", id.CertPem());
  std::string key = dir.Write("tls.key", id.KeyPem());
  CHECK(CheckPemFile("--tls-cert", cert).ok());
  CHECK(CheckPemFile("--tls-ca", cert).ok());  // a CA bundle holds certificates too
  CHECK(CheckPemFile("--tls-key", key).ok());
  std::string text;
  REQUIRE(ReadPemFile("--tls-cert", cert, &text).ok());
  CHECK(text == id.CertPem());
  CHECK(CheckKeyPair(TlsOptions{cert, key, ""}, id.CertPem(), id.KeyPem()).ok());
}

TEST_CASE("older key labels pass: RSA PRIVATE KEY, EC PRIVATE KEY") {
  TempDir dir;
  // The check reads labels and base64 DER; the body's shape is all it needs.
  const std::string body = "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA";
  CHECK(CheckPemFile("--tls-key", dir.Write("rsa.key", Block("RSA PRIVATE KEY", body))).ok());
  CHECK(CheckPemFile("--tls-key", dir.Write("ec.key", Block("EC PRIVATE KEY", body))).ok());
}

TEST_CASE("a file that cannot be read: missing, a directory, not regular, too large") {
  TempDir dir;
  std::string missing = dir.File("missing.crt");
  CHECK(CheckPemFile("--tls-key", missing).message() ==
        "--tls-key: cannot read '" + missing + "': No such file or directory");
  std::string sub = dir.File("sub");
  REQUIRE(mkdir(sub.c_str(), 0700) == 0);
  CHECK(CheckPemFile("--tls-cert", sub).message() == "--tls-cert: cannot read '" + sub + "': is a directory");
  std::string fifo = dir.File("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(CheckPemFile("--tls-ca", fifo).message() == "--tls-ca: cannot read '" + fifo + "': is not a regular file");
  std::string big = dir.Write("big.crt", "");
  REQUIRE(truncate(big.c_str(), (16 << 20) + 1) == 0);  // sparse: no 16 MiB written
  CHECK(CheckPemFile("--tls-cert", big).message() == "--tls-cert: cannot read '" + big + "': is larger than 16 MiB");
}

TEST_CASE("a file that is not the PEM the flag needs") {
  TempDir dir;
  TestIdentity id;
  std::string cert = dir.Write("tls.crt", id.CertPem());
  std::string key = dir.Write("tls.key", id.KeyPem());
  std::string text = dir.Write("notes.txt", "just some text\n");
  std::string empty = dir.Write("empty.crt", "");
  CHECK(CheckPemFile("--tls-cert", text).message() ==
        "--tls-cert: '" + text + "' is not a PEM file (no -----BEGIN CERTIFICATE----- block)");
  CHECK(CheckPemFile("--tls-key", empty).message() ==
        "--tls-key: '" + empty + "' is not a PEM file (no -----BEGIN PRIVATE KEY----- block)");
  CHECK(CheckPemFile("--tls-key", cert).message() ==
        "--tls-key: '" + cert + "' has no PRIVATE KEY block (found CERTIFICATE)");
  CHECK(CheckPemFile("--tls-cert", key).message() ==
        "--tls-cert: '" + key + "' has no CERTIFICATE block (found PRIVATE KEY)");
}

TEST_CASE("a malformed block: truncated, not base64, not DER, a broken BEGIN line") {
  TempDir dir;
  TestIdentity id;
  std::string pem = id.CertPem();
  std::string truncated = dir.Write("truncated.crt", pem.substr(0, pem.size() / 2));
  CHECK(CheckPemFile("--tls-cert", truncated).message() ==
        "--tls-cert: '" + truncated + "' has no '-----END CERTIFICATE-----' line (truncated?)");
  std::string not_base64 = dir.Write("b64.crt", Block("CERTIFICATE", "MIIB$not*base64"));
  CHECK(CheckPemFile("--tls-cert", not_base64).message() ==
        "--tls-cert: '" + not_base64 + "' has a CERTIFICATE block that is not base64");
  std::string not_der = dir.Write("der.crt", Block("CERTIFICATE", "aGVsbG8gd29ybGQh"));  // "hello world!"
  CHECK(CheckPemFile("--tls-cert", not_der).message() ==
        "--tls-cert: '" + not_der + "' has a CERTIFICATE block that is not base64 DER");
  std::string empty_body = dir.Write("nobody.crt", Block("CERTIFICATE", ""));
  CHECK(CheckPemFile("--tls-cert", empty_body).message() ==
        "--tls-cert: '" + empty_body + "' has a CERTIFICATE block that is not base64 DER");
  std::string bad_begin = dir.Write("begin.crt", "-----BEGIN CERTIFICATE\nMIIB\n-----END CERTIFICATE-----\n");
  CHECK(CheckPemFile("--tls-cert", bad_begin).message() ==
        "--tls-cert: '" + bad_begin + "' has a malformed BEGIN line");
}

TEST_CASE("an encrypted key is refused, PKCS#8 or legacy") {
  TempDir dir;
  TestIdentity id;
  const std::string why =
      "' holds an encrypted private key (not supported: give the key unencrypted, in a file only the host can read)";
  std::string pkcs8 = dir.Write("enc.key", id.EncryptedKeyPem());
  CHECK(CheckPemFile("--tls-key", pkcs8).message() == "--tls-key: '" + pkcs8 + why);
  std::string legacy = dir.Write(
      "legacy.key", Block("RSA PRIVATE KEY", "q83vASNFZ4mrze8BI0VniQ==",
                          "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\n"));
  CHECK(CheckPemFile("--tls-key", legacy).message() == "--tls-key: '" + legacy + why);
}

TEST_CASE("the text is set only when the file passes") {
  TempDir dir;
  std::string bad = dir.Write("bad.crt", "not pem");
  std::string text = "untouched";
  CHECK_FALSE(ReadPemFile("--tls-cert", bad, &text).ok());
  CHECK(text == "untouched");
}

TEST_CASE("CheckKeyPair: the key must be the certificate's, and both readable by OpenSSL") {
  TestIdentity a("a"), b("b");
  TlsOptions files{"/etc/a.crt", "/etc/b.key", ""};
  CHECK(CheckKeyPair(files, a.CertPem(), b.KeyPem()).message() ==
        "--tls-key: '/etc/b.key' is not the key of the certificate in '/etc/a.crt'");
  // Passes the PEM shape check, but is no certificate.
  const std::string fake = Block("CERTIFICATE", "MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA");
  CHECK(CheckKeyPair(files, fake, b.KeyPem()).message() ==
        "--tls-cert: '/etc/a.crt' holds no certificate OpenSSL can read");
  CHECK(CheckKeyPair(files, a.CertPem(), Block("PRIVATE KEY", "MIIB")).message() ==
        "--tls-key: '/etc/b.key' holds no private key OpenSSL can read");
}
