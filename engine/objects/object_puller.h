// ObjectPuller: copies objects from other nodes' stores into this node's, in chunks (the
// ObjectTable's Fetcher).
//
// Fetch reads the object in chunks of chunk_size bytes through a transport (ChunkReader: a
// ReadObject to the node that has it, in the node), with up to kMaxInFlight reads outstanding,
// and writes each chunk at its offset in `path + ".pull"`, a new file (mode 0600, like every
// store file) sized at the start. When every byte is there, the file is renamed to path and done
// hears OK. A read that fails, a chunk of the wrong size or a failed write ends the fetch: the
// temporary file is removed and done hears why. So path is either whole or absent.
//
// Each fetch's done is called exactly once, perhaps before Fetch returns, except for the fetches
// in flight when the puller is destroyed: their files are removed and done is never called; reads
// that answer later are ignored.
//
// Writes are blocking pwrites on the calling thread (the loop): at most chunk_size bytes each.
//
// Thread: one thread (the node's loop); the reader must answer on it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "engine/base/ids.h"
#include "engine/base/status.h"

namespace rayx {

class ObjectPuller {
 public:
  // Reads length bytes of id from offset on, from the node `from`: done gets exactly those bytes
  // (fewer only at the object's end) or an error.
  using ChunkReader =
      std::function<void(const NodeID& from, const ObjectID& id, uint64_t offset, uint32_t length,
                         std::function<void(StatusOr<std::string_view> data)> done)>;
  // (done's bytes are valid only during the call: the puller writes them before it returns.)
  static constexpr int kMaxInFlight = 4;

  // chunk_size: kMaxReadChunk in the node (engine/wire/messages.h); smaller in tests.
  ObjectPuller(ChunkReader reader, uint32_t chunk_size);
  ~ObjectPuller();
  ObjectPuller(const ObjectPuller&) = delete;
  ObjectPuller& operator=(const ObjectPuller&) = delete;

  // Copies the size bytes of id from the node `from` into a new file at path (see above).
  void Fetch(const ObjectID& id, const NodeID& from, uint64_t size, const std::string& path,
             std::function<void(Status)> done);

  size_t num_in_flight() const { return pulls_.size(); }

 private:
  struct Pull;
  // Starts reads while fewer than kMaxInFlight are out; finishes the pull when all are in.
  void Pump(uint64_t key);
  void OnChunk(uint64_t key, uint64_t offset, uint32_t length, StatusOr<std::string_view> data);
  void Finish(uint64_t key, Status status);

  ChunkReader reader_;
  uint32_t chunk_size_;
  uint64_t next_key_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Pull>> pulls_;
  // Set to false when the puller goes, so that reads that answer later do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rayx
