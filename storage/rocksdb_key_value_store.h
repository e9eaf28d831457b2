// A KeyValueStore in a RocksDB database: the lineage log on disk, one database per node.
#pragma once

#include <memory>
#include <string>

#include "storage/key_value_store.h"

namespace rayx {

// Opens (creating if missing) the database in directory path.
// One process at a time may hold a database open this way (RocksDB's LOCK file).
StatusOr<std::unique_ptr<KeyValueStore>> OpenRocksDbKeyValueStore(const std::string& path);

// Opens an existing database to read, while another process may be writing it: what that writer
// had written when this returns is visible (its WAL is replayed), later writes are not. Write
// fails.
StatusOr<std::unique_ptr<KeyValueStore>> OpenRocksDbKeyValueStoreReadOnly(const std::string& path);

}  // namespace rayx
