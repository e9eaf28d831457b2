#include "engine/client/object_client.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <chrono>

#include "engine/client/node_info.h"
#include "engine/wire/messages.h"

namespace rayx {

StatusOr<ObjectID> ObjectClient::Put(const OutgoingValue& value) {
  ObjectID id = context_->NextPutId();
  refs_->Announce(id);  // The PutObject itself tells the node that this process holds it.
  RAYX_RETURN_IF_ERROR(Send(id, value, /*generator_item=*/false));
  return id;
}

Status ObjectClient::PutItem(const ObjectID& id, const OutgoingValue& value) {
  return Send(id, value, /*generator_item=*/true);
}

Status ObjectClient::Send(const ObjectID& id, const OutgoingValue& value, bool generator_item) {
  direct_->PromoteNamed(value.contained);
  flatbuffers::FlatBufferBuilder b(256 +
                                   (value.data.size < kInlineThreshold ? value.data.size : 0));
  bool in_shm = false;
  RAYX_ASSIGN_OR_RETURN(auto wire_value, io_->Build(b, id, value, &in_shm));
  if (!in_shm) {
    return channel_->Send(FinishEnvelope(
        b, wire::CreatePutObject(b, wire_value, 0, /*promotion=*/false, generator_item)));
  }
  // Capacity is enforced after the write, not reserved before it: one round trip per large put
  // instead of two, and the store is over its capacity by at most the objects being written at
  // that moment. The reply comes once the node has spilled enough to be within capacity again.
  uint64_t request_id = channel_->NextRequestId();
  RAYX_ASSIGN_OR_RETURN(
      std::string frame,
      channel_->Call(request_id, FinishEnvelope(b, wire::CreatePutObject(b, wire_value, request_id,
                                                                         false, generator_item))));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::PutReply* reply = envelope->message_as_PutReply();
  if (reply == nullptr) return ProtocolError("expected PutReply");
  std::string error = StringOf(reply->error());
  if (!error.empty()) return OutOfMemory(error);
  return Status::OK();
}

StatusOr<std::vector<IncomingValue>> ObjectClient::Get(const std::vector<ObjectID>& ids,
                                                       int64_t timeout_ms, bool* timed_out) {
  *timed_out = false;
  auto start = std::chrono::steady_clock::now();
  RAYX_ASSIGN_OR_RETURN(bool finished, direct_->WaitForResults(ids, timeout_ms));
  if (!finished) {
    *timed_out = true;
    return std::vector<IncomingValue>();
  }
  if (auto local = direct_->LocalValues(ids); local.has_value()) return std::move(*local);
  direct_->PromoteNamed(ids);
  std::vector<IncomingValue> values;
  values.reserve(ids.size());
  std::vector<ObjectID> rest = ids;
  while (true) {
    int64_t left = timeout_ms;
    if (timeout_ms >= 0) {
      auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      left = std::max<int64_t>(0, timeout_ms - spent.count());
    }
    size_t before = values.size();
    RAYX_RETURN_IF_ERROR(GetFromNode(rest, left, timed_out, &values));
    if (*timed_out) return std::vector<IncomingValue>();
    size_t got = values.size() - before;
    if (got == rest.size()) return values;
    rest.erase(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(got));
  }
}

Status ObjectClient::GetFromNode(const std::vector<ObjectID>& ids, int64_t timeout_ms,
                                 bool* timed_out, std::vector<IncomingValue>* received) {
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  auto get = wire::CreateGetObjects(b, request_id, PackIds(b, ids), timeout_ms);
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, get)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::GetReply* reply = envelope->message_as_GetReply();
  if (reply == nullptr) return ProtocolError("expected GetReply");
  *timed_out = reply->timed_out();
  if (reply->timed_out()) return Status::OK();
  // A prefix of the ids, at least one (see GetReply in protocol.fbs).
  size_t count = reply->values() == nullptr ? 0 : reply->values()->size();
  if (count == 0 || count > ids.size()) {
    return ProtocolError("GetReply holds " + std::to_string(count) + " values for " +
                         std::to_string(ids.size()) + " ids");
  }
  Status failed;
  for (const auto* value : *reply->values()) {
    if (!failed.ok()) {
      io_->Unmapped(value);  // The node counted a mapping for it: give it back.
      continue;
    }
    auto in = io_->Read(value, /*report_mapped=*/false);
    if (!in.ok()) {
      failed = in.status();
      continue;
    }
    received->push_back(std::move(in).value());
  }
  return failed;
}

StatusOr<std::vector<bool>> ObjectClient::Wait(const std::vector<ObjectID>& ids,
                                               uint32_t num_returns, int64_t timeout_ms,
                                               bool unknown_pending) {
  std::vector<bool> ready(ids.size());
  uint32_t here = direct_->MarkLocal(ids, &ready);
  if (here >= num_returns && here > 0) return ready;  // The node need not be asked.
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  direct_->PromoteNamed(ids);
  auto wait = wire::CreateWaitObjects(b, request_id, PackIds(b, ids), num_returns, timeout_ms,
                                      unknown_pending);
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, wait)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::WaitReply* reply = envelope->message_as_WaitReply();
  if (reply == nullptr || reply->ready() == nullptr || reply->ready()->size() != ids.size()) {
    return ProtocolError("malformed WaitReply");
  }
  for (size_t i = 0; i < ids.size(); ++i) ready[i] = reply->ready()->Get(i) != 0;
  return ready;
}

StatusOr<StoreStats> ObjectClient::Stats() {
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  auto request = wire::CreateObjectStoreStatsRequest(b, request_id);
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, request)));
  return ParseStoreStats(frame);
}

Status ObjectClient::HandOverDirectResults(const std::vector<ObjectID>& ids) {
  RAYX_ASSIGN_OR_RETURN(bool finished, direct_->WaitForResults(ids, -1));
  if (!finished) return TimedOut("direct tasks did not finish");
  direct_->PromoteNamed(ids);
  direct_->ForgetLocal(ids);
  return Status::OK();
}

StatusOr<uint32_t> ObjectClient::Free(const std::vector<ObjectID>& ids) {
  // So that the node frees the results kept here too.
  RAYX_RETURN_IF_ERROR(HandOverDirectResults(ids));
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  auto message = wire::CreateFreeObjects(b, request_id, PackIds(b, ids));
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, message)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::FreeObjectsReply* reply = envelope->message_as_FreeObjectsReply();
  if (reply == nullptr) return ProtocolError("expected FreeObjectsReply");
  return reply->freed();
}

StatusOr<ObjectListing> ObjectClient::List() {
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  auto request = wire::CreateListObjects(b, request_id);
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, request)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::ObjectList* reply = envelope->message_as_ObjectList();
  if (reply == nullptr) return ProtocolError("expected ObjectList");
  RAYX_ASSIGN_OR_RETURN(std::vector<ObjectID> ids, UnpackIds<ObjectID>(reply->ids()));
  size_t n = ids.size();
  auto sized = [n](const auto* vector) { return vector != nullptr && vector->size() == n; };
  if (n != 0 &&
      !(sized(reply->sizes()) && sized(reply->states()) && sized(reply->holders()) &&
        sized(reply->pins()) && sized(reply->mappings()) && sized(reply->contained_in()))) {
    return ProtocolError("malformed ObjectList: its vectors differ in length");
  }
  ObjectListing listing;
  listing.truncated = reply->truncated();
  listing.objects.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    uint8_t state = reply->states()->Get(i);
    if (state > static_cast<uint8_t>(ObjectState::kLost)) {
      return ProtocolError("malformed ObjectList: unknown state " + std::to_string(state));
    }
    ObjectEntryInfo info;
    info.id = ids[i];
    info.size = reply->sizes()->Get(i);
    info.state = static_cast<ObjectState>(state);
    info.holders = reply->holders()->Get(i);
    info.pins = reply->pins()->Get(i);
    info.mappings = reply->mappings()->Get(i);
    info.contained_in = reply->contained_in()->Get(i);
    listing.objects.push_back(info);
  }
  return listing;
}

StatusOr<uint32_t> ObjectClient::DropCopies(const std::vector<ObjectID>& ids) {
  // So that the node's copy, which the drop removes, is there.
  RAYX_RETURN_IF_ERROR(HandOverDirectResults(ids));
  uint64_t request_id = channel_->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64 + ids.size() * ObjectID::kSize);
  auto drop = wire::CreateDropObjectCopies(b, request_id, PackIds(b, ids));
  RAYX_ASSIGN_OR_RETURN(std::string frame, channel_->Call(request_id, FinishEnvelope(b, drop)));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* envelope, ParseEnvelope(frame));
  const wire::DropObjectCopiesReply* reply = envelope->message_as_DropObjectCopiesReply();
  if (reply == nullptr) return ProtocolError("expected DropObjectCopiesReply");
  std::string error = StringOf(reply->error());
  if (!error.empty()) return InvalidArgument(error);
  return reply->dropped();
}

}  // namespace rayx
