#include "engine/cluster/peer_link.h"

#include <utility>
#include <vector>

#include "engine/base/logging.h"
#include "engine/cluster/peer_wire.h"

namespace rayx {

PeerLink::PeerLink(EventLoop* loop, std::shared_ptr<Connection> conn, Authenticator auth,
                   Handlers handlers)
    : conn_(std::move(conn)),
      auth_(std::move(auth)),
      handlers_(std::move(handlers)),
      deadline_(std::make_unique<Timer>(loop)) {}

PeerLink::~PeerLink() = default;

std::shared_ptr<PeerLink> PeerLink::Start(EventLoop* loop, std::shared_ptr<Connection> conn,
                                          Authenticator::Role role, const std::string& token,
                                          peer::LinkPurpose purpose, uint64_t auth_timeout_ms,
                                          Handlers handlers) {
  std::shared_ptr<PeerLink> link(
      new PeerLink(loop, conn, Authenticator(role, token, purpose), std::move(handlers)));
  std::weak_ptr<PeerLink> weak = link;
  link->deadline_->Start(auth_timeout_ms, 0, [weak] {
    if (auto l = weak.lock(); l && !l->auth_.done()) {
      l->Close(TimedOut("the peer did not authenticate in time"));
    }
  });
  conn->set_max_frame_size(kMaxPeerFrameSize);
  // The connection's handlers keep the link alive until the connection closes.
  conn->Start([link](std::string_view frame) { link->OnFrame(frame); },
              [link](const Status& closed_why) {
                if (link->closed_) return;
                Status why = closed_why;
                // A listener that refused our proof may close before its AuthResult arrives.
                if (link->auth_.state() == Authenticator::State::kAwaitResult) {
                  why = AuthRefused(kTokenRefusedMessage);
                } else if (!link->failure_.ok()) {
                  why = link->failure_;
                }
                link->closed_ = true;
                link->deadline_->Stop();
                CloseHandler on_close = std::move(link->handlers_.on_close);
                link->handlers_ = Handlers{};
                if (on_close) on_close(link.get(), why);
              });
  if (role == Authenticator::Role::kDialer && !link->closed_) link->Send(link->auth_.Begin());
  return link;
}

void PeerLink::Send(std::string_view frame) {
  if (!closed_) conn_->Send(frame);
}

void PeerLink::Close(const Status& why) { conn_->Close(why); }

std::shared_ptr<Connection> PeerLink::Detach() {
  // handlers_ stay (Detach may run inside one of them); closed_ keeps them from running again.
  closed_ = true;
  deadline_->Stop();
  return conn_;
}

void PeerLink::OnFrame(std::string_view frame) {
  if (closed_ || !failure_.ok()) return;
  StatusOr<const peer::PeerEnvelope*> envelope = ParsePeer(frame);
  if (!envelope.ok()) {
    Close(envelope.status());
    return;
  }
  if (!auth_.done()) {
    std::vector<std::string> out;
    Status status = auth_.OnMessage(**envelope, &out);
    for (const std::string& f : out) Send(f);
    if (!status.ok()) {
      if (out.empty()) {
        Close(status);
        return;
      }
      // Give the refusal a moment to reach the other side, then close; frames meanwhile are
      // dropped.
      failure_ = status;
      std::weak_ptr<PeerLink> weak = weak_from_this();
      deadline_->Start(200, 0, [weak, status] {
        if (auto l = weak.lock()) l->Close(status);
      });
      return;
    }
    if (auth_.done()) {
      deadline_->Stop();
      if (handlers_.on_ready) handlers_.on_ready(this);
    }
    return;
  }
  Status status = handlers_.on_message ? handlers_.on_message(this, **envelope)
                                       : ProtocolError("unexpected message");
  if (!status.ok()) Close(status);
}

}  // namespace rayx
