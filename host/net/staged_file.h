// A file only the host writes and gRPC reads by path: an anonymous memory
// file at /proc/self/fd/N. The TLS reloader stages checked copies of the
// operator's PEM files in these, so gRPC never reads a half-written or bad
// file. [thread: one owner]
#pragma once

#include <ctime>
#include <string>

#include "host/base/result.h"

namespace tiny::host {

class StagedFile {
 public:
  StagedFile() = default;
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  // Creates the file with `content` (mode 0400: it may hold a private key).
  // `name` (static storage) names it in /proc/self/fd. An error (memory
  // files not available) says which call failed.
  Result Open(const char* name, const std::string& content);
  // Swaps the content atomically: a reader that opens path() gets the old
  // or the new file, whole. Each version gets a modification second of its
  // own, so gRPC's watcher sees every change.
  Result Replace(const std::string& content);
  std::string path() const;
  bool is_open() const { return fd_ >= 0; }

 private:
  // A new memory file holding `content`, in *fd.
  Result Make(const std::string& content, int* fd);

  const char* name_ = "";
  int fd_ = -1;
  time_t mtime_ = 0;
};

}  // namespace tiny::host
