// A DCGAN (Radford et al., 2015) on MNIST, as PyTorch's dcgan example, sized for 28×28 images and a
// CPU: the generator maps noise z [N, nz, 1, 1] through transposed convolutions with batch norm and
// ReLU to a Tanh image [N, 1, 28, 28]; the discriminator maps an image through strided convolutions
// with batch norm and LeakyReLU(0.2) to one logit. Both train with binary cross-entropy on logits
// and their own Adam (lr 2e-4, betas 0.5 and 0.999), weights initialised N(0, 0.02) as the paper.
// After every epoch the generator's images for one fixed batch of noise are written as a PNG grid
// (io::save_image) to --out-dir: epoch_001.png, epoch_002.png, …
//
//   mnist_gan                                   # 5 epochs of 200 batches of 64: digit shapes
//   mnist_gan --epochs 20 --limit 0 --out-dir gan --save generator.safetensors
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "example_util.h"
#include "xgrad/autograd.h"
#include "xgrad/io/image.h"
#include "xgrad/nn.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/loss.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"

using namespace xg;

namespace {

/// z [N, nz, 1, 1] → [N, 4·ngf, 7, 7] → [N, 2·ngf, 14, 14] → [N, 1, 28, 28] in [-1, 1].
std::shared_ptr<nn::Sequential> generator(int64_t nz, int64_t ngf) {
  return nn::sequential({nn::ConvTranspose2d(nz, 4 * ngf, 7, 1, 0, 0, 1, /*bias=*/false), nn::BatchNorm2d(4 * ngf),
                         nn::ReLU(), nn::ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, 0, 1, /*bias=*/false),
                         nn::BatchNorm2d(2 * ngf), nn::ReLU(), nn::ConvTranspose2d(2 * ngf, 1, 4, 2, 1), nn::Tanh()});
}

/// [N, 1, 28, 28] → [N, ndf, 14, 14] → [N, 2·ndf, 7, 7] → one logit per image, [N, 1].
std::shared_ptr<nn::Sequential> discriminator(int64_t ndf) {
  return nn::sequential({nn::Conv2d(1, ndf, 4, 2, 1), nn::LeakyReLU(0.2),
                         nn::Conv2d(ndf, 2 * ndf, 4, 2, 1, 1, 1, /*bias=*/false), nn::BatchNorm2d(2 * ndf),
                         nn::LeakyReLU(0.2), nn::Conv2d(2 * ndf, 1, 7), nn::Flatten()});
}

/// DCGAN's initialisation: convolution weights N(0, 0.02), batch norm scales N(1, 0.02), shifts 0.
void dcgan_init(nn::Module& net) {
  for (const auto& m : net.modules()) {
    if (auto conv = std::dynamic_pointer_cast<nn::ConvBase>(m)) {
      nn::init::normal_(conv->weight(), 0.0, 0.02);
      if (conv->bias().defined()) nn::init::zeros_(conv->bias());
    } else if (auto bn = std::dynamic_pointer_cast<nn::BatchNorm>(m)) {
      nn::init::normal_(bn->weight(), 1.0, 0.02);
      nn::init::zeros_(bn->bias());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl(
        "mnist_gan",
        "Train a DCGAN on MNIST (or Fashion-MNIST), writing sample grids as PNG. Without --limit it trains on "
        "the first 12800 images (--limit 0: all 60000)",
        {.epochs = 5, .batch_size = 64, .lr = 2e-4});
    example::add_mnist_option(cl);
    cl.add_string("out-dir", "Folder for the sample grids (epoch_NNN.png)", "mnist_gan_samples")
        .add_int("nz", "Size of the noise vector", 64)
        .add_int("ngf", "Generator width (channels of its last hidden layer / 2)", 32)
        .add_int("ndf", "Discriminator width (channels of its first layer)", 32)
        .add_double("beta1", "Adam's beta1 for both optimizers", 0.5)
        .add_int("samples", "Images in each grid (8 per row)", 64);
    if (!cl.parse(argc, argv)) return 0;
    example::Args a = cl.args;
    if (!cl.given("limit")) a.limit = 12800;  // 200 batches an epoch: a few minutes on two cores; --limit 0 for all
    if (!a.tensorboard.empty() || !a.report.empty())
      fail<ValueError>("mnist_gan: --tensorboard and --report are not supported (use --history)");
    const int64_t nz = cl.get_int("nz"), ngf = cl.get_int("ngf"), ndf = cl.get_int("ndf");
    const int64_t n_samples = cl.get_int("samples");
    if (nz < 1 || ngf < 1 || ndf < 1 || n_samples < 1)
      fail<ValueError>("mnist_gan: --nz, --ngf, --ndf and --samples must be at least 1");
    const std::filesystem::path out_dir = cl.get_string("out-dir");

    const example::MnistSource source = example::find_mnist(cl.get_string("dataset"), a.data_dir);
    example::out() << "Data: " << source.name() << " from " << source.dir.string() << "\n";
    const auto train_set = example::first_n(example::load_mnist(source, data::Split::Train, false), a.limit);
    example::out() << "Training images: " << train_set->size() << "\n";

    auto g = generator(nz, ngf);
    auto d = discriminator(ndf);
    dcgan_init(*g);
    dcgan_init(*d);
    example::out() << fmt::format("Generator: {} parameters; discriminator: {} parameters\n", g->num_parameters(),
                                  d->num_parameters());
    const optim::AdamOptions adam{.lr = a.lr, .betas = {cl.get_double("beta1"), 0.999}};
    optim::Adam opt_g(g->parameters(), adam), opt_d(d->parameters(), adam);

    // The noise of the grids: its own generator, so it is the same batch every epoch and every run.
    Generator noise_gen(a.seed);
    const Tensor fixed_noise = randn({n_samples, nz, 1, 1}, kFloat32, &noise_gen);
    std::filesystem::create_directories(out_dir);

    data::DataLoader loader(train_set,
                            {.batch_size = a.batch_size, .shuffle = true, .seed = a.seed, .drop_last = true});
    train::History history;
    double loss_d = 0, loss_g = 0, d_real = 0, d_fake = 0;
    const double t0 = example::start_clock();
    for (int64_t epoch = 0; epoch < a.epochs; ++epoch) {
      const double epoch_start = train::steady_seconds();
      double sum_d = 0, sum_g = 0, sum_real = 0, sum_fake = 0;
      int64_t batches = 0;
      g->train();
      d->train();
      for (auto& [images, labels] : loader) {
        (void)labels;
        const Tensor real = images * 2.0 - 1.0;  // [0, 1] → Tanh's [-1, 1]
        const int64_t n = real.size(0);
        const Tensor is_real = ones({n, 1}), is_fake = zeros({n, 1});

        // Discriminator: real images towards 1, generated ones towards 0 (no gradient into G).
        opt_d.zero_grad();
        const Tensor real_logits = (*d)(real);
        const Tensor fake = (*g)(randn({n, nz, 1, 1}));
        const Tensor fake_logits = (*d)(fake.detach());
        Tensor err_d = binary_cross_entropy_with_logits(real_logits, is_real) +
                       binary_cross_entropy_with_logits(fake_logits, is_fake);
        err_d.backward();
        opt_d.step();

        // Generator: make the discriminator call its images real.
        opt_g.zero_grad();
        const Tensor fooled_logits = (*d)(fake);
        Tensor err_g = binary_cross_entropy_with_logits(fooled_logits, is_real);
        err_g.backward();
        opt_g.step();

        NoGradGuard no_grad;
        sum_d += err_d.item();
        sum_g += err_g.item();
        sum_real += real_logits.sigmoid().mean().item();
        sum_fake += fake_logits.sigmoid().mean().item();
        ++batches;
      }
      const auto nb = static_cast<double>(std::max<int64_t>(batches, 1));
      loss_d = sum_d / nb, loss_g = sum_g / nb, d_real = sum_real / nb, d_fake = sum_fake / nb;
      history.append(epoch, {{"loss_d", loss_d}, {"loss_g", loss_g}, {"d_real", d_real}, {"d_fake", d_fake}});
      {
        // As PyTorch's example: the generator in training mode (batch statistics), recording nothing.
        NoGradGuard no_grad;
        const Tensor samples = (*g)(fixed_noise);
        const std::string png = (out_dir / fmt::format("epoch_{:03d}.png", epoch + 1)).string();
        io::save_image(samples, png, {.nrow = 8, .normalize = true, .value_range = {{-1.0, 1.0}}});
        if (a.verbose > 0)
          example::out() << fmt::format(
                                "Epoch {}/{} - {:.1f}s - loss_d: {:.4f} - loss_g: {:.4f} - D(x): {:.3f} - D(G(z)): "
                                "{:.3f} - samples: {}\n",
                                epoch + 1, a.epochs, train::steady_seconds() - epoch_start, loss_d, loss_g, d_real,
                                d_fake, png)
                         << std::flush;
      }
    }
    const double seconds = train::steady_seconds() - t0;
    if (!a.history.empty()) example::write_history(history, a.history);
    example::save_weights(*g, a.save);
    if (!a.export_onnx.empty()) {
      g->eval();  // batch norm from its running statistics
      example::export_onnx(*g, a.export_onnx, {1, nz, 1, 1});
    }
    example::out() << fmt::format(
                          "result: loss_d={:.4f} loss_g={:.4f} d_real={:.4f} d_fake={:.4f} epochs={} "
                          "train_seconds={:.2f}",
                          loss_d, loss_g, d_real, d_fake, a.epochs, seconds)
                   << std::endl;
    return 0;
  });
}
