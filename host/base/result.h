// The outcome of a step that can fail: ok, or one error line for the user
// (naming the input that caused it). After leveldb's Status, smaller: the
// host's callers only ever print the line or pass it on, so there is no
// code. A function that also yields a value takes it as an out-pointer,
// set only when the result is ok.
#pragma once

#include <string>
#include <utility>

namespace tiny::host {

class [[nodiscard]] Result {
 public:
  // Ok.
  Result() = default;
  static Result Ok() { return Result(); }
  // An error; `message` is its one line (empty still counts as an error).
  static Result Error(std::string message) { return Result(std::move(message)); }

  bool ok() const { return !failed_; }
  // The error line; "" when ok().
  const std::string& message() const { return message_; }

 private:
  explicit Result(std::string message) : failed_(true), message_(std::move(message)) {}

  bool failed_ = false;
  std::string message_;
};

}  // namespace tiny::host
