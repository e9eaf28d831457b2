#include "engine/objects/object_puller.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/objects/object_table.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

// The other node's copy: answers each read from an in-memory string, at once or when told.
class FakeNode {
 public:
  struct Read {
    uint64_t offset = 0;
    uint32_t length = 0;
    std::function<void(StatusOr<std::string_view>)> done;
  };

  explicit FakeNode(std::string bytes) : bytes_(std::move(bytes)) {}

  ObjectPuller::ChunkReader Reader() {
    return [this](const NodeID& from, const ObjectID& id, uint64_t offset, uint32_t length,
                  std::function<void(StatusOr<std::string_view>)> done) {
      EXPECT_EQ(from, node);
      reads++;
      in_flight++;
      max_in_flight = std::max(max_in_flight, in_flight);
      offsets.push_back(offset);
      Read read{offset, length, std::move(done)};
      if (queue) {
        queued.push_back(std::move(read));
      } else {
        Answer(read);
      }
    };
  }

  void Answer(Read& read) {
    in_flight--;
    StatusOr<std::string_view> data = Status::OK();
    std::string chunk;  // The bytes the view passed on shows, alive during the call.
    if (reads_before_failure > 0 && answered + 1 == reads_before_failure) {
      data = Unavailable("the node is gone");
    } else if (read.offset > bytes_.size()) {
      data = InvalidArgument("offset past the end");
    } else {
      chunk = bytes_.substr(read.offset, read.length);
      if (short_chunks) chunk.pop_back();
      data = std::string_view(chunk);
    }
    answered++;
    read.done(std::move(data));
  }

  NodeID node = NodeID::FromRandom();
  bool queue = false;  // Reads wait in `queued` until the test answers them.
  bool short_chunks = false;
  int reads_before_failure = 0;  // The nth answer (from 1) is an error; 0: none.
  int reads = 0, answered = 0, in_flight = 0, max_in_flight = 0;
  std::vector<uint64_t> offsets;
  std::vector<Read> queued;

 private:
  std::string bytes_;
};

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return s;
}

class ObjectPullerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-puller-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/object";
  }
  void TearDown() override {
    unlink(path_.c_str());
    EXPECT_EQ(rmdir(dir_.c_str()), 0) << "a file was left behind";
  }

  std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }

  int CountFiles() {
    int n = 0;
    DIR* d = opendir(dir_.c_str());
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
  }

  // Fetches size bytes from a node that answers at once; returns what done heard.
  Status PullAtOnce(FakeNode& node, uint64_t size, uint32_t chunk = kMaxReadChunk) {
    ObjectPuller puller(node.Reader(), chunk);
    int calls = 0;
    Status result = Internal("done not called");
    puller.Fetch(id_, node.node, size, path_, [&](Status s) {
      calls++;
      result = s;
    });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(puller.num_in_flight(), 0u);
    return result;
  }

  std::string dir_, path_;
  ObjectID id_ = ObjectID::ForReturn(TaskID::ForDriver(JobID::FromInt(1)), 0);
};

TEST_F(ObjectPullerTest, CopiesObjectsOfEverySizeWhole) {
  constexpr uint64_t kChunk = kMaxReadChunk;
  struct Case {
    uint64_t size;
    int reads;
  };
  for (Case c :
       {Case{0, 0}, Case{1, 1}, Case{kChunk, 1}, Case{kChunk + 1, 2}, Case{10u << 20, 3}}) {
    SCOPED_TRACE("size " + std::to_string(c.size));
    std::string bytes = Pattern(c.size);
    FakeNode node(bytes);
    Status s = PullAtOnce(node, c.size);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(node.reads, c.reads);
    EXPECT_TRUE(ReadFile(path_) == bytes) << "the file holds the object";
    EXPECT_EQ(CountFiles(), 1) << "no temporary file is left";
    unlink(path_.c_str());
  }
}

TEST_F(ObjectPullerTest, KeepsFourReadsInFlightAndTakesAnswersInAnyOrder) {
  std::string bytes = Pattern(10 * 1000 + 7);
  FakeNode node(bytes);
  node.queue = true;
  ObjectPuller puller(node.Reader(), 1000);
  int calls = 0;
  Status result;
  puller.Fetch(id_, node.node, bytes.size(), path_, [&](Status s) {
    calls++;
    result = s;
  });
  EXPECT_EQ(node.in_flight, ObjectPuller::kMaxInFlight);
  EXPECT_EQ(CountFiles(), 1) << "only the temporary file";
  while (!node.queued.empty()) {
    // The newest first, so chunks arrive out of order.
    FakeNode::Read read = std::move(node.queued.back());
    node.queued.pop_back();
    node.Answer(read);
  }
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ(node.reads, 11);
  EXPECT_EQ(node.max_in_flight, ObjectPuller::kMaxInFlight);
  EXPECT_TRUE(ReadFile(path_) == bytes);
  EXPECT_EQ(CountFiles(), 1);
}

TEST_F(ObjectPullerTest, AFailedReadLeavesNoFile) {
  FakeNode node(Pattern(10u << 20));
  node.reads_before_failure = 3;
  Status s = PullAtOnce(node, 10u << 20);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  EXPECT_EQ(node.reads, 3);
  EXPECT_EQ(CountFiles(), 0);
}

TEST_F(ObjectPullerTest, AnswersAfterAFailureAreIgnored) {
  FakeNode node(Pattern(8000));
  node.queue = true;
  node.reads_before_failure = 1;
  ObjectPuller puller(node.Reader(), 1000);
  int calls = 0;
  puller.Fetch(id_, node.node, 8000, path_, [&](Status s) {
    calls++;
    EXPECT_FALSE(s.ok());
  });
  ASSERT_EQ(node.queued.size(), 4u);
  for (size_t i = 0, n = node.queued.size(); i < n; ++i) node.Answer(node.queued[i]);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(node.reads, 4) << "no read after the failure";
  EXPECT_EQ(CountFiles(), 0);
}

TEST_F(ObjectPullerTest, AChunkOfTheWrongSizeIsAnError) {
  FakeNode short_node(Pattern(5000));
  short_node.short_chunks = true;
  Status s = PullAtOnce(short_node, 5000, 1000);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s;
  EXPECT_EQ(CountFiles(), 0);
  // A node whose object is smaller than said answers a short last chunk.
  FakeNode small_node(Pattern(4500));
  s = PullAtOnce(small_node, 5000, 1000);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s;
  EXPECT_EQ(CountFiles(), 0);
}

TEST_F(ObjectPullerTest, AnExistingFileIsNotOverwritten) {
  std::ofstream(path_ + ".pull") << "someone else's";
  FakeNode node(Pattern(10));
  Status s = PullAtOnce(node, 10);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(node.reads, 0);
  EXPECT_EQ(ReadFile(path_ + ".pull"), "someone else's");
  unlink((path_ + ".pull").c_str());
}

TEST_F(ObjectPullerTest, PullsInFlightGoWithThePuller) {
  FakeNode node(Pattern(5000));
  node.queue = true;
  int calls = 0;
  {
    ObjectPuller puller(node.Reader(), 1000);
    puller.Fetch(id_, node.node, 5000, path_, [&](Status) { calls++; });
    EXPECT_EQ(puller.num_in_flight(), 1u);
  }
  EXPECT_EQ(CountFiles(), 0);
  for (size_t i = 0, n = node.queued.size(); i < n; ++i)
    node.Answer(node.queued[i]);  // Late answers: ignored.
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(CountFiles(), 0);
}

TEST_F(ObjectPullerTest, FetchesARemoteValueIntoTheObjectTable) {
  std::string bytes = Pattern(9000);
  FakeNode node(bytes);
  ObjectPuller puller(node.Reader(), 4096);
  {
    ObjectTable table(dir_);
    table.SetFetcher([&](const ObjectID& id, const NodeID& location, uint64_t size,
                         const std::string& path, std::function<void(Status)> done) {
      puller.Fetch(id, location, size, path, std::move(done));
    });
    StoredValue value;
    value.shm_size = bytes.size();
    table.AddHolder(id_);
    table.SealRemote(id_, std::move(value), node.node);
    int calls = 0;
    table.OnAvailable(id_, [&] { calls++; });
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(table.IsAvailable(id_));
    EXPECT_TRUE(ReadFile(table.PathOf(id_)) == bytes);
    EXPECT_EQ(CountFiles(), 1);
    EXPECT_EQ(node.reads, 3);
  }
  EXPECT_EQ(CountFiles(), 0) << "the table removed its file";
}

}  // namespace
}  // namespace rayx
