#include "engine/wire/socket_paths.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

TEST(SocketPathsTest, DirectSocketIsInWorkersBesideTheNodeSocket) {
  WorkerID id = WorkerID::FromRandom();
  EXPECT_EQ(DirectSocketPath("/dev/shm/rayx-n1-ab/node.sock", id),
            "/dev/shm/rayx-n1-ab/workers/" + id.Hex() + ".sock");
}

TEST(SocketPathsTest, BareNodeSocketMeansTheCurrentDirectory) {
  WorkerID id = WorkerID::FromRandom();
  EXPECT_EQ(DirectSocketPath("node.sock", id), "./workers/" + id.Hex() + ".sock");
}

}  // namespace
}  // namespace rayx
