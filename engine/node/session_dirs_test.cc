#include "engine/node/session_dirs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace rayx {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Nodes that start at the same moment sweep each other's roots: a node's new folders are never
// taken for a dead node's, whenever the sweep looks. A folder appeared unlocked for a moment, and a
// sweep that saw it then removed it, the node's socket with it.
TEST(SessionDirsTest, ASweepNeverRemovesTheFoldersOfANodeBeingMade) {
  setenv("RAYX_HOME", ::testing::TempDir().c_str(), 1);
  std::atomic<bool> done{false};
  std::thread sweeper([&] {
    while (!done.load()) {
      RemoveStaleSessions("/dev/shm");
      RemoveStaleSessions(DataDirectory() + "/sessions");
    }
  });
  for (int i = 0; i < 300; ++i) {
    auto dirs = SessionDirs::Create(NodeID::FromRandom(), 1 << 20, [](const std::string&) {});
    ASSERT_TRUE(dirs.ok()) << dirs.status();
    ASSERT_TRUE(IsDirectory((*dirs)->store_dir())) << "round " << i;
    ASSERT_TRUE(IsDirectory((*dirs)->spill_dir())) << "round " << i;
  }
  done = true;
  sweeper.join();
}

}  // namespace
}  // namespace rayx
