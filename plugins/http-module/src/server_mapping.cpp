#include "server_mapping.h"

#include <algorithm>
#include <cctype>

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

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

// No CR, LF or NUL: a header value from the flow must not split the header.
bool is_safe_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string header_value_text(const tiny::Json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
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

HttpResponse text_response(http::status status, std::string_view text, const RequestFacts& facts) {
  HttpResponse res{status, facts.version};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::string(text);
  finish(res, facts);
  return res;
}

HttpResponse response_from_answer(const tiny::Result& answer, const RequestFacts& facts, std::string& problem) {
  if (!answer.ok()) {
    problem = "flow failed status=" + std::to_string(answer.status) + " error=" + answer.error;
    return text_response(http::status::internal_server_error, "internal server error\n", facts);
  }
  if (answer.data.empty()) {
    return text_response(http::status::not_found, "no flow answered this request\n", facts);
  }
  tiny::Json value = tiny::Json::parse(answer.data, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    problem = "flow answered with invalid JSON";
    return text_response(http::status::internal_server_error, "internal server error\n", facts);
  }
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
      problem = "flow answered an invalid statusCode " + it->dump();
      return text_response(http::status::internal_server_error, "internal server error\n", facts);
    }
    code = static_cast<unsigned>(n);
  }
  HttpResponse res{static_cast<http::status>(code), facts.version};

  if (auto it = value.find("headers"); it != value.end() && it->is_object()) {
    for (const auto& [name, v] : it->items()) {
      std::string lname = lower(name);
      if (!is_token(name) || is_framing_header(lname)) {
        if (!is_token(name)) problem = "dropped invalid header name " + tiny::Json(name).dump();
        continue;
      }
      auto add = [&](const tiny::Json& one) {
        if (one.is_null()) return;
        std::string text = header_value_text(one);
        if (!is_safe_value(text)) {
          problem = "dropped header " + name + " with CR/LF in its value";
          return;
        }
        res.insert(name, text);
      };
      if (v.is_array()) {
        for (const auto& one : v) add(one);
      } else {
        add(v);
      }
    }
  }
  if (auto it = value.find("contentType"); it != value.end() && it->is_string()) {
    if (is_safe_value(it->get<std::string>())) res.set(http::field::content_type, it->get<std::string>());
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
