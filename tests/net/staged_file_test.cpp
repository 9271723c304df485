// StagedFile: the memory file gRPC reads the checked TLS material from.
#include "host/net/staged_file.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

namespace {

using tiny::host::StagedFile;

std::string ReadPath(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct stat StatPath(const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("Open: a private memory file at a /proc path, holding the content") {
  StagedFile file;
  CHECK_FALSE(file.is_open());
  REQUIRE(file.Open("tiny-test-staged", "first version").ok());
  CHECK(file.is_open());
  CHECK(file.path().rfind("/proc/self/fd/", 0) == 0);
  CHECK(ReadPath(file.path()) == "first version");
  CHECK((StatPath(file.path()).st_mode & 0777) == 0400);  // it may hold a private key
}

TEST_CASE("Replace: the same path, the new content, a later modification second") {
  StagedFile file;
  REQUIRE(file.Open("tiny-test-staged", "v1").ok());
  const std::string path = file.path();
  const time_t first = StatPath(path).st_mtime;
  REQUIRE(file.Replace("version two").ok());
  CHECK(file.path() == path);
  CHECK(ReadPath(path) == "version two");
  const time_t second = StatPath(path).st_mtime;
  CHECK(second > first);  // gRPC notices a change by its second
  REQUIRE(file.Replace("").ok());
  CHECK(ReadPath(path).empty());
  CHECK(StatPath(path).st_mtime > second);
}
