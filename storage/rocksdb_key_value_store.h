// A KeyValueStore in a RocksDB database: the lineage log on disk, one database per node.
#pragma once

#include <memory>
#include <string>

#include "storage/key_value_store.h"

namespace rayx {

// Opens (creating if missing) the database in directory path.
StatusOr<std::unique_ptr<KeyValueStore>> OpenRocksDbKeyValueStore(const std::string& path);

}  // namespace rayx
