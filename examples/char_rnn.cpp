// A character-level language model: Embedding → LSTM → Dropout → Linear over the bytes of a text
// (default: the GPL-3 text every Debian machine has in /usr/share/common-licenses), trained with
// truncated backpropagation through time: the training text is cut into --batch-size parallel
// streams, read --seq-len characters at a time, the LSTM's state carried from one chunk to the next
// (detached, so gradients stop at the chunk's start). Adam with gradient clipping; the last tenth of
// the text is held out for the validation loss. Losses are in nats per character. At the end it
// samples text at a few temperatures (softmax(logits / T), drawn with multinomial).
//
// --save FILE writes one checkpoint after every epoch (and when --max-steps stops training): the
// weights, the optimizer's state, the random generator's state and the position in the data, so
// --resume FILE goes on bit for bit as if it had never stopped.
//
//   char_rnn                                           # about 1.3 nats/char (training text)
//   char_rnn --text book.txt --epochs 50 --hidden 512 --save lm.safetensors
//   char_rnn --resume lm.safetensors --epochs 60 --save lm.safetensors
//   char_rnn --resume lm.safetensors --epochs 60 --sample-length 1000 --prime "The "   # samples only
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "example_util.h"
#include "xgrad/autograd.h"
#include "xgrad/io/safetensors.h"
#include "xgrad/nn.h"
#include "xgrad/onnx/export.h"
#include "xgrad/ops/elementwise.h"
#include "xgrad/ops/loss.h"
#include "xgrad/ops/random.h"
#include "xgrad/ops/softmax.h"
#include "xgrad/optim.h"
#include "xgrad/random.h"

using namespace xg;

namespace {

constexpr const char* kDefaultText = "/usr/share/common-licenses/GPL-3";

/// What shapes the model and the data: a checkpoint only resumes under the same values.
struct Shapes {
  int64_t embed = 0, hidden = 0, layers = 0, seq_len = 0, batch = 0;
  double val_fraction = 0;
  std::string str() const {
    return fmt::format("embed={} hidden={} layers={} seq_len={} batch_size={} val_fraction={}", embed, hidden, layers,
                       seq_len, batch, val_fraction);
  }
};

/// The text as indices into its sorted set of distinct bytes.
struct Text {
  std::vector<unsigned char> vocab;
  std::array<int64_t, 256> index{};
  std::vector<int64_t> ids;
  uint64_t hash = 0;  ///< FNV-1a of the bytes: a checkpoint resumes on the same text only

  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  int64_t vocab_size() const { return static_cast<int64_t>(vocab.size()); }
  std::string vocab_str() const {
    std::string s;
    for (unsigned char c : vocab) {
      if (!s.empty()) s += ',';
      s += std::to_string(c);
    }
    return s;
  }
};

Text read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    // The default text missing is a missing data set (the smoke test's skip), any other an error.
    if (path == kDefaultText) fail<IOError>("find_dataset: the default text {} is not there (--text FILE)", path);
    fail<IOError>("char_rnn: cannot read the text file '{}'", path);
  }
  const std::string bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  Text t;
  std::array<bool, 256> seen{};
  t.hash = 1469598103934665603ULL;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    seen[c] = true;
    t.hash = (t.hash ^ c) * 1099511628211ULL;
  }
  for (int c = 0; c < 256; ++c)
    if (seen[static_cast<size_t>(c)]) {
      t.index[static_cast<size_t>(c)] = static_cast<int64_t>(t.vocab.size());
      t.vocab.push_back(static_cast<unsigned char>(c));
    }
  t.ids.reserve(bytes.size());
  for (char ch : bytes) t.ids.push_back(t.index[static_cast<unsigned char>(ch)]);
  return t;
}

/// Embedding → LSTM (batch first) → Dropout → Linear to one logit per character.
class CharRNN : public nn::Module {
 public:
  CharRNN(int64_t vocab, const Shapes& s, double dropout) : nn::Module("CharRNN") {
    embedding_ = register_module("embedding", std::make_shared<nn::Embedding>(vocab, s.embed));
    lstm_ =
        register_module("lstm", std::make_shared<nn::LSTM>(nn::RNNOptions{.input_size = s.embed,
                                                                          .hidden_size = s.hidden,
                                                                          .num_layers = s.layers,
                                                                          .batch_first = true,
                                                                          .dropout = s.layers > 1 ? dropout : 0.0}));
    dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(dropout));
    head_ = register_module("head", std::make_shared<nn::Linear>(s.hidden, vocab));
  }
  /// Logits [N, T, V] for indices [N, T] from zero states: what --export-onnx traces.
  Tensor forward(const Tensor& x) override { return (*head_)((*dropout_)((*lstm_)((*embedding_)(x)))); }
  /// Logits [N, T, V] and the final states, from states h, c (undefined: zeros).
  nn::RNNOutput step(const Tensor& x, const Tensor& h, const Tensor& c) {
    nn::RNNOutput o = lstm_->forward((*embedding_)(x), h, c);
    o.output = (*head_)((*dropout_)(o.output));
    return o;
  }

 private:
  std::shared_ptr<nn::Embedding> embedding_;
  std::shared_ptr<nn::LSTM> lstm_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::Linear> head_;
};

/// Where training stands: epochs done, the chunk to train next in the current epoch, the epoch's
/// stream offset, the steps done in all, the LSTM state carried into the next chunk (undefined at
/// an epoch's start) and the epoch's running loss.
struct Progress {
  int64_t epoch = 0, step = 0, shift = 0, global_step = 0;
  Tensor h, c;
  double loss_sum = 0;
  int64_t loss_count = 0;
};

/// The training text's streams for an epoch: `batch` streams of equal length starting `shift`
/// characters in; chunk s is characters [s·T, (s+1)·T) of every stream.
struct Streams {
  int64_t begin = 0, length = 0, batch = 0, seq_len = 0;
  int64_t chunks() const { return length / seq_len; }
  /// Inputs and next-character targets of chunk s, both int64 [batch, T].
  std::pair<Tensor, Tensor> chunk(const std::vector<int64_t>& ids, int64_t s, int64_t t_len) const {
    std::vector<int64_t> x, y;
    x.reserve(static_cast<size_t>(batch * t_len));
    y.reserve(static_cast<size_t>(batch * t_len));
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < t_len; ++t) {
        const auto at = static_cast<size_t>(begin + b * length + s * seq_len + t);
        x.push_back(ids[at]);
        y.push_back(ids[at + 1]);
      }
    return {from_vector(x, {batch, t_len}), from_vector(y, {batch, t_len})};
  }
};

/// Streams over characters [begin, end) for inputs (targets reach one further).
Streams make_streams(int64_t begin, int64_t end, int64_t batch, int64_t seq_len) {
  return {begin, (end - 1 - begin) / batch, batch, seq_len};
}

/// Mean loss (nats per character) over characters [begin, end): `streams` parallel streams read
/// whole, chunk by chunk, the state carried through; eval mode, no graph.
double evaluate(CharRNN& model, const Text& text, int64_t begin, int64_t end, int64_t streams, int64_t seq_len) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  const Streams s = make_streams(begin, end, streams, seq_len);
  Tensor h, c;
  double sum = 0;
  int64_t count = 0;
  for (int64_t start = 0; start < s.length; start += seq_len) {
    const int64_t t_len = std::min(seq_len, s.length - start);
    auto [x, y] = s.chunk(text.ids, start / seq_len, t_len);
    nn::RNNOutput o = model.step(x, h, c);
    sum += cross_entropy(o.output.reshape({s.batch * t_len, text.vocab_size()}), y.reshape({s.batch * t_len}), "sum")
               .item();
    count += s.batch * t_len;
    h = o.h_n;
    c = o.c_n;
  }
  model.train(was_training);
  return sum / static_cast<double>(count);
}

/// `length` characters after `prime` (its characters that the text lacks are skipped), each drawn
/// from softmax(logits / temperature) with multinomial from `gen`.
std::string sample(CharRNN& model, const Text& text, const std::string& prime, int64_t length, double temperature,
                   Generator& gen) {
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<int64_t> start;
  for (char ch : prime) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::find(text.vocab.begin(), text.vocab.end(), c) != text.vocab.end()) start.push_back(text.index[c]);
  }
  if (start.empty()) start.push_back(0);
  std::string out;
  nn::RNNOutput o = model.step(from_vector(start, {1, static_cast<int64_t>(start.size())}), Tensor(), Tensor());
  for (int64_t i = 0; i < length; ++i) {
    const Tensor last = o.output.select(1, o.output.size(1) - 1).reshape({text.vocab_size()});
    const Tensor probs = softmax(last.to(kFloat64) / temperature, 0);
    const int64_t next = multinomial(probs, 1, false, &gen).item<int64_t>();
    out += static_cast<char>(text.vocab[static_cast<size_t>(next)]);
    o = model.step(from_vector(std::vector<int64_t>{next}, {1, 1}), o.h_n, o.c_n);
  }
  model.train(was_training);
  return out;
}

// ---- the checkpoint: one safetensors file
//   <parameter names>          the model's weights (Module::load(path, /*strict=*/false) reads them)
//   optimizer.<i>.<buffer>     Adam's state of parameter i; optimizer.<i>.step its step count
//   rng                        the global generator's state (dropout, the epochs' stream offsets)
//   progress                   int64 [epoch, step, shift, global_step, has_state, loss_count]
//   progress.loss_sum          float64 [1]
//   state.h, state.c           the carried LSTM state (when has_state)
// and metadata naming the text (size, hash, vocabulary) and the shapes.

void save_checkpoint(const std::string& path, const CharRNN& model, const optim::Optimizer& opt, const Progress& p,
                     const Text& text, const Shapes& shapes) {
  io::NamedTensors tensors;
  for (const auto& [name, t] : model.state_dict()) tensors.emplace_back(name, t);
  const optim::OptimizerStateDict sd = opt.state_dict();
  for (const auto& [index, ps] : sd.state) {
    tensors.emplace_back(fmt::format("optimizer.{}.step", index), from_vector(std::vector<int64_t>{ps.step}, {1}));
    for (const auto& [name, t] : ps.buffers) tensors.emplace_back(fmt::format("optimizer.{}.{}", index, name), t);
  }
  tensors.emplace_back("rng", get_rng_state());
  const bool has_state = p.h.defined();
  tensors.emplace_back(
      "progress",
      from_vector(std::vector<int64_t>{p.epoch, p.step, p.shift, p.global_step, has_state ? 1 : 0, p.loss_count}, {6}));
  tensors.emplace_back("progress.loss_sum", from_vector(std::vector<double>{p.loss_sum}, {1}));
  if (has_state) {
    tensors.emplace_back("state.h", p.h);
    tensors.emplace_back("state.c", p.c);
  }
  io::write_safetensors(tensors, path,
                        {{"char_rnn.text_bytes", std::to_string(text.size())},
                         {"char_rnn.text_hash", fmt::format("{:016x}", text.hash)},
                         {"char_rnn.vocab", text.vocab_str()},
                         {"char_rnn.shapes", shapes.str()}});
}

/// Restores what save_checkpoint wrote; refuses a checkpoint of another text or other shapes.
Progress load_checkpoint(const std::string& path, CharRNN& model, optim::Optimizer& opt, const Text& text,
                         const Shapes& shapes) {
  const io::SafetensorsContents file = io::read_safetensors(path);
  auto meta = [&](const std::string& key) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) fail<IOError>("--resume: '{}' is not a char_rnn checkpoint (no {})", path, key);
    return it->second;
  };
  if (meta("char_rnn.text_bytes") != std::to_string(text.size()) ||
      meta("char_rnn.text_hash") != fmt::format("{:016x}", text.hash) || meta("char_rnn.vocab") != text.vocab_str())
    fail<ValueError>("--resume: '{}' was trained on another text ({} bytes); give the same --text", path,
                     meta("char_rnn.text_bytes"));
  if (meta("char_rnn.shapes") != shapes.str())
    fail<ValueError>("--resume: '{}' was trained with {}; this run asks for {}", path, meta("char_rnn.shapes"),
                     shapes.str());
  std::map<std::string, Tensor> named(file.tensors.begin(), file.tensors.end());
  auto take = [&](const std::string& name) {
    auto it = named.find(name);
    if (it == named.end()) fail<IOError>("--resume: '{}' lacks the tensor '{}'", path, name);
    Tensor t = it->second;
    named.erase(it);
    return t;
  };
  nn::StateDict weights;
  for (const auto& [name, t] : model.state_dict()) weights.insert(name, take(name));
  model.load_state_dict(weights);

  optim::OptimizerStateDict sd = opt.state_dict();
  const int64_t n_params = static_cast<int64_t>(opt.parameters().size());
  for (int64_t i = 0; i < n_params; ++i) {
    const std::string prefix = fmt::format("optimizer.{}.", i);
    if (!named.count(prefix + "step")) continue;  // not updated yet
    optim::ParamState ps;
    ps.step = take(prefix + "step").item<int64_t>();
    for (auto it = named.lower_bound(prefix); it != named.end() && it->first.rfind(prefix, 0) == 0;)
      ps.buffers.emplace(it->first.substr(prefix.size()), it->second), it = named.erase(it);
    sd.state[i] = std::move(ps);
  }
  opt.load_state_dict(sd);
  set_rng_state(take("rng"));
  const std::vector<int64_t> pv = take("progress").to_vector<int64_t>();
  if (pv.size() != 6) fail<IOError>("--resume: '{}' has a bad progress record", path);
  Progress p;
  p.epoch = pv[0], p.step = pv[1], p.shift = pv[2], p.global_step = pv[3], p.loss_count = pv[5];
  p.loss_sum = take("progress.loss_sum").to_vector<double>().at(0);
  if (pv[4] != 0) {
    p.h = take("state.h");
    p.c = take("state.c");
  }
  return p;
}

/// Parses "0.5,0.8,1" into numbers > 0.
std::vector<double> parse_temperatures(const std::string& s) {
  std::vector<double> r;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !(v > 0) || !std::isfinite(v))
      fail<ValueError>("--temperatures: expected positive numbers separated by commas, got '{}'", s);
    r.push_back(v);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  return example::run_main([&] {
    example::CommandLine cl("char_rnn", "Train a character-level LSTM language model on a text",
                            {.epochs = 30, .batch_size = 32, .lr = 3e-3});
    cl.add_string("text", "The text to learn (any bytes)", kDefaultText)
        .add_int("seq-len", "Characters per chunk of truncated backpropagation through time", 64)
        .add_int("embed", "Embedding size", 64)
        .add_int("hidden", "LSTM hidden size", 256)
        .add_int("layers", "LSTM layers", 1)
        .add_double("dropout", "Dropout on the LSTM's outputs", 0)
        .add_double("clip", "Gradient clipping: the largest L2 norm of all gradients together (0: none)", 5)
        .add_double("lr-decay", "Learning rate factor applied after each epoch", 0.95)
        .add_double("val-fraction", "Fraction of the text, at its end, held out for the validation loss", 0.1)
        .add_int("max-steps", "Stop after this many training steps in all, mid-epoch if need be (0: no limit)", 0)
        .add_string("resume", "Go on from a checkpoint that --save wrote (the same text and shapes)", "")
        .add_string("temperatures", "Sampling temperatures, comma-separated", "0.5,0.8,1")
        .add_int("sample-length", "Characters per sample (0: no samples)", 300)
        .add_string("prime", "Text the samples start from", "The ")
        .custom_help("[OPTIONS]  (--save FILE writes a checkpoint every epoch; --resume FILE continues it)");
    if (!cl.parse(argc, argv)) return 0;
    const example::Args& a = cl.args;
    if (a.limit != 0) fail<ValueError>("char_rnn: --limit is not used (--text FILE picks the text)");
    if (!a.tensorboard.empty() || !a.report.empty())
      fail<ValueError>("char_rnn: --tensorboard and --report are not supported (use --history)");

    Shapes shapes{.embed = cl.get_int("embed"),
                  .hidden = cl.get_int("hidden"),
                  .layers = cl.get_int("layers"),
                  .seq_len = cl.get_int("seq-len"),
                  .batch = a.batch_size,
                  .val_fraction = cl.get_double("val-fraction")};
    if (shapes.embed < 1 || shapes.hidden < 1 || shapes.layers < 1 || shapes.seq_len < 1)
      fail<ValueError>("char_rnn: --embed, --hidden, --layers and --seq-len must be at least 1");
    if (!(shapes.val_fraction >= 0 && shapes.val_fraction < 1))
      fail<ValueError>("char_rnn: --val-fraction must be in [0, 1), got {}", shapes.val_fraction);
    const double dropout = cl.get_double("dropout"), clip = cl.get_double("clip");
    const double lr_decay = cl.get_double("lr-decay");
    const int64_t max_steps = cl.get_int("max-steps"), sample_length = cl.get_int("sample-length");
    const std::vector<double> temperatures = parse_temperatures(cl.get_string("temperatures"));
    const std::string resume = cl.get_string("resume");
    if (!(clip >= 0)) fail<ValueError>("char_rnn: --clip must be >= 0, got {}", clip);
    if (max_steps < 0) fail<ValueError>("char_rnn: --max-steps must be >= 0, got {}", max_steps);

    const std::string text_path = cl.get_string("text");
    const Text text = read_text(text_path);
    const int64_t n_val = static_cast<int64_t>(static_cast<double>(text.size()) * shapes.val_fraction);
    const int64_t n_train = text.size() - n_val;
    // Each epoch starts its streams up to seq_len - 1 characters in; every stream needs a chunk.
    if (n_train - shapes.seq_len < shapes.batch * shapes.seq_len + 1)
      fail<ValueError>("char_rnn: the training text ({} characters) is too short for {} streams of {} characters",
                       n_train, shapes.batch, shapes.seq_len);
    if (n_val > 0 && n_val < 2) fail<ValueError>("char_rnn: the validation text is too short ({})", n_val);
    const int64_t val_streams = std::max<int64_t>(1, std::min<int64_t>(16, (n_val - 1) / shapes.seq_len));
    example::out() << fmt::format("Text: {} ({} characters, {} distinct); training on {}, validating on {}\n",
                                  text_path, text.size(), text.vocab_size(), n_train, n_val);

    auto model = std::make_shared<CharRNN>(text.vocab_size(), shapes, dropout);
    optim::Adam opt(model->parameters(), optim::AdamOptions{.lr = a.lr});
    const std::vector<Tensor> params = model->parameters();
    example::out() << fmt::format("Model: Embedding {} → LSTM {}×{} → Linear {} ({} parameters)\n", shapes.embed,
                                  shapes.layers, shapes.hidden, text.vocab_size(), model->num_parameters());
    Progress p;
    if (!resume.empty()) {
      p = load_checkpoint(resume, *model, opt, text, shapes);
      example::out() << fmt::format("Resumed from {}: {} epochs and {} steps done\n", resume, p.epoch, p.global_step);
    }

    train::History history;
    const double t0 = example::start_clock();
    bool stopped = false;
    while (p.epoch < a.epochs && !stopped) {
      const double epoch_start = train::steady_seconds();
      if (p.step == 0 && !p.h.defined()) {
        if (max_steps > 0 && p.global_step >= max_steps) {  // stop before drawing the next epoch's offset
          stopped = true;
          break;
        }
        // A fresh epoch: the streams start at a random offset, so chunk boundaries move.
        p.shift = randint(0, shapes.seq_len, {1}).item<int64_t>();
        p.loss_sum = 0;
        p.loss_count = 0;
      }
      const Streams streams = make_streams(p.shift, n_train, shapes.batch, shapes.seq_len);
      opt.set_lr(0, a.lr * std::pow(lr_decay, static_cast<double>(p.epoch)));
      model->train();
      for (; p.step < streams.chunks(); ++p.step) {
        if (max_steps > 0 && p.global_step >= max_steps) {
          stopped = true;
          break;
        }
        auto [x, y] = streams.chunk(text.ids, p.step, shapes.seq_len);
        opt.zero_grad();
        nn::RNNOutput o = model->step(x, p.h, p.c);
        const int64_t n = shapes.batch * shapes.seq_len;
        Tensor loss = cross_entropy(o.output.reshape({n, text.vocab_size()}), y.reshape({n}));
        loss.backward();
        if (clip > 0) optim::clip_grad_norm_(params, clip);
        opt.step();
        p.h = o.h_n.detach();  // truncated BPTT: the next chunk starts from this state, not through it
        p.c = o.c_n.detach();
        p.loss_sum += loss.item();
        ++p.loss_count;
        ++p.global_step;
      }
      if (stopped) break;
      ++p.epoch;
      p.step = 0;
      p.h = Tensor();
      p.c = Tensor();
      const double train_loss = p.loss_sum / static_cast<double>(std::max<int64_t>(p.loss_count, 1));
      const double val_loss =
          n_val > 0 ? evaluate(*model, text, n_train, text.size(), val_streams, shapes.seq_len) : NAN;
      history.append(p.epoch - 1, {{"loss", train_loss}, {"val_loss", val_loss}, {"lr", opt.lr(0)}});
      if (a.verbose > 0)
        example::out() << fmt::format("Epoch {}/{} - {:.1f}s - loss: {:.4f} - val_loss: {:.4f} - lr: {:.6f}\n", p.epoch,
                                      a.epochs, train::steady_seconds() - epoch_start, train_loss, val_loss, opt.lr(0))
                       << std::flush;
      if (!a.save.empty()) save_checkpoint(a.save, *model, opt, p, text, shapes);
    }
    const double seconds = train::steady_seconds() - t0;
    if (stopped) {
      example::out() << fmt::format("Stopped after {} steps (--max-steps), in epoch {} at step {}\n", p.global_step,
                                    p.epoch + 1, p.step);
      if (!a.save.empty()) save_checkpoint(a.save, *model, opt, p, text, shapes);
    }
    if (!a.save.empty()) example::out() << "Saved the checkpoint to " << a.save << "\n";
    if (!a.history.empty()) example::write_history(history, a.history);
    if (!a.export_onnx.empty()) {
      model->eval();
      const auto info = onnx::export_model(*model, {zeros({1, shapes.seq_len}, kInt64)}, a.export_onnx,
                                           {.dynamic_batch = true, .check_repeatable = false});
      example::out() << fmt::format(
          "Exported the model as ONNX ({} nodes: int64 character indices [N, {}] → "
          "logits [N, {}, {}]) to {}\n",
          info.node_ops.size(), shapes.seq_len, shapes.seq_len, text.vocab_size(), a.export_onnx);
    }

    // Whole-split losses of the final weights (eval mode: no dropout).
    const double train_loss = evaluate(*model, text, 0, n_train, 16, shapes.seq_len);
    const double val_loss = n_val > 0 ? evaluate(*model, text, n_train, text.size(), val_streams, shapes.seq_len) : NAN;
    example::out() << fmt::format("Final: training text {:.4f} nats/char, validation text {:.4f} nats/char\n",
                                  train_loss, val_loss);
    if (sample_length > 0) {
      // Samples draw from their own generator: printing them changes nothing in training.
      Generator gen(a.seed);
      const std::string prime = cl.get_string("prime");
      for (double temperature : temperatures)
        example::out() << fmt::format("--- sample, temperature {} ---\n{}{}\n", temperature, prime,
                                      sample(*model, text, prime, sample_length, temperature, gen));
    }
    example::out() << fmt::format("result: train_loss={:.4f} val_loss={:.4f} epochs={} steps={} train_seconds={:.2f}",
                                  train_loss, val_loss, p.epoch, p.global_step, seconds)
                   << std::endl;
    return 0;
  });
}
