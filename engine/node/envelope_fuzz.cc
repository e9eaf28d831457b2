// Fuzz target: the node service's handling of client messages (NodeService::Handle and what it
// calls), fed frames that a client could send: most verify, and then mean nonsense (unknown ids,
// wrong sizes, messages out of order, roles that may not say them).
//
// One node runs for the whole process (with a cluster listener, so that clients over TCP reach it
// too, and a worker executable that does not exist, so that no worker ever starts). Each input is
// one client connection:
//   byte 0: where the client comes from: the node's Unix socket, or TCP after authentication as a
//           driver (ClientOrigin::kRemoteDriver) or as a member's client link (kMember);
//   then:   payloads, each a 2-byte little-endian length and that many bytes (a length past the
//           end takes what is left), sent as frames in order.
// After them an InfoRequest is sent, and the input is done when its reply (or the close of the
// connection) comes back: the node handled every frame, and did not stop answering. The node
// answering nothing within 20 s aborts: a hang is a finding too.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "engine/cluster/blocking_dial.h"
#include "engine/node/node.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"

namespace rayx {
namespace {

constexpr char kToken[] = "envelope-fuzz";
constexpr uint64_t kSentinelRequest = 0x5e5e5e5e5e5e5e5eull;
constexpr int kAnswerTimeoutMs = 20000;

Node* TheNode() {
  static Node* node = [] {
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/rayx-envelope-fuzz-XXXXXX";
    const char* tmp = getenv("TEST_TMPDIR");
    std::string home = tmp != nullptr ? std::string(tmp) : std::string(mkdtemp(dir));
    setenv("RAYX_HOME", home.c_str(), 1);
    setenv("RAYX_LINEAGE", "0", 1);
    if (getenv("RAYX_LOG_LEVEL") == nullptr) setenv("RAYX_LOG_LEVEL", "error", 1);
    NodeOptions options;
    options.num_cpus = 2;
    options.resources["custom"] = 1;
    options.object_store_memory = 64u << 20;
    options.executable = "/nonexistent/rayx-envelope-fuzz-worker";
    options.cluster.emplace();
    options.cluster->token = kToken;
    auto started = Node::Start(options);
    if (!started.ok()) {
      fprintf(stderr, "envelope_fuzz: the node did not start: %s\n",
              started.status().ToString().c_str());
      abort();
    }
    return started.value().release();  // Lives as long as the process.
  }();
  return node;
}

int DialUnix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    perror("envelope_fuzz: connect to the node");
    abort();
  }
  return fd;
}

int Dial(uint8_t origin) {
  Node* node = TheNode();
  if (origin % 4 == 1 || origin % 4 == 2) {
    auto purpose = origin % 4 == 1 ? peer::LinkPurpose::Driver : peer::LinkPurpose::Client;
    StatusOr<int> fd = DialAuthenticated(node->cluster_address(), kToken, purpose);
    if (!fd.ok()) {
      fprintf(stderr, "envelope_fuzz: dial the node over TCP: %s\n",
              fd.status().ToString().c_str());
      abort();
    }
    return *fd;
  }
  return DialUnix(node->socket_path());
}

// Writes what the node still reads; a node that closed the connection early reads no more.
bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool IsSentinelReply(std::string_view frame) {
  auto envelope = ParseEnvelope(frame);
  if (!envelope.ok()) {
    fprintf(stderr, "envelope_fuzz: the node sent a frame that does not verify\n");
    abort();
  }
  const auto* reply = (*envelope)->message_as_InfoReply();
  return reply != nullptr && reply->request_id() == kSentinelRequest;
}

// Reads until the sentinel's reply or the end of the connection.
void AwaitAnswer(int fd) {
  FrameDecoder decoder;
  bool answered = false;
  char buf[1 << 16];
  while (!answered) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, kAnswerTimeoutMs);
    if (ready == 0) {
      fprintf(stderr, "envelope_fuzz: the node answered nothing for %d ms\n", kAnswerTimeoutMs);
      abort();
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;  // Closed by the node (the input broke the protocol): an answer too.
    Status status = decoder.Feed(buf, static_cast<size_t>(n), [&](std::string_view frame) {
      if (IsSentinelReply(frame)) answered = true;
    });
    if (!status.ok()) {
      fprintf(stderr, "envelope_fuzz: the node sent a bad frame: %s\n", status.ToString().c_str());
      abort();
    }
  }
}

}  // namespace
}  // namespace rayx

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  rayx::TheNode();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rayx;
  if (size < 1) return 0;
  std::string stream;
  for (size_t pos = 1; pos < size;) {
    size_t length = data[pos];
    if (pos + 1 < size) length |= static_cast<size_t>(data[pos + 1]) << 8;
    pos += 2;
    length = std::min(length, pos < size ? size - pos : 0);
    AppendFrame(&stream, std::string_view(reinterpret_cast<const char*>(data + pos), length));
    pos += length;
  }
  flatbuffers::FlatBufferBuilder b(64);
  AppendFrame(&stream, FinishEnvelope(b, wire::CreateInfoRequest(b, kSentinelRequest)));

  int fd = Dial(data[0]);
  WriteAll(fd, stream);  // A write cut short: the node closed the connection, and says so below.
  AwaitAnswer(fd);
  close(fd);
  return 0;
}
