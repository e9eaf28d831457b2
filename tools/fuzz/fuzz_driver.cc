// A small stand-in for libFuzzer's main, linked into the fuzz targets of the ordinary (gcc) build
// so that `bazel test //...` runs each target for a few seconds (tools/fuzz/fuzz.bzl).
//
// Usage: TARGET [--mutate] [--seconds=S] [--runs=N] PATH...
//   Each PATH is a file or a directory of files; each runs once (as libFuzzer runs files given to
//   it: a crash is reproduced so). With --mutate they are a seed corpus: deterministic
//   pseudo-random mutations of them run until S seconds (default 3, or $RAYX_FUZZ_SECONDS) or N
//   mutations (default 1,000,000) have passed.
// When the process dies (a sanitizer report, an abort from a failed check, a fatal signal) the
// input being run is written to $TEST_UNDECLARED_OUTPUTS_DIR (or the working directory) as
// crash-<number>, to be rerun with `TARGET crash-<number>`; a libFuzzer build runs the same file.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

// The input being run, for the crash handlers (which may only call async-signal-safe functions).
const uint8_t* current_data = nullptr;
size_t current_size = 0;
uint64_t current_number = 0;
char crash_dir[4096] = ".";

void WriteCurrentInput() {
  static bool written = false;
  if (written || current_data == nullptr) return;
  written = true;
  char path[4200];
  int n = snprintf(path, sizeof(path), "%s/crash-%llu", crash_dir,
                   static_cast<unsigned long long>(current_number));
  if (n <= 0) return;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  size_t done = 0;
  while (done < current_size) {
    ssize_t w = write(fd, current_data + done, current_size - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
  close(fd);
  const char note[] = "fuzz_driver: the input that crashed was written to ";
  (void)!write(STDERR_FILENO, note, sizeof(note) - 1);
  (void)!write(STDERR_FILENO, path, strlen(path));
  (void)!write(STDERR_FILENO, "\n", 1);
}

void OnFatalSignal(int signal) {
  WriteCurrentInput();
  ::signal(signal, SIG_DFL);
  raise(signal);
}

// xorshift64*: the same mutations on every run, so a failure in the suite repeats.
struct Random {
  uint64_t state;
  uint64_t Next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ull;
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void CollectInputs(const std::string& path, std::vector<std::string>* inputs) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    fprintf(stderr, "fuzz_driver: no such file or directory: %s\n", path.c_str());
    exit(2);
  }
  if (!S_ISDIR(st.st_mode)) {
    inputs->push_back(ReadFile(path));
    return;
  }
  std::vector<std::string> names;
  DIR* dir = opendir(path.c_str());
  while (dirent* e = dir ? readdir(dir) : nullptr) {
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  }
  if (dir) closedir(dir);
  std::sort(names.begin(), names.end());  // A fixed order: the same mutations every run.
  for (const std::string& name : names) inputs->push_back(ReadFile(path + "/" + name));
}

// One of libFuzzer's simpler mutations, chosen at random; splices take a second seed.
void Mutate(Random& rng, const std::vector<std::string>& seeds, std::string* s) {
  static const uint8_t kInteresting[] = {0, 1, 2, 4, 0x7f, 0x80, 0xfe, 0xff, 16, 32, 64, 100};
  const int steps = 1 + static_cast<int>(rng.Below(4));
  for (int i = 0; i < steps; ++i) {
    switch (rng.Below(8)) {
      case 0:  // Flip one bit.
        if (!s->empty()) (*s)[rng.Below(s->size())] ^= static_cast<char>(1u << rng.Below(8));
        break;
      case 1:  // Set a byte to a random value.
        if (!s->empty()) (*s)[rng.Below(s->size())] = static_cast<char>(rng.Next());
        break;
      case 2:  // Set a byte to an interesting value.
        if (!s->empty())
          (*s)[rng.Below(s->size())] =
              static_cast<char>(kInteresting[rng.Below(sizeof(kInteresting))]);
        break;
      case 3: {  // Erase a range.
        if (s->empty()) break;
        size_t at = rng.Below(s->size());
        s->erase(at, 1 + rng.Below(std::min<size_t>(16, s->size() - at)));
        break;
      }
      case 4: {  // Insert random bytes.
        size_t at = rng.Below(s->size() + 1);
        std::string bytes(1 + rng.Below(8), '\0');
        for (char& c : bytes) c = static_cast<char>(rng.Next());
        s->insert(at, bytes);
        break;
      }
      case 5: {  // Duplicate a range.
        if (s->empty()) break;
        size_t at = rng.Below(s->size());
        std::string part = s->substr(at, 1 + rng.Below(64));
        s->insert(rng.Below(s->size() + 1), part);
        break;
      }
      case 6: {  // Splice: the start of this input and the rest of another seed.
        const std::string& other = seeds[rng.Below(seeds.size())];
        size_t keep = rng.Below(s->size() + 1);
        size_t from = rng.Below(other.size() + 1);
        *s = s->substr(0, keep) + other.substr(from);
        break;
      }
      case 7: {  // Overwrite 4 bytes with a little-endian number near a boundary.
        if (s->size() < 4) break;
        static const uint32_t kNumbers[] = {
            0,          1,    0x7fffffff, 0x80000000, 0xffffffff,
            0xfffffffe, 4096, 1u << 20,   256u << 20, (256u << 20) + 1};
        uint32_t v = kNumbers[rng.Below(sizeof(kNumbers) / sizeof(kNumbers[0]))];
        std::memcpy(&(*s)[rng.Below(s->size() - 3)], &v, 4);
        break;
      }
    }
  }
  if (s->size() > (64u << 10)) s->resize(64u << 10);
}

void Run(const std::string& input) {
  current_data = reinterpret_cast<const uint8_t*>(input.data());
  current_size = input.size();
  LLVMFuzzerTestOneInput(current_data, current_size);
  current_number++;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  double seconds = 3;
  if (const char* env = getenv("RAYX_FUZZ_SECONDS")) seconds = atof(env);
  uint64_t max_runs = 1000000;
  std::vector<std::string> seeds;
  bool mutate = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--seconds=", 0) == 0) {
      seconds = atof(arg.c_str() + 10);
    } else if (arg.rfind("--runs=", 0) == 0) {
      max_runs = strtoull(arg.c_str() + 7, nullptr, 10);
    } else if (arg == "--mutate") {
      mutate = true;
    } else {
      CollectInputs(arg, &seeds);
    }
  }
  if (const char* out = getenv("TEST_UNDECLARED_OUTPUTS_DIR"))
    snprintf(crash_dir, sizeof(crash_dir), "%s", out);
  // A sanitizer reports faults itself and then calls the death callback; an abort (a failed
  // RAYX_CHECK) is caught here in every build, and the other fatal signals when no sanitizer is.
  signal(SIGABRT, OnFatalSignal);
  if (__sanitizer_set_death_callback) {
    __sanitizer_set_death_callback(WriteCurrentInput);
  } else {
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(s, OnFatalSignal);
  }

  for (const std::string& seed : seeds) Run(seed);
  const uint64_t seed_runs = current_number;
  if (mutate && !seeds.empty()) {
    Random rng{0x9e3779b97f4a7c15ull};
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    for (uint64_t i = 0; i < max_runs; ++i) {
      if (i % 64 == 0 && std::chrono::steady_clock::now() >= end) break;
      std::string input = seeds[rng.Below(seeds.size())];
      Mutate(rng, seeds, &input);
      Run(input);
    }
  }
  current_data = nullptr;
  fprintf(stderr, "fuzz_driver: %llu inputs run (%llu seeds, %llu mutations), no crash\n",
          static_cast<unsigned long long>(current_number),
          static_cast<unsigned long long>(seed_runs),
          static_cast<unsigned long long>(current_number - seed_runs));
  return 0;
}
