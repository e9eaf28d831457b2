// Fuzz target: FrameDecoder fed an arbitrary byte stream, as a connection feeds it.
//
// Input: byte 0 picks the frame limit and byte 1 seeds the chunk sizes; the rest is the stream.
// The stream is fed in chunks of varying size, through Feed and, whenever the decoder offers room
// for a large frame, through ReadSpace and Commit (as Connection reads). The frames delivered are
// checked against a plain reading of the whole stream: the same frames in the same order, an error
// exactly when a length over the limit is read, and the bytes of a trailing partial frame held.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/wire/frame.h"

namespace rayx {
namespace {

uint32_t Length(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      fprintf(stderr, "frame_fuzz: check failed: %s (line %d)\n", #cond, __LINE__); \
      abort();                                                                      \
    }                                                                               \
  } while (0)

}  // namespace
}  // namespace rayx

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rayx;
  if (size < 2) return 0;
  static const uint32_t kLimits[] = {0, 7, 64, 4096, 1u << 20, kMaxFrameSize};
  const uint32_t limit = kLimits[data[0] % (sizeof(kLimits) / sizeof(kLimits[0]))];
  uint32_t chunk_seed = data[1] | 1u;
  const uint8_t* stream = data + 2;
  const size_t n = size - 2;

  // What a plain reading of the whole stream gives.
  std::vector<std::string> expected;
  bool expect_error = false;
  size_t pos = 0;
  while (n - pos >= kFrameHeaderSize) {
    uint32_t length = Length(stream + pos);
    if (length > limit) {
      expect_error = true;
      break;
    }
    if (n - pos - kFrameHeaderSize < length) break;
    expected.emplace_back(reinterpret_cast<const char*>(stream + pos + kFrameHeaderSize), length);
    pos += kFrameHeaderSize + length;
  }
  const size_t trailing = n - pos;

  FrameDecoder decoder(limit);
  std::vector<std::string> got;
  FrameDecoder::FrameFn on_frame = [&got](std::string_view frame) {
    FUZZ_CHECK(reinterpret_cast<uintptr_t>(frame.data()) % kFrameAlignment == 0);
    got.emplace_back(frame);
  };
  bool error = false;
  size_t fed = 0;
  while (fed < n && !error) {
    chunk_seed = chunk_seed * 1103515245u + 12345u;
    size_t chunk = 1 + (chunk_seed >> 16) % ((chunk_seed & 0x100) ? 7 : 300);
    chunk = std::min(chunk, n - fed);
    size_t room = 0;
    char* space = decoder.ReadSpace(&room);
    if (space != nullptr && (chunk_seed & 0x200)) {
      FUZZ_CHECK(room > 0);
      chunk = std::min(chunk, room);
      std::memcpy(space, stream + fed, chunk);
      decoder.Commit(chunk, on_frame);
    } else {
      error = !decoder.Feed(reinterpret_cast<const char*>(stream + fed), chunk, on_frame).ok();
    }
    fed += chunk;
  }

  FUZZ_CHECK(error == expect_error);
  FUZZ_CHECK(got == expected);
  if (!error) FUZZ_CHECK(decoder.buffered() == trailing);
  return 0;
}
