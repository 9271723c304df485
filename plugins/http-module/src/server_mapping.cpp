#include "server_mapping.h"

#include <algorithm>
#include <cctype>

#include "http_fields.h"
#include "url_codec.h"

namespace http_module {
namespace {

constexpr const char* kServerName = "tinyhost-http/0.1.0";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Framing and connection headers belong to this server, never to the flow:
// copying them (e.g. an echoed request's content-length) would corrupt the
// connection.
bool is_framing_header(const std::string& lname) {
  return lname == "content-length" || lname == "transfer-encoding" || lname == "connection" ||
         lname == "keep-alive" || lname == "upgrade" || lname == "te" || lname == "trailer" ||
         lname == "proxy-connection";
}

std::string header_value_text(const tiny::Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// Adds the flow's headers to `res`; the first that cannot be sent makes
// the answer unusable: returns why ("" when all went in). Framing headers
// are left out quietly (the server sets them).
std::string add_headers(HttpResponse& res, const tiny::Json& headers) {
  for (const auto& [name, v] : headers.items()) {
    if (is_framing_header(lower(name))) continue;
    for (const tiny::Json& one : v.is_array() ? v : tiny::Json::array({v})) {
      if (one.is_null()) continue;
      std::string text = header_value_text(one);
      if (std::string why = field_problem(name, text); !why.empty()) return why;
      res.insert(name, text);
    }
  }
  return {};
}

void finish(HttpResponse& res, const RequestFacts& facts) {
  res.version(facts.version);
  res.keep_alive(facts.keep_alive);
  res.set(http::field::server, kServerName);
  unsigned code = res.result_int();
  if (code == 204 || code == 304) {
    res.body().clear();
    if (code == 204) res.erase(http::field::content_type);
    if (code == 204) return;  // 204 carries no Content-Length either
  }
  res.prepare_payload();
  if (facts.head) {
    // Announce the length of the body a GET would get, send none.
    size_t size = res.body().size();
    res.body().clear();
    res.content_length(size);
  }
}

}  // namespace

std::string request_to_json(const HttpRequest& req, std::string_view remote) {
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  tiny::Json headers = tiny::Json::object();
  for (const auto& field : req) {
    std::string name = lower(std::string_view(field.name_string().data(), field.name_string().size()));
    std::string value(field.value().data(), field.value().size());
    auto it = headers.find(name);
    if (it == headers.end()) {
      headers[name] = std::move(value);
    } else {
      // RFC 9110 5.3: repeated fields combine into one comma list; cookies
      // combine with "; " (RFC 6265 5.4).
      it->get_ref<std::string&>() += (name == "cookie" ? "; " : ", ") + value;
    }
  }
  tiny::Json msg = {
      {"method", std::string(req.method_string().data(), req.method_string().size())},
      {"path", percent_decode(path, false)},
      {"query", parse_query(query)},
      {"headers", std::move(headers)},
      {"body", req.body()},
      {"remote", std::string(remote)},
  };
  return msg.dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
}

tiny::TraceHeaders trace_headers(const HttpRequest& req) {
  tiny::TraceHeaders out;
  auto parents = req.equal_range("traceparent");
  if (parents.first == parents.second || std::next(parents.first) != parents.second) return out;
  out.traceparent = std::string(parents.first->value());
  for (auto [it, end] = req.equal_range("tracestate"); it != end; ++it) {
    if (!out.tracestate.empty()) out.tracestate += ',';
    out.tracestate.append(it->value().data(), it->value().size());
  }
  return out;
}

HttpResponse text_response(http::status status, std::string_view text, const RequestFacts& facts) {
  HttpResponse res{status, facts.version};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::string(text);
  finish(res, facts);
  return res;
}

namespace {

// The 500 for an answer that cannot be sent as it is; `why` goes to the log.
HttpResponse unusable(std::string why, const RequestFacts& facts, std::string& problem) {
  problem = std::move(why);
  return text_response(http::status::internal_server_error, "internal server error\n", facts);
}

}  // namespace

HttpResponse response_from_answer(const tiny::Result& answer, const RequestFacts& facts, std::string& problem) {
  if (!answer.ok()) {
    return unusable("flow failed status=" + std::to_string(answer.status) + " error=" + answer.error, facts, problem);
  }
  if (answer.data.empty()) {
    return text_response(http::status::not_found, "no flow answered this request\n", facts);
  }
  tiny::Json value = tiny::Json::parse(answer.data, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return unusable("flow answered with invalid JSON", facts, problem);
  bool is_response = value.is_object() && (value.contains("statusCode") || value.contains("headers") ||
                                           value.contains("contentType") || value.contains("body"));
  if (!is_response) {
    HttpResponse res{http::status::ok, facts.version};
    res.set(http::field::content_type, "application/json");
    res.body() = value.dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
    finish(res, facts);
    return res;
  }

  unsigned code = 200;
  if (auto it = value.find("statusCode"); it != value.end() && !it->is_null()) {
    double n = it->is_number() ? it->get<double>() : -1;
    if (it->is_string()) {
      try {
        n = std::stod(it->get<std::string>());
      } catch (...) {
        n = -1;
      }
    }
    if (n < 200 || n > 599 || n != static_cast<double>(static_cast<unsigned>(n))) {
      std::string shown = it->dump(-1, ' ', false, tiny::Json::error_handler_t::replace).substr(0, 64);
      return unusable("flow answered an invalid statusCode " + shown, facts, problem);
    }
    code = static_cast<unsigned>(n);
  }
  HttpResponse res{static_cast<http::status>(code), facts.version};

  if (auto it = value.find("headers"); it != value.end() && it->is_object()) {
    if (std::string why = add_headers(res, *it); !why.empty())
      return unusable("flow answered a header that cannot be sent: " + why, facts, problem);
  }
  if (auto it = value.find("contentType"); it != value.end() && it->is_string()) {
    const std::string& type = it->get_ref<const std::string&>();
    if (std::string why = field_problem("Content-Type", type); !why.empty())
      return unusable("flow answered a contentType that cannot be sent: " + why, facts, problem);
    res.set(http::field::content_type, type);
  }
  bool has_type = res.find(http::field::content_type) != res.end();
  if (auto it = value.find("body"); it != value.end() && !it->is_null()) {
    if (it->is_string()) {
      res.body() = it->get<std::string>();
      if (!has_type) res.set(http::field::content_type, "text/plain; charset=utf-8");
    } else {
      res.body() = it->dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
      if (!has_type) res.set(http::field::content_type, "application/json");
    }
  }
  finish(res, facts);
  return res;
}

}  // namespace http_module
