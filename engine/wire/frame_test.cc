#include "engine/wire/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace rayx {
namespace {

std::string Payload(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

std::string Header(uint32_t length) {
  std::string out;
  AppendFrame(&out, std::string(0, '\0'));
  out[0] = static_cast<char>(length & 0xff);
  out[1] = static_cast<char>((length >> 8) & 0xff);
  out[2] = static_cast<char>((length >> 16) & 0xff);
  out[3] = static_cast<char>((length >> 24) & 0xff);
  return out;
}

TEST(FrameTest, HeaderIsLittleEndianLength) {
  std::string out;
  AppendFrame(&out, "abc");
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out.substr(0, 4), std::string("\x03\x00\x00\x00", 4));
  EXPECT_EQ(out.substr(4), "abc");
  out.clear();
  AppendFrame(&out, std::string(0x010203, 'x'));
  EXPECT_EQ(out.substr(0, 4), std::string("\x03\x02\x01\x00", 4));
}

TEST(FrameTest, RoundTripAtEverySplitPoint) {
  const std::vector<std::string> payloads = {Payload(5, 'a'), "", Payload(300, 'b'),
                                             Payload(1, 'c'), Payload(70, 'd')};
  std::string stream;
  for (const auto& p : payloads) AppendFrame(&stream, p);

  for (size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder decoder;
    std::vector<std::string> got;
    auto collect = [&got](std::string_view f) { got.emplace_back(f); };
    ASSERT_TRUE(decoder.Feed(stream.data(), split, collect).ok());
    ASSERT_TRUE(decoder.Feed(stream.data() + split, stream.size() - split, collect).ok());
    EXPECT_EQ(got, payloads) << "split at " << split;
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(FrameTest, RoundTripAtEveryPairOfSplitPoints) {
  const std::vector<std::string> payloads = {Payload(9, 'x'), Payload(2, 'y'), Payload(13, 'z')};
  std::string stream;
  for (const auto& p : payloads) AppendFrame(&stream, p);

  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      FrameDecoder decoder;
      std::vector<std::string> got;
      auto collect = [&got](std::string_view f) { got.emplace_back(f); };
      ASSERT_TRUE(decoder.Feed(stream.data(), a, collect).ok());
      ASSERT_TRUE(decoder.Feed(stream.data() + a, b - a, collect).ok());
      ASSERT_TRUE(decoder.Feed(stream.data() + b, stream.size() - b, collect).ok());
      ASSERT_EQ(got, payloads) << "splits at " << a << " and " << b;
    }
  }
}

TEST(FrameTest, OneByteAtATime) {
  std::string stream;
  std::vector<std::string> payloads;
  for (int i = 0; i < 20; ++i) {
    payloads.push_back(Payload(i * 3, static_cast<char>(i)));
    AppendFrame(&stream, payloads.back());
  }
  FrameDecoder decoder;
  std::vector<std::string> got;
  for (char c : stream) {
    ASSERT_TRUE(decoder.Feed(&c, 1, [&got](std::string_view f) { got.emplace_back(f); }).ok());
  }
  EXPECT_EQ(got, payloads);
}

// Whole frames of lengths that are multiples of 4 (every FlatBuffers message's) are handed out in
// place.
TEST(FrameTest, WholeFramesAreNotCopied) {
  std::string stream;
  AppendFrame(&stream, "first...");
  AppendFrame(&stream, "second");
  FrameDecoder decoder;
  std::vector<const char*> starts;
  ASSERT_TRUE(decoder
                  .Feed(stream.data(), stream.size(),
                        [&](std::string_view f) { starts.push_back(f.data()); })
                  .ok());
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(starts[0], stream.data() + 4);
  EXPECT_EQ(starts[1], stream.data() + 4 + 8 + 4);
}

TEST(FrameTest, PartialFrameIsBuffered) {
  std::string stream;
  AppendFrame(&stream, "hello");
  FrameDecoder decoder;
  int frames = 0;
  auto count = [&frames](std::string_view) { ++frames; };
  ASSERT_TRUE(decoder.Feed(stream.data(), 6, count).ok());
  EXPECT_EQ(frames, 0);
  EXPECT_EQ(decoder.buffered(), 6u);
  ASSERT_TRUE(decoder.Feed(stream.data() + 6, 3, count).ok());
  EXPECT_EQ(frames, 1);
  EXPECT_EQ(decoder.buffered(), 0u);
}

// A large frame's rest is read straight into the decoder's space (as Connection does), mixed with
// bytes fed the usual way; every frame comes out whole, once, in order.
TEST(FrameTest, LargeFrameReadIntoItsPlace) {
  const std::string big = Payload(3 << 20, 'b');
  std::string stream;
  AppendFrame(&stream, "first");
  AppendFrame(&stream, big);
  AppendFrame(&stream, "last");
  FrameDecoder decoder;
  std::vector<std::string> frames;
  auto on_frame = [&frames](std::string_view f) { frames.emplace_back(f); };
  size_t pos = 0;
  // "first", and the big frame's header with a few bytes of it, fed normally.
  const size_t head = kFrameHeaderSize + 5 + kFrameHeaderSize + 100;
  ASSERT_TRUE(decoder.Feed(stream.data(), head, on_frame).ok());
  pos = head;
  ASSERT_EQ(frames.size(), 1u);
  size_t room = 0;
  // The rest of the big frame, read into its place in pieces of 1 MiB.
  while (char* space = decoder.ReadSpace(&room)) {
    ASSERT_GT(room, 0u);
    size_t n = std::min<size_t>(room, 1 << 20);
    std::memcpy(space, stream.data() + pos, n);
    pos += n;
    decoder.Commit(n, on_frame);
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1], big);
  EXPECT_EQ(decoder.buffered(), 0u);
  ASSERT_TRUE(decoder.Feed(stream.data() + pos, stream.size() - pos, on_frame).ok());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[2], "last");
  EXPECT_EQ(decoder.ReadSpace(&room), nullptr);
}

// A length costs a sender four bytes: it never makes the reader allocate the whole frame at once
// past 8 MiB (found by //engine/wire:frame_fuzz_test, whose every header of up to 256 MiB did).
// The buffer grows as the bytes come, and the frame arrives whole all the same.
TEST(FrameTest, ALargeFrameGrowsAsItsBytesCome) {
  const std::string big = Payload(40u << 20, 'g');
  std::string stream;
  AppendFrame(&stream, big);
  FrameDecoder decoder;
  std::vector<std::string> frames;
  auto on_frame = [&frames](std::string_view f) { frames.emplace_back(f); };
  ASSERT_TRUE(decoder.Feed(stream.data(), 10, on_frame).ok());
  size_t pos = 10, room = 0, largest_room = 0;
  while (char* space = decoder.ReadSpace(&room)) {
    ASSERT_GE(room, std::min<size_t>(64u << 10, stream.size() - pos));
    largest_room = std::max(largest_room, room);
    // Each read returns less than the room offered, as reads from a socket do.
    size_t n = std::min<size_t>(room, 3u << 20);
    std::memcpy(space, stream.data() + pos, n);
    pos += n;
    // Past 8 MiB, at most the bytes held so far are offered again (the buffer doubles).
    if (pos < stream.size()) EXPECT_LE(room, std::max<size_t>(8u << 20, pos));
    decoder.Commit(n, on_frame);
  }
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], big);
  EXPECT_GT(largest_room, 8u << 20);
}

// FlatBuffers reads a message's root offset with a 4-byte load: frames after one of an odd length
// (found by //engine/node:envelope_fuzz_test under UBSan) are copied to be aligned, not handed
// out in place at any address.
TEST(FrameTest, PayloadsAreAligned) {
  std::string stream;
  std::vector<std::string> sent = {"a", "bcd", "ef", "ghij", "", "k"};
  for (const std::string& s : sent) AppendFrame(&stream, s);
  for (size_t shift = 0; shift < 4; ++shift) {
    std::string shifted = std::string(shift, 'x') + stream;
    FrameDecoder decoder;
    std::vector<std::string> frames;
    ASSERT_TRUE(decoder
                    .Feed(shifted.data() + shift, stream.size(),
                          [&frames](std::string_view f) {
                            EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data()) % kFrameAlignment, 0u);
                            frames.emplace_back(f);
                          })
                    .ok());
    EXPECT_EQ(frames, sent);
  }
}

TEST(FrameTest, MaxSizeIsAcceptedInHeader) {
  FrameDecoder decoder;
  const std::string header = Header(kMaxFrameSize);
  EXPECT_TRUE(decoder.Feed(header.data(), header.size(), [](std::string_view) {}).ok());
}

TEST(FrameTest, OversizedLengthIsProtocolError) {
  const std::string header = Header(kMaxFrameSize + 1);
  FrameDecoder whole;
  Status s = whole.Feed(header.data(), header.size(), [](std::string_view) { FAIL(); });
  EXPECT_EQ(s.code(), StatusCode::kProtocolError);

  // The same when the header arrives in pieces, and after a good frame.
  std::string stream;
  AppendFrame(&stream, "ok");
  stream += Header(0xffffffffu);
  FrameDecoder pieces;
  int frames = 0;
  auto count = [&frames](std::string_view) { ++frames; };
  ASSERT_TRUE(pieces.Feed(stream.data(), 8, count).ok());
  s = pieces.Feed(stream.data() + 8, stream.size() - 8, count);
  EXPECT_EQ(s.code(), StatusCode::kProtocolError);
  EXPECT_EQ(frames, 1);
}

TEST(FrameTest, OversizedPayloadSendsOnlyAHeaderTheReceiverRefuses) {
  // A string_view over memory that is never read past the header: no 256 MiB buffer is needed.
  std::string small(16, 'x');
  std::string_view oversized(small.data(), size_t{kMaxFrameSize} + 1);
  std::string stream;
  AppendFrame(&stream, oversized);
  EXPECT_EQ(stream, Header(kMaxFrameSize + 1));
  FrameDecoder decoder;
  Status s = decoder.Feed(stream.data(), stream.size(), [](std::string_view) { FAIL(); });
  EXPECT_EQ(s.code(), StatusCode::kProtocolError);
}

}  // namespace
}  // namespace rayx

namespace rayx {
namespace {

TEST(FrameDecoderLimitTest, ASmallerLimitRefusesLargerFrames) {
  FrameDecoder decoder(/*max_frame=*/8);
  std::string ok, big;
  AppendFrame(&ok, "12345678");
  AppendFrame(&big, "123456789");
  int frames = 0;
  EXPECT_TRUE(decoder.Feed(ok.data(), ok.size(), [&](std::string_view) { ++frames; }).ok());
  EXPECT_EQ(frames, 1);
  Status status = decoder.Feed(big.data(), big.size(), [&](std::string_view) { ++frames; });
  EXPECT_EQ(status.code(), StatusCode::kProtocolError);
  EXPECT_EQ(frames, 1);
}

}  // namespace
}  // namespace rayx
