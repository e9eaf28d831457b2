// PeerClient: this node as a client of another member. The link is TCP, authenticated like a peer
// link (auth.h, LinkPurpose::Client), and then carries the client protocol (protocol.fbs) with
// Hello{role: Node}: the other member serves this node as it serves a driver, so forwarding a
// task, an actor or an object reuses what a node already does for its own clients.
//
// Frames sent before the link is authenticated are queued and go out, after the Hello, in order.
// The frame handler sees every verified frame from the member (the Welcome included); returning an
// error closes the link. The close handler runs once, with the reason (a refused token says so).
//
// Thread: loop thread only. Clients are shared_ptr-owned; the connection's handlers hold them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

class PeerClient : public std::enable_shared_from_this<PeerClient> {
 public:
  using FrameHandler =
      std::function<Status(const wire::Envelope& envelope, std::string_view frame)>;
  using CloseHandler = std::function<void(const Status& why)>;

  // Dials address (HOST:PORT). A failure to connect reaches on_close from the loop, never from
  // inside Connect.
  // self is this node's id, which the Hello carries.
  static std::shared_ptr<PeerClient> Connect(EventLoop* loop, const std::string& address,
                                             const NodeID& self, const std::string& token,
                                             uint64_t auth_timeout_ms, FrameHandler on_frame,
                                             CloseHandler on_close);

  void Send(std::string_view frame);
  void Close(const Status& why);
  bool closed() const { return closed_; }

 private:
  PeerClient(EventLoop* loop, const NodeID& self, FrameHandler on_frame, CloseHandler on_close);
  void OnAuthenticated(std::shared_ptr<Connection> conn);
  void OnFrame(std::string_view frame);
  void OnClosed(const Status& why);

  EventLoop* loop_;
  NodeID self_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::shared_ptr<void> link_;        // The PeerLink while it authenticates.
  std::shared_ptr<Connection> conn_;  // Set once authenticated.
  std::vector<std::string> queued_;   // Frames sent before that.
  bool closed_ = false;
};

}  // namespace rayx
