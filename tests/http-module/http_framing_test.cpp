// CheckRequestFraming on header fields alone; http_server_test sends the
// same cases as raw bytes over a socket.
#include "http_framing.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <utility>

namespace http = boost::beast::http;
using http_module::CheckRequestFraming;

namespace {

http::fields Fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  http::fields f;
  for (auto [name, value] : list) f.insert(name, value);
  return f;
}

}  // namespace

TEST_CASE("framing that one reading allows is accepted") {
  CHECK(CheckRequestFraming(Fields({{"Host", "x"}}), 11).ok);
  CHECK(CheckRequestFraming(Fields({{"Host", "x"}, {"Content-Length", "42"}}), 11).ok);
  CHECK(CheckRequestFraming(Fields({{"Host", "x"}, {"Transfer-Encoding", "chunked"}}), 11).ok);
  CHECK(CheckRequestFraming(Fields({{"Host", "x"}, {"Transfer-Encoding", " Chunked ;ext=1"}}), 11).ok);
  CHECK(CheckRequestFraming(Fields({{"Host", "x"}, {"Transfer-Encoding", ", chunked"}}), 11).ok);
  CHECK(CheckRequestFraming(Fields({}), 10).ok);  // HTTP/1.0 needs no Host
  CHECK(CheckRequestFraming(Fields({{"Content-Length", "0"}}), 10).ok);
}

TEST_CASE("framing two parties could read differently is refused, saying why") {
  struct Case {
    http::fields fields;
    unsigned version;
    http::status status;
    const char* reason;
  };
  const Case cases[] = {
      {Fields({{"Host", "x"}, {"Transfer-Encoding", "chunked, identity"}}), 11, http::status::bad_request,
       "the last transfer coding is not chunked"},
      {Fields({{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "gzip"}}), 11,
       http::status::bad_request, "the last transfer coding is not chunked"},
      {Fields({{"Host", "x"}, {"Transfer-Encoding", "chunked,chunked"}}), 11, http::status::bad_request,
       "chunked applied more than once"},
      {Fields({{"Host", "x"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}}), 11,
       http::status::bad_request, "both Transfer-Encoding and Content-Length"},
      {Fields({{"Transfer-Encoding", "chunked"}}), 10, http::status::bad_request,
       "Transfer-Encoding in an HTTP/1.0 request"},
      {Fields({{"Host", "x"}, {"Transfer-Encoding", " , "}}), 11, http::status::bad_request,
       "an empty Transfer-Encoding"},
      {Fields({{"Host", "x"}, {"Transfer-Encoding", "deflate, chunked"}}), 11, http::status::not_implemented,
       "transfer coding 'deflate' is not supported"},
      {Fields({{"Host", "x"}, {"Content-Length", "1"}, {"Content-Length", "1"}}), 11, http::status::bad_request,
       "more than one Content-Length"},
      {Fields({{"Host", "x"}, {"Content-Length", "1,1"}}), 11, http::status::bad_request,
       "an invalid Content-Length"},
      {Fields({{"Host", "x"}, {"Content-Length", "-1"}}), 11, http::status::bad_request,
       "an invalid Content-Length"},
      {Fields({{"Host", "x"}, {"Content-Length", "99999999999999999999"}}), 11, http::status::bad_request,
       "an invalid Content-Length"},
      {Fields({{"Host", "x"}, {"Content-Length", ""}}), 11, http::status::bad_request, "an invalid Content-Length"},
      {Fields({}), 11, http::status::bad_request, "no Host in an HTTP/1.1 request"},
      {Fields({{"Host", "x"}, {"host", "y"}}), 11, http::status::bad_request, "more than one Host"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.reason);
    auto v = CheckRequestFraming(c.fields, c.version);
    CHECK_FALSE(v.ok);
    CHECK(v.status == c.status);
    CHECK(v.reason == c.reason);
  }
}
