// What a header field the flow asks for must be before it is sent: the
// http_server's response headers and http_request's request headers. A
// field that breaks these rules is refused, never sent cut or cleaned:
// CR or LF in it would inject headers (or a whole response), and Beast
// throws on a name or value it cannot hold. [thread: any]
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace http_module {

// The longest name or value Beast's fields hold (their offsets are 16 bits).
constexpr size_t kMaxFieldBytes = 65533;

// RFC 9110 §5.6.2 token: what a field name (and a method) is made of.
bool is_token(std::string_view s);

// Why `name: value` cannot be sent, in one line naming the field (at most
// the first 64 bytes of a long name); "" when it can. A value may hold
// HTAB but no other control character (RFC 9110 §5.5).
std::string field_problem(std::string_view name, std::string_view value);

}  // namespace http_module
