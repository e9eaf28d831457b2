// FakeNode: a stand-in for the node, for tests of NodeConnection.
//
// It listens on a Unix socket in a fresh temp dir and, on a thread of its own, accepts clients,
// reads each one's Hello and answers Welcome. Everything after that the test does by hand, from
// its own thread, with the client's socket (Client(i)): read what the client sent, send it frames,
// close it.
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
  void Welcome(std::unique_ptr<Client> client);

  std::string dir_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Client>> clients_;  // GUARDED_BY(mu_)
};

}  // namespace rayx
