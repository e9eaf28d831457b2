#include "engine/cluster/cluster_service.h"

#include <unistd.h>

#include <utility>

#include "engine/base/logging.h"
#include "engine/cluster/member_wire.h"
#include "engine/cluster/peer_wire.h"
#include "engine/cluster/token.h"
#include "engine/wire/frame.h"

namespace rayx {
namespace {

constexpr int kConnectTimeoutMs = 3000;
constexpr uint64_t kJoinTimeoutMs = 20000;

NodeID IdOf(const flatbuffers::Vector<uint8_t>* bytes, bool* ok) {
  *ok = bytes != nullptr && bytes->size() == NodeID::kSize;
  if (!*ok) return NodeID();
  return NodeID::FromBinary(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), NodeID::kSize));
}

}  // namespace

Status ParseHostPort(const std::string& address, std::string* host, uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return InvalidArgument("'" + address + "' is not HOST:PORT");
  }
  std::string digits = address.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("'" + address + "' is not HOST:PORT");
  }
  unsigned long p = std::stoul(digits);
  if (p == 0 || p > 65535) return InvalidArgument("port out of range in '" + address + "'");
  *host = address.substr(0, colon);
  *port = static_cast<uint16_t>(p);
  return Status::OK();
}

ClusterService::ClusterService(EventLoop* loop, NodeID self, std::string socket_path,
                               ClusterOptions options, LocalStateFn local)
    : loop_(loop),
      self_id_(self),
      socket_path_(std::move(socket_path)),
      options_(std::move(options)),
      local_(std::move(local)),
      table_(self) {
  if (options_.advertise_host.empty()) options_.advertise_host = options_.host;
}

ClusterService::~ClusterService() { Close(); }

Status ClusterService::Start() {
  if (options_.token.empty() && !IsLoopbackHost(options_.host)) {
    return FailedPrecondition(
        "refusing to listen on " + options_.host +
        " without a cluster token: anyone who can reach that address could join and run code. "
        "Set RAYX_CLUSTER_TOKEN or pass --token-file (or listen on 127.0.0.1)");
  }
  listener_ = std::make_unique<TcpListener>(loop_);
  RAYX_RETURN_IF_ERROR(
      listener_->Listen(options_.host, options_.port,
                        [this](std::shared_ptr<Connection> conn, const std::string& from) {
                          OnAccept(std::move(conn), from);
                        }));
  ticker_ = std::make_unique<Timer>(loop_);
  uint64_t period = std::max<uint64_t>(50, options_.heartbeat_interval_ms / 2);
  ticker_->Start(period, period, [this] { Tick(); });
  return Status::OK();
}

std::string ClusterService::address() const {
  return options_.advertise_host + ":" + std::to_string(listener_ ? listener_->port() : 0);
}

MemberState ClusterService::Self() {
  MemberState m;
  m.id = self_id_;
  m.address = address();
  m.pid = getpid();
  m.socket_path = socket_path_;
  m.alive = true;
  if (local_) local_(&m);
  return m;
}

std::vector<MemberState> ClusterService::Members() {
  std::vector<MemberState> out = {Self()};
  for (const auto& [id, m] : table_.members()) out.push_back(m);
  return out;
}

PeerLink::Handlers ClusterService::HandlersFor(bool dialed, bool seed, const std::string& address) {
  PeerLink::Handlers h;
  if (dialed) {
    h.on_ready = [this](PeerLink* link) { SendIntroduce(link); };
  } else {
    h.on_ready = [this](PeerLink* link) {
      peer::LinkPurpose purpose = link->purpose();
      if (purpose != peer::LinkPurpose::Client && purpose != peer::LinkPurpose::Driver) return;
      // The client protocol from here on: the node's service takes the connection.
      std::shared_ptr<Connection> conn = link->Detach();
      auto it = links_.find(link);
      std::shared_ptr<PeerLink> keep = it == links_.end() ? nullptr : it->second;
      if (it != links_.end()) links_.erase(it);
      conn->set_max_frame_size(kMaxFrameSize);
      if (client_handler_) {
        client_handler_(std::move(conn), purpose);
      } else {
        conn->Close(Unavailable("this node takes no clients over TCP"));
      }
    };
  }
  h.on_message = [this](PeerLink* link, const peer::PeerEnvelope& e) { return OnMessage(link, e); };
  h.on_close = [this, seed, dialed, address](PeerLink* link, const Status& why) {
    OnLinkClosed(link, why, seed);
    if (dialed && dialing_.count(address) != 0) {
      if (seed) {
        FinishJoin(why);
      } else {
        RAYX_LOG(Warning) << "cluster: member " << address << " did not answer: " << why;
        PendingDone(address);
      }
    }
  };
  return h;
}

void ClusterService::Dial(const std::string& address, bool seed) {
  std::string host;
  uint16_t port = 0;
  Status status = ParseHostPort(address, &host, &port);
  StatusOr<std::shared_ptr<Connection>> conn =
      status.ok() ? Connection::ConnectTcp(loop_, host, port, kConnectTimeoutMs)
                  : StatusOr<std::shared_ptr<Connection>>(status);
  dialing_.insert(address);
  if (!conn.ok()) {
    if (seed) {
      FinishJoin(conn.status());
    } else {
      RAYX_LOG(Warning) << "cluster: cannot reach member " << address << ": " << conn.status();
      PendingDone(address);
    }
    return;
  }
  auto link = PeerLink::Start(loop_, std::move(conn).value(), Authenticator::Role::kDialer,
                              options_.token, peer::LinkPurpose::Peer, options_.auth_timeout_ms,
                              HandlersFor(/*dialed=*/true, seed, address));
  link->remote = address;
  if (!link->closed()) links_[link.get()] = link;
}

void ClusterService::Join(std::function<void(Status)> done) {
  join_done_ = std::move(done);
  if (options_.join.empty()) {
    FinishJoin(Status::OK());
    return;
  }
  join_timer_ = std::make_unique<Timer>(loop_);
  join_timer_->Start(kJoinTimeoutMs, 0, [this] {
    FinishJoin(TimedOut("joining through " + options_.join + " did not finish in " +
                        std::to_string(kJoinTimeoutMs / 1000) + " s"));
  });
  Dial(options_.join, /*seed=*/true);
}

void ClusterService::FinishJoin(Status status) {
  dialing_.clear();
  if (join_timer_) join_timer_->Stop();
  if (join_done_) {
    auto done = std::move(join_done_);
    join_done_ = nullptr;
    done(status);
  }
}

void ClusterService::PendingDone(const std::string& address) {
  dialing_.erase(address);
  if (seed_answered_ && dialing_.empty()) FinishJoin(Status::OK());
}

void ClusterService::OnAccept(std::shared_ptr<Connection> conn, const std::string& from) {
  if (closed_) {
    conn->Close(Cancelled("node stopping"));
    return;
  }
  auto link = PeerLink::Start(loop_, std::move(conn), Authenticator::Role::kListener,
                              options_.token, peer::LinkPurpose::Peer, options_.auth_timeout_ms,
                              HandlersFor(/*dialed=*/false, false, from));
  link->remote = from;
  if (!link->closed()) links_[link.get()] = link;
}

void ClusterService::SendIntroduce(PeerLink* link) {
  flatbuffers::FlatBufferBuilder b(512);
  auto self = PackMember(b, Self());
  link->Send(FinishPeer(b, peer::CreateIntroduce(b, self)));
}

Status ClusterService::OnMessage(PeerLink* link, const peer::PeerEnvelope& e) {
  const uint64_t now = loop_->NowMs();
  const bool observer = link->purpose() == peer::LinkPurpose::Observer;
  switch (e.message_type()) {
    case peer::PeerMessage::StatusRequest: {
      flatbuffers::FlatBufferBuilder b(1024);
      std::vector<flatbuffers::Offset<peer::MemberInfo>> members;
      for (const MemberState& m : Members()) members.push_back(PackMember(b, m));
      link->Send(FinishPeer(b, peer::CreateStatusReply(b, b.CreateVector(members))));
      return Status::OK();
    }
    case peer::PeerMessage::Introduce: {
      if (observer || link->introduced) return ProtocolError("unexpected Introduce");
      RAYX_ASSIGN_OR_RETURN(MemberState m, UnpackMember(e.message_as_Introduce()->self()));
      if (m.id == self_id_) return ProtocolError("a peer introduced itself with our node id");
      if (!NoteHeard(m, now, /*direct=*/true)) {
        return FailedPrecondition("node " + m.id.Hex() +
                                  " was declared dead; a node that comes back must restart");
      }
      link->peer_id = m.id;
      link->introduced = true;
      RAYX_LOG(Info) << "cluster: member " << m.id.Hex() << " at " << m.address << " joined";
      flatbuffers::FlatBufferBuilder b(1024);
      std::vector<flatbuffers::Offset<peer::MemberInfo>> members;
      for (const MemberState& member : Members()) {
        if (member.alive) members.push_back(PackMember(b, member));
      }
      link->Send(FinishPeer(b, peer::CreateMemberList(b, b.CreateVector(members))));
      return Status::OK();
    }
    case peer::PeerMessage::MemberList: {
      // The answer to our Introduce: only on a link we dialed, once.
      if (observer || link->introduced || !dialing_.count(link->remote)) {
        return ProtocolError("unexpected MemberList");
      }
      const auto* list = e.message_as_MemberList()->members();
      if (list == nullptr || list->size() == 0) return ProtocolError("empty MemberList");
      RAYX_ASSIGN_OR_RETURN(MemberState first, UnpackMember(list->Get(0)));
      if (first.id == self_id_) return ProtocolError("a peer answered with our node id");
      link->peer_id = first.id;
      link->introduced = true;
      if (!NoteHeard(first, now, /*direct=*/true)) {
        return FailedPrecondition("that member was declared dead");
      }
      const bool from_seed = !seed_answered_;
      seed_answered_ = true;
      for (uint32_t i = 1; i < list->size(); ++i) {
        StatusOr<MemberState> m = UnpackMember(list->Get(i));
        if (!m.ok()) return m.status();
        if (m->id == self_id_ || table_.IsAlive(m->id) || table_.IsDead(m->id)) continue;
        NoteHeard(*m, now, /*direct=*/false);
        if (from_seed && join_done_) Dial(m->address, /*seed=*/false);
      }
      PendingDone(link->remote);
      return Status::OK();
    }
    case peer::PeerMessage::Heartbeat: {
      if (observer || !link->introduced) return ProtocolError("unexpected Heartbeat");
      RAYX_ASSIGN_OR_RETURN(MemberState m, UnpackMember(e.message_as_Heartbeat()->self()));
      if (m.id != link->peer_id) return ProtocolError("a heartbeat for another node's id");
      if (!NoteHeard(m, now, /*direct=*/true)) {
        return FailedPrecondition("node " + m.id.Hex() + " was declared dead");
      }
      return Status::OK();
    }
    case peer::PeerMessage::MemberDead: {
      if (observer || !link->introduced) return ProtocolError("unexpected MemberDead");
      bool ok = false;
      NodeID id = IdOf(e.message_as_MemberDead()->node_id(), &ok);
      if (!ok) return ProtocolError("MemberDead without a node id");
      if (id == self_id_) {
        RAYX_LOG(Warning) << "cluster: member " << link->peer_id.Hex()
                          << " declared this node dead";
        return Status::OK();
      }
      DeclareDead(id, "reported dead by " + link->peer_id.Hex());
      return Status::OK();
    }
    default:
      return ProtocolError("peer message out of protocol");
  }
}

bool ClusterService::NoteHeard(const MemberState& m, uint64_t now, bool direct) {
  const bool known = table_.IsAlive(m.id);
  bool totals_changed = false;
  if (known && direct && totals_listener_) {
    auto before = table_.members().find(m.id);
    totals_changed = before != table_.members().end() && before->second.total != m.total;
  }
  if (!table_.Heard(m, now, direct)) return false;
  if (!known && membership_listener_) membership_listener_(m.id, true);
  if (totals_changed) totals_listener_(m.id);
  return true;
}

void ClusterService::DeclareDead(const NodeID& id, const std::string& why) {
  if (!table_.MarkDead(id)) return;
  RAYX_LOG(Warning) << "cluster: member " << id.Hex() << " is dead (" << why << ")";
  SpreadDeath(id);
  if (membership_listener_) membership_listener_(id, false);
}

void ClusterService::SpreadDeath(const NodeID& id) {
  flatbuffers::FlatBufferBuilder b(64);
  auto bytes = b.CreateVector(id.data(), NodeID::kSize);
  std::string frame(FinishPeer(b, peer::CreateMemberDead(b, bytes)));
  std::vector<std::shared_ptr<PeerLink>> to_close;
  for (auto& [ptr, link] : links_) {
    if (!link->introduced) continue;
    if (link->peer_id == id) {
      to_close.push_back(link);
    } else {
      link->Send(frame);
    }
  }
  for (auto& link : to_close) link->Close(Unavailable("member declared dead"));
}

void ClusterService::OnLinkClosed(PeerLink* link, const Status& why, bool seed) {
  (void)seed;
  if (link->introduced && !closed_) {
    // Links are never re-dialed, so a member whose link closed is as good as silent: it is
    // declared dead now rather than at the timeout (a kill -9 closes its links at once).
    links_.erase(link);
    DeclareDead(link->peer_id, "its link closed: " + why.ToString());
    return;
  }
  if (link->purpose() == peer::LinkPurpose::Peer && !why.ok()) {
    RAYX_LOG(Info) << "cluster: link from " << link->remote << " closed: " << why;
  }
  links_.erase(link);  // May destroy the link after this handler returns (the caller holds it).
}

void ClusterService::Tick() {
  if (closed_) return;
  const uint64_t now = loop_->NowMs();
  for (const NodeID& id : table_.Expire(now, options_.heartbeat_timeout_ms)) {
    RAYX_LOG(Warning) << "cluster: member " << id.Hex() << " is dead (silent for more than "
                      << options_.heartbeat_timeout_ms << " ms)";
    SpreadDeath(id);
    if (membership_listener_) membership_listener_(id, false);
  }
  if (now < last_heartbeat_ms_ + options_.heartbeat_interval_ms) return;
  last_heartbeat_ms_ = now;
  flatbuffers::FlatBufferBuilder b(512);
  auto self = PackMember(b, Self());
  std::string frame(FinishPeer(b, peer::CreateHeartbeat(b, self)));
  for (auto& [ptr, link] : links_) {
    if (link->introduced) link->Send(frame);
  }
}

void ClusterService::Close() {
  if (closed_) return;
  closed_ = true;
  join_done_ = nullptr;
  if (ticker_) ticker_->Stop();
  ticker_.reset();
  join_timer_.reset();
  if (listener_) listener_->Close();
  listener_.reset();
  auto links = std::move(links_);
  links_.clear();
  for (auto& [ptr, link] : links) link->Close(Cancelled("node stopping"));
}

}  // namespace rayx
