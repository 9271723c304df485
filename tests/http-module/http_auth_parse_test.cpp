// http_auth_parse through the real C ABI.
#include <doctest/doctest.h>

#include <tiny/testing.hpp>

#include "test_support.h"

using tiny::Json;
using tiny::testing::Harness;

TEST_CASE("http_auth_parse decodes Basic credentials from {header} or {headers.authorization}") {
  Harness h(tiny_plugin_entry, "http_auth_parse");
  REQUIRE(h.configure().ok());
  // "Aladdin:open sesame" (RFC 7617)
  auto r = h.send("in", {{"header", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="}});
  REQUIRE(r);
  CHECK(r->json() == Json{{"username", "Aladdin"}, {"password", "open sesame"}});
  // The http_server request message as is; scheme case-insensitive.
  r = h.send("in", {{"method", "GET"}, {"headers", {{"authorization", "basic dXNlcjpwYTpzcw=="}}}});
  CHECK(r->json() == Json{{"username", "user"}, {"password", "pa:ss"}});
  r = h.send("in", {{"headers", {{"Authorization", "Basic dTo="}}}});  // "u:" empty password
  CHECK(r->json() == Json{{"username", "u"}, {"password", ""}});
  r = h.send("in", {{"header", "Basic dTpw"}});  // unpadded is fine
  CHECK(r->json() == Json{{"username", "u"}, {"password", "p"}});
}

TEST_CASE("http_auth_parse answers bad input with an error") {
  Harness h(tiny_plugin_entry, "http_auth_parse");
  REQUIRE(h.configure().ok());
  auto err = [&](const Json& in) { return h.send("in", in)->error; };
  CHECK(err({{"headers", {{"host", "x"}}}}).find("no Authorization header") == 0);
  CHECK(err(Json::object()).find("no Authorization header") == 0);
  CHECK(err({{"header", 5}}) == "the Authorization header must be a string");
  CHECK(err({{"header", "Bearer abc.def"}}) == "not a Basic Authorization header");
  CHECK(err({{"header", "Basic"}}) == "not a Basic Authorization header");
  CHECK(err({{"header", "Basic !!!notbase64"}}) == "malformed Basic credentials: not base64");
  CHECK(err({{"header", "Basic dXNlcg=="}}) == "malformed Basic credentials: no ':'");  // "user"
  CHECK(err({{"header", "Basic QQ==="}}) == "malformed Basic credentials: not base64");
}
