// File copies between the shared-memory store and the spill directory, one copy each way and
// no buffer in between: a spill writes straight from the object's mapping, a restore reads
// straight into a fresh mapping. These block; the node runs them on its IoPool, never on its loop.
//
// A full disk (or a full /dev/shm on restore) is OutOfMemory, any other failure IoError; on
// failure the destination is removed.
#pragma once

#include <string>

#include "engine/base/status.h"

namespace rayx {

// Copies the object file src (in shared memory) to dst on disk and syncs dst's data, so that the
// memory the spill frees is not taken again as dirty page cache.
Status SpillObjectFile(const std::string& src, const std::string& dst);

// Copies the spill file src into a new shared-memory object file dst (which must not exist).
Status RestoreObjectFile(const std::string& src, const std::string& dst);

}  // namespace rayx
