#include "kernels/backoff.h"

namespace xg::kernels {

ThreadBackoff& thread_backoff() {
  static ThreadBackoff b;
  return b;
}

}  // namespace xg::kernels
