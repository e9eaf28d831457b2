// Fuzz target: ParseObject, the reader of a serialized object's header and buffer table
// (object_format.h), fed bytes that a client's inline value or a shared-memory file could hold.
// A parse that succeeds must describe only bytes inside the object; writing the same layout again
// must give a header that parses to the same parts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "engine/objects/object_format.h"

namespace {

void Require(bool cond, const char* what) {
  if (cond) return;
  fprintf(stderr, "object_format_fuzz: %s\n", what);
  abort();
}

bool Inside(const rayx::ByteSpan& span, const uint8_t* data, size_t size) {
  return span.data >= data && span.size <= size &&
         static_cast<size_t>(span.data - data) <= size - span.size;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rayx;
  auto view = ParseObject(data, size);
  if (!view.ok()) return 0;
  Require(Inside(view->data, data, size), "the data runs outside the object");
  std::vector<size_t> sizes;
  for (const ByteSpan& b : view->buffers) {
    Require(Inside(b, data, size), "a buffer runs outside the object");
    sizes.push_back(b.size);
  }
  // Reading every byte described: ASan catches any that is not the object's.
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < view->data.size; ++i) sum += view->data.data[i];
  for (const ByteSpan& b : view->buffers)
    for (size_t i = 0; i < b.size; ++i) sum += b.data[i];
  // The same parts written afresh parse back to the same sizes.
  ObjectLayout layout = ComputeObjectLayout(view->data.size, sizes);
  if (layout.total_size > (1u << 20)) return 0;
  std::vector<uint8_t> out(layout.total_size);
  WriteObject(layout, view->data, view->buffers, out.data());
  auto again = ParseObject(out.data(), out.size());
  Require(again.ok(), "a rewritten object does not parse");
  Require(again->data.size == view->data.size && again->buffers.size() == sizes.size(),
          "a rewritten object parses to other parts");
  for (size_t i = 0; i < sizes.size(); ++i) {
    Require(again->buffers[i].size == sizes[i], "a rewritten buffer has another size");
  }
  return 0;
}
