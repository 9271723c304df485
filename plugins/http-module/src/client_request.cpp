#include "client_request.h"

#include <algorithm>
#include <cctype>

#include "http_fields.h"

namespace http_module {
namespace {

// True iff header name `name` is `lname` (lowercase) in any case.
bool is_header(std::string_view name, std::string_view lname) {
  return name.size() == lname.size() && std::equal(name.begin(), name.end(), lname.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

bool has_header(const ClientRequest& r, std::string_view lname) {
  return std::any_of(r.headers.begin(), r.headers.end(), [&](const auto& h) { return is_header(h.first, lname); });
}

}  // namespace

bool parse_client_request(const tiny::Json& in, std::chrono::milliseconds default_timeout, ClientRequest& out,
                          std::string& error) {
  if (!in.is_object()) {
    error = "request must be an object {method, url, headers, body, timeout}";
    return false;
  }
  auto url = in.find("url");
  if (url == in.end() || !url->is_string()) {
    error = "request.url must be a string";
    return false;
  }
  auto parsed = parse_url(url->get_ref<const std::string&>(), error);
  if (!parsed) return false;
  out.url = std::move(*parsed);

  if (auto m = in.find("method"); m != in.end() && !m->is_null()) {
    if (!m->is_string() || !is_token(m->get_ref<const std::string&>())) {
      error = "request.method must be an HTTP method name";
      return false;
    }
    out.method = m->get<std::string>();
    std::transform(out.method.begin(), out.method.end(), out.method.begin(),
                   [](unsigned char c) { return std::toupper(c); });
  }

  if (auto hs = in.find("headers"); hs != in.end() && !hs->is_null()) {
    if (!hs->is_object()) {
      error = "request.headers must be an object";
      return false;
    }
    for (const auto& [name, value] : hs->items()) {
      for (const tiny::Json& v : value.is_array() ? value : tiny::Json::array({value})) {
        if (v.is_null()) continue;
        std::string text =
            v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
        if (std::string why = field_problem(name, text); !why.empty()) {
          error = "request.headers: " + why;
          return false;
        }
        out.headers.emplace_back(name, std::move(text));
      }
    }
  }

  if (auto b = in.find("body"); b != in.end() && !b->is_null()) {
    out.has_body = true;
    if (b->is_string()) {
      out.body = b->get<std::string>();
    } else {
      out.body = b->dump(-1, ' ', false, tiny::Json::error_handler_t::replace);
      if (!has_header(out, "content-type")) out.headers.emplace_back("Content-Type", "application/json");
    }
  }

  out.timeout = default_timeout;
  if (auto t = in.find("timeout"); t != in.end() && !t->is_null()) {
    if (!t->is_number() || t->get<double>() < 0) {
      error = "request.timeout must be a number of milliseconds";
      return false;
    }
    if (t->get<double>() >= 1) out.timeout = std::chrono::milliseconds(static_cast<int64_t>(t->get<double>()));
  }
  return true;
}

tiny::Json ClientOutcome::response_json() const {
  return {{"statusCode", status}, {"headers", headers}, {"body", body}};
}

tiny::Json ClientOutcome::error_json() const {
  tiny::Json j = {{"error", error}, {"retryable", retryable}};
  if (responded) {
    j["statusCode"] = status;
    j["response"] = response_json();
  }
  return j;
}

void classify_status(ClientOutcome& outcome, std::string_view reason) {
  if (outcome.status < 400) return;
  outcome.error = "HTTP " + std::to_string(outcome.status) + (reason.empty() ? "" : " " + std::string(reason));
  outcome.retryable = outcome.status == 429 || outcome.status >= 500;
}

void set_trace_headers(ClientRequest& request, const tiny::TraceHeaders& trace) {
  if (trace.empty()) return;
  std::erase_if(request.headers,
                [](const auto& h) { return is_header(h.first, "traceparent") || is_header(h.first, "tracestate"); });
  request.headers.emplace_back("traceparent", trace.traceparent);
  if (!trace.tracestate.empty()) request.headers.emplace_back("tracestate", trace.tracestate);
}

}  // namespace http_module
