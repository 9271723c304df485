// Notices when flow files change (by content, so a Kubernetes ConfigMap's
// symlink swap counts as a change and a touch does not).
#pragma once

#include <string>
#include <vector>

namespace tiny::host {

class FlowWatcher {
 public:
  explicit FlowWatcher(std::vector<std::string> files);
  // True iff any file's content differs from the last Poll (or the
  // construction); a missing file counts as empty.
  bool Poll();

 private:
  std::vector<std::string> files_;
  std::vector<std::string> contents_;
};

}  // namespace tiny::host
