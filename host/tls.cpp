#include "host/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tiny::host {
namespace {

void CheckPem(const std::string& flag, const std::string& file) {
  if (file.empty()) return;
  std::ifstream in(file);
  if (!in) throw std::runtime_error(flag + ": cannot read '" + file + "'");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos)
    throw std::runtime_error(flag + ": '" + file + "' is not a PEM file");
}

}  // namespace

TlsReloader::TlsReloader(const TlsOptions& options, unsigned refresh_seconds)
    : options_(options), refresh_seconds_(refresh_seconds) {
  CheckPem("--tls-cert", options_.cert);
  CheckPem("--tls-key", options_.key);
  CheckPem("--tls-ca", options_.ca);
  if (options_.cert.empty() || options_.key.empty())
    throw std::runtime_error("--tls-cert and --tls-key go together");
}

std::shared_ptr<grpc::ServerCredentials> TlsReloader::ServerCredentials() const {
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options_.key, options_.cert, options_.ca, refresh_seconds_);
  grpc::experimental::TlsServerCredentialsOptions opts(provider);
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
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (!options_.ca.empty()) {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        options_.key, options_.cert, options_.ca, refresh_seconds_);
    opts.watch_root_certs();
  } else {
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(options_.key, options_.cert,
                                                                                     refresh_seconds_);
  }
  opts.set_certificate_provider(provider);
  opts.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(opts);
}

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  if (!options.cert.empty() && !options.key.empty()) return TlsReloader(options).ChannelCredentials();
  CheckPem("--tls-ca", options.ca);
  grpc::SslCredentialsOptions ssl;
  std::ifstream in(options.ca);
  std::ostringstream text;
  text << in.rdbuf();
  ssl.pem_root_certs = text.str();
  return grpc::SslCredentials(ssl);
}

}  // namespace tiny::host
