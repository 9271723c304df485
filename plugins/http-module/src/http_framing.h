// The framing rules a request's header must meet before its body is read
// (RFC 9112 §6, §3.2): where two parties could disagree on where this
// request ends and the next begins, the request is refused and the
// connection closed, so nothing can be smuggled behind it.
// docs/security.md lists the rules.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

#include <string>

namespace http_module {

struct FramingVerdict {
  bool ok = true;
  boost::beast::http::status status = boost::beast::http::status::ok;  // 400 or 501 when !ok
  std::string reason;  // for the log line and the answer's body
};

// `version` is 10 or 11 (Beast's encoding of HTTP/1.0 and HTTP/1.1).
FramingVerdict CheckRequestFraming(const boost::beast::http::fields& fields, unsigned version);

}  // namespace http_module
