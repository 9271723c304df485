// Checks of the PEM files given to --tls-cert, --tls-key and --tls-ca, done
// before gRPC sees them, so that a bad file is one line naming the flag and
// the file instead of a failed handshake later. Pure functions of the files'
// content. [thread: any]
#pragma once

#include <string>

#include "host/base/result.h"
#include "host/net/tls_options.h"

namespace tiny::host {

// Reads `file` (a regular file of at most 16 MiB) into *text and checks that
// it holds a block of the kind `flag` needs (--tls-cert, --tls-ca:
// CERTIFICATE; --tls-key: an unencrypted PRIVATE KEY) with a well-formed
// base64 body. An error is one line naming the flag and the file; *text is
// set only when the result is ok.
Result ReadPemFile(const std::string& flag, const std::string& file, std::string* text);

// ReadPemFile without keeping the text.
Result CheckPemFile(const std::string& flag, const std::string& file);

// Checks that the key in `key_pem` belongs to the first certificate of
// `cert_pem` (the files named in `options`, for the error line). Ok without
// a check when the host is built without OpenSSL's headers.
Result CheckKeyPair(const TlsOptions& options, const std::string& cert_pem, const std::string& key_pem);

}  // namespace tiny::host
