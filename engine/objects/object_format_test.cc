#include "engine/objects/object_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rayx {
namespace {

ByteSpan Span(const std::string& s) {
  return ByteSpan{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string AsString(ByteSpan span) {
  return std::string(reinterpret_cast<const char*>(span.data), span.size);
}

TEST(ObjectFormatTest, RoundTripsDataAndAlignedBuffers) {
  std::string data = "pickle stream";
  std::vector<std::string> buffers = {"first buffer", "", std::string(1000, 'x')};
  std::vector<ByteSpan> spans;
  std::vector<size_t> sizes;
  for (auto& b : buffers) {
    spans.push_back(Span(b));
    sizes.push_back(b.size());
  }
  ObjectLayout layout = ComputeObjectLayout(data.size(), sizes);
  std::vector<uint8_t> out(layout.total_size);
  WriteObject(layout, Span(data), spans, out.data());

  auto view = ParseObject(out.data(), out.size());
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(AsString(view->data), data);
  ASSERT_EQ(view->buffers.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(AsString(view->buffers[i]), buffers[i]);
    EXPECT_EQ((view->buffers[i].data - out.data()) % kBufferAlignment, 0u) << "buffer " << i;
  }
}

TEST(ObjectFormatTest, RejectsTruncatedAndCorruptObjects) {
  std::string data = "abc";
  std::string buffer(200, 'b');
  ObjectLayout layout = ComputeObjectLayout(data.size(), {buffer.size()});
  std::vector<uint8_t> out(layout.total_size);
  WriteObject(layout, Span(data), {Span(buffer)}, out.data());

  // Every truncation is refused, never read past the end.
  for (size_t size = 0; size < out.size(); ++size) {
    EXPECT_FALSE(ParseObject(out.data(), size).ok()) << "size " << size;
  }
  std::vector<uint8_t> bad_magic = out;
  bad_magic[0] ^= 0xff;
  EXPECT_FALSE(ParseObject(bad_magic.data(), bad_magic.size()).ok());
  std::vector<uint8_t> huge_count = out;
  huge_count[7] = 0x7f;  // Claims an enormous buffer table.
  EXPECT_FALSE(ParseObject(huge_count.data(), huge_count.size()).ok());
}

}  // namespace
}  // namespace rayx
