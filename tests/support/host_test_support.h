// Helpers for tests that drive the host core in-process: a call that
// records its answer, and a registry with the real plugins loaded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "host/runtime/call.h"
#include "host/runtime/host_api.h"
#include "host/loader/module_registry.h"
#include "host/loader/plugin_loader.h"

namespace tiny::test {

struct Answer {
  int32_t status = TINY_STATUS_OK;
  std::string data;
  std::string error;
};

// A call whose answer a test can wait for. Shared so the test can read it
// after the scheduler dropped its reference.
class RecordingCall final : public tiny_call {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Answer> answer;
    std::thread::id thread;

    std::optional<Answer> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, timeout, [&] { return answer.has_value(); });
      return answer;
    }
  };

  explicit RecordingCall(host::CallContext ctx = {}) : tiny_call(std::move(ctx)), state(std::make_shared<State>()) {}
  std::shared_ptr<State> state;

 private:
  void OnComplete(const tiny_result& r) override {
    std::lock_guard<std::mutex> lock(state->mu);
    state->answer = Answer{r.status, std::string(reinterpret_cast<const char*>(r.data.ptr), r.data.len),
                           std::string(reinterpret_cast<const char*>(r.error.ptr), r.error.len)};
    state->thread = std::this_thread::get_id();
    state->cv.notify_all();
  }
};

// Loads the plugins once per test binary (libraries stay loaded anyway).
inline void LoadInto(host::ModuleRegistry& registry, const std::string& path) {
  registry.Add(host::LoadPlugin(path, host::HostApi()), /*served=*/true);
}

}  // namespace tiny::test
