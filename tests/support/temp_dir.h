// A fresh directory under $TMPDIR (or /tmp) for one test, removed with
// everything in it when the TempDir goes out of scope.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace tiny::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tiny-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` in the directory (the file need not exist).
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  // Writes `content` to `name` (replacing it); returns its path.
  std::string Write(const std::string& name, const std::string& content) const {
    std::string file = File(name);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + file);
    return file;
  }
  // Copies the file `from` into the directory (same name); returns the copy's path.
  std::string Copy(const std::string& from) const {
    std::filesystem::path to = path_ / std::filesystem::path(from).filename();
    std::filesystem::copy_file(from, to);
    return to.string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tiny::test
