#include "engine/client/removal_batch.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

ObjectID Id(char c) { return ObjectID::FromBinary(std::string(ObjectID::kSize, c)); }

TEST(RemovalBatchTest, TakesDeferredRemovalsOnceInOrder) {
  RemovalBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.Defer(Id('a'));
  batch.Defer(Id('b'));
  EXPECT_FALSE(batch.empty());
  EXPECT_EQ(batch.Take(), (std::vector<ObjectID>{Id('a'), Id('b')}));
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.Take().empty());
}

TEST(RemovalBatchTest, AnAddCancelsTheWaitingRemovalOfItsId) {
  RemovalBatch batch;
  batch.Defer(Id('a'));
  batch.Defer(Id('b'));
  EXPECT_TRUE(batch.Cancel(Id('a')));   // Re-added while its removal waits: nothing is sent.
  EXPECT_FALSE(batch.Cancel(Id('c')));  // Nothing waits for c: the add must be sent.
  EXPECT_EQ(batch.Take(), (std::vector<ObjectID>{Id('b')}));
}

TEST(RemovalBatchTest, RemovedAgainAfterACancelIsSentOnce) {
  RemovalBatch batch;
  batch.Defer(Id('a'));
  EXPECT_TRUE(batch.Cancel(Id('a')));
  EXPECT_TRUE(batch.empty());
  batch.Defer(Id('a'));
  batch.Defer(Id('b'));
  EXPECT_TRUE(batch.Cancel(Id('b')));
  batch.Defer(Id('b'));
  EXPECT_EQ(batch.Take(), (std::vector<ObjectID>{Id('a'), Id('b')}));
}

TEST(RemovalBatchTest, AnAddAfterTheTakeIsNotCancelled) {
  RemovalBatch batch;
  batch.Defer(Id('a'));
  EXPECT_EQ(batch.Take().size(), 1u);
  EXPECT_FALSE(batch.Cancel(Id('a')));  // The removal is on its way: the add must follow it.
}

}  // namespace
}  // namespace rayx
