#include "engine/wire/frame.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "engine/base/logging.h"

namespace rayx {
namespace {

// A buffer that grew past this for one large frame is released once the frame is delivered.
constexpr size_t kMaxRetainedBuffer = 1u << 20;
// A frame up to this size gets its whole buffer as soon as its header is known; a larger one's
// buffer grows as its bytes come (doubling), so that a length alone, which costs a sender four
// bytes, never makes the reader allocate more than this (or twice what it was sent).
constexpr size_t kEagerReserve = 8u << 20;
// ReadSpace offers at least this much room (or the rest of the frame): Connection reads into
// place only chunks this large.
constexpr size_t kMinReadRoom = 64u << 10;

uint32_t DecodeLength(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
         (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
}

Status OversizedFrame(uint32_t length, uint32_t limit) {
  return ProtocolError("frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                       std::to_string(limit));
}

}  // namespace

void AppendFrame(std::string* out, std::string_view payload) {
  const bool oversized = payload.size() > kMaxFrameSize;
  const auto length = static_cast<uint32_t>(std::min<size_t>(payload.size(), UINT32_MAX));
  const char header[kFrameHeaderSize] = {
      static_cast<char>(length & 0xff), static_cast<char>((length >> 8) & 0xff),
      static_cast<char>((length >> 16) & 0xff), static_cast<char>((length >> 24) & 0xff)};
  if (oversized) {
    RAYX_LOG(Error) << "a frame of " << payload.size() << " bytes is over the limit of "
                    << kMaxFrameSize << "; only its header is sent, which the receiver refuses";
    out->append(header, kFrameHeaderSize);
    return;
  }
  out->reserve(out->size() + kFrameHeaderSize + payload.size());
  out->append(header, kFrameHeaderSize);
  out->append(payload.data(), payload.size());
}

void FrameDecoder::Reserve(size_t cap) {
  if (partial_cap_ >= cap) return;
  std::unique_ptr<char[]> bigger(new char[cap]);
  if (partial_len_ > 0) std::memcpy(bigger.get(), partial_.get(), partial_len_);
  partial_ = std::move(bigger);
  partial_cap_ = cap;
}

void FrameDecoder::Grow(size_t frame_size, size_t wanted) {
  const size_t need = partial_len_ + wanted;
  if (partial_cap_ >= need) return;
  Reserve(frame_size <= kEagerReserve
              ? frame_size
              : std::min(frame_size, std::max({need, 2 * partial_cap_, kEagerReserve})));
}

void FrameDecoder::MaybeDeliver(const FrameFn& on_frame) {
  const uint32_t length = DecodeLength(partial_.get());
  if (partial_len_ < kFrameHeaderSize + static_cast<size_t>(length)) return;
  partial_len_ = 0;
  on_frame(std::string_view(partial_.get() + kFrameHeaderSize, length));
  if (partial_cap_ > kMaxRetainedBuffer) {
    partial_.reset();
    partial_cap_ = 0;
  }
}

char* FrameDecoder::ReadSpace(size_t* room) {
  *room = 0;
  if (partial_len_ < kFrameHeaderSize) return nullptr;
  const uint32_t length = DecodeLength(partial_.get());
  if (length > max_frame_) return nullptr;  // Feed reported it.
  const size_t frame_size = kFrameHeaderSize + static_cast<size_t>(length);
  const size_t missing = frame_size - partial_len_;
  Grow(frame_size, std::min(missing, kMinReadRoom));
  *room = std::min(missing, partial_cap_ - partial_len_);
  return partial_.get() + partial_len_;
}

void FrameDecoder::Commit(size_t n, const FrameFn& on_frame) {
  partial_len_ += n;
  MaybeDeliver(on_frame);
}

Status FrameDecoder::Feed(const char* data, size_t n, const FrameFn& on_frame) {
  // First finish the partial frame held from earlier chunks, if any.
  if (partial_len_ > 0) {
    if (partial_len_ < kFrameHeaderSize) {
      const size_t take = std::min<size_t>(kFrameHeaderSize - partial_len_, n);
      Reserve(kFrameHeaderSize);
      std::memcpy(partial_.get() + partial_len_, data, take);
      partial_len_ += take;
      data += take;
      n -= take;
      if (partial_len_ < kFrameHeaderSize) return Status::OK();
    }
    const uint32_t length = DecodeLength(partial_.get());
    if (length > max_frame_) return OversizedFrame(length, max_frame_);
    const size_t frame_size = kFrameHeaderSize + static_cast<size_t>(length);
    const size_t take = std::min(frame_size - partial_len_, n);
    Grow(frame_size, take);
    std::memcpy(partial_.get() + partial_len_, data, take);
    partial_len_ += take;
    data += take;
    n -= take;
    if (partial_len_ < frame_size) return Status::OK();
    MaybeDeliver(on_frame);
  }

  // Whole frames inside the chunk are handed out in place, without a copy.
  while (n >= kFrameHeaderSize) {
    const uint32_t length = DecodeLength(data);
    if (length > max_frame_) return OversizedFrame(length, max_frame_);
    if (n - kFrameHeaderSize < length) break;
    const char* payload = data + kFrameHeaderSize;
    if (reinterpret_cast<uintptr_t>(payload) % kFrameAlignment == 0) {
      on_frame(std::string_view(payload, length));
    } else {
      // After a frame whose length is not a multiple of 4 (no FlatBuffers message is such, a
      // hostile sender's may be): copied to the buffer, whose payload is aligned.
      Reserve(kFrameHeaderSize + static_cast<size_t>(length));
      std::memcpy(partial_.get(), data, kFrameHeaderSize + static_cast<size_t>(length));
      partial_len_ = kFrameHeaderSize + static_cast<size_t>(length);
      MaybeDeliver(on_frame);
    }
    data += kFrameHeaderSize + length;
    n -= kFrameHeaderSize + length;
  }

  // Keep the start of an incomplete frame for the next chunk (or a read into its place).
  if (n > 0) {
    if (n >= kFrameHeaderSize) {
      Grow(kFrameHeaderSize + static_cast<size_t>(DecodeLength(data)), n);
    } else {
      Reserve(n);
    }
    std::memcpy(partial_.get(), data, n);
    partial_len_ = n;
  }
  return Status::OK();
}

}  // namespace rayx
