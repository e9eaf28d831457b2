#include "engine/cluster/peer_client.h"

#include <unistd.h>

#include <utility>

#include "engine/base/logging.h"
#include "engine/cluster/cluster_service.h"
#include "engine/cluster/peer_link.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {

namespace {
constexpr int kConnectTimeoutMs = 3000;
}  // namespace

PeerClient::PeerClient(EventLoop* loop, const NodeID& self, FrameHandler on_frame,
                       CloseHandler on_close)
    : loop_(loop), self_(self), on_frame_(std::move(on_frame)), on_close_(std::move(on_close)) {}

std::shared_ptr<PeerClient> PeerClient::Connect(EventLoop* loop, const std::string& address,
                                                const NodeID& self, const std::string& token,
                                                uint64_t auth_timeout_ms, FrameHandler on_frame,
                                                CloseHandler on_close) {
  std::shared_ptr<PeerClient> client(
      new PeerClient(loop, self, std::move(on_frame), std::move(on_close)));
  std::string host;
  uint16_t port = 0;
  Status status = ParseHostPort(address, &host, &port);
  StatusOr<std::shared_ptr<Connection>> conn =
      status.ok() ? Connection::ConnectTcp(loop, host, port, kConnectTimeoutMs)
                  : StatusOr<std::shared_ptr<Connection>>(status);
  if (!conn.ok()) {
    Status why = conn.status();
    loop->Post([client, why] { client->OnClosed(why); });
    return client;
  }
  std::weak_ptr<PeerClient> weak = client;
  PeerLink::Handlers handlers;
  handlers.on_ready = [weak](PeerLink* link) {
    std::shared_ptr<Connection> connection = link->Detach();
    if (auto c = weak.lock()) {
      c->OnAuthenticated(std::move(connection));
    } else {
      connection->Close(Cancelled("the peer client is gone"));
    }
  };
  handlers.on_message = [](PeerLink*, const peer::PeerEnvelope&) {
    return ProtocolError("a peer message on a client link");
  };
  handlers.on_close = [weak](PeerLink*, const Status& why) {
    if (auto c = weak.lock()) c->OnClosed(why);
  };
  auto link = PeerLink::Start(loop, std::move(conn).value(), Authenticator::Role::kDialer, token,
                              peer::LinkPurpose::Client, auth_timeout_ms, std::move(handlers));
  if (!client->closed_ && client->conn_ == nullptr) client->link_ = link;
  return client;
}

void PeerClient::OnAuthenticated(std::shared_ptr<Connection> conn) {
  if (closed_) {
    conn->Close(Cancelled("the peer client was closed"));
    return;
  }
  link_.reset();
  conn_ = std::move(conn);
  conn_->set_max_frame_size(kMaxFrameSize);
  // The client holds itself through its connection's handlers until the connection closes.
  std::shared_ptr<PeerClient> self = shared_from_this();
  conn_->Rebind([self](std::string_view frame) { self->OnFrame(frame); },
                [self](const Status& why) { self->OnClosed(why); });
  flatbuffers::FlatBufferBuilder b(96);
  auto node_id = b.CreateVector(self_.data(), NodeID::kSize);
  conn_->Send(FinishEnvelope(b, wire::CreateHello(b, kProtocolVersion, wire::Role::Node, 0,
                                                  static_cast<int>(getpid()), node_id)));
  for (const std::string& frame : queued_) conn_->Send(frame);
  queued_.clear();
}

void PeerClient::Send(std::string_view frame) {
  if (closed_) return;
  if (conn_ != nullptr) {
    conn_->Send(frame);
  } else {
    queued_.emplace_back(frame);
  }
}

void PeerClient::Close(const Status& why) {
  if (closed_) return;
  if (conn_ != nullptr) {
    conn_->Close(why);  // Calls OnClosed.
    return;
  }
  if (link_ != nullptr) {
    std::static_pointer_cast<PeerLink>(link_)->Close(why);
    return;
  }
  OnClosed(why);
}

void PeerClient::OnFrame(std::string_view frame) {
  if (closed_) return;
  StatusOr<const wire::Envelope*> envelope = ParseEnvelope(frame);
  Status status = envelope.ok() ? on_frame_(**envelope, frame) : envelope.status();
  if (!status.ok()) Close(status);
}

void PeerClient::OnClosed(const Status& why) {
  if (closed_) return;
  closed_ = true;
  queued_.clear();
  link_.reset();
  CloseHandler on_close = std::move(on_close_);
  on_close_ = nullptr;
  if (on_close) on_close(why);
  // The connection's handlers (which hold this client) are dropped with the connection.
  conn_.reset();
}

}  // namespace rayx
