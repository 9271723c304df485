#include "http_framing.h"

#include <boost/beast/core/string.hpp>

#include <string_view>
#include <vector>

namespace http_module {
namespace {

namespace http = boost::beast::http;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

FramingVerdict Refuse(http::status status, std::string reason) { return {false, status, std::move(reason)}; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The codings of every Transfer-Encoding line, in order, lowercase, their
// parameters dropped; empty list elements are skipped (RFC 9110 §5.6.1).
std::vector<std::string> Codings(const http::fields& fields) {
  std::vector<std::string> out;
  auto [begin, end] = fields.equal_range(http::field::transfer_encoding);
  for (auto it = begin; it != end; ++it) {
    std::string_view value = View(it->value());
    while (!value.empty()) {
      size_t comma = value.find(',');
      std::string_view item = Trim(value.substr(0, comma));
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      item = Trim(item.substr(0, item.find(';')));
      if (item.empty()) continue;
      std::string lower(item);
      for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      out.push_back(std::move(lower));
    }
  }
  return out;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

FramingVerdict CheckRequestFraming(const http::fields& fields, unsigned version) {
  const size_t te_lines = fields.count(http::field::transfer_encoding);
  const size_t cl_lines = fields.count(http::field::content_length);
  if (te_lines > 0) {
    if (version < 11) return Refuse(http::status::bad_request, "Transfer-Encoding in an HTTP/1.0 request");
    if (cl_lines > 0) return Refuse(http::status::bad_request, "both Transfer-Encoding and Content-Length");
    std::vector<std::string> codings = Codings(fields);
    if (codings.empty()) return Refuse(http::status::bad_request, "an empty Transfer-Encoding");
    if (codings.back() != "chunked")
      return Refuse(http::status::bad_request, "the last transfer coding is not chunked");
    for (size_t i = 0; i + 1 < codings.size(); ++i) {
      if (codings[i] == "chunked") return Refuse(http::status::bad_request, "chunked applied more than once");
      return Refuse(http::status::not_implemented, "transfer coding '" + codings[i].substr(0, 64) + "' is not supported");
    }
  }
  if (cl_lines > 1) return Refuse(http::status::bad_request, "more than one Content-Length");
  if (cl_lines == 1) {
    std::string_view value = Trim(View(fields[http::field::content_length]));
    if (!IsDigits(value) || value.size() > 19) return Refuse(http::status::bad_request, "an invalid Content-Length");
  }
  const size_t hosts = fields.count(http::field::host);
  if (hosts > 1) return Refuse(http::status::bad_request, "more than one Host");
  if (version >= 11 && hosts == 0) return Refuse(http::status::bad_request, "no Host in an HTTP/1.1 request");
  return {};
}

}  // namespace http_module
