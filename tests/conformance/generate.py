#!/usr/bin/python3
"""The project's own conformance cases: writes tests/conformance/cases/<family>.json.

Run with Debian's python3-torch (CPU, one thread, fixed seeds); the output is byte-identical on
regeneration:

    /usr/bin/python3 tests/conformance/generate.py            # rewrite tests/conformance/cases/
    /usr/bin/python3 tests/conformance/generate.py --check    # exit 1 if the committed files differ

The files follow ../shared/fixtures/README.md (float64 references from exact float32 inputs, the
same tolerances) with three extensions, described in tests/conformance/README.md: generated tensors
("generate": {seed, center, log2_half} or {seed, classes}, bit-identical in xgrad_conformance),
sampled references ("index" + "data"), and PyTorch's own float32 error on every expected output and
gradient ("torch_float32_error", under the file's "accuracy" rule).

Adding cases: the op's torch function in OPS, Case objects in a family function listed in FAMILIES
(tests/conformance/README.md, "Adding cases for a new op").
"""
import argparse
import json
import math
import os
import sys
import zlib

# Pin PyTorch's kernels (its float32 errors are part of the files): the AVX2 paths on any x86-64
# machine that has them, one thread.
os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
os.environ["OMP_NUM_THREADS"] = "1"

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # ctest reads 77 as "skipped"
    print(f"generate.py needs Debian's python3-torch ({e}): skipped")
    sys.exit(77)

torch.set_num_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
REFERENCE = f"torch {torch.__version__}, float64, CPU"
# How "at least as accurate as PyTorch float32" is judged (written into every file's header).
ACCURACY = {"delta": 1e-06, "factor": 1.5, "slack": 4.8e-07}
# Expected tensors with more elements than this are stored sampled.
FULL_LIMIT = 64
SAMPLES = 64

# ---------------------------------------------------------------------------------------- values


def hashed_ints(seed, n):
    """v_i in [-2^23, 2^23): the top 24 bits of splitmix64(seed + (i + 1) * golden), minus 2^23."""
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (i + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.int64) - (1 << 23)


class Gen:
    """A generated float32 tensor, uniform on [center - 2^log2_half, center + 2^log2_half). Its seed is
    the CRC-32 of "<case name>/<tensor name>", given when the case is built (stable under reordering)."""

    def __init__(self, center=0.0, log2_half=0):
        self.center, self.log2_half = float(center), int(log2_half)

    def spec(self, seed):
        return {"seed": seed, "center": self.center, "log2_half": self.log2_half}

    def values(self, seed, shape):
        n = int(np.prod(shape, dtype=np.int64))
        v = hashed_ints(seed, n).astype(np.float64)
        # v * 2^k is exact and the sum rounds once in float64, then once to float32: C++ gets the same bits.
        x = v * math.ldexp(1.0, self.log2_half - 23) + self.center
        return x.astype(np.float32).reshape(shape)


class IndexGen:
    """Generated int64 class indices: element i = (v_i + 2^23) mod classes."""

    def __init__(self, classes):
        self.classes = int(classes)

    def spec(self, seed):
        return {"seed": seed, "classes": self.classes}

    def values(self, seed, shape):
        n = int(np.prod(shape, dtype=np.int64))
        return ((hashed_ints(seed, n) + (1 << 23)) % self.classes).astype(np.int64).reshape(shape)


def seed_of(text):
    return zlib.crc32(text.encode())


class In:
    """One input: a stored array or a Gen with its shape. Float inputs take a gradient unless constant."""

    def __init__(self, name, value, shape=None, requires_grad=None):
        self.name, self.gen, self.shape = name, value if isinstance(value, (Gen, IndexGen)) else None, shape
        self.value = None if self.gen else np.asarray(value)
        self.requires_grad = requires_grad
        self.seed = None

    def realise(self, case_name):
        if self.gen:
            self.seed = seed_of(f"{case_name}/{self.name}")
            self.value = self.gen.values(self.seed, tuple(self.shape))
        elif self.value.dtype == np.float64:
            self.value = self.value.astype(np.float32)
        if self.requires_grad is None:
            self.requires_grad = self.value.dtype == np.float32 and self.name not in CONSTANT_INPUTS

    def dtype(self):
        return {"float32": "float32", "int64": "int64", "bool": "bool"}[str(self.value.dtype)]

    def json(self):
        d = {"name": self.name, "shape": list(self.value.shape), "dtype": self.dtype(), "requires_grad": self.requires_grad}
        if self.gen:
            d["generate"] = self.gen.spec(self.seed)
        elif self.dtype() == "float32":
            d["data"] = [float(v) for v in self.value.reshape(-1)]
        else:
            d["data"] = [v.item() for v in self.value.reshape(-1)]
        return d


class Case:
    """A tensor-op case. long: a reduction over 256 or more elements (rtol 1e-3, as in the fixtures).
    must_sample: per expected tensor ("output", "grad.input"), flat positions always kept when sampled."""

    def __init__(self, name, op, attrs, inputs, long=False, must_sample=None):
        self.name, self.op, self.attrs, self.inputs, self.long = name, op, attrs, inputs, long
        self.must_sample = must_sample or {}


# Inputs that never take a gradient (as in the shared fixtures).
CONSTANT_INPUTS = {"target", "pos_weight", "running_mean", "running_var"}

# ---------------------------------------------------------------------------------------- ops


def reduce_dims(a, x):
    return tuple(range(x.dim())) if a["dim"] is None else a["dim"]


def ce(t, a):
    return [F.cross_entropy(t["input"], t["target"], weight=t.get("weight"), ignore_index=a["ignore_index"],
                            reduction=a["reduction"], label_smoothing=a["label_smoothing"])]


def nll(t, a):
    return [F.nll_loss(t["input"], t["target"], weight=t.get("weight"), ignore_index=a["ignore_index"],
                       reduction=a["reduction"])]


def bce_logits(t, a):
    return [F.binary_cross_entropy_with_logits(t["input"], t["target"], reduction=a["reduction"],
                                               pos_weight=t.get("pos_weight"))]


def bn(t, a):
    y = F.batch_norm(t["input"], t.get("running_mean"), t.get("running_var"), t.get("weight"), t.get("bias"),
                     a["training"], a["momentum"], a["eps"])
    return [y, t["running_mean"], t["running_var"]] if "running_mean" in t else [y]


# op -> (torch function of (tensors by name, attrs), output names, which outputs are differentiable)
OPS = {
    "hardswish": (lambda t, a: [F.hardswish(t["input"])], ["output"], [True]),
    "hardsigmoid": (lambda t, a: [F.hardsigmoid(t["input"])], ["output"], [True]),
    **{op: (lambda t, a, f=f: [f(t["input"])], ["output"], [True]) for op, f in (
        ("log1p", torch.log1p), ("expm1", torch.expm1), ("log2", torch.log2), ("log10", torch.log10),
        ("exp2", torch.exp2), ("asin", torch.asin), ("acos", torch.acos), ("atan", torch.atan), ("sinh", torch.sinh),
        ("cosh", torch.cosh), ("mish", F.mish), ("selu", F.selu), ("softsign", F.softsign))},
    "atan2": (lambda t, a: [torch.atan2(t["input"], t["other"])], ["output"], [True]),
    "hardtanh": (lambda t, a: [F.hardtanh(t["input"], a["min_val"], a["max_val"])], ["output"], [True]),
    "celu": (lambda t, a: [F.celu(t["input"], a["alpha"])], ["output"], [True]),
    "logit": (lambda t, a: [torch.logit(t["input"], a["eps"])], ["output"], [True]),
    "lerp": (lambda t, a: [torch.lerp(t["input"], t["end"], t["weight"] if "weight" in t else a["weight"])], ["output"],
             [True]),
    "prelu": (lambda t, a: [F.prelu(t["input"], t["weight"])], ["output"], [True]),
    "clamp": (lambda t, a: [torch.clamp(t["input"], t.get("min"), t.get("max"))], ["output"], [True]),
    "gather": (lambda t, a: [torch.gather(t["input"], a["dim"], t["index"])], ["output"], [True]),
    "scatter": (lambda t, a: [torch.scatter(t["input"], a["dim"], t["index"], t["src"])], ["output"], [True]),
    "scatter_add": (lambda t, a: [torch.scatter_add(t["input"], a["dim"], t["index"], t["src"])], ["output"], [True]),
    "masked_fill": (lambda t, a: [torch.masked_fill(t["input"], t["mask"], a["value"])], ["output"], [True]),
    "take_along_dim": (lambda t, a: [torch.take_along_dim(t["input"], t["indices"], a["dim"])], ["output"], [True]),
    "flip": (lambda t, a: [torch.flip(t["input"], a["dims"])], ["output"], [True]),
    "roll": (lambda t, a: [torch.roll(t["input"], a["shifts"], a["dims"])], ["output"], [True]),
    "tril": (lambda t, a: [torch.tril(t["input"], a["diagonal"])], ["output"], [True]),
    "triu": (lambda t, a: [torch.triu(t["input"], a["diagonal"])], ["output"], [True]),
    "one_hot": (lambda t, a: [F.one_hot(t["input"], a["num_classes"])], ["output"], [False]),
    "cumsum": (lambda t, a: [torch.cumsum(t["input"], a["dim"])], ["output"], [True]),
    "cumprod": (lambda t, a: [torch.cumprod(t["input"], a["dim"])], ["output"], [True]),
    "repeat": (lambda t, a: [t["input"].repeat(*a["repeats"])], ["output"], [True]),
    "tile": (lambda t, a: [torch.tile(t["input"], a["dims"])], ["output"], [True]),
    "diag": (lambda t, a: [torch.diag(t["input"], a["diagonal"])], ["output"], [True]),
    "masked_select": (lambda t, a: [torch.masked_select(t["input"], t["mask"])], ["output"], [True]),
    "nonzero": (lambda t, a: [torch.nonzero(t["input"])], ["output"], [False]),
    "index_add": (lambda t, a: [torch.index_add(t["input"], a["dim"], t["index"], t["source"], alpha=a["alpha"])],
                  ["output"], [True]),
    "index_copy": (lambda t, a: [torch.index_copy(t["input"], a["dim"], t["index"], t["source"])], ["output"], [True]),
    "index_fill": (lambda t, a: [torch.index_fill(t["input"], a["dim"], t["index"], a["value"])], ["output"], [True]),
    "repeat_interleave": (lambda t, a: [torch.repeat_interleave(t["input"], t["repeats"] if "repeats" in t
                                                                else a["repeats"], a["dim"])], ["output"], [True]),
    # sort as PyTorch's stable sort: equal values keep their order.
    "sort": (lambda t, a: list(torch.sort(t["input"], dim=a["dim"], descending=a["descending"], stable=True)),
             ["values", "indices"], [True, False]),
    "argsort": (lambda t, a: [torch.sort(t["input"], dim=a["dim"], descending=a["descending"], stable=True)[1]],
                ["output"], [False]),
    "topk": (lambda t, a: list(torch.topk(t["input"], a["k"], a["dim"], a["largest"])), ["values", "indices"],
             [True, False]),
    "softmax": (lambda t, a: [torch.softmax(t["input"], a["dim"])], ["output"], [True]),
    "log_softmax": (lambda t, a: [torch.log_softmax(t["input"], a["dim"])], ["output"], [True]),
    "logsumexp": (lambda t, a: [torch.logsumexp(t["input"], reduce_dims(a, t["input"]), a["keepdim"])], ["output"],
                  [True]),
    "sum": (lambda t, a: [torch.sum(t["input"], reduce_dims(a, t["input"]), a["keepdim"])], ["output"], [True]),
    "mean": (lambda t, a: [torch.mean(t["input"], reduce_dims(a, t["input"]), a["keepdim"])], ["output"], [True]),
    "var": (lambda t, a: [torch.var(t["input"], a["dim"], unbiased=a["unbiased"], keepdim=a["keepdim"])], ["output"],
            [True]),
    "std": (lambda t, a: [torch.std(t["input"], a["dim"], unbiased=a["unbiased"], keepdim=a["keepdim"])], ["output"],
            [True]),
    "norm": (lambda t, a: [torch.linalg.vector_norm(t["input"], float(a["ord"]), a["dim"], a["keepdim"])], ["output"],
             [True]),
    "vector_norm": (lambda t, a: [torch.linalg.vector_norm(t["input"], float(a["ord"]), a["dim"], a["keepdim"])], ["output"],
                    [True]),
    "addmm": (lambda t, a: [torch.addmm(t["input"], t["mat1"], t["mat2"], beta=a["beta"], alpha=a["alpha"])],
              ["output"], [True]),
    "baddbmm": (lambda t, a: [torch.baddbmm(t["input"], t["batch1"], t["batch2"], beta=a["beta"], alpha=a["alpha"])],
                ["output"], [True]),
    "outer": (lambda t, a: [torch.outer(t["input"], t["vec2"])], ["output"], [True]),
    "einsum": (lambda t, a: [torch.einsum(a["equation"], *[t[f"operand{i}"] for i in range(len(t))])], ["output"],
               [True]),
    "cosine_similarity": (lambda t, a: [F.cosine_similarity(t["x1"], t["x2"], a["dim"], a["eps"])], ["output"], [True]),
    "pairwise_distance": (lambda t, a: [F.pairwise_distance(t["x1"], t["x2"], a["p"], a["eps"], a["keepdim"])],
                          ["output"], [True]),
    "cdist": (lambda t, a: [torch.cdist(t["x1"], t["x2"], float(a["p"]))], ["output"], [True]),
    "all": (lambda t, a: [torch.all(t["input"]) if a["dim"] is None else torch.all(t["input"], a["dim"], a["keepdim"])],
            ["output"], [False]),
    "any": (lambda t, a: [torch.any(t["input"]) if a["dim"] is None else torch.any(t["input"], a["dim"], a["keepdim"])],
            ["output"], [False]),
    "count_nonzero": (lambda t, a: [torch.count_nonzero(t["input"], a["dim"])], ["output"], [False]),
    "median": (lambda t, a: [torch.median(t["input"])] if a["dim"] is None else
               list(torch.median(t["input"], a["dim"], a["keepdim"])), ["values", "indices"], [True, False]),
    "mode": (lambda t, a: list(torch.mode(t["input"], a["dim"], a["keepdim"])), ["values", "indices"], [True, False]),
    "quantile": (lambda t, a: [torch.quantile(t["input"], t["q"] if "q" in t else a["q"], a["dim"], a["keepdim"],
                                              interpolation=a["interpolation"])], ["output"], [True]),
    "var_mean": (lambda t, a: list(torch.var_mean(t["input"], a["dim"], unbiased=a["unbiased"], keepdim=a["keepdim"])),
                 ["var", "mean"], [True, True]),
    "std_mean": (lambda t, a: list(torch.std_mean(t["input"], a["dim"], unbiased=a["unbiased"], keepdim=a["keepdim"])),
                 ["std", "mean"], [True, True]),
    "tensor_unfold": (lambda t, a: [t["input"].unfold(a["dimension"], a["size"], a["step"])], ["output"], [True]),
    "conv2d_relu_maxpool2d": (lambda t, a: [F.max_pool2d(F.relu(F.conv2d(t["input"], t["weight"], t.get("bias"), a["stride"],
                                                                        a["padding"], a["dilation"], a["groups"])), 2)],
                              ["output"], [True]),
    "unfold": (lambda t, a: [F.unfold(t["input"], a["kernel_size"], a["dilation"], a["padding"], a["stride"])],
               ["output"], [True]),
    "fold": (lambda t, a: [F.fold(t["input"], a["output_size"], a["kernel_size"], a["dilation"], a["padding"],
                                  a["stride"])], ["output"], [True]),
    "cross_entropy": (ce, ["output"], [True]),
    "nll_loss": (nll, ["output"], [True]),
    "binary_cross_entropy_with_logits": (bce_logits, ["output"], [True]),
    "batch_norm": (bn, ["output", "running_mean", "running_var"], [True, False, False]),
    "pad": (lambda t, a: [F.pad(t["input"], a["pad"], a["mode"]) if a["mode"] != "constant"
                          else F.pad(t["input"], a["pad"], "constant", a["value"])], ["output"], [True]),
    "interpolate": (lambda t, a: [F.interpolate(t["input"], size=a["size"], scale_factor=a["scale_factor"],
                                                mode=a["mode"], align_corners=a["align_corners"])], ["output"], [True]),
    "pixel_shuffle": (lambda t, a: [F.pixel_shuffle(t["input"], a["upscale_factor"])], ["output"], [True]),
    "pixel_unshuffle": (lambda t, a: [F.pixel_unshuffle(t["input"], a["downscale_factor"])], ["output"], [True]),
    "adaptive_max_pool2d": (lambda t, a: [F.adaptive_max_pool2d(t["input"], a["output_size"])], ["output"], [True]),
    "group_norm": (lambda t, a: [F.group_norm(t["input"], a["num_groups"], t.get("weight"), t.get("bias"), a["eps"])],
                   ["output"], [True]),
    "embedding_bag": (lambda t, a: [F.embedding_bag(t["input"], t["weight"], t.get("offsets"), mode=a["mode"],
                                                    per_sample_weights=t.get("per_sample_weights"),
                                                    include_last_offset=a["include_last_offset"],
                                                    padding_idx=a["padding_idx"])], ["output"], [True]),
    "ctc_loss": (lambda t, a: [F.ctc_loss(t["log_probs"], t["targets"], t["input_lengths"], t["target_lengths"],
                                          a["blank"], a["reduction"], a["zero_infinity"])], ["output"], [True]),
    "cosine_embedding_loss": (lambda t, a: [F.cosine_embedding_loss(t["input1"], t["input2"], t["target"], a["margin"],
                                                                    reduction=a["reduction"])], ["output"], [True]),
    "margin_ranking_loss": (lambda t, a: [F.margin_ranking_loss(t["input1"], t["input2"], t["target"], a["margin"],
                                                                reduction=a["reduction"])], ["output"], [True]),
    "triplet_margin_loss": (lambda t, a: [F.triplet_margin_loss(t["anchor"], t["positive"], t["negative"], a["margin"],
                                                                a["p"], a["eps"], a["swap"], reduction=a["reduction"])],
                            ["output"], [True]),
    "poisson_nll_loss": (lambda t, a: [F.poisson_nll_loss(t["input"], t["target"], a["log_input"], a["full"],
                                                          eps=a["eps"], reduction=a["reduction"])], ["output"], [True]),
    "gaussian_nll_loss": (lambda t, a: [F.gaussian_nll_loss(t["input"], t["target"], t["var"], a["full"], a["eps"],
                                                            a["reduction"])], ["output"], [True]),
    "multilabel_soft_margin_loss": (lambda t, a: [F.multilabel_soft_margin_loss(t["input"], t["target"], t.get("weight"),
                                                                                reduction=a["reduction"])],
                                    ["output"], [True]),
    "conv2d": (lambda t, a: [F.conv2d(t["input"], t["weight"], t.get("bias"), a["stride"], a["padding"], a["dilation"],
                                      a["groups"])], ["output"], [True]),
    "conv_transpose2d": (lambda t, a: [F.conv_transpose2d(t["input"], t["weight"], t.get("bias"), a["stride"],
                                                          a["padding"], a["output_padding"], a["groups"],
                                                          a["dilation"])], ["output"], [True]),
    "layer_norm": (lambda t, a: [F.layer_norm(t["input"], a["normalized_shape"], t.get("weight"), t.get("bias"),
                                              a["eps"])], ["output"], [True]),
}


def sdpa(t, a):
    """scaled_dot_product_attention as PyTorch 2.x defines it (1.13 lacks it): softmax(q kT / sqrt(E) + mask) v,
    a bool mask true where attention is allowed, is_causal keeping keys 0..i for query i."""
    q, k, v, m = t["query"], t["key"], t["value"], t.get("attn_mask")
    s = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if m is not None:
        s = s + (torch.zeros_like(s).masked_fill(~m, float("-inf")) if m.dtype == torch.bool else m)
    if a["is_causal"]:
        keep = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril()
        s = s.masked_fill(~keep, float("-inf"))
    return [torch.softmax(s, -1) @ v]


OPS["scaled_dot_product_attention"] = (sdpa, ["output"], [True])


def run_torch(case, dtype, grad_outputs=None):
    """The op in dtype from the exact float32 inputs: its outputs, and the grads of the leaves when
    grad_outputs (one float32 array per differentiable output) are given."""
    fn, _, diff = OPS[case.op]
    diff = diff[:len(case_outputs(case))]
    tensors, leaves = {}, []
    for i in case.inputs:
        v = torch.from_numpy(i.value.copy())
        if v.dtype == torch.float32:
            v = v.to(dtype)
        if i.requires_grad:
            v.requires_grad_(True)
            leaves.append(i.name)
        tensors[i.name] = v
    outs = fn(tensors, case.attrs)
    grads = {}
    if grad_outputs is not None and leaves:
        douts = [o for o, d in zip(outs, diff) if d]
        gos = [torch.from_numpy(g.copy()).to(dtype) for g in grad_outputs]
        gs = torch.autograd.grad(douts, [tensors[n] for n in leaves], gos, allow_unused=True)
        grads = {n: torch.zeros_like(tensors[n]) if g is None else g for n, g in zip(leaves, gs)}
    return [o.detach() for o in outs], {n: g.detach() for n, g in grads.items()}


def case_outputs(case):
    """The case's output names: batch_norm without running statistics has only its output."""
    names = OPS[case.op][1]
    if case.op == "batch_norm" and not any(i.name == "running_mean" for i in case.inputs):
        return names[:1]
    return names


def acc_error(actual, expected):
    """The accuracy metric on float64 arrays; None when actual is not finite."""
    if not np.all(np.isfinite(actual)):
        return None
    if expected.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), float(np.finfo(np.float32).tiny))
    err = float(np.max(np.abs(actual - expected) / (np.abs(expected) + ACCURACY["delta"] * scale)))
    # Three significant digits, rounded up: the bound is never tighter than the measured error.
    return float(f"{err * 1.001:.3g}") if err > 0 else 0.0


def sample_index(expected, must):
    """Evenly spaced positions, the largest and smallest |value|, and the case's must-have positions."""
    flat = np.abs(expected.reshape(-1))
    idx = {int(k) for k in np.linspace(0, flat.size - 1, SAMPLES).round().astype(np.int64)}
    idx.update((int(np.argmax(flat)), int(np.argmin(flat))))
    idx.update(int(k) for k in must)
    return sorted(idx)


def expected_json(ref, f32, must, accuracy):
    """An expected tensor (sampled when large) with PyTorch's float32 error on the stored elements."""
    r = ref.numpy().astype(np.float64).reshape(-1)
    a = f32.numpy().astype(np.float64).reshape(-1)
    d = {"shape": list(ref.shape)}
    if r.size > FULL_LIMIT:
        d["index"] = sample_index(r, must)
        r, a = r[d["index"]], a[d["index"]]
    d["data"] = [float(v) for v in r]
    if accuracy:
        d["torch_float32_error"] = acc_error(a, r)
    return d


def two_digits_up(x):
    """x rounded up to two significant digits (the fixtures' atol)."""
    e = math.floor(math.log10(x)) - 1
    q = x / 10.0**e
    return float(f"{math.ceil(q - 1e-9) * 10.0**e:.2g}")


def build(case):
    """The case as JSON: float64 references, PyTorch's float32 errors beside them."""
    for i in case.inputs:
        i.realise(case.name)
    names = case_outputs(case)
    diff = OPS[case.op][2][:len(names)]
    outs, _ = run_torch(case, torch.float64)
    gouts = [(names[k], Gen(0.0, 0)) for k in range(len(outs)) if diff[k]]
    seeds = [seed_of(f"{case.name}/grad_output.{n}") for n, _ in gouts]
    go_values = [g.values(s, tuple(outs[names.index(n)].shape)) for (n, g), s in zip(gouts, seeds)]
    outs64, grads64 = run_torch(case, torch.float64, go_values)
    outs32, grads32 = run_torch(case, torch.float32, go_values)
    largest = 1.0
    outputs = []
    for k, (o64, o32) in enumerate(zip(outs64, outs32)):
        j = {"name": names[k], "dtype": "float32" if o64.is_floating_point() else str(o64.dtype)[6:],
             "differentiable": diff[k]}
        j.update(expected_json(o64, o32, case.must_sample.get(names[k], ()), True))
        outputs.append(j)
        largest = max(largest, float(o64.double().abs().max()) if o64.numel() else 0.0)
    grads = {}
    for n, g64 in grads64.items():
        grads[n] = expected_json(g64, grads32[n], case.must_sample.get("grad." + n, ()), True)
        largest = max(largest, float(g64.abs().max()) if g64.numel() else 0.0)
    return {
        "name": case.name,
        "op": case.op,
        "attrs": case.attrs,
        "inputs": [i.json() for i in case.inputs],
        "outputs": outputs,
        "grad_outputs": [{"name": n, "shape": list(outs64[names.index(n)].shape), "generate": g.spec(s)}
                         for (n, g), s in zip(gouts, seeds)],
        "grads": grads,
        "rtol": 1e-3 if case.long else 1e-4,
        "atol": two_digits_up(1e-5 * largest),
    }


# ---------------------------------------------------------------------------------------- cases

# Value ranges of the accuracy cases: a large common offset (unnormalised scores), large magnitudes.
OFFSETS = [("offset1e4", 1e4, 3), ("offset1e6", 1e6, 3)]
SCALES = [("scale1e4", 0.0, 13)]


def activation_cases():
    cases = []
    for op in ("hardswish", "hardsigmoid"):
        # Both pieces and the flat parts, and the kinks at -3 and 3 exactly (PyTorch's side of each).
        cases.append(Case(f"{op}/8x32", op, {}, [In("input", Gen(0.0, 2), [8, 32])]))
        cases.append(Case(f"{op}/kinks", op, {}, [In("input", [-4.0, -3.0, -2.5, -0.5, 0.0, 0.5, 2.5, 3.0, 4.0])]))
        cases.append(Case(f"{op}/scale1e4", op, {}, [In("input", Gen(0.0, 13), [4, 64])]))
    return cases


def maths_cases():
    cases = []
    # Each unary op over its typical range, large magnitudes, and tiny values where the op exists for
    # its accuracy there (log1p, expm1, sinh near 0).
    ranges = {
        "log1p": [("typical", 0.0, -1), ("large", 2.0**20, 19), ("tiny", 0.0, -20), ("near_minus1", -0.75, -3)],
        "expm1": [("typical", 0.0, 2), ("large", 0.0, 6), ("tiny", 0.0, -20)],
        "log2": [("typical", 1.0, -1), ("large", 2.0**20, 19), ("near1", 1.0, -12)],
        "log10": [("typical", 1.0, -1), ("large", 2.0**20, 19), ("near1", 1.0, -12)],
        "exp2": [("typical", 0.0, 3), ("large", 0.0, 6), ("tiny", 0.0, -20)],
        "asin": [("typical", 0.0, -1), ("wide", 0.0, -0.2), ("tiny", 0.0, -20)],
        "acos": [("typical", 0.0, -1), ("wide", 0.0, -0.2), ("tiny", 0.0, -20)],
        "atan": [("typical", 0.0, 2), ("scale1e4", 0.0, 13), ("tiny", 0.0, -20)],
        "sinh": [("typical", 0.0, 2), ("large", 0.0, 6), ("tiny", 0.0, -20)],
        "cosh": [("typical", 0.0, 2), ("large", 0.0, 6), ("tiny", 0.0, -20)],
        "mish": [("typical", 0.0, 2), ("large", 0.0, 5), ("tiny", 0.0, -20)],
        "selu": [("typical", 0.0, 2), ("large", 0.0, 5), ("tiny", 0.0, -20)],
        "softsign": [("typical", 0.0, 2), ("scale1e4", 0.0, 13), ("tiny", 0.0, -20)],
    }
    for op, rs in ranges.items():
        for tag, center, l2h in rs:
            cases.append(Case(f"{op}/2x8_{tag}", op, {}, [In("input", Gen(center, l2h), [2, 8])]))
    # Domain edges: finite values where the gradient is infinite (so no gradient is compared).
    edges = {"asin": [-1.0, -0.999, -0.5, 0.0, 0.5, 0.999, 1.0], "acos": [-1.0, -0.999, -0.5, 0.0, 0.5, 0.999, 1.0],
             "log1p": [-0.999, -0.5, 0.0, 1e-30, 1.0, 1e30], "log2": [1e-30, 0.5, 1.0, 2.0, 1024.0, 1e30],
             "log10": [1e-30, 0.1, 1.0, 10.0, 1e30], "expm1": [-100.0, -1e-30, 0.0, 1e-30, 80.0],
             "exp2": [-149.0, -10.0, 0.0, 0.5, 127.0], "atan": [-1e30, -1.0, 0.0, 1.0, 1e30],
             "sinh": [-80.0, -1e-30, 0.0, 1e-30, 80.0], "cosh": [-80.0, 0.0, 80.0],
             "mish": [-100.0, -20.0, 0.0, 20.0, 100.0], "selu": [-100.0, -1e-30, 0.0, 1e-30, 100.0],
             "softsign": [-1e30, -1.0, 0.0, 1.0, 1e30]}
    for op, v in edges.items():
        cases.append(Case(f"{op}/edges", op, {}, [In("input", np.array(v, np.float32), requires_grad=False)]))
    cases.append(Case("asin/near_edges_grad", "asin", {}, [In("input", [-0.99, -0.9, 0.9, 0.99])]))
    cases.append(Case("acos/near_edges_grad", "acos", {}, [In("input", [-0.99, -0.9, 0.9, 0.99])]))
    cases.append(Case("log1p/zero_grad", "log1p", {}, [In("input", [-0.5, 0.0, 0.5])]))
    for tag, l2h in (("typical", 2), ("scale1e4", 13)):
        cases.append(Case(f"atan2/2x16_32_{tag}", "atan2", {}, [In("input", Gen(0.0, l2h), [2, 16]),
                                                                  In("other", Gen(0.0, l2h), [16])]))
    cases.append(Case("atan2/signs", "atan2", {}, [In("input", [0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 1e30]),
                                                   In("other", [1.0, 1.0, -1.0, -1.0, 0.0, 0.0, 1.0])],
                      ))
    for tag, lo, hi in (("default", -1.0, 1.0), ("0_6", 0.0, 6.0), ("neg", -2.5, -0.5)):
        cases.append(Case(f"hardtanh/2x16_{tag}", "hardtanh", {"min_val": lo, "max_val": hi},
                          [In("input", Gen(0.0, 2), [2, 16])]))
    cases.append(Case("hardtanh/kinks", "hardtanh", {"min_val": -1.0, "max_val": 1.0},
                      [In("input", [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])]))
    for alpha in (0.5, 2.0):
        cases.append(Case(f"celu/2x16_alpha{alpha}", "celu", {"alpha": alpha}, [In("input", Gen(0.0, 2), [2, 16])]))
    cases.append(Case("celu/2x16_large", "celu", {"alpha": 1.0}, [In("input", Gen(0.0, 5), [2, 16])]))
    cases.append(Case("logit/2x16", "logit", {"eps": None}, [In("input", Gen(0.5, -2), [2, 16])]))
    cases.append(Case("logit/2x16_near0", "logit", {"eps": None}, [In("input", Gen(2.0**-12, -13), [2, 16])]))
    cases.append(Case("logit/2x16_near1", "logit", {"eps": None}, [In("input", Gen(1.0 - 2.0**-8, -9), [2, 16])]))
    cases.append(Case("logit/2x16_eps0.1", "logit", {"eps": 0.1}, [In("input", Gen(0.5, -1), [2, 16])]))
    cases.append(Case("logit/edges_eps", "logit", {"eps": 0.01}, [In("input", [-0.5, 0.0, 0.5, 1.0, 1.5])]))
    for tag, center in (("typical", 0.0), ("offset1e4", 1e4)):
        cases.append(Case(f"lerp/2x16_weight_tensor_{tag}", "lerp", {},
                          [In("input", Gen(center, 2), [2, 16]), In("end", Gen(center, 2), [2, 16]),
                           In("weight", Gen(0.5, 0), [16])]))
        for w in ((0.3, 0.7, 1.0, 2.0) if tag == "typical" else (0.7,)):
            cases.append(Case(f"lerp/2x16_weight{w}_{tag}", "lerp", {"weight": w},
                              [In("input", Gen(center, 2), [2, 16]), In("end", Gen(center, 2), [16])]))
    cases.append(Case("prelu/2x3x5_per_channel", "prelu", {}, [In("input", Gen(0.0, 1), [2, 3, 5]),
                                                               In("weight", Gen(0.25, -3), [3])]))
    cases.append(Case("prelu/2x3x2x2_per_channel", "prelu", {}, [In("input", Gen(0.0, 1), [2, 3, 2, 2]),
                                                                 In("weight", Gen(0.25, -3), [3])]))
    cases.append(Case("prelu/2x3x5_single", "prelu", {}, [In("input", Gen(0.0, 1), [2, 3, 5]),
                                                          In("weight", Gen(0.25, -3), [1])]))
    cases.append(Case("prelu/6_single", "prelu", {}, [In("input", Gen(0.0, 1), [6]), In("weight", [0.2])]))
    cases.append(Case("clamp/2x16_tensor_bounds", "clamp", {},
                      [In("input", Gen(0.0, 2), [2, 16]), In("min", Gen(-1.0, 0), [16]), In("max", Gen(1.0, 0), [2, 1])]))
    cases.append(Case("clamp/2x16_tensor_min", "clamp", {}, [In("input", Gen(0.0, 2), [2, 16]),
                                                             In("min", Gen(0.0, 1), [16])]))
    cases.append(Case("clamp/2x16_tensor_max", "clamp", {}, [In("input", Gen(0.0, 2), [2, 16]),
                                                             In("max", Gen(0.0, 1), [2, 1])]))
    cases.append(Case("clamp/min_above_max", "clamp", {}, [In("input", [1.0, 2.0, 3.0]), In("min", [2.0, 2.0, 2.0]),
                                                           In("max", [1.0, 5.0, 2.5])]))
    return cases


def indexing_cases():
    cases = []
    perm = np.array([[3, 0, 5], [1, 4, 2], [0, 1, 2], [5, 3, 4]], np.int64)  # no repeats within a row
    for tag, center, l2h in (("typical", 0.0, 2), ("offset1e4", 1e4, 3)):
        cases.append(Case(f"gather/4x6_d1_{tag}", "gather", {"dim": 1},
                          [In("input", Gen(center, l2h), [4, 6]), In("index", IndexGen(6), [4, 5])]))
        cases.append(Case(f"gather/4x6_d-2_{tag}", "gather", {"dim": -2},
                          [In("input", Gen(center, l2h), [4, 6]), In("index", IndexGen(4), [7, 3])]))
        cases.append(Case(f"scatter_add/4x6_d1_{tag}", "scatter_add", {"dim": 1},
                          [In("input", Gen(center, l2h), [4, 6]), In("index", IndexGen(6), [4, 5]),
                           In("src", Gen(center, l2h), [4, 5])]))
        cases.append(Case(f"scatter/4x6_d1_{tag}", "scatter", {"dim": 1},
                          [In("input", Gen(center, l2h), [4, 6]), In("index", perm), In("src", Gen(center, l2h), [4, 3])]))
    cases.append(Case("scatter_add/3x2x4_d0_repeats", "scatter_add", {"dim": 0},
                      [In("input", Gen(0.0, 1), [3, 2, 4]), In("index", IndexGen(3), [5, 2, 4]),
                       In("src", Gen(0.0, 1), [5, 2, 4])]))
    cases.append(Case("gather/0x6_empty", "gather", {"dim": 1},
                      [In("input", Gen(0.0, 1), [0, 6]), In("index", np.zeros((0, 2), np.int64))]))
    mask = np.array([[True, False, True, False, False, True]])
    cases.append(Case("masked_fill/4x6_broadcast_mask", "masked_fill", {"value": -1.5},
                      [In("input", Gen(0.0, 1), [4, 6]), In("mask", mask)]))
    cases.append(Case("take_along_dim/4x6_d1_broadcast", "take_along_dim", {"dim": 1},
                      [In("input", Gen(0.0, 1), [4, 6]), In("indices", IndexGen(6), [1, 3])]))
    cases.append(Case("take_along_dim/4x6_flat", "take_along_dim", {"dim": None},
                      [In("input", Gen(0.0, 1), [4, 6]), In("indices", IndexGen(24), [10])]))
    for dims in ([0], [-1], [0, 2]):
        cases.append(Case(f"flip/2x3x4_{'_'.join(map(str, dims))}", "flip", {"dims": dims},
                          [In("input", Gen(0.0, 1), [2, 3, 4])]))
    cases.append(Case("roll/3x4_flat", "roll", {"shifts": [5], "dims": None}, [In("input", Gen(0.0, 1), [3, 4])]))
    cases.append(Case("roll/3x4_two_dims", "roll", {"shifts": [1, -6], "dims": [0, -1]},
                      [In("input", Gen(0.0, 1), [3, 4])]))
    for op in ("tril", "triu"):
        for diag in (-1, 0, 2):
            cases.append(Case(f"{op}/2x3x4_diag{diag}", op, {"diagonal": diag}, [In("input", Gen(0.0, 1), [2, 3, 4])]))
    cases.append(Case("one_hot/2x3", "one_hot", {"num_classes": -1}, [In("input", IndexGen(5), [2, 3])]))
    cases.append(Case("one_hot/4_classes6", "one_hot", {"num_classes": 6}, [In("input", IndexGen(3), [4])]))
    for tag, center, l2h in (("typical", 0.0, 2), ("offset1e4", 1e4, 3)):
        for d in (0, -1):
            cases.append(Case(f"cumsum/16x8_d{d}_{tag}", "cumsum", {"dim": d}, [In("input", Gen(center, l2h), [16, 8])]))
    cases.append(Case("cumsum/1x300_long_offset1e4", "cumsum", {"dim": 1}, [In("input", Gen(1e4, 3), [1, 300])],
                      long=True))
    for d in (0, 1):
        cases.append(Case(f"cumprod/8x6_d{d}", "cumprod", {"dim": d}, [In("input", Gen(1.0, -1), [8, 6])]))
    cases.append(Case("cumprod/zeros_3x5_d1", "cumprod", {"dim": 1},
                      [In("input", [[0.5, 0.0, 1.5, -0.7, 2.0], [0.0, 0.0, 0.9, 1.2, 0.3], [1.1, 0.8, -0.6, 1.3, 0.0]])]))
    cases.append(Case("cumprod/2x40_d1_growing", "cumprod", {"dim": 1}, [In("input", Gen(1.5, -2), [2, 40])]))
    cases.append(Case("repeat/2x3_to_2x4x6", "repeat", {"repeats": [2, 2, 2]}, [In("input", Gen(0.0, 1), [2, 3])]))
    cases.append(Case("repeat/3_to_2x6", "repeat", {"repeats": [2, 2]}, [In("input", Gen(0.0, 1), [3])]))
    cases.append(Case("tile/2x3_by_2", "tile", {"dims": [2]}, [In("input", Gen(0.0, 1), [2, 3])]))
    cases.append(Case("tile/2x3_by_2x1x2", "tile", {"dims": [2, 1, 2]}, [In("input", Gen(0.0, 1), [2, 3])]))
    for k in (-1, 0, 2):
        cases.append(Case(f"diag/vector5_k{k}", "diag", {"diagonal": k}, [In("input", Gen(0.0, 1), [5])]))
        cases.append(Case(f"diag/matrix4x6_k{k}", "diag", {"diagonal": k}, [In("input", Gen(0.0, 1), [4, 6])]))
    cases.append(Case("masked_select/4x6_broadcast_mask", "masked_select", {},
                      [In("input", Gen(0.0, 1), [4, 6]), In("mask", mask)]))
    nz = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    cases.append(Case("nonzero/4x3", "nonzero", {}, [In("input", nz, requires_grad=False)]))
    cases.append(Case("index_add/4x6_d1_repeats_alpha2", "index_add", {"dim": 1, "alpha": 2.0},
                      [In("input", Gen(0.0, 1), [4, 6]), In("index", np.array([5, 0, 5, 2], np.int64)),
                       In("source", Gen(0.0, 1), [4, 4])]))
    cases.append(Case("index_copy/4x6_d0", "index_copy", {"dim": 0},
                      [In("input", Gen(0.0, 1), [4, 6]), In("index", np.array([3, 1], np.int64)),
                       In("source", Gen(0.0, 1), [2, 6])]))
    cases.append(Case("index_fill/4x6_d-1_negative_index", "index_fill", {"dim": -1, "value": 2.5},
                      [In("input", Gen(0.0, 1), [4, 6]), In("index", np.array([-1, 0, 2], np.int64))]))
    cases.append(Case("repeat_interleave/3x2_d0_tensor", "repeat_interleave", {"dim": 0},
                      [In("input", Gen(0.0, 1), [3, 2]), In("repeats", np.array([2, 0, 3], np.int64))]))
    cases.append(Case("repeat_interleave/3x2_flat_2", "repeat_interleave", {"repeats": 2, "dim": None},
                      [In("input", Gen(0.0, 1), [3, 2])]))
    for desc in (False, True):
        cases.append(Case(f"sort/4x16_d1_desc{desc}", "sort", {"dim": 1, "descending": desc},
                          [In("input", Gen(0.0, 2), [4, 16])]))
        cases.append(Case(f"sort/16x4_d0_desc{desc}", "sort", {"dim": 0, "descending": desc},
                          [In("input", Gen(0.0, 2), [16, 4])]))
        # ties (two values repeated 20 times) large magnitudes and signed zeros
        ties = np.array([[2.0 if i % 3 else 1.0 for i in range(20)], [float(i % 2) for i in range(20)]], np.float32)
        cases.append(Case(f"sort/ties_2x20_desc{desc}", "sort", {"dim": -1, "descending": desc}, [In("input", ties)]))
        cases.append(Case(f"argsort/ties_2x20_desc{desc}", "argsort", {"dim": 1, "descending": desc},
                          [In("input", ties, requires_grad=False)]))
        cases.append(Case(f"sort/extremes_desc{desc}", "sort", {"dim": 0, "descending": desc},
                          [In("input", [1.0, -1e4, 3.0, 1e4, -2.0, -0.0, 0.0])]))
    for largest in (True, False):
        cases.append(Case(f"topk/4x16_k5_largest{largest}", "topk", {"k": 5, "dim": -1, "largest": largest},
                          [In("input", Gen(0.0, 2), [4, 16])]))
        cases.append(Case(f"topk/16x4_k3_d0_largest{largest}", "topk", {"k": 3, "dim": 0, "largest": largest},
                          [In("input", Gen(0.0, 2), [16, 4])]))
    return cases


def softmax_cases():
    cases = []
    for op in ("softmax", "log_softmax"):
        for tag, center, l2h in OFFSETS + SCALES:
            cases.append(Case(f"{op}/8x32_d1_{tag}", op, {"dim": 1}, [In("input", Gen(center, l2h), [8, 32])]))
            cases.append(Case(f"{op}/32x8_d0_{tag}", op, {"dim": 0}, [In("input", Gen(center, l2h), [32, 8])]))
        # Long rows: the sum of a million exponentials, contiguous and strided.
        cases.append(Case(f"{op}/1x1000000_d1", op, {"dim": 1}, [In("input", Gen(0.0, 3), [1, 1000000])], long=True))
        cases.append(Case(f"{op}/1x1000000_d1_offset1e4", op, {"dim": 1}, [In("input", Gen(1e4, 3), [1, 1000000])],
                          long=True))
        cases.append(Case(f"{op}/100000x4_d0", op, {"dim": 0}, [In("input", Gen(0.0, 3), [100000, 4])], long=True))
    return cases


def ce_index_case(name, n, c, center, l2h, reduction="mean", ls=0.0, weight=False, long=False):
    t = IndexGen(c).values(seed_of(f"{name}/target"), (n,))
    inputs = [In("input", Gen(center, l2h), [n, c]), In("target", IndexGen(c), [n])]
    if weight:
        inputs.append(In("weight", Gen(1.0, -1), [c], requires_grad=False))
    attrs = {"reduction": reduction, "label_smoothing": ls, "ignore_index": -100}
    # The target entries of the gradient: softmax - 1, where a rounded log-sum-exp shows first.
    must = {"grad.input": [i * c + int(t[i]) for i in range(min(n, 256))]}
    return Case(name, "cross_entropy", attrs, inputs, long=long, must_sample=must)


def loss_cases():
    cases = []
    for tag, center, l2h in OFFSETS + SCALES:
        for red in ("mean", "sum", "none"):
            cases.append(ce_index_case(f"cross_entropy/index_16x10_{red}_{tag}", 16, 10, center, l2h, red))
        cases.append(ce_index_case(f"cross_entropy/index_16x10_mean_ls0.1_{tag}", 16, 10, center, l2h, ls=0.1))
        cases.append(ce_index_case(f"cross_entropy/index_16x10_mean_weight_ls0.1_{tag}", 16, 10, center, l2h, ls=0.1,
                                   weight=True))
        q = torch.softmax(torch.from_numpy(Gen(0.0, 1).values(seed_of(f"probs/{tag}"), (8, 10))).double(), 1)
        cases.append(Case(f"cross_entropy/probs_8x10_mean_{tag}", "cross_entropy",
                          {"reduction": "mean", "label_smoothing": 0.0, "ignore_index": -100},
                          [In("input", Gen(center, l2h), [8, 10]), In("target", q.float().numpy())]))
    # Long rows (100000 classes) and many rows (a mean over 100000 samples).
    cases.append(ce_index_case("cross_entropy/index_2x100000_mean_offset1e4", 2, 100000, 1e4, 3, long=True))
    cases.append(ce_index_case("cross_entropy/index_2x100000_mean_ls0.1", 2, 100000, 0.0, 3, ls=0.1, long=True))
    cases.append(ce_index_case("cross_entropy/index_100000x10_mean_offset1e4", 100000, 10, 1e4, 3, long=True))
    for red in ("mean", "sum"):
        cases.append(Case(f"nll_loss/100000x4_{red}", "nll_loss", {"reduction": red, "ignore_index": -100},
                          [In("input", Gen(-8.0, 3), [100000, 4]), In("target", IndexGen(4), [100000])], long=True))
    for tag, l2h in (("scale1e4", 13), ("scale1e6", 20)):
        for red in ("mean", "none"):
            cases.append(Case(f"binary_cross_entropy_with_logits/16x8_{red}_{tag}", "binary_cross_entropy_with_logits",
                              {"reduction": red}, [In("input", Gen(0.0, l2h), [16, 8]),
                                                   In("target", Gen(0.5, -1), [16, 8])]))
        cases.append(Case(f"binary_cross_entropy_with_logits/16x8_mean_pos_weight_{tag}",
                          "binary_cross_entropy_with_logits", {"reduction": "mean"},
                          [In("input", Gen(0.0, l2h), [16, 8]), In("target", Gen(0.5, -1), [16, 8]),
                           In("pos_weight", Gen(1.0, -1), [8])]))
    cases.append(Case("binary_cross_entropy_with_logits/1000000_mean", "binary_cross_entropy_with_logits",
                      {"reduction": "mean"}, [In("input", Gen(0.0, 3), [1000000]),
                                              In("target", Gen(0.5, -1), [1000000])], long=True))
    return cases


def reduction_cases():
    cases = []
    for tag, center, l2h in OFFSETS + SCALES:
        cases.append(Case(f"logsumexp/8x32_d1_{tag}", "logsumexp", {"dim": [1], "keepdim": False},
                          [In("input", Gen(center, l2h), [8, 32])]))
    for tag, center in (("", 0.0), ("_offset1e4", 1e4)):
        cases.append(Case(f"logsumexp/1000000{tag}", "logsumexp", {"dim": None, "keepdim": False},
                          [In("input", Gen(center, 3), [1000000])], long=True))
    for op in ("sum", "mean"):
        cases.append(Case(f"{op}/1000000_offset1e4", op, {"dim": None, "keepdim": False},
                          [In("input", Gen(1e4, 3), [1000000])], long=True))
        for d in (0, 1):
            cases.append(Case(f"{op}/1000x1000_d{d}_offset1e4", op, {"dim": [d], "keepdim": False},
                              [In("input", Gen(1e4, 3), [1000, 1000])], long=True))
    for op in ("var", "std"):
        for tag, center, l2h in OFFSETS + [("scale1e18", 0.0, 60)]:
            cases.append(Case(f"{op}/8x1000_d1_{tag}", op, {"dim": [1], "unbiased": True, "keepdim": False},
                              [In("input", Gen(center, l2h), [8, 1000])], long=True))
            cases.append(Case(f"{op}/1000000_{tag}", op, {"dim": None, "unbiased": False, "keepdim": False},
                              [In("input", Gen(center, l2h), [1000000])], long=True))
    for tag, center, l2h in (("", 0.0, 3), ("_offset1e4", 1e4, 3), ("_scale1e19", 0.0, 63), ("_scale1e-25", 0.0, -83)):
        cases.append(Case(f"norm/1000000{tag}", "norm", {"ord": 2, "dim": None, "keepdim": False},
                          [In("input", Gen(center, l2h), [1000000])], long=True))
    return cases


def norm_cases():
    # batch_norm's running statistics (at an offset, ~1e5 after one update) would size the case's atol and
    # hide errors in its output: the offset cases run without them, one case checks them.
    cases = []
    for tag, center, l2h in OFFSETS + [("scale1e15", 0.0, 50)]:
        cases.append(Case(f"layer_norm/4x256_{tag}", "layer_norm", {"normalized_shape": [256], "eps": 1e-05},
                          [In("input", Gen(center, l2h), [4, 256]), In("weight", Gen(1.0, -1), [256]),
                           In("bias", Gen(0.0, 0), [256])], long=True))
        cases.append(Case(f"batch_norm/64x4x64_train_{tag}", "batch_norm",
                          {"training": True, "momentum": 0.1, "eps": 1e-05},
                          [In("input", Gen(center, l2h), [64, 4, 64]), In("weight", Gen(1.0, -1), [4]),
                           In("bias", Gen(0.0, 0), [4])], long=True))
    cases.append(Case("batch_norm/64x4x64_train_stats_offset1e4", "batch_norm",
                      {"training": True, "momentum": 0.1, "eps": 1e-05},
                      [In("input", Gen(1e4, 3), [64, 4, 64]), In("running_mean", np.full(4, 1e4, np.float32)),
                       In("running_var", np.ones(4, np.float32)), In("weight", Gen(1.0, -1), [4]),
                       In("bias", Gen(0.0, 0), [4])], long=True))
    for tag, center in (("offset1e4", 1e4), ("offset1e6", 1e6)):
        cases.append(Case(f"layer_norm/2x100000_{tag}", "layer_norm", {"normalized_shape": [100000], "eps": 1e-05},
                          [In("input", Gen(center, 3), [2, 100000])], long=True))
        cases.append(Case(f"batch_norm/16x4x16384_train_{tag}", "batch_norm",
                          {"training": True, "momentum": 0.1, "eps": 1e-05},
                          [In("input", Gen(center, 3), [16, 4, 16384])], long=True))
    return cases


def layers_cases():
    cases = []
    pads = [("constant", [1, -1, 2, 0], [2, 3, 4], 0.5), ("constant", [2, 1], [0, 3], -1.0),
            ("constant", [-1, -2, 1, 1, 0, 1], [2, 3, 4], 0.0), ("reflect", [2, 1], [2, 3, 5], 0.0),
            ("reflect", [1, 1, 2, 0, 1, 2], [1, 2, 3, 4, 5], 0.0), ("replicate", [1, 2, 0, 1], [1, 2, 3, 4], 0.0),
            ("replicate", [3, -1], [2, 2, 4], 0.0), ("circular", [1, 2, 2, 1], [1, 2, 3, 4], 0.0)]
    for mode, pad, shape, value in pads:
        tag = "x".join(map(str, shape)) + "_" + "_".join(map(str, pad))
        cases.append(Case(f"pad/{mode}_{tag}", "pad", {"pad": pad, "mode": mode, "value": value},
                          [In("input", Gen(0.0, 1), shape)]))
    interps = [("nearest_size7x9", [1, 2, 4, 5], [7, 9], None, "nearest", None),
               ("nearest_scale0.6", [1, 2, 6, 5], None, [0.6, 0.6], "nearest", None),
               ("nearest_scale2_1d", [2, 2, 5], None, [2.0], "nearest", None),
               ("bilinear_size7x9", [1, 2, 4, 5], [7, 9], None, "bilinear", False),
               ("bilinear_size7x9_corners", [1, 2, 4, 5], [7, 9], None, "bilinear", True),
               ("bilinear_scale0.5", [1, 2, 6, 8], None, [0.5, 0.5], "bilinear", False),
               ("bilinear_size1x1_corners", [1, 2, 4, 5], [1, 1], None, "bilinear", True),
               ("linear_scale1.5", [2, 2, 6], None, [1.5], "linear", False)]
    for tag, shape, size, sf, mode, ac in interps:
        cases.append(Case(f"interpolate/{tag}", "interpolate",
                          {"size": size, "scale_factor": sf, "mode": mode, "align_corners": ac},
                          [In("input", Gen(0.0, 1), shape)]))
    cases.append(Case("pixel_shuffle/2x8x3x4_r2", "pixel_shuffle", {"upscale_factor": 2},
                      [In("input", Gen(0.0, 1), [2, 8, 3, 4])]))
    cases.append(Case("pixel_unshuffle/2x6x4_r2_unbatched", "pixel_unshuffle", {"downscale_factor": 2},
                      [In("input", Gen(0.0, 1), [2, 6, 4])]))
    cases.append(Case("adaptive_max_pool2d/2x3x7x5_to_3x2", "adaptive_max_pool2d", {"output_size": [3, 2]},
                      [In("input", Gen(0.0, 1), [2, 3, 7, 5])]))
    ties = np.array([[[[1.0, 2.0, 2.0, 0.0], [2.0, 1.0, 0.0, 2.0], [0.0, 0.0, 1.0, 1.0]]]], np.float32)
    cases.append(Case("adaptive_max_pool2d/ties_1x1x3x4_to_2x3", "adaptive_max_pool2d", {"output_size": [2, 3]},
                      [In("input", ties)]))
    for tag, center, l2h in (("typical", 0.0, 1), ("offset1e4", 1e4, 3)):
        cases.append(Case(f"group_norm/3x6x4x5_g2_{tag}", "group_norm", {"num_groups": 2, "eps": 1e-05},
                          [In("input", Gen(center, l2h), [3, 6, 4, 5]), In("weight", Gen(1.0, -1), [6]),
                           In("bias", Gen(0.0, 0), [6])]))
    cases.append(Case("group_norm/2x4x3_g4_no_affine", "group_norm", {"num_groups": 4, "eps": 1e-05},
                      [In("input", Gen(0.0, 1), [2, 4, 3])]))
    return cases


def layer_loss_cases():
    cases = []
    idx = np.array([1, 4, 4, 0, 9, 2, 7, 3], np.int64)
    for mode in ("sum", "mean", "max"):
        cases.append(Case(f"embedding_bag/offsets_{mode}", "embedding_bag",
                          {"mode": mode, "include_last_offset": False, "padding_idx": None},
                          [In("input", idx), In("weight", Gen(0.0, 1), [10, 4]),
                           In("offsets", np.array([0, 3, 3, 5], np.int64))]))
    cases.append(Case("embedding_bag/offsets_sum_weighted", "embedding_bag",
                      {"mode": "sum", "include_last_offset": True, "padding_idx": None},
                      [In("input", idx), In("weight", Gen(0.0, 1), [10, 4]),
                       In("offsets", np.array([0, 2, 2, 6, 8], np.int64)), In("per_sample_weights", Gen(0.0, 0), [8])]))
    cases.append(Case("embedding_bag/2d_mean_padding", "embedding_bag",
                      {"mode": "mean", "include_last_offset": False, "padding_idx": 2},
                      [In("input", np.array([[1, 2, 3], [2, 2, 2], [5, 6, 2]], np.int64)),
                       In("weight", Gen(0.0, 1), [10, 4])]))
    targets = np.array([[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 1, 0]], np.int64)
    for red, zi, il in (("mean", False, [12, 10, 8]), ("sum", False, [12, 10, 8]), ("none", True, [12, 1, 8])):
        cases.append(Case(f"ctc_loss/12x3x5_{red}_zero_infinity{zi}", "ctc_loss",
                          {"blank": 0, "reduction": red, "zero_infinity": zi},
                          [In("log_probs", Gen(-2.0, 0), [12, 3, 5]), In("targets", targets),
                           In("input_lengths", np.array(il, np.int64)),
                           In("target_lengths", np.array([4, 2, 3], np.int64))]))
    cases.append(Case("ctc_loss/concatenated_blank4", "ctc_loss", {"blank": 4, "reduction": "mean", "zero_infinity": False},
                      [In("log_probs", Gen(-2.0, 0), [9, 2, 5]), In("targets", np.array([1, 2, 2, 0, 3], np.int64)),
                       In("input_lengths", np.array([9, 7], np.int64)),
                       In("target_lengths", np.array([3, 2], np.int64))]))
    sign = np.array([1.0, -1.0, 1.0, -1.0, -1.0], np.float32)
    for red in ("mean", "none"):
        cases.append(Case(f"cosine_embedding_loss/5x4_{red}", "cosine_embedding_loss", {"margin": 0.2, "reduction": red},
                          [In("input1", Gen(0.0, 1), [5, 4]), In("input2", Gen(0.0, 1), [5, 4]), In("target", sign)]))
    cases.append(Case("margin_ranking_loss/6_sum", "margin_ranking_loss", {"margin": 0.1, "reduction": "sum"},
                      [In("input1", Gen(0.0, 1), [6]), In("input2", Gen(0.0, 1), [6]),
                       In("target", np.array([1, -1, 1, 1, -1, -1], np.float32))]))
    for p, swap in ((2.0, True), (1.0, False), (3.0, False)):
        cases.append(Case(f"triplet_margin_loss/5x4_p{p}_swap{swap}", "triplet_margin_loss",
                          {"margin": 1.0, "p": p, "eps": 1e-06, "swap": swap, "reduction": "mean"},
                          [In("anchor", Gen(0.0, 1), [5, 4]), In("positive", Gen(0.0, 1), [5, 4]),
                           In("negative", Gen(0.0, 1), [5, 4])]))
    counts = np.array([[0, 1, 2, 3, 4], [5, 0, 1, 7, 2], [1, 1, 0, 3, 9], [2, 0, 4, 1, 1]], np.float32)
    cases.append(Case("poisson_nll_loss/log_input_full", "poisson_nll_loss",
                      {"log_input": True, "full": True, "eps": 1e-08, "reduction": "mean"},
                      [In("input", Gen(0.0, 1), [4, 5]), In("target", counts)]))
    cases.append(Case("poisson_nll_loss/rates_sum", "poisson_nll_loss",
                      {"log_input": False, "full": False, "eps": 1e-08, "reduction": "sum"},
                      [In("input", Gen(2.0, 0), [4, 5]), In("target", counts)]))
    cases.append(Case("gaussian_nll_loss/var_4x1_full", "gaussian_nll_loss",
                      {"full": True, "eps": 1e-06, "reduction": "mean"},
                      [In("input", Gen(0.0, 1), [4, 3]), In("target", Gen(0.0, 1), [4, 3]),
                       In("var", np.array([[0.5], [1e-8], [2.0], [0.3]], np.float32))]))
    cases.append(Case("gaussian_nll_loss/var_4_none", "gaussian_nll_loss",
                      {"full": False, "eps": 1e-06, "reduction": "none"},
                      [In("input", Gen(0.0, 1), [4, 3]), In("target", Gen(0.0, 1), [4, 3]),
                       In("var", Gen(1.0, -1), [4])]))
    labels = (counts > 1).astype(np.float32)
    cases.append(Case("multilabel_soft_margin_loss/4x5_weighted", "multilabel_soft_margin_loss", {"reduction": "mean"},
                      [In("input", Gen(0.0, 1), [4, 5]), In("target", labels),
                       In("weight", Gen(1.0, -1), [5], requires_grad=False)]))
    return cases


def attention_cases():
    op, attrs, causal = "scaled_dot_product_attention", {"dropout_p": 0.0, "is_causal": False}, {"dropout_p": 0.0,
                                                                                                 "is_causal": True}

    def qkv(b, L, S, E, Ev, center=0.0, l2h=0):
        return [In("query", Gen(center, l2h), b + [L, E]), In("key", Gen(center, l2h), b + [S, E]),
                In("value", Gen(0.0, 0), b + [S, Ev])]

    # A bool mask with every row keeping at least its first key.
    keep = np.array([[True, False, True, True, False], [True, True, False, False, False],
                     [True, False, False, True, True]])
    return [
        Case("sdpa/2x3x4_5x3", op, attrs, qkv([2], 3, 5, 4, 3)),
        Case("sdpa/float_mask_broadcast", op, attrs, qkv([2], 3, 5, 4, 3) + [In("attn_mask", Gen(0.0, 0), [3, 5])]),
        Case("sdpa/bool_mask_4d", op, attrs, qkv([2, 2], 3, 5, 4, 3) + [In("attn_mask", keep)]),
        Case("sdpa/causal", op, causal, qkv([2], 4, 4, 8, 4)),
        Case("sdpa/causal_rect_float_mask", op, causal, qkv([1], 3, 5, 4, 2) + [In("attn_mask", Gen(0.0, 1), [1, 3, 5])]),
        # Scores up to about 1e3: the softmax must subtract the row's maximum.
        Case("sdpa/large_scores", op, attrs, qkv([2], 4, 6, 16, 3, 8.0, 3)),
        Case("sdpa/long_rows", op, attrs, qkv([1], 2, 2000, 8, 4), long=True),
        Case("sdpa/empty_queries", op, attrs, qkv([2], 0, 5, 4, 3)),
        Case("sdpa/empty_batch", op, causal, qkv([0], 3, 3, 4, 3)),
    ]




def linalg_cases():
    cases = []
    cases.append(Case("addmm/3x4_beta0.5_alpha2", "addmm", {"beta": 0.5, "alpha": 2.0},
                      [In("input", Gen(0.0, 1), [3, 5]), In("mat1", Gen(0.0, 1), [3, 4]), In("mat2", Gen(0.0, 1), [4, 5])]))
    cases.append(Case("addmm/broadcast_bias", "addmm", {"beta": 1.0, "alpha": 1.0},
                      [In("input", Gen(0.0, 1), [5]), In("mat1", Gen(0.0, 1), [3, 4]), In("mat2", Gen(0.0, 1), [4, 5])]))
    cases.append(Case("baddbmm/2x2x3x2", "baddbmm", {"beta": -1.0, "alpha": 0.5},
                      [In("input", Gen(0.0, 1), [2, 1, 2]), In("batch1", Gen(0.0, 1), [2, 2, 3]),
                       In("batch2", Gen(0.0, 1), [2, 3, 2])]))
    cases.append(Case("outer/4x3", "outer", {}, [In("input", Gen(0.0, 1), [4]), In("vec2", Gen(0.0, 1), [3])]))
    cases.append(Case("outer/empty", "outer", {}, [In("input", Gen(0.0, 1), [0]), In("vec2", Gen(0.0, 1), [3])]))
    for eq, shapes in (("ij,jk->ik", [[3, 4], [4, 5]]), ("bij,bjk->bik", [[2, 2, 3], [2, 3, 2]]),
                       ("ij,jk", [[3, 4], [4, 2]]), ("i,i->", [[5], [5]]), ("i,j->ij", [[3], [4]]),
                       ("ij->ji", [[3, 4]]), ("ij->", [[3, 4]]), ("ii->i", [[4, 4]]), ("ii", [[4, 4]]),
                       ("...ij,...jk->...ik", [[2, 3, 4], [4, 5]]), ("bhqd,bhkd->bhqk", [[1, 2, 3, 2], [1, 2, 2, 2]]),
                       ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]), ("bn,anm,bm->ba", [[2, 3], [2, 3, 2], [2, 2]]),
                       ("i...->...", [[3, 2, 2]]), ("ijk,ik->j", [[2, 3, 4], [2, 4]])):
        cases.append(Case(f"einsum/{eq.replace('->', '_to_').replace(',', '_').replace('...', 'E')}", "einsum",
                          {"equation": eq},
                          [In(f"operand{i}", Gen(0.0, 1), sh) for i, sh in enumerate(shapes)]))
    # JSON has no infinity: "inf" and "-inf" as text.
    for ord_ in (2, 1, 3, 0.5, "inf", "-inf", 0, -1):
        cases.append(Case(f"vector_norm/4x6_d1_ord{ord_}", "vector_norm", {"ord": ord_, "dim": [1], "keepdim": False},
                          [In("input", Gen(0.0, 1), [4, 6])]))
    cases.append(Case("vector_norm/3x4x5_d0_2_keepdim", "vector_norm", {"ord": 2, "dim": [0, -1], "keepdim": True},
                      [In("input", Gen(0.0, 1), [3, 4, 5])]))
    cases.append(Case("vector_norm/zero_rows", "vector_norm", {"ord": 2, "dim": [1], "keepdim": False},
                      [In("input", [[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]])]))
    cases.append(Case("vector_norm/inf_ties", "vector_norm", {"ord": "inf", "dim": [1], "keepdim": False},
                      [In("input", [[1.0, -3.0, 3.0], [2.0, 0.5, -1.0]])]))
    cases.append(Case("vector_norm/scale1e19", "vector_norm", {"ord": 2, "dim": [1], "keepdim": False},
                      [In("input", Gen(0.0, 63), [4, 16])]))
    for dim in (1, -1, 0):
        cases.append(Case(f"cosine_similarity/3x4_d{dim}", "cosine_similarity", {"dim": dim, "eps": 1e-8},
                          [In("x1", Gen(0.0, 1), [3, 4]), In("x2", Gen(0.0, 1), [3, 4])]))
    cases.append(Case("cosine_similarity/broadcast_tiny", "cosine_similarity", {"dim": 1, "eps": 1e-8},
                      [In("x1", [[1e-9, 0.0], [1.0, 1.0]]), In("x2", [[1.0, 2.0]])]))
    for p in (2.0, 1.0, 3.0):
        cases.append(Case(f"pairwise_distance/5x4_p{p}", "pairwise_distance", {"p": p, "eps": 1e-6, "keepdim": False},
                          [In("x1", Gen(0.0, 1), [5, 4]), In("x2", Gen(0.0, 1), [5, 4])]))
    cases.append(Case("pairwise_distance/keepdim_broadcast", "pairwise_distance", {"p": 2.0, "eps": 1e-6, "keepdim": True},
                      [In("x1", Gen(0.0, 1), [5, 4]), In("x2", Gen(0.0, 1), [4])]))
    for p in (2.0, 1.0, 0.5, "inf"):
        cases.append(Case(f"cdist/4x3_5x3_p{p}", "cdist", {"p": p},
                          [In("x1", Gen(0.0, 1), [4, 3]), In("x2", Gen(0.0, 1), [5, 3])]))
    cases.append(Case("cdist/inf_ties", "cdist", {"p": "inf"},
                      [In("x1", [[0.0, 0.0], [1.0, 2.0]]), In("x2", [[3.0, -3.0], [0.5, 0.0]])]))
    cases.append(Case("cdist/batched_2x2x3_1x3x3", "cdist", {"p": 2.0},
                      [In("x1", Gen(0.0, 1), [2, 2, 3]), In("x2", Gen(0.0, 1), [1, 3, 3])]))
    return cases


def stats_cases():
    cases = []
    b = np.array([[True, False, True], [True, True, True]])
    for op in ("all", "any"):
        cases.append(Case(f"{op}/whole", op, {"dim": None, "keepdim": False}, [In("input", b)]))
        cases.append(Case(f"{op}/d1", op, {"dim": 1, "keepdim": False}, [In("input", b)]))
        cases.append(Case(f"{op}/float_d-2_keepdim", op, {"dim": -2, "keepdim": True},
                          [In("input", [[0.0, -1.0, 1.0], [0.0, 0.0, 2.0]], requires_grad=False)]))
        cases.append(Case(f"{op}/empty", op, {"dim": None, "keepdim": False},
                          [In("input", np.zeros((0, 3), np.float32), requires_grad=False)]))
    cases.append(Case("count_nonzero/all", "count_nonzero", {"dim": None},
                      [In("input", [[0.0, 1.5, 0.0], [-2.0, 0.0, -0.0]], requires_grad=False)]))
    cases.append(Case("count_nonzero/d0_1", "count_nonzero", {"dim": [0, -1]},
                      [In("input", np.array([[[0, 1], [2, 0]], [[3, 0], [0, 0]]], np.int64))]))
    ties = [[3.0, 1.0, 2.0, 1.0, 3.0, 2.0, 1.0], [2.0, 1.0, 2.0, 1.0, 5.0, 5.0, 0.5]]
    cases.append(Case("median/whole", "median", {"dim": None}, [In("input", Gen(0.0, 1), [5, 7])]))
    cases.append(Case("median/whole_ties", "median", {"dim": None}, [In("input", ties)]))
    for dim in (1, -2):
        cases.append(Case(f"median/5x7_d{dim}", "median", {"dim": dim, "keepdim": False},
                          [In("input", Gen(0.0, 1), [5, 7])]))
    cases.append(Case("median/ties_d1_keepdim", "median", {"dim": 1, "keepdim": True}, [In("input", ties)]))
    cases.append(Case("mode/ties_d1", "mode", {"dim": 1, "keepdim": False}, [In("input", ties)]))
    cases.append(Case("mode/ties_d0_keepdim", "mode", {"dim": 0, "keepdim": True},
                      [In("input", [[1.0, 2.0], [3.0, 2.0], [1.0, 4.0], [3.0, 4.0]])]))
    for interp in ("linear", "lower", "higher", "midpoint", "nearest"):
        cases.append(Case(f"quantile/5x8_d1_{interp}", "quantile", {"dim": 1, "keepdim": False, "interpolation": interp},
                          [In("input", Gen(0.0, 1), [5, 8]),
                           In("q", np.array([0.0, 0.25, 0.5, 0.8, 1.0], np.float32), requires_grad=False)]))
    cases.append(Case("quantile/flat_scalar_q", "quantile", {"q": 0.3, "dim": None, "keepdim": False,
                                                              "interpolation": "linear"},
                      [In("input", Gen(0.0, 1), [4, 5])]))
    cases.append(Case("quantile/d-2_keepdim", "quantile", {"dim": -2, "keepdim": True, "interpolation": "linear"},
                      [In("input", Gen(0.0, 1), [6, 3]), In("q", np.array([0.1, 0.9], np.float32), requires_grad=False)]))
    cases.append(Case("quantile/flat_keepdim", "quantile", {"q": 0.5, "dim": None, "keepdim": True,
                                                             "interpolation": "midpoint"},
                      [In("input", Gen(0.0, 1), [3, 4])]))
    cases.append(Case("quantile/nearest_half_even", "quantile", {"dim": 0, "keepdim": False, "interpolation": "nearest"},
                      [In("input", [1.0, 2.0, 3.0, 4.0, 5.0]),
                       In("q", np.array([0.125, 0.375, 0.625, 0.875], np.float32), requires_grad=False)]))
    for op in ("var_mean", "std_mean"):
        cases.append(Case(f"{op}/4x6_d1", op, {"dim": [1], "unbiased": True, "keepdim": False},
                          [In("input", Gen(0.0, 1), [4, 6])]))
        cases.append(Case(f"{op}/3x4x5_d0_2_biased_keepdim", op, {"dim": [0, -1], "unbiased": False, "keepdim": True},
                          [In("input", Gen(0.0, 1), [3, 4, 5])]))
    cases.append(Case("tensor_unfold/8_size3_step2", "tensor_unfold", {"dimension": 0, "size": 3, "step": 2},
                      [In("input", Gen(0.0, 1), [8])]))
    cases.append(Case("tensor_unfold/3x7_d-1_size2_step1", "tensor_unfold", {"dimension": -1, "size": 2, "step": 1},
                      [In("input", Gen(0.0, 1), [3, 7])]))
    cases.append(Case("tensor_unfold/5x3_d0_size5_step3", "tensor_unfold", {"dimension": 0, "size": 5, "step": 3},
                      [In("input", Gen(0.0, 1), [5, 3])]))
    cases.append(Case("unfold/2x3x5x6_k2x3", "unfold", {"kernel_size": [2, 3], "dilation": [1, 1], "padding": [0, 0],
                                                          "stride": [1, 1]}, [In("input", Gen(0.0, 1), [2, 3, 5, 6])]))
    cases.append(Case("unfold/1x2x6x7_all", "unfold", {"kernel_size": [3, 2], "dilation": [2, 1], "padding": [1, 2],
                                                         "stride": [2, 3]}, [In("input", Gen(0.0, 1), [1, 2, 6, 7])]))
    cases.append(Case("fold/2x12x12_to_5x6", "fold", {"output_size": [5, 6], "kernel_size": [2, 3], "dilation": [1, 1],
                                                       "padding": [0, 0], "stride": [1, 1]},
                      [In("input", Gen(0.0, 1), [2, 18, 16])]))
    cases.append(Case("fold/1x12x8_all", "fold", {"output_size": [6, 7], "kernel_size": [3, 2], "dilation": [2, 1],
                                                  "padding": [1, 2], "stride": [2, 3]},
                      [In("input", Gen(0.0, 1), [1, 12, 8])]))
    return cases


def conv_cases():
    """Convolutions large enough for the fast paths the shared fixtures' small shapes never reach: Winograd
    F(4x4, 3x3) (float32 3x3 stride 1, >= 16 channels each side, planes >= 20x20, >= 1024 outputs per image)
    in the forward, both gradients and conv_transpose2d's forward, and the direct few-tap kernel (C_in * kh * kw
    <= 16, the MNIST CNN's first layer)."""
    cases = []

    def conv(name, n, c, co, hw, pad, bias=True, l2h=0):
        ins = [In("input", Gen(0.0, l2h), [n, c, hw, hw]), In("weight", Gen(0.0, -2), [co, c, 3, 3])]
        if bias:
            ins.append(In("bias", Gen(0.0, -1), [co]))
        cases.append(Case(f"conv2d/{name}", "conv2d",
                          {"stride": [1, 1], "padding": [pad, pad], "dilation": [1, 1], "groups": 1}, ins, long=True))

    conv("winograd_1x16x16_32x32_pad1", 1, 16, 16, 32, 1)
    conv("winograd_2x16x24_34x34_pad0_nobias", 2, 16, 24, 34, 0, bias=False)
    conv("winograd_1x32x16_33x33_pad1_scale1e3", 1, 32, 16, 33, 1, l2h=10)
    conv("direct_4x1x32_28x28_pad0", 4, 1, 32, 28, 0)
    cases.append(Case("conv_transpose2d/winograd_1x16x16_32x32_pad1", "conv_transpose2d",
                      {"stride": [1, 1], "padding": [1, 1], "output_padding": [0, 0], "groups": 1, "dilation": [1, 1]},
                      [In("input", Gen(0.0, 0), [1, 16, 32, 32]), In("weight", Gen(0.0, -2), [16, 16, 3, 3]),
                       In("bias", Gen(0.0, -1), [16])], long=True))
    return cases


def fused_cases():
    """conv2d_relu_maxpool2d: max_pool2d(relu(conv2d(...)), 2) on each conv path (direct, im2col + GEMM),
    odd conv outputs, groups, stride, dilation, no bias."""
    conv = {"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1}
    cases = []
    for name, x, w, bias, attrs in [
            ("2x1x9x8_w4x1x3x3", [2, 1, 9, 8], [4, 1, 3, 3], True, {}),
            ("2x3x7x6_w5x3x3x3_pad1", [2, 3, 7, 6], [5, 3, 3, 3], True, {"padding": [1, 1]}),
            ("1x4x11x10_w6x2x3x2_groups2", [1, 4, 11, 10], [6, 2, 3, 2], False,
             {"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2], "groups": 2}),
            ("1x2x5x5_w3x2x1x1", [1, 2, 5, 5], [3, 2, 1, 1], True, {})]:
        ins = [In("input", Gen(0.0, 1), x), In("weight", Gen(0.0, -1), w)]
        if bias:
            ins.append(In("bias", Gen(0.0, -2), [w[0]]))
        cases.append(Case(f"conv2d_relu_maxpool2d/{name}", "conv2d_relu_maxpool2d", {**conv, **attrs}, ins))
    return cases


FAMILIES = {"conv": conv_cases, "attention": attention_cases, "activation": activation_cases, "maths": maths_cases, "indexing": indexing_cases, "softmax": softmax_cases, "loss": loss_cases,
            "reduction": reduction_cases, "norm": norm_cases, "layers": layers_cases,
            "layer_losses": layer_loss_cases, "linalg": linalg_cases, "stats": stats_cases, "fused": fused_cases}


def render(family, cases):
    """One JSON object per file, one case per line (as the shared fixtures), stable key order."""
    head = {"family": family, "format_version": 1, "reference": REFERENCE, "accuracy": ACCURACY}
    text = json.dumps(head, separators=(",", ":"))[:-1] + ',"cases":[\n'
    text += ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases)
    return text + "\n]}\n"


def same_numbers(a, b):
    """True when two case files hold the same structure and numbers up to float64 rounding: the
    BLAS that PyTorch links (Debian's reference BLAS or OpenBLAS) rounds matmul results differently
    in the last bits, which is not a stale file. The same goes for PyTorch's own float32 error, which
    depends on that BLAS's summation order: it must be there, its value may differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(
            k == "torch_float32_error" or same_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_numbers(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
        return False
    return a == b


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=CASES_DIR, help="folder to write (default: tests/conformance/cases)")
    p.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    p.add_argument("families", nargs="*", help="families to generate (default: all)")
    args = p.parse_args()
    stale = []
    for family in args.families or FAMILIES:
        cases = [build(c) for c in FAMILIES[family]()]
        names = [c["name"] for c in cases]
        assert len(set(names)) == len(names), f"{family}: duplicate case names"
        text = render(family, cases)
        path = os.path.join(args.out, f"{family}.json")
        if args.check:
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if old is not None and f'"reference":"{REFERENCE}"' not in old.split("\n", 1)[0]:
                print(f"{path} was written by another PyTorch than {REFERENCE}: skipped")
                return 77
            if old != text and not same_numbers(json.loads(old) if old else None, json.loads(text)):
                stale.append(path)
            continue
        os.makedirs(args.out, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"{path}: {len(cases)} cases, {len(text) // 1024} KiB")
    if stale:
        print("stale (rerun tests/conformance/generate.py):", " ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
