// ClusterService: a node's membership in a cluster. It listens for peers on TCP, joins through
// any member, keeps an authenticated link to every member, sends heartbeats with this node's
// resources, declares dead the members that are silent past the timeout or whose link closes
// (links are not re-dialed), spreads their deaths, and answers remote observers
// (`rayx status --address`).
//
// Joining: dial the member given, authenticate, Introduce; it answers with the members it knows;
// dial each of those and Introduce likewise. Join's callback runs once every member has answered
// (or the first link failed, with the reason: a refused token says so). No member is special.
//
// Only a node with peers has one: the embedded node of a driver does not pay for the cluster.
//
// Thread: loop thread only, for every method. Close() before the loop stops.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/cluster/member_table.h"
#include "engine/cluster/peer_link.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"

namespace rayx {

struct ClusterOptions {
  std::string host = "127.0.0.1";  // Where to listen for peers.
  uint16_t port = 0;               // 0: any free port.
  std::string advertise_host;      // The host others reach this node by; default host.
  std::string join;                // HOST:PORT of any member, or "" to start a new cluster.
  std::string token;               // The cluster token; "" only on loopback.
  uint64_t heartbeat_interval_ms = 500;
  uint64_t heartbeat_timeout_ms = 5000;
  uint64_t auth_timeout_ms = 3000;
};

// This node's own figures, sampled at each heartbeat (not per task).
using LocalStateFn = std::function<void(MemberState* self)>;

// Splits "HOST:PORT"; the port must be 1-65535.
Status ParseHostPort(const std::string& address, std::string* host, uint16_t* port);

class ClusterService {
 public:
  ClusterService(EventLoop* loop, NodeID self, std::string socket_path, ClusterOptions options,
                 LocalStateFn local);
  ~ClusterService();

  // Refuses a non-loopback host without a token, then listens.
  Status Start();
  // Joins the cluster of options.join (see above). done runs once, on the loop thread.
  void Join(std::function<void(Status)> done);
  // Closes the listener and every link; no callback runs after it.
  void Close();

  // Every member known, this node first (alive, with fresh figures).
  std::vector<MemberState> Members();
  // The other members, alive and dead, as last heard; no copy, valid until the next event.
  const std::map<NodeID, MemberState>& peers() const { return table_.members(); }
  const ClusterOptions& options() const { return options_; }

  // Takes each connection that authenticated for the client protocol (LinkPurpose::Client from a
  // member, Driver from a driver attached over TCP), with its purpose, its handlers still to be
  // rebound (Connection::Rebind) and the client frame limit restored.
  using ClientHandler = std::function<void(std::shared_ptr<Connection>, peer::LinkPurpose)>;
  void SetClientHandler(ClientHandler handler) { client_handler_ = std::move(handler); }
  // Called when a member is first heard of (alive) and when it is declared dead.
  void SetMembershipListener(std::function<void(const NodeID&, bool alive)> listener) {
    membership_listener_ = std::move(listener);
  }
  // Called when a live member's heartbeat says its total resources changed (a placement group
  // bundle committed or returned there, say).
  void SetTotalsListener(std::function<void(const NodeID&)> listener) {
    totals_listener_ = std::move(listener);
  }
  // HOST:PORT others join by.
  std::string address() const;

 private:
  void Dial(const std::string& address, bool seed);
  void OnAccept(std::shared_ptr<Connection> conn, const std::string& from);
  Status OnMessage(PeerLink* link, const peer::PeerEnvelope& envelope);
  void OnLinkClosed(PeerLink* link, const Status& why, bool seed);
  void SendIntroduce(PeerLink* link);
  void Tick();
  // table_.Heard, and the membership listener told of a member heard of for the first time.
  bool NoteHeard(const MemberState& m, uint64_t now, bool direct);
  void DeclareDead(const NodeID& id, const std::string& why);
  void SpreadDeath(const NodeID& id);  // Tells every other member; closes the dead one's links.
  void PendingDone(const std::string& address);
  void FinishJoin(Status status);
  MemberState Self();
  PeerLink::Handlers HandlersFor(bool dialed, bool seed, const std::string& address);

  EventLoop* loop_;
  NodeID self_id_;
  std::string socket_path_;
  ClusterOptions options_;
  LocalStateFn local_;
  MemberTable table_;
  std::unique_ptr<TcpListener> listener_;
  std::unique_ptr<Timer> ticker_;
  std::unique_ptr<Timer> join_timer_;
  std::map<PeerLink*, std::shared_ptr<PeerLink>> links_;
  std::set<std::string> dialing_;  // Addresses dialed for the join and not yet answered.
  std::function<void(Status)> join_done_;
  ClientHandler client_handler_;
  std::function<void(const NodeID&, bool alive)> membership_listener_;
  std::function<void(const NodeID&)> totals_listener_;
  bool seed_answered_ = false;
  bool closed_ = false;
  uint64_t last_heartbeat_ms_ = 0;
};

}  // namespace rayx
