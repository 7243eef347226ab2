// The documented way to build a Sequential initialises its layers in the written order on every
// compiler, so a seed gives the same weights with g++ and clang (issue #20).
#include <gtest/gtest.h>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {

/// The weights of Linear(3, 4) then Linear(4, 2), made one after the other.
std::vector<float> in_written_order(uint64_t seed) {
  manual_seed(seed);
  nn::Linear a(3, 4);
  nn::Linear b(4, 2);
  std::vector<float> w = a.weight().to_vector<float>();
  for (float v : b.weight().to_vector<float>()) w.push_back(v);
  return w;
}

std::vector<float> weights_of(const nn::Sequential& net) {
  std::vector<float> w = net.at<nn::Linear>(0)->weight().to_vector<float>();
  for (float v : net.at<nn::Linear>(2)->weight().to_vector<float>()) w.push_back(v);
  return w;
}

}  // namespace

TEST(InitOrder, SequentialInitialisesInWrittenOrder) {
  const auto want = in_written_order(1);
  // README's form was std::make_shared<nn::Sequential>(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)):
  // the arguments of a call are evaluated in an order the compiler picks (g++ built the last
  // layer first, clang the first), and that form no longer compiles. A braced list has an order.
  manual_seed(1);
  auto net = nn::sequential({nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)});
  EXPECT_EQ(weights_of(*net), want);
  manual_seed(1);
  nn::Sequential value({nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)});
  EXPECT_EQ(weights_of(value), want);
  manual_seed(1);
  auto named = nn::sequential({{"a", nn::Linear(3, 4)}, {"act", nn::ReLU()}, {"b", nn::Linear(4, 2)}});
  EXPECT_EQ(weights_of(*named), want);
  // Existing modules may still be passed as arguments: they are already made.
  manual_seed(1);
  auto a = std::make_shared<nn::Linear>(3, 4);
  auto b = std::make_shared<nn::Linear>(4, 2);
  auto from_handles = std::make_shared<nn::Sequential>(a, std::make_shared<nn::ReLU>(), b);
  EXPECT_EQ(weights_of(*from_handles), want);
}
