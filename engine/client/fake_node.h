// FakeNode: a stand-in for the node, for tests of the client runtime.
//
// It listens on a Unix socket in a fresh temp dir and, on a thread of its own, accepts clients,
// reads each one's Hello and answers Welcome. Everything after that the test does by hand, from
// its own thread, with the client's socket (Client(i)): read what the client sent, send it frames,
// close it. FakeWorker stands in for a leased worker's direct socket the same way.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/base/status.h"
#include "engine/wire/frame.h"
#include "engine/wire/protocol_generated.h"

namespace rayx {

class FakeNode {
 public:
  // One welcomed client. Used only by the test's thread once Client() returned it.
  struct Client {
    int fd = -1;
    wire::Role role = wire::Role::Driver;
    FrameDecoder decoder;
    std::deque<std::string> frames;  // Read but not yet taken.
  };

  FakeNode() = default;
  ~FakeNode();  // Stops the thread, closes every socket and removes the temp dir.

  // Creates the temp dir (never named by pid: tests share /tmp across pid namespaces), listens and
  // starts serving.
  Status Start();
  // Call before Start: every client is sent envelope right behind its Welcome, in the same write
  // (so that Connect reads it with Welcome, as a node's first task or cancel can come).
  void SetAfterWelcome(std::string envelope) { after_welcome_ = std::move(envelope); }

  const std::string& dir() const { return dir_; }
  const std::string& socket_path() const { return socket_path_; }

  // The i-th client welcomed (0-based, in order of connection); nullptr if none after 5 s.
  Client* WaitForClient(size_t i);

  // The next frame the client sent, or nullopt on end of stream, a bad frame or timeout.
  static std::optional<std::string> ReadFrame(Client* client, int timeout_ms);
  static Status SendFrame(Client* client, std::string_view envelope);
  // Shuts the client's socket down, as a node that drops the client.
  static void Disconnect(Client* client);

 private:
  void Serve();
  static Status SendBytes(int fd, std::string_view bytes);
  void Welcome(std::unique_ptr<Client> client);

  std::string dir_;
  std::string socket_path_;
  std::string after_welcome_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Client>> clients_;  // GUARDED_BY(mu_)
};

// A worker's direct socket with nobody behind it but the test: it listens at a path (usually
// DirectSocketPath), and the test accepts the links owners open and reads and sends frames on them
// with FakeNode::ReadFrame and SendFrame. Used by the test's thread only.
class FakeWorker {
 public:
  FakeWorker() = default;
  ~FakeWorker();  // Closes the links and the socket and removes its file.
  FakeWorker(const FakeWorker&) = delete;
  FakeWorker& operator=(const FakeWorker&) = delete;

  // Listens at path, making its directory if need be.
  Status Listen(const std::string& path);
  // The next link an owner opened, once its Hello was read; nullptr after timeout_ms.
  FakeNode::Client* Accept(int timeout_ms);

 private:
  std::string path_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<FakeNode::Client>> links_;
};

// The type of the message in a frame; NONE when the frame is missing or fails verification.
wire::Message MessageType(const std::optional<std::string>& frame);

}  // namespace rayx
