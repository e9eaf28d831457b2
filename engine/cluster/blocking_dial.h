// Blocking TCP links to a member, authenticated as every cluster link is (auth.h): what a process
// without an event loop uses, the command line asking a member (observer_client.h) and a driver
// attached over TCP (engine/client/node_connection.h).
//
// Thread-compatible; no event loop.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/wire/frame.h"
#include "engine/wire/peer_generated.h"

namespace rayx {

// A connected socket with frames (frame.h) and one deadline for every wait. Owns the fd.
class BlockingLink {
 public:
  BlockingLink(int fd, int timeout_ms);
  ~BlockingLink();
  BlockingLink(const BlockingLink&) = delete;
  BlockingLink& operator=(const BlockingLink&) = delete;

  Status Send(std::string_view payload);
  // The next frame, copied; TimedOut past the deadline, Unavailable when the other side closed.
  StatusOr<std::string> Receive();
  // Runs the dialer's side of the authentication for purpose. A refused token is an error whose
  // message says so (kTokenRefusedMessage).
  Status Authenticate(const std::string& token, peer::LinkPurpose purpose);
  // Gives up the socket (to a connection that reads it from now on): the caller owns it.
  // REQUIRES: no frame has arrived that Receive did not return.
  StatusOr<int> Release();

 private:
  int fd_;
  std::chrono::steady_clock::time_point deadline_;
  FrameDecoder decoder_;
  std::vector<std::string> frames_;
};

// A TCP connection to address (HOST:PORT), connected within timeout_ms.
StatusOr<int> DialTcp(const std::string& address, int timeout_ms);

// A TCP connection to address that authenticated for purpose within timeout_ms; the caller owns
// the socket, which then carries what purpose says (the client protocol for Client and Driver).
StatusOr<int> DialAuthenticated(const std::string& address, const std::string& token,
                                peer::LinkPurpose purpose, int timeout_ms = 5000);

}  // namespace rayx
