// FlowWatcher: a change is a change of content, whatever the mtime says,
// and a Kubernetes ConfigMap's symlink swap is seen like an edit.
#include "host/flow/flow_watcher.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

using tiny::host::FlowWatcher;
using tiny::test::TempDir;
namespace fs = std::filesystem;

namespace {

void Write(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("an unchanged file is no change, even when rewritten with a new mtime") {
  TempDir dir;
  fs::path flow = dir.path() / "flow.yaml";
  Write(flow, "nodes: []\n");
  FlowWatcher watcher({flow.string()});
  CHECK_FALSE(watcher.Poll());
  fs::last_write_time(flow, fs::last_write_time(flow) + std::chrono::hours(1));
  Write(flow, "nodes: []\n");
  CHECK_FALSE(watcher.Poll());
}

TEST_CASE("new content is a change even with the old mtime and size") {
  TempDir dir;
  fs::path flow = dir.path() / "flow.yaml";
  Write(flow, "nodes: [a]\n");
  auto mtime = fs::last_write_time(flow);
  FlowWatcher watcher({flow.string()});
  Write(flow, "nodes: [b]\n");
  fs::last_write_time(flow, mtime);
  CHECK(watcher.Poll());
  CHECK_FALSE(watcher.Poll());  // reported once
}

TEST_CASE("a missing file reads as empty: appearing and vanishing are changes") {
  TempDir dir;
  fs::path flow = dir.path() / "flow.yaml";
  FlowWatcher watcher({flow.string()});
  CHECK_FALSE(watcher.Poll());
  Write(flow, "nodes: []\n");
  CHECK(watcher.Poll());
  fs::remove(flow);
  CHECK(watcher.Poll());
  CHECK_FALSE(watcher.Poll());
  Write(flow, "");  // empty is what a missing file already counted as
  CHECK_FALSE(watcher.Poll());
}

TEST_CASE("a change in any one of several files is a change") {
  TempDir dir;
  Write(dir.path() / "a.yaml", "a\n");
  Write(dir.path() / "b.yaml", "b\n");
  FlowWatcher watcher({(dir.path() / "a.yaml").string(), (dir.path() / "b.yaml").string()});
  Write(dir.path() / "b.yaml", "b2\n");
  CHECK(watcher.Poll());
  CHECK_FALSE(watcher.Poll());
}

TEST_CASE("a ConfigMap update (the ..data symlink renamed onto a new directory) is a change") {
  // The kubelet's layout: flow.yaml -> ..data/flow.yaml, ..data -> ..<version>;
  // an update writes a new version directory and renames a fresh symlink
  // over ..data, so the path the host watches never changes.
  TempDir dir;
  fs::create_directory(dir.path() / "..v1");
  Write(dir.path() / "..v1" / "flow.yaml", "nodes: [old]\n");
  fs::create_directory_symlink("..v1", dir.path() / "..data");
  fs::create_symlink("..data/flow.yaml", dir.path() / "flow.yaml");
  FlowWatcher watcher({(dir.path() / "flow.yaml").string()});
  CHECK_FALSE(watcher.Poll());

  fs::create_directory(dir.path() / "..v2");
  Write(dir.path() / "..v2" / "flow.yaml", "nodes: [new]\n");
  fs::create_directory_symlink("..v2", dir.path() / "..data_tmp");
  fs::rename(dir.path() / "..data_tmp", dir.path() / "..data");
  fs::remove_all(dir.path() / "..v1");
  CHECK(watcher.Poll());
  CHECK_FALSE(watcher.Poll());
}
