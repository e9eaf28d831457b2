// Frames: how messages are delimited on every rayx stream.
//
// A frame is a 4-byte little-endian payload length followed by the payload. Payloads are
// FlatBuffers messages (engine/wire/protocol.fbs), verified by the reader before use.
// A length above kMaxFrameSize is a protocol error: the reader closes that connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace rayx {

constexpr uint32_t kFrameHeaderSize = 4;
constexpr uint32_t kMaxFrameSize = 256u << 20;
// Every payload FrameDecoder delivers starts at an address that is a multiple of this, as reading
// a FlatBuffers message needs (its root offset is a 4-byte load).
constexpr size_t kFrameAlignment = 4;

// Appends the 4-byte header and then payload to out. A payload over kMaxFrameSize (which no sender
// should make: the node bounds every message it builds, and Connection::Send refuses one) never
// aborts: only a header is appended, whose length (capped at UINT32_MAX) is over the limit, so the
// receiver refuses the frame and closes the connection, as it would refuse the whole frame.
void AppendFrame(std::string* out, std::string_view payload);

// Cuts a byte stream into frames. Not thread-safe; one per stream.
class FrameDecoder {
 public:
  using FrameFn = std::function<void(std::string_view payload)>;

  // max_frame: the largest payload accepted (at most kMaxFrameSize); peer links use less.
  explicit FrameDecoder(uint32_t max_frame = kMaxFrameSize) : max_frame_(max_frame) {}
  void set_max_frame(uint32_t max_frame) { max_frame_ = max_frame; }

  // Consumes n bytes, calling on_frame for each frame they complete, in order, with its payload
  // aligned to kFrameAlignment (a frame that would not be is copied first). A partial frame is
  // kept until the rest arrives. Returns ProtocolError on an oversized length; the decoder must not
  // be fed again after an error.
  Status Feed(const char* data, size_t n, const FrameFn& on_frame);

  // Bytes held for a frame not yet complete.
  size_t buffered() const { return partial_len_; }

  // A frame larger than one read is read straight into its place: once its header is known and
  // its payload incomplete, ReadSpace returns where its next bytes go and sets *room to how many
  // may go there now (null when no frame is partial past its header): the bytes missing, or for a
  // frame over 8 MiB, whose buffer grows as its bytes come, at least 64 KiB of them. The caller
  // reads at most *room bytes there and calls Commit with how many it read, which delivers the
  // frame when whole.
  char* ReadSpace(size_t* room);
  void Commit(size_t n, const FrameFn& on_frame);

 private:
  // Makes room for cap bytes of partial frame, keeping the partial_len_ held.
  void Reserve(size_t cap);
  // Makes room for wanted more bytes of a frame of frame_size bytes (header included): all of it
  // up to 8 MiB, else at least twice the room held before.
  void Grow(size_t frame_size, size_t wanted);
  // Delivers the partial frame when it is whole, and lets a large buffer go.
  void MaybeDeliver(const FrameFn& on_frame);

  std::unique_ptr<char[]> partial_;  // The frame being assembled (not initialized past len).
  size_t partial_cap_ = 0;
  size_t partial_len_ = 0;
  uint32_t max_frame_;
};

}  // namespace rayx
