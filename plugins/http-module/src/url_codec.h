// Percent-decoding, query strings and absolute URLs: the text-level parts of
// HTTP that both the server and the client need. No Beast here, so these are
// cheap to compile and to test. Pure functions: [thread: any].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tiny/plugin.hpp>

namespace http_module {

// Decodes %XX escapes; with `plus_is_space` ('+' in a query) '+' becomes a
// space. A malformed escape is kept as written rather than rejected, so a
// sloppy client still gets its request through.
std::string percent_decode(std::string_view text, bool plus_is_space);

// "a=1&b=x%20y&flag" -> {"a":"1","b":"x y","flag":""}. Values are strings;
// the first value of a repeated key wins (as Go's url.Values.Get).
tiny::Json parse_query(std::string_view query);

// An absolute http(s) URL split for a client request.
struct Url {
  bool tls = false;        // https
  std::string host;        // without brackets for IPv6
  uint16_t port = 0;       // explicit or the scheme's default
  std::string target;      // path + "?query", never empty ("/")
  std::string userinfo;    // "user:pass" (still percent-encoded), may be empty
  bool default_port() const { return port == (tls ? 443 : 80); }
  // The Host header value: host[:port], IPv6 in brackets.
  std::string host_header() const;
  // Back to text, without userinfo.
  std::string text() const;
};

// Parses an absolute http:// or https:// URL. On failure returns nullopt and
// says why in `error`.
std::optional<Url> parse_url(std::string_view text, std::string& error);

// Resolves a redirect's Location against the URL that answered it:
// absolute URLs, scheme-relative "//host/x", absolute paths and relative
// paths.
std::optional<Url> resolve_location(const Url& base, std::string_view location, std::string& error);

// True iff `host` is an IPv4 or IPv6 literal (no SNI, IP certificate check).
bool is_ip_literal(std::string_view host);

}  // namespace http_module
