#include "engine/client/value_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/client/fake_node.h"
#include "engine/objects/object_format.h"
#include "engine/objects/shm_file.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

constexpr int kWaitMs = 5000;

ByteSpan Span(const std::string& s) {
  return ByteSpan{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Pattern(size_t size, int seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 31 + seed) % 251);
  return s;
}

// The mapped and unmapped ids of a RefCountUpdate frame; nullopt for any other frame.
struct Mappings {
  std::vector<ObjectID> mapped, unmapped;
};
std::optional<Mappings> AsMappings(const std::optional<std::string>& frame) {
  if (MessageType(frame) != wire::Message::RefCountUpdate) return std::nullopt;
  const wire::RefCountUpdate* u = (*ParseEnvelope(*frame))->message_as_RefCountUpdate();
  return Mappings{UnpackIds<ObjectID>(u->mapped()).value(),
                  UnpackIds<ObjectID>(u->unmapped()).value()};
}

class ValueIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start().ok());
    auto conn = NodeConnection::Connect(node_.socket_path(), wire::Role::Driver, WorkerID());
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    io_ = std::make_unique<ValueIo>(node_.dir(), conn_.get());
    client_ = node_.WaitForClient(0);
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    for (const ObjectID& id : written_) (void)RemoveObjectFile(node_.dir() + "/" + id.Hex());
  }

  // Builds value as id and returns the finished ObjectValue's bytes.
  std::string BuildValue(const ObjectID& id, const OutgoingValue& value, bool* in_shm) {
    flatbuffers::FlatBufferBuilder b(256);
    auto built = io_->Build(b, id, value, in_shm);
    EXPECT_TRUE(built.ok()) << built.status();
    if (!built.ok()) return std::string();
    if (*in_shm) written_.push_back(id);
    b.Finish(*built);
    return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
  }
  static const wire::ObjectValue* AsValue(const std::string& bytes) {
    return flatbuffers::GetRoot<wire::ObjectValue>(bytes.data());
  }

  std::optional<Mappings> NextMappings() {
    return AsMappings(FakeNode::ReadFrame(client_, kWaitMs));
  }

  FakeNode node_;
  std::unique_ptr<NodeConnection> conn_;
  std::unique_ptr<ValueIo> io_;
  FakeNode::Client* client_ = nullptr;
  std::vector<ObjectID> written_;
};

TEST_F(ValueIoTest, SmallValueTravelsInlineAndReadsBackTheSame) {
  std::string data = "pickled bytes";
  std::string buffer = Pattern(1000, 1);
  OutgoingValue value;
  value.kind = ValueKind::kTaskError;
  value.data = Span(data);
  value.buffers = {Span(buffer)};
  ObjectID id = ObjectID::FromRandom();
  bool in_shm = true;
  std::string bytes = BuildValue(id, value, &in_shm);
  EXPECT_FALSE(in_shm);
  EXPECT_FALSE(AsValue(bytes)->in_shm());
  auto read = io_->Read(AsValue(bytes), /*report_mapped=*/true);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->kind, ValueKind::kTaskError);
  EXPECT_EQ(read->mapping, nullptr);
  auto view = ParseObject(reinterpret_cast<const uint8_t*>(read->inline_data.data()),
                          read->inline_data.size());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(view->data.data), view->data.size), data);
  ASSERT_EQ(view->buffers.size(), 1u);
  EXPECT_EQ(
      std::string(reinterpret_cast<const char*>(view->buffers[0].data), view->buffers[0].size),
      buffer);
  // An inline value pins nothing: the node hears nothing.
  EXPECT_FALSE(FakeNode::ReadFrame(client_, 100).has_value());
}

TEST_F(ValueIoTest, LargeValueIsMappedFromTheSessionDirAndItsUnmappingReported) {
  std::string data = Pattern(kInlineThreshold + 1, 2);
  OutgoingValue value;
  value.data = Span(data);
  ObjectID id = ObjectID::FromRandom();
  bool in_shm = false;
  std::string bytes = BuildValue(id, value, &in_shm);
  ASSERT_TRUE(in_shm);
  EXPECT_TRUE(AsValue(bytes)->in_shm());
  EXPECT_EQ(AsValue(bytes)->data(), nullptr);
  struct stat st;
  ASSERT_EQ(stat((node_.dir() + "/" + id.Hex()).c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), AsValue(bytes)->shm_size());

  auto read = io_->Read(AsValue(bytes), /*report_mapped=*/false);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_NE(read->mapping, nullptr);
  EXPECT_TRUE(read->inline_data.empty());
  auto view = ParseObject(read->mapping->data(), read->mapping->size());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(view->data.data), view->data.size), data);

  // Not reported while a copy of the mapping lives; reported once the last goes.
  std::shared_ptr<MappedRegion> copy = read->mapping;
  read->mapping.reset();
  EXPECT_FALSE(FakeNode::ReadFrame(client_, 100).has_value());
  copy.reset();
  auto unmapped = NextMappings();
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_TRUE(unmapped->mapped.empty());
  EXPECT_EQ(unmapped->unmapped, std::vector<ObjectID>{id});
}

TEST_F(ValueIoTest, ReportMappedSendsMappedFirst) {
  std::string data = Pattern(kInlineThreshold * 2, 3);
  OutgoingValue value;
  value.data = Span(data);
  ObjectID id = ObjectID::FromRandom();
  bool in_shm = false;
  std::string bytes = BuildValue(id, value, &in_shm);
  ASSERT_TRUE(in_shm);
  auto read = io_->Read(AsValue(bytes), /*report_mapped=*/true);
  ASSERT_TRUE(read.ok()) << read.status();
  auto mapped = NextMappings();
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(mapped->mapped, std::vector<ObjectID>{id});
  EXPECT_TRUE(mapped->unmapped.empty());
  read->mapping.reset();
  auto unmapped = NextMappings();
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_EQ(unmapped->unmapped, std::vector<ObjectID>{id});
}

// A mapping may outlive the ValueIo and its connection (a numpy array): it reports nothing then.
TEST_F(ValueIoTest, MappingThatOutlivesTheValueIoReportsNothing) {
  std::string data = Pattern(kInlineThreshold * 2, 4);
  OutgoingValue value;
  value.data = Span(data);
  ObjectID id = ObjectID::FromRandom();
  bool in_shm = false;
  std::string bytes = BuildValue(id, value, &in_shm);
  auto read = io_->Read(AsValue(bytes), /*report_mapped=*/false);
  ASSERT_TRUE(read.ok()) << read.status();
  io_.reset();
  conn_.reset();
  read->mapping.reset();  // Must not touch the connection that is gone.
}

TEST_F(ValueIoTest, MissingSharedMemoryFileIsAnErrorAndReportsUnmapped) {
  ObjectID id = ObjectID::FromRandom();
  flatbuffers::FlatBufferBuilder b(128);
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  wire::ObjectValueBuilder vb(b);
  vb.add_object_id(object_id);
  vb.add_in_shm(true);
  vb.add_shm_size(kInlineThreshold * 2);
  b.Finish(vb.Finish());
  const auto* missing = flatbuffers::GetRoot<wire::ObjectValue>(b.GetBufferPointer());

  auto read = io_->Read(missing, /*report_mapped=*/true);
  EXPECT_FALSE(read.ok());
  auto mapped = NextMappings();
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(mapped->mapped, std::vector<ObjectID>{id});
  auto unmapped = NextMappings();
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_EQ(unmapped->unmapped, std::vector<ObjectID>{id});

  // A get reply's value (the node counted the mapping): only the unmapping is reported.
  read = io_->Read(missing, /*report_mapped=*/false);
  EXPECT_FALSE(read.ok());
  unmapped = NextMappings();
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_TRUE(unmapped->mapped.empty());
  EXPECT_EQ(unmapped->unmapped, std::vector<ObjectID>{id});
}

TEST_F(ValueIoTest, UnmappedGivesBackOnlySharedMemoryValues) {
  std::string small = "small";
  OutgoingValue value;
  value.data = Span(small);
  bool in_shm = true;
  std::string inline_bytes = BuildValue(ObjectID::FromRandom(), value, &in_shm);
  io_->Unmapped(AsValue(inline_bytes));
  std::string large = Pattern(kInlineThreshold * 2, 5);
  value.data = Span(large);
  ObjectID id = ObjectID::FromRandom();
  std::string shm_bytes = BuildValue(id, value, &in_shm);
  ASSERT_TRUE(in_shm);
  io_->Unmapped(AsValue(shm_bytes));
  auto unmapped = NextMappings();  // The inline one sent nothing before it.
  ASSERT_TRUE(unmapped.has_value());
  EXPECT_EQ(unmapped->unmapped, std::vector<ObjectID>{id});
}

}  // namespace
}  // namespace rayx
