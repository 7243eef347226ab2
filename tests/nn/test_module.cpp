#include <gtest/gtest.h>

#include "xgrad/xgrad.h"

using namespace xg;

namespace {

/// A user module as the docs describe it: children as shared_ptr members, own forward.
struct Block : nn::Module {
  std::shared_ptr<nn::Linear> fc;
  std::shared_ptr<nn::Dropout> drop;
  Tensor scale;
  explicit Block(int64_t n) {
    fc = register_module("fc", std::make_shared<nn::Linear>(n, n));
    drop = register_module("drop", std::make_shared<nn::Dropout>(0.5));
    scale = register_parameter("scale", ones({n}));
    register_buffer("steps", scalar(0, kInt64));
  }
  Tensor forward(const Tensor& x) override { return (*drop)((*fc)(x)) * scale; }
};

struct Net : nn::Module {
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<Block> block;
  std::shared_ptr<nn::Linear> head;
  Net() {
    features = register_module("features", nn::sequential({nn::Linear(3, 4), nn::ReLU()}));
    block = register_module("block", std::make_shared<Block>(4));
    head = register_module("head", std::make_shared<nn::Linear>(4, 2, /*bias=*/false));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*block)((*features)(x))); }
};

}  // namespace

TEST(NnModule, RegistrationOrderAndDottedNames) {
  Net net;
  EXPECT_EQ(net.named_parameters().keys(),
            (std::vector<std::string>{"features.0.weight", "features.0.bias", "block.scale", "block.fc.weight",
                                      "block.fc.bias", "head.weight"}));
  EXPECT_EQ(net.named_buffers().keys(), (std::vector<std::string>{"block.steps"}));
  EXPECT_EQ(net.named_children().keys(), (std::vector<std::string>{"features", "block", "head"}));
  EXPECT_EQ(net.named_modules().keys(), (std::vector<std::string>{"", "features", "features.0", "features.1", "block",
                                                                  "block.fc", "block.drop", "head"}));
  EXPECT_EQ(net.parameters(/*recurse=*/false).size(), 0u);
  EXPECT_EQ(net.block->parameters(false).size(), 1u);
  EXPECT_EQ(net.num_parameters(), 3 * 4 + 4 + 4 + 4 * 4 + 4 + 4 * 2);
  EXPECT_EQ(net.name(), "Net");
  EXPECT_EQ(net.features->name(), "Sequential");
  EXPECT_EQ(net.head->name(), "Linear");
  // The handles kept as members are the registered tensors themselves.
  EXPECT_TRUE(net.named_parameters()["head.weight"].is_same(net.head->weight()));
  EXPECT_TRUE(net.head->weight().requires_grad());
  EXPECT_EQ(net.head->weight().shape(), (Shape{2, 4}));
  EXPECT_FALSE(net.head->bias().defined());
  EXPECT_EQ(net.state_dict().keys(),
            (std::vector<std::string>{"features.0.weight", "features.0.bias", "block.scale", "block.steps",
                                      "block.fc.weight", "block.fc.bias", "head.weight"}));
}

TEST(NnModule, RegistrationErrors) {
  nn::Module m;
  m.register_parameter("w", zeros({2}));
  EXPECT_THROW(m.register_parameter("w", zeros({2})), ValueError);
  EXPECT_THROW(m.register_buffer("w", zeros({2})), ValueError);
  EXPECT_THROW(m.register_parameter("a.b", zeros({2})), ValueError);
  EXPECT_THROW(m.register_parameter("", zeros({2})), ValueError);
  EXPECT_THROW(m.register_parameter("i", zeros({2}, kInt64)), DTypeError);
  EXPECT_NO_THROW(m.register_parameter("frozen", zeros({2}, kInt64), /*requires_grad=*/false));
  EXPECT_THROW(m.register_module("child", std::shared_ptr<nn::Linear>()), ValueError);
  EXPECT_THROW(m.forward(zeros({2})), ValueError);
  EXPECT_EQ(m.num_parameters(/*trainable_only=*/true), 2);
  EXPECT_EQ(m.num_parameters(), 4);
}

TEST(NnModule, SharedModuleParametersAreListedOnce) {
  auto shared = std::make_shared<nn::Linear>(2, 2);
  nn::Sequential seq({shared, nn::ReLU(), shared});
  EXPECT_EQ(seq.parameters().size(), 2u);
  EXPECT_EQ(seq.named_parameters().keys(), (std::vector<std::string>{"0.weight", "0.bias"}));
  EXPECT_EQ(seq.state_dict().size(), 4u);  // state dicts keep every name, as PyTorch's
}

TEST(NnModule, TrainEvalRecursesAndApplyVisitsChildrenFirst) {
  auto net = std::make_shared<Net>();
  EXPECT_TRUE(net->is_training());
  net->eval();
  for (const auto& m : net->modules()) EXPECT_FALSE(m->is_training()) << m->name();
  net->block->train();
  EXPECT_TRUE(net->block->drop->is_training());
  EXPECT_FALSE(net->features->is_training());
  net->train();
  for (const auto& m : net->modules()) EXPECT_TRUE(m->is_training());

  std::vector<std::string> order;
  net->block->apply([&](nn::Module& m) { order.push_back(m.name()); });
  EXPECT_EQ(order, (std::vector<std::string>{"Linear", "Dropout", "Block"}));
  // modules() of a shared_ptr-owned module hands out the owning pointer for itself.
  EXPECT_EQ(net->modules().front().get(), net.get());
  const auto self = net->modules().front();
  EXPECT_FALSE(self.owner_before(net) || net.owner_before(self));  // same owner, not an alias
  Net on_stack;
  EXPECT_EQ(on_stack.modules().front().get(), &on_stack);
  EXPECT_EQ(on_stack.modules().front().use_count(), 0);  // a non-owning alias

  // apply as an initialiser: zero every Linear bias.
  net->apply([](nn::Module& m) {
    if (auto* l = dynamic_cast<nn::Linear*>(&m); l && l->bias().defined()) nn::init::zeros_(l->bias());
  });
  EXPECT_EQ(sum(abs(net->block->fc->bias())).item(), 0.0);
}

TEST(NnModule, ZeroGrad) {
  nn::Linear lin(3, 2);
  Tensor x = randn({4, 3});
  lin(x).sum().backward();
  ASSERT_TRUE(lin.weight().grad().defined());
  lin.zero_grad(/*set_to_none=*/false);
  ASSERT_TRUE(lin.weight().grad().defined());
  EXPECT_EQ(sum(abs(lin.weight().grad())).item(), 0.0);
  lin.zero_grad();
  EXPECT_FALSE(lin.weight().grad().defined());
  EXPECT_FALSE(lin.bias().grad().defined());
}

TEST(NnModule, ForwardHooksSeeActivationsAndCanBeRemoved) {
  manual_seed(0);
  auto model = nn::sequential({nn::Linear(3, 5), nn::ReLU(), nn::Linear(5, 2)});
  std::vector<std::string> log;
  Tensor relu_out;
  auto h_pre = (*model)[1]->register_forward_pre_hook(
      [&](nn::Module& m, const Tensor& in) { log.push_back("pre " + m.name() + " " + shape_str(in.shape())); });
  auto h_post = (*model)[1]->register_forward_hook([&](nn::Module& m, const Tensor&, const Tensor& out) {
    log.push_back("post " + m.name());
    relu_out = out;
  });
  auto h_root = model->register_forward_hook([&](nn::Module& m, const Tensor& in, const Tensor& out) {
    log.push_back(fmt::format("{} {} -> {}", m.name(), shape_str(in.shape()), shape_str(out.shape())));
  });
  Tensor x = randn({4, 3});
  Tensor y = (*model)(x);
  EXPECT_EQ(log, (std::vector<std::string>{"pre ReLU [4, 5]", "post ReLU", "Sequential [4, 3] -> [4, 2]"}));
  ASSERT_TRUE(relu_out.defined());
  EXPECT_TRUE(allclose(relu_out, relu(model->at<nn::Linear>(0)->forward(x))));
  h_pre.remove();
  h_post.remove();
  h_post.remove();  // idempotent
  log.clear();
  (*model)(x);
  EXPECT_EQ(log.size(), 1u);
  h_root.remove();
  log.clear();
  (*model)(x);
  EXPECT_TRUE(log.empty());
  // A handle outliving its module is harmless.
  nn::HookHandle dangling;
  {
    nn::ReLU r;
    dangling = r.register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) {});
  }
  dangling.remove();
}

TEST(NnModule, ToFloat64ConvertsInPlaceAndKeepsIdentity) {
  Net net;
  Tensor w = net.head->weight();
  const std::vector<double> before = w.to_vector<double>();
  net.to(kFloat64);
  EXPECT_EQ(w.dtype(), kFloat64);  // the old handle sees the change
  EXPECT_TRUE(w.requires_grad());
  EXPECT_TRUE(w.is_leaf());
  EXPECT_EQ(w.to_vector<double>(), before);
  for (const auto& [n, p] : net.named_parameters()) EXPECT_EQ(p.dtype(), kFloat64) << n;
  EXPECT_EQ(net.named_buffers()["block.steps"].dtype(), kInt64);  // integer buffers stay
  Tensor y = net(randn({2, 3}, kFloat64));
  EXPECT_EQ(y.dtype(), kFloat64);
  y.sum().backward();
  EXPECT_EQ(w.grad().dtype(), kFloat64);
  EXPECT_THROW(net.to(kInt64), DTypeError);
}

TEST(NnModule, ContainersAndPrinting) {
  nn::Sequential seq({nn::Linear(2, 3), nn::ReLU()});
  seq.add("out", nn::Linear(3, 1));
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(seq.named_children().keys(), (std::vector<std::string>{"0", "1", "out"}));
  EXPECT_EQ(seq[-1]->name(), "Linear");
  EXPECT_THROW(seq[3], IndexError);
  EXPECT_THROW(seq.at<nn::ReLU>(0), ValueError);
  EXPECT_EQ(seq.at<nn::Linear>(2)->out_features(), 1);
  EXPECT_EQ(seq(randn({5, 2})).shape(), (Shape{5, 1}));

  nn::Sequential named({{"fc", nn::Linear(2, 2)}, {"act", nn::Tanh()}});
  EXPECT_EQ(named.named_parameters().keys(), (std::vector<std::string>{"fc.weight", "fc.bias"}));

  auto keras = std::make_shared<nn::Sequential>();
  keras->add(nn::Linear(4, 8)).add(nn::ReLU());
  EXPECT_EQ(keras->size(), 2u);

  nn::ModuleList list({nn::Linear(2, 2), nn::Linear(2, 2)});
  list.push_back(nn::ReLU());
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.named_parameters().size(), 4u);
  EXPECT_EQ(list.at<nn::ReLU>(2)->name(), "ReLU");
  EXPECT_THROW(list(zeros({2})), ValueError);

  nn::ModuleDict dict({{"enc", nn::Linear(2, 3)}});
  dict.insert("dec", nn::Linear(3, 2));
  EXPECT_TRUE(dict.contains("dec"));
  EXPECT_EQ(dict.keys(), (std::vector<std::string>{"enc", "dec"}));
  EXPECT_EQ(dict.at<nn::Linear>("dec")->in_features(), 3);
  EXPECT_THROW(dict["nope"], IndexError);
  EXPECT_THROW(dict.insert("enc", nn::ReLU()), ValueError);

  EXPECT_EQ(seq.to_string(),
            "Sequential(\n"
            "  (0): Linear(in_features=2, out_features=3, bias=true)\n"
            "  (1): ReLU()\n"
            "  (out): Linear(in_features=3, out_features=1, bias=true)\n"
            ")");
}

TEST(NnModule, OrderedDict) {
  nn::OrderedDict<int> d{{"b", 1}, {"a", 2}};
  d.insert("c", 3);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_THROW(d.insert("a", 9), ValueError);
  EXPECT_THROW(d["z"], IndexError);
  EXPECT_TRUE(d.erase("a"));
  EXPECT_EQ(d["c"], 3);
  EXPECT_EQ(d.item(1).first, "c");
  d.insert_or_assign("b", 7);
  EXPECT_EQ(d.values(), (std::vector<int>{7, 3}));
}
