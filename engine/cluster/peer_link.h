// PeerLink: one authenticated TCP link to a peer node or from an observer, over a Connection.
//
// A link first runs the Authenticator (auth.h); until it is done, any other message, a frame that
// fails verification, an oversized frame (kMaxPeerFrameSize) or silence past the auth deadline
// closes the link, and nothing reaches the message handler. Once authenticated, every verified
// frame goes to the message handler; the handler returns an error for a message out of protocol,
// which closes the link. The close handler runs once, with the reason.
//
// Thread: loop thread only. Links are shared_ptr-owned; the connection's handlers hold them.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/cluster/auth.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"

namespace rayx {

class PeerLink : public std::enable_shared_from_this<PeerLink> {
 public:
  using ReadyHandler = std::function<void(PeerLink*)>;
  using MessageHandler = std::function<Status(PeerLink*, const peer::PeerEnvelope&)>;
  using CloseHandler = std::function<void(PeerLink*, const Status&)>;

  struct Handlers {
    ReadyHandler on_ready;  // Authenticated.
    MessageHandler on_message;
    CloseHandler on_close;
  };

  // Starts a link on a connection not yet started. The dialer sends AuthHello at once.
  static std::shared_ptr<PeerLink> Start(EventLoop* loop, std::shared_ptr<Connection> conn,
                                         Authenticator::Role role, const std::string& token,
                                         peer::LinkPurpose purpose, uint64_t auth_timeout_ms,
                                         Handlers handlers);

  ~PeerLink();

  void Send(std::string_view frame);
  void Close(const Status& why);
  // After authentication: the link lets go of its connection, which carries another protocol from
  // the next frame on (LinkPurpose::Client), and returns it. The caller Rebinds its handlers and
  // lifts the peer frame cap; no handler of this link runs again.
  std::shared_ptr<Connection> Detach();

  bool authenticated() const { return auth_.done(); }
  bool closed() const { return closed_; }
  peer::LinkPurpose purpose() const { return auth_.purpose(); }

  // What the membership layer records about the other side.
  NodeID peer_id;
  bool introduced = false;
  std::string remote;  // "ip:port", for messages.

 private:
  PeerLink(EventLoop* loop, std::shared_ptr<Connection> conn, Authenticator auth,
           Handlers handlers);
  void OnFrame(std::string_view frame);

  std::shared_ptr<Connection> conn_;
  Authenticator auth_;
  Handlers handlers_;
  std::unique_ptr<Timer> deadline_;
  bool closed_ = false;
  Status failure_;  // Authentication failed; the link closes once the refusal is sent.
};

}  // namespace rayx
