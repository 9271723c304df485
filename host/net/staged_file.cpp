#include "host/net/staged_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tiny::host {

StagedFile::~StagedFile() {
  if (fd_ >= 0) close(fd_);
}

std::string StagedFile::path() const { return "/proc/self/fd/" + std::to_string(fd_); }

Result StagedFile::Make(const std::string& content, int* out) {
  int fd = memfd_create(name_, MFD_CLOEXEC);
  if (fd < 0) return Result::Error(std::string("memfd_create: ") + std::strerror(errno));
  fchmod(fd, 0400);  // it holds the private key
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Result error = Result::Error(std::string("write: ") + std::strerror(errno));
      close(fd);
      return error;
    }
    done += static_cast<size_t>(n);
  }
  // gRPC re-reads a file whose modification second changed while it read;
  // give every version a second of its own.
  time_t now = std::time(nullptr);
  mtime_ = std::max(now, mtime_ + 1);
  struct timespec times[2] = {{mtime_, 0}, {mtime_, 0}};
  futimens(fd, times);
  *out = fd;
  return Result::Ok();
}

Result StagedFile::Open(const char* name, const std::string& content) {
  name_ = name;
  if (Result r = Make(content, &fd_); !r.ok()) return r;
  if (access(path().c_str(), R_OK) != 0) {
    Result error = Result::Error(path() + ": " + std::strerror(errno));
    close(fd_);
    fd_ = -1;
    return error;
  }
  return Result::Ok();
}

Result StagedFile::Replace(const std::string& content) {
  int fd = -1;
  if (Result r = Make(content, &fd); !r.ok()) return r;
  // Atomic: whoever opens path() from now on gets the new file.
  Result result =
      dup3(fd, fd_, O_CLOEXEC) >= 0 ? Result::Ok() : Result::Error(std::string("dup3: ") + std::strerror(errno));
  close(fd);
  return result;
}

}  // namespace tiny::host
