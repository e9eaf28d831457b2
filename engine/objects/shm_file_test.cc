#include "engine/objects/shm_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/objects/object_format.h"

namespace rayx {
namespace {

ByteSpan Span(const std::string& s) {
  return ByteSpan{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string AsString(ByteSpan span) {
  return std::string(reinterpret_cast<const char*>(span.data), span.size);
}

class ShmFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/rayx-shm-file-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(ShmFileTest, WrittenObjectMapsBackIntact) {
  // More buffers than one pwritev call takes (IOV_MAX), of odd sizes, so the writer must chunk
  // its pieces and resume inside them.
  std::string data = "pickle";
  std::vector<std::string> buffers;
  for (int i = 0; i < 1500; ++i)
    buffers.push_back(std::string(i % 97, static_cast<char>('a' + i % 26)));
  buffers.push_back(std::string(3 << 20, 'z'));
  std::vector<ByteSpan> spans;
  std::vector<size_t> sizes;
  for (const auto& b : buffers) {
    spans.push_back(Span(b));
    sizes.push_back(b.size());
  }
  ObjectLayout layout = ComputeObjectLayout(data.size(), sizes);
  std::string path = dir_ + "/object";
  ASSERT_TRUE(WriteObjectFile(path, layout, Span(data), spans).ok());

  auto region = MapObjectFile(path);
  ASSERT_TRUE(region.ok()) << region.status();
  ASSERT_EQ(region->size(), layout.total_size);
  auto view = ParseObject(region->data(), region->size());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(AsString(view->data), data);
  ASSERT_EQ(view->buffers.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
    EXPECT_EQ(AsString(view->buffers[i]), buffers[i]) << i;
}

TEST_F(ShmFileTest, AnExistingFileIsNotOverwritten) {
  ObjectLayout layout = ComputeObjectLayout(3, {});
  std::string path = dir_ + "/object";
  ASSERT_TRUE(WriteObjectFile(path, layout, Span("one"), {}).ok());
  Status again = WriteObjectFile(path, layout, Span("two"), {});
  EXPECT_FALSE(again.ok());
  auto region = MapObjectFile(path);
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(AsString(ParseObject(region->data(), region->size())->data), "one");
}

TEST_F(ShmFileTest, AMissingDirectoryIsAnError) {
  ObjectLayout layout = ComputeObjectLayout(1, {});
  Status s = WriteObjectFile(dir_ + "/no/such/dir/object", layout, Span("x"), {});
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s;
}

}  // namespace
}  // namespace rayx
