#pragma once
/// The caching allocator: 64-byte-aligned blocks kept in per-size free lists, so a training loop
/// stops asking the OS for memory (and touching fresh pages) after its first iteration.
#include <cstddef>

namespace xg::core {

void* cached_alloc(size_t nbytes);
void cached_free(void* p, size_t nbytes);

}  // namespace xg::core
