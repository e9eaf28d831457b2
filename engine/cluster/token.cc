#include "engine/cluster/token.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rayx {
namespace {

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t begin = s.find_first_not_of(ws);
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(ws);
  return s.substr(begin, end - begin + 1);
}

}  // namespace

StatusOr<std::string> LoadClusterToken(const std::string& token_file) {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return InvalidArgument("cannot read the token file " + token_file);
    std::stringstream content;
    content << in.rdbuf();
    std::string token = Trim(content.str());
    if (token.empty()) return InvalidArgument("the token file " + token_file + " is empty");
    return token;
  }
  const char* env = std::getenv("RAYX_CLUSTER_TOKEN");
  return env == nullptr ? std::string() : Trim(env);
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

}  // namespace rayx
