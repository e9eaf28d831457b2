#include "engine/client/value_io.h"

#include <cerrno>
#include <cstdio>
#include <vector>

#include "engine/objects/object_format.h"
#include "engine/objects/shm_file.h"
#include "engine/wire/messages.h"

namespace rayx {

void MappingReporter::Report(const ObjectID& id, bool mapped) {
  if (getpid() != pid_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (connection_ == nullptr) return;
  flatbuffers::FlatBufferBuilder b(64);
  auto ids = PackIds(b, std::vector<ObjectID>{id});
  wire::RefCountUpdateBuilder u(b);
  if (mapped) {
    u.add_mapped(ids);
  } else {
    u.add_unmapped(ids);
  }
  (void)connection_->Send(FinishEnvelope(b, u.Finish()));  // A lost connection unmaps everything.
}

void MappingReporter::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  connection_ = nullptr;
}

ValueIo::ValueIo(std::string session_dir, NodeConnection* connection, bool shared_store)
    : session_dir_(std::move(session_dir)),
      shared_store_(shared_store),
      reporter_(std::make_shared<MappingReporter>(connection)) {}

ValueIo::~ValueIo() { reporter_->Detach(); }

StatusOr<flatbuffers::Offset<wire::ObjectValue>> ValueIo::Build(flatbuffers::FlatBufferBuilder& b,
                                                                const ObjectID& id,
                                                                const OutgoingValue& value,
                                                                bool* in_shm_out) const {
  std::vector<size_t> sizes;
  sizes.reserve(value.buffers.size());
  for (const ByteSpan& buffer : value.buffers) sizes.push_back(buffer.size);
  ObjectLayout layout = ComputeObjectLayout(value.data.size, sizes);
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> data;
  if (!shared_store_ && layout.total_size > kMaxInlineValueSize) {
    return InvalidArgument(
        "a value of " + std::to_string(layout.total_size) + " bytes is over the limit of " +
        std::to_string(kMaxInlineValueSize) +
        " bytes (64 MiB) for a driver attached over TCP, which sends every value inline; a "
        "driver on the member's machine (attached through its Unix socket) has no such limit");
  }
  bool in_shm = shared_store_ && layout.total_size > kInlineThreshold &&
                value.kind != ValueKind::kSystemError;
  if (in_shm_out != nullptr) *in_shm_out = in_shm;
  if (value.kind == ValueKind::kSystemError) {
    data = b.CreateVector(value.data.data, value.data.size);
  } else if (in_shm) {
    // Written under a temporary name and renamed, so that readers never see a partial object and
    // a retried task replaces what an earlier attempt left.
    std::string path = session_dir_ + "/" + id.Hex();
    std::string temp = path + ".tmp" + std::to_string(getpid());
    (void)RemoveObjectFile(temp);
    RAYX_RETURN_IF_ERROR(WriteObjectFile(temp, layout, value.data, value.buffers));
    if (rename(temp.c_str(), path.c_str()) != 0) {
      int e = errno;
      (void)RemoveObjectFile(temp);
      return ErrnoError("seal object file " + path, e);
    }
  } else {
    uint8_t* out = nullptr;
    data = b.CreateUninitializedVector(layout.total_size, &out);
    WriteObject(layout, value.data, value.buffers, out);
  }
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  auto contained = PackIds(b, value.contained);
  auto contained_actors = PackIds(b, value.contained_actors);
  wire::ObjectValueBuilder vb(b);
  vb.add_object_id(object_id);
  vb.add_kind(static_cast<wire::ValueKind>(value.kind));
  if (!in_shm) vb.add_data(data);
  vb.add_in_shm(in_shm);
  vb.add_shm_size(in_shm ? layout.total_size : 0);
  vb.add_contained(contained);
  vb.add_contained_actors(contained_actors);
  return vb.Finish();
}

flatbuffers::Offset<wire::ObjectValue> ValueIo::BuildInline(flatbuffers::FlatBufferBuilder& b,
                                                            const ObjectID& id, ValueKind kind,
                                                            std::string_view data) {
  auto object_id = b.CreateVector(id.data(), ObjectID::kSize);
  auto bytes = b.CreateVector(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  wire::ObjectValueBuilder vb(b);
  vb.add_object_id(object_id);
  vb.add_kind(static_cast<wire::ValueKind>(kind));
  vb.add_data(bytes);
  return vb.Finish();
}

StatusOr<IncomingValue> ValueIo::Read(const wire::ObjectValue* value, bool report_mapped) const {
  IncomingValue in;
  if (value->kind() > wire::ValueKind::MAX) return ProtocolError("unknown value kind");
  in.kind = static_cast<ValueKind>(value->kind());
  if (!value->in_shm()) {
    in.inline_data = std::string(BytesOf(value->data()));
    return in;
  }
  if (!shared_store_) return ProtocolError("a shared-memory value sent to a driver over TCP");
  RAYX_ASSIGN_OR_RETURN(ObjectID id, UnpackId<ObjectID>(value->object_id()));
  if (report_mapped) reporter_->Report(id, true);
  auto region = MapObjectFile(session_dir_ + "/" + id.Hex());
  if (!region.ok()) {
    reporter_->Report(id, false);
    return region.status();
  }
  std::shared_ptr<MappingReporter> reporter = reporter_;
  in.mapping = std::shared_ptr<MappedRegion>(new MappedRegion(std::move(region).value()),
                                             [reporter, id](MappedRegion* r) {
                                               delete r;
                                               reporter->Report(id, false);
                                             });
  return in;
}

void ValueIo::Unmapped(const wire::ObjectValue* value) const {
  if (!value->in_shm()) return;
  auto id = UnpackId<ObjectID>(value->object_id());
  if (id.ok()) reporter_->Report(*id, false);
}

}  // namespace rayx
