#include "host/net/client_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <stdexcept>
#include <vector>

#include "host/net/pem_check.h"

namespace tiny::host {
namespace {

void ThrowIfError(const Result& r) {
  if (!r.ok()) throw std::runtime_error(r.message());
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> ClientCredentials(const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  if (options.cert.empty() != options.key.empty()) throw std::runtime_error("--tls-cert and --tls-key go together");
  std::string cert, key, ca;
  if (!options.cert.empty()) {
    ThrowIfError(ReadPemFile("--tls-cert", options.cert, &cert));
    ThrowIfError(ReadPemFile("--tls-key", options.key, &key));
    ThrowIfError(CheckKeyPair(options, cert, key));
  }
  if (!options.ca.empty()) ThrowIfError(ReadPemFile("--tls-ca", options.ca, &ca));
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
