#include "url_codec.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace http_module {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

tiny::Json parse_query(std::string_view query) {
  tiny::Json out = tiny::Json::object();
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    if (!out.contains(key)) out[key] = std::move(value);
  }
  return out;
}

bool is_ip_literal(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!default_port()) h += ":" + std::to_string(port);
  return h;
}

std::string Url::text() const { return std::string(tls ? "https://" : "http://") + host_header() + target; }

std::optional<Url> parse_url(std::string_view text, std::string& error) {
  Url url;
  size_t colon = text.find("://");
  if (colon == std::string_view::npos) {
    error = "url must be absolute (http:// or https://)";
    return std::nullopt;
  }
  std::string scheme = lower(text.substr(0, colon));
  if (scheme == "https") {
    url.tls = true;
  } else if (scheme != "http") {
    error = "unsupported url scheme: " + scheme;
    return std::nullopt;
  }
  std::string_view rest = text.substr(colon + 3);
  size_t path_at = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view tail = path_at == std::string_view::npos ? std::string_view() : rest.substr(path_at);
  // The fragment never goes to the server.
  if (size_t hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);

  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 address in url";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "bad characters after IPv6 address in url";
        return std::nullopt;
      }
      port_text = after.substr(1);
    }
  } else {
    size_t pc = authority.rfind(':');
    url.host = std::string(authority.substr(0, pc));
    if (pc != std::string_view::npos) port_text = authority.substr(pc + 1);
  }
  if (url.host.empty()) {
    error = "url has no host";
    return std::nullopt;
  }
  url.port = url.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || value > 65535) {
        error = "bad port in url";
        return std::nullopt;
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      error = "bad port in url";
      return std::nullopt;
    }
    url.port = static_cast<uint16_t>(value);
  }
  url.target = tail.empty() || tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);
  for (char c : url.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      error = "url contains spaces or control characters";
      return std::nullopt;
    }
  }
  return url;
}

std::optional<Url> resolve_location(const Url& base, std::string_view location, std::string& error) {
  if (location.find("://") != std::string_view::npos) return parse_url(location, error);
  if (location.substr(0, 2) == "//") return parse_url(std::string(base.tls ? "https:" : "http:") + std::string(location), error);
  Url next = base;
  next.userinfo.clear();  // credentials never follow a redirect
  std::string path;
  if (!location.empty() && location.front() == '/') {
    path = std::string(location);
  } else {
    // Relative to the directory of the base path (query dropped).
    std::string dir = base.target.substr(0, base.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    path = dir + std::string(location);
  }
  return parse_url(std::string(base.tls ? "https://" : "http://") + base.host_header() + path, error);
}

}  // namespace http_module
