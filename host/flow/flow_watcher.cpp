#include "host/flow/flow_watcher.h"

#include <fstream>
#include <sstream>

namespace tiny::host {
namespace {
std::string Read(const std::string& file) {
  std::ifstream in(file);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}
}  // namespace

FlowWatcher::FlowWatcher(std::vector<std::string> files) : files_(std::move(files)) {
  for (const auto& f : files_) contents_.push_back(Read(f));
}

bool FlowWatcher::Poll() {
  bool changed = false;
  for (size_t i = 0; i < files_.size(); ++i) {
    std::string now = Read(files_[i]);
    if (now != contents_[i]) {
      contents_[i] = std::move(now);
      changed = true;
    }
  }
  return changed;
}

}  // namespace tiny::host
