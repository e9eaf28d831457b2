// Resolving a host name or dotted address to an IPv4 socket address, for TCP connections made
// with libuv (tcp.cc) and without it (blocking clients such as rayx status --address).
//
// Thread-safe; may block in getaddrinfo for a name that is not an address.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

#include "engine/base/status.h"

namespace rayx {

// The address of host (dotted IPv4, or a name) at port; InvalidArgument when it does not resolve.
StatusOr<sockaddr_in> ResolveIPv4(const std::string& host, uint16_t port);

}  // namespace rayx
