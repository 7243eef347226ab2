// A small transformer language model over characters: token and positional embeddings, a causal
// TransformerEncoder (examples/text_transformer.h) and a linear head, trained with Adam on random
// windows of a text (default: the GPL-3 that Debian ships on every machine), reporting the loss in
// nats per character and the perplexity on the text's last tenth, then a sample drawn from it.
//
//   text_transformer --epochs 5
//   text_transformer --text book.txt --context 128 --layers 4 --d-model 128
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "example_util.h"
#include "text_transformer.h"
#include "xgrad/autograd.h"
#include "xgrad/ops/loss.h"
#include "xgrad/ops/random.h"
#include "xgrad/ops/softmax.h"
#include "xgrad/optim.h"

using namespace xg;

namespace {

struct Corpus {
  std::vector<int64_t> train, val;
  std::vector<unsigned char> chars;  ///< id → byte
};

/// The file's bytes as ids of the sorted distinct bytes; the last tenth held out.
Corpus load_corpus(const std::string& path, int64_t limit, int64_t context) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw IOError(fmt::format("cannot read the text '{}'", path));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (limit > 0 && static_cast<int64_t>(text.size()) > limit) text.resize(static_cast<size_t>(limit));
  const auto n = static_cast<int64_t>(text.size());
  if (n < 10 * (context + 1))
    throw ValueError(fmt::format("the text '{}' has {} bytes: too short for a context of {}", path, n, context));
  std::array<int64_t, 256> id{};
  id.fill(-1);
  Corpus c;
  for (unsigned char ch : text) id[ch] = 0;
  for (int b = 0; b < 256; ++b)
    if (id[static_cast<size_t>(b)] == 0) {
      id[static_cast<size_t>(b)] = static_cast<int64_t>(c.chars.size());
      c.chars.push_back(static_cast<unsigned char>(b));
    }
  const int64_t split = n - n / 10;
  for (int64_t i = 0; i < n; ++i)
    (i < split ? c.train : c.val).push_back(id[static_cast<unsigned char>(text[static_cast<size_t>(i)])]);
  return c;
}

/// batch windows of context + 1 ids starting at the given offsets: inputs and next-id targets.
std::pair<Tensor, Tensor> windows(const std::vector<int64_t>& ids, const std::vector<int64_t>& starts,
                                  int64_t context) {
  std::vector<int64_t> x, y;
  for (int64_t s : starts) {
    x.insert(x.end(), ids.begin() + s, ids.begin() + s + context);
    y.insert(y.end(), ids.begin() + s + 1, ids.begin() + s + context + 1);
  }
  const auto b = static_cast<int64_t>(starts.size());
  return {from_vector(x, {b, context}), from_vector(y, {b, context})};
}

/// Mean loss per character over consecutive windows of the held-out text (eval mode, no graph).
double evaluate(example::CharTransformer& model, const std::vector<int64_t>& ids, int64_t context, int64_t batch,
                int64_t vocab) {
  model.eval();
  NoGradGuard ng;
  double sum = 0;
  int64_t count = 0;
  std::vector<int64_t> starts;
  auto flush = [&] {
    if (starts.empty()) return;
    const auto [x, y] = windows(ids, starts, context);
    sum += cross_entropy(model(x).reshape({-1, vocab}), y.reshape({-1}), "sum").item();
    count += y.numel();
    starts.clear();
  };
  for (int64_t s = 0; s + context + 1 <= static_cast<int64_t>(ids.size()); s += context) {
    starts.push_back(s);
    if (static_cast<int64_t>(starts.size()) == batch) flush();
  }
  flush();
  model.train();
  return sum / static_cast<double>(std::max<int64_t>(count, 1));
}

/// n characters drawn one at a time from the model's next-character distribution at temperature t,
/// starting from the first characters of the held-out text.
std::string sample(example::CharTransformer& model, const Corpus& c, int64_t context, int64_t n, double t) {
  model.eval();
  NoGradGuard ng;
  std::vector<int64_t> ids(c.val.begin(), c.val.begin() + std::min<int64_t>(16, static_cast<int64_t>(c.val.size())));
  std::string out;
  for (int64_t id : ids) out += static_cast<char>(c.chars[static_cast<size_t>(id)]);
  const auto vocab = static_cast<int64_t>(c.chars.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = std::min<int64_t>(context, static_cast<int64_t>(ids.size()));
    const std::vector<int64_t> window(ids.end() - len, ids.end());
    const Tensor logits = model(from_vector(window, {1, len})).select(1, len - 1).reshape({vocab});
    const Tensor probs = softmax(div(logits, scalar(t, logits.dtype())), 0);
    const int64_t next = multinomial(probs, 1).to_vector<int64_t>()[0];
    ids.push_back(next);
    out += static_cast<char>(c.chars[static_cast<size_t>(next)]);
  }
  model.train();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("text_transformer", "Train a small character-level transformer language model on a text",
                            {.epochs = 5, .batch_size = 32, .lr = 2e-3});
    cl.add_string("text", "The text to learn", "/usr/share/common-licenses/GPL-3")
        .add_int("context", "Characters the model sees (its positions)", 64)
        .add_int("d-model", "Embedding width", 64)
        .add_int("heads", "Attention heads", 4)
        .add_int("layers", "Encoder layers", 2)
        .add_int("dim-feedforward", "Feed-forward width", 256)
        .add_double("dropout", "Dropout in the encoder layers", 0.1)
        .add_int("steps", "Training batches per epoch", 200)
        .add_double("clip", "Gradient norm clip (0: none)", 1)
        .add_int("sample", "Characters to sample after training", 300)
        .add_double("temperature", "Sampling temperature", 0.8);
    if (!cl.parse(argc, argv)) return 0;
    const example::Args& a = cl.args;
    const int64_t context = cl.get_int("context"), steps = cl.get_int("steps");
    if (context < 1 || steps < 1) throw ValueError("--context and --steps must be positive");
    if (!a.tensorboard.empty() || !a.report.empty() || !a.export_onnx.empty())
      throw ValueError("--tensorboard, --report and --export-onnx are not supported by this example's own loop");
    // --limit counts characters of the text here.
    const Corpus corpus = load_corpus(cl.get_string("text"), a.limit, context);
    const auto vocab = static_cast<int64_t>(corpus.chars.size());
    example::CharTransformer model({.vocab = vocab,
                                    .context = context,
                                    .d_model = cl.get_int("d-model"),
                                    .nhead = cl.get_int("heads"),
                                    .layers = cl.get_int("layers"),
                                    .dim_feedforward = cl.get_int("dim-feedforward"),
                                    .dropout = cl.get_double("dropout")});
    if (a.verbose > 0)
      example::out() << fmt::format("{} characters ({} distinct), {} parameters\n",
                                    corpus.train.size() + corpus.val.size(), vocab, model.num_parameters());
    optim::Adam opt(model.parameters(), optim::AdamOptions{.lr = a.lr});
    const double clip = cl.get_double("clip");
    std::mt19937_64 rng(a.seed);
    std::uniform_int_distribution<int64_t> offset(0, static_cast<int64_t>(corpus.train.size()) - context - 1);

    train::History history;
    const double t0 = train::steady_seconds();
    double val_loss = 0;
    for (int64_t epoch = 0; epoch < a.epochs; ++epoch) {
      const double epoch_start = train::steady_seconds();
      double loss_sum = 0;
      for (int64_t s = 0; s < steps; ++s) {
        std::vector<int64_t> starts(static_cast<size_t>(a.batch_size));
        for (auto& st : starts) st = offset(rng);
        const auto [x, y] = windows(corpus.train, starts, context);
        opt.zero_grad();
        Tensor loss = cross_entropy(model(x).reshape({-1, vocab}), y.reshape({-1}));
        loss.backward();
        if (clip > 0) optim::clip_grad_norm_(model.parameters(), clip);
        opt.step();
        loss_sum += loss.item();
      }
      val_loss = evaluate(model, corpus.val, context, a.batch_size, vocab);
      const train::Logs logs{{"loss", loss_sum / static_cast<double>(steps)},
                             {"val_loss", val_loss},
                             {"val_perplexity", std::exp(val_loss)}};
      history.append(epoch, logs);
      if (a.verbose > 0)
        example::out() << fmt::format(
                              "Epoch {}/{} - {:.1f}s - loss: {:.4f} - val_loss: {:.4f} - val_perplexity: {:.3f}\n",
                              epoch + 1, a.epochs, train::steady_seconds() - epoch_start, logs["loss"], val_loss,
                              std::exp(val_loss))
                       << std::flush;
    }
    const double seconds = train::steady_seconds() - t0;
    if (!a.history.empty()) example::write_history(history, a.history);
    example::save_weights(model, a.save);
    const int64_t n = cl.get_int("sample");
    if (n > 0 && a.verbose > 0)
      example::out() << "Sample:\n" << sample(model, corpus, context, n, cl.get_double("temperature")) << "\n";
    example::out() << fmt::format(
                          "result: val_loss={:.4f} val_perplexity={:.3f} bits_per_char={:.3f} epochs={} "
                          "train_seconds={:.2f}",
                          val_loss, std::exp(val_loss), val_loss / std::log(2.0), a.epochs, seconds)
                   << std::endl;
    return 0;
  });
}
