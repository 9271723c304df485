// The text-level HTTP helpers shared by server and client.
#include <doctest/doctest.h>

#include "url_codec.h"

using http_module::parse_query;
using http_module::parse_url;
using http_module::percent_decode;
using http_module::resolve_location;
using tiny::Json;

TEST_CASE("percent_decode and parse_query") {
  CHECK(percent_decode("a%20b%2Fc", false) == "a b/c");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("bad%zzescape%4", false) == "bad%zzescape%4");
  CHECK(parse_query("") == Json::object());
  CHECK(parse_query("a=1&b=x%26y&a=2&&c&d=") == Json{{"a", "1"}, {"b", "x&y"}, {"c", ""}, {"d", ""}});
}

TEST_CASE("parse_url") {
  std::string error;
  auto u = parse_url("https://user:p%40ss@Example.com:8443/a/b?x=1#frag", error);
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->host == "Example.com");
  CHECK(u->port == 8443);
  CHECK(u->target == "/a/b?x=1");
  CHECK(u->userinfo == "user:p%40ss");
  CHECK(u->host_header() == "Example.com:8443");
  u = parse_url("http://[::1]/", error);
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 80);
  CHECK(u->host_header() == "[::1]");
  u = parse_url("HTTP://h?q", error);
  REQUIRE(u);
  CHECK(u->target == "/?q");
  CHECK_FALSE(parse_url("ftp://h/", error));
  CHECK_FALSE(parse_url("/relative", error));
  CHECK_FALSE(parse_url("http://h:99999/", error));
  CHECK_FALSE(parse_url("http:///path", error));
  CHECK_FALSE(parse_url("http://h/a b", error));
}

TEST_CASE("resolve_location") {
  std::string error;
  auto base = parse_url("https://u:p@h:8443/dir/page?x=1", error);
  REQUIRE(base);
  CHECK(resolve_location(*base, "/abs?y", error)->text() == "https://h:8443/abs?y");
  CHECK(resolve_location(*base, "rel", error)->text() == "https://h:8443/dir/rel");
  CHECK(resolve_location(*base, "//other/x", error)->text() == "https://other/x");
  CHECK(resolve_location(*base, "http://o:81/z", error)->text() == "http://o:81/z");
  CHECK(resolve_location(*base, "/abs", error)->userinfo.empty());
}
