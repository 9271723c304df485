// http_auth_parse: decodes a Basic Authorization header (RFC 7617).
//   in {header: "Basic dXNlcjpwYXNz"} or {headers: {authorization: "..."}}
//   (the request message of http_server fits the second form as is)
//   answers {username, password}; bad input is an error reply.
// Stateless; handle runs concurrently without locks.
#include <cctype>

#include "components.h"

namespace http_module {
namespace {

int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard alphabet; padding optional but, when present, correct.
bool base64_decode(std::string_view in, std::string& out) {
  size_t pad = 0;
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++pad;
  }
  if (pad > 2 || (pad > 0 && (in.size() + pad) % 4 != 0) || in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = base64_value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The header text from either input form, or null.
const tiny::Json* find_header(const tiny::Json& in) {
  if (!in.is_object()) return nullptr;
  if (auto it = in.find("header"); it != in.end()) return &*it;
  if (auto hs = in.find("headers"); hs != in.end() && hs->is_object()) {
    for (auto it = hs->begin(); it != hs->end(); ++it) {
      std::string name = it.key();
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "authorization") return &*it;
    }
  }
  return nullptr;
}

class HttpAuthParse final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    const tiny::Json* header = find_header(msg.json());
    if (header == nullptr || header->is_null())
      return tiny::Reply::error("no Authorization header: expected {header} or {headers: {authorization}}");
    if (!header->is_string()) return tiny::Reply::error("the Authorization header must be a string");
    std::string_view text = trim(header->get_ref<const std::string&>());
    size_t space = text.find(' ');
    std::string scheme(text.substr(0, space));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "basic" || space == std::string_view::npos)
      return tiny::Reply::error("not a Basic Authorization header");
    std::string decoded;
    if (!base64_decode(trim(text.substr(space + 1)), decoded))
      return tiny::Reply::error("malformed Basic credentials: not base64");
    size_t colon = decoded.find(':');
    if (colon == std::string::npos) return tiny::Reply::error("malformed Basic credentials: no ':'");
    tiny::Json out = {{"username", decoded.substr(0, colon)}, {"password", decoded.substr(colon + 1)}};
    return tiny::Reply::raw(out.dump(-1, ' ', false, tiny::Json::error_handler_t::replace));
  }
};

}  // namespace

tiny::ComponentSpec http_auth_parse_spec() {
  return tiny::ComponentSpec::of<HttpAuthParse>("http_auth_parse")
      .describe("Decodes a Basic Authorization header into {username, password}")
      .in("in", "{header} or {headers: {authorization}}; answers {username, password}");
}

}  // namespace http_module
