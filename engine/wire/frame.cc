#include "engine/wire/frame.h"

#include <algorithm>
#include <string>

#include "engine/base/logging.h"

namespace rayx {
namespace {

// A buffer that grew past this for one large frame is released once the frame is delivered.
constexpr size_t kMaxRetainedBuffer = 1u << 20;

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

Status FrameDecoder::Feed(const char* data, size_t n, const FrameFn& on_frame) {
  // First finish the partial frame held from earlier chunks, if any.
  if (!buffer_.empty()) {
    if (buffer_.size() < kFrameHeaderSize) {
      const size_t take = std::min<size_t>(kFrameHeaderSize - buffer_.size(), n);
      buffer_.append(data, take);
      data += take;
      n -= take;
      if (buffer_.size() < kFrameHeaderSize) return Status::OK();
    }
    const uint32_t length = DecodeLength(buffer_.data());
    if (length > max_frame_) return OversizedFrame(length, max_frame_);
    const size_t frame_size = kFrameHeaderSize + static_cast<size_t>(length);
    const size_t take = std::min(frame_size - buffer_.size(), n);
    buffer_.append(data, take);
    data += take;
    n -= take;
    if (buffer_.size() < frame_size) return Status::OK();
    on_frame(std::string_view(buffer_.data() + kFrameHeaderSize, length));
    if (buffer_.capacity() > kMaxRetainedBuffer) {
      std::string().swap(buffer_);
    } else {
      buffer_.clear();
    }
  }

  // Whole frames inside the chunk are handed out in place, without a copy.
  while (n >= kFrameHeaderSize) {
    const uint32_t length = DecodeLength(data);
    if (length > max_frame_) return OversizedFrame(length, max_frame_);
    if (n - kFrameHeaderSize < length) break;
    on_frame(std::string_view(data + kFrameHeaderSize, length));
    data += kFrameHeaderSize + length;
    n -= kFrameHeaderSize + length;
  }

  // Keep the start of an incomplete frame for the next chunk.
  if (n > 0) buffer_.assign(data, n);
  return Status::OK();
}

}  // namespace rayx
