#!/usr/bin/python3
"""PyTorch's side of tests/nn/test_torch_layers.cpp, with Debian's python3-torch.

    torch_layers.py OUT_DIR

Writes OUT_DIR/<case>.safetensors for each layer and loss below: the PyTorch twin's state_dict
("state.<name>", in state_dict order), its inputs ("input.<i>"), output ("output"), the gradient
fed back ("grad_output"), the gradients of the floating inputs ("grad.input.<i>") and parameters
("grad.state.<name>"), and buffers after the forward ("after.<name>"). Float32 throughout, fixed
seeds. Exits 77 without torch.
"""
import json
import os
import struct
import sys
import zlib

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("python3-torch is missing: skipped")
    sys.exit(77)

torch.set_num_threads(1)
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        t = t.detach().contiguous()
        blob = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def randn(*shape):
    return torch.randn(tuple(shape), dtype=torch.float32)


def perturb(m):
    """Parameters away from their constant inits (ones, zeros), so the test sees them act."""
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))


def case(out, name, module, inputs, train=True, fwd=None, tweak=True, targets=()):
    torch.manual_seed(zlib.crc32(name.encode()))
    if tweak:
        perturb(module)
    module.train(train)
    state = list(module.state_dict().items())
    tensors = [("state." + k, v.clone()) for k, v in state]
    leaves = []
    for i, x in enumerate(inputs):
        tensors.append((f"input.{i}", x))
        if x.is_floating_point() and i not in targets:
            x = x.clone().requires_grad_(True)
            leaves.append((i, x))
        inputs[i] = x
    y = fwd(module, *inputs) if fwd else module(*inputs)
    go = randn(*y.shape)
    (y * go).sum().backward()
    tensors += [("output", y), ("grad_output", go)]
    tensors += [(f"grad.input.{i}", x.grad) for i, x in leaves]
    for k, p in module.named_parameters():
        tensors.append(("grad.state." + k, p.grad if p.grad is not None else torch.zeros_like(p)))
    for k, b in module.named_buffers():
        tensors.append(("after." + k, b))
    write(os.path.join(out, name + ".safetensors"), tensors)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    case(out, "conv1d", nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), [randn(2, 4, 9)])
    case(out, "conv1d_circular", nn.Conv1d(4, 6, 3, padding=1, padding_mode="circular"), [randn(2, 4, 9)])
    case(out, "conv1d_unbatched", nn.Conv1d(4, 6, 3), [randn(4, 9)])
    case(out, "conv1d_reflect", nn.Conv1d(3, 5, 3, padding=2, dilation=2, bias=False, padding_mode="reflect"),
         [randn(2, 3, 8)])
    case(out, "conv_transpose1d", nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         [randn(2, 4, 5)])
    case(out, "max_pool1d", nn.MaxPool1d(3, stride=2, padding=1), [randn(2, 3, 9)])
    case(out, "avg_pool1d", nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False), [randn(2, 3, 9)])
    case(out, "adaptive_max_pool2d", nn.AdaptiveMaxPool2d((3, 2)), [randn(2, 3, 7, 5)])
    case(out, "upsample_nearest_scale2", nn.Upsample(scale_factor=2, mode="nearest"), [randn(2, 3, 4, 5)])
    case(out, "upsample_nearest_size", nn.Upsample(size=(7, 9), mode="nearest"), [randn(2, 3, 4, 5)])
    case(out, "upsample_bilinear_size", nn.Upsample(size=(7, 9), mode="bilinear", align_corners=False),
         [randn(2, 3, 4, 5)])
    case(out, "upsample_bilinear_scale_corners", nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
         [randn(2, 3, 4, 5)])
    case(out, "upsample_linear_scale", nn.Upsample(scale_factor=2.5, mode="linear", align_corners=False),
         [randn(2, 3, 5)])
    case(out, "pixel_shuffle", nn.PixelShuffle(2), [randn(2, 8, 3, 4)])
    case(out, "pixel_unshuffle", nn.PixelUnshuffle(2), [randn(2, 2, 4, 6)])
    case(out, "group_norm", nn.GroupNorm(2, 6), [randn(3, 6, 4, 5)])
    case(out, "instance_norm1d_train", nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
         [randn(3, 4, 10) * 2 + 1])
    m = nn.InstanceNorm1d(4, affine=True, track_running_stats=True)
    with torch.no_grad():
        m.running_mean.copy_(randn(4))
        m.running_var.copy_(torch.rand(4) + 0.5)
    case(out, "instance_norm1d_eval", m, [randn(3, 4, 10)], train=False)
    case(out, "instance_norm2d", nn.InstanceNorm2d(3), [randn(2, 3, 5, 6)])
    case(out, "instance_norm2d_unbatched", nn.InstanceNorm2d(3, affine=True), [randn(3, 5, 6)])
    case(out, "dropout2d_eval", nn.Dropout2d(0.3), [randn(2, 3, 4, 5)], train=False)
    case(out, "alpha_dropout_eval", nn.AlphaDropout(0.3), [randn(2, 3, 4)], train=False)
    case(out, "unflatten", nn.Unflatten(1, (2, 5)), [randn(3, 10)])
    case(out, "zero_pad2d", nn.ZeroPad2d((1, 2, 0, 3)), [randn(2, 3, 4, 5)])
    case(out, "constant_pad2d", nn.ConstantPad2d((1, -1, 2, 0), 0.5), [randn(2, 3, 4, 5)])
    case(out, "reflection_pad2d", nn.ReflectionPad2d(2), [randn(2, 3, 4, 5)])
    case(out, "replication_pad2d", nn.ReplicationPad2d((1, 0, 2, 1)), [randn(2, 3, 4, 5)])
    case(out, "reflection_pad1d", nn.ReflectionPad1d((3, 1)), [randn(2, 3, 5)])
    case(out, "replication_pad1d", nn.ReplicationPad1d((0, 2)), [randn(2, 3, 5)])
    case(out, "constant_pad1d", nn.ConstantPad1d(2, -1.5), [randn(2, 3, 5)])
    case(out, "bilinear", nn.Bilinear(4, 3, 5), [randn(6, 4), randn(6, 3)])
    case(out, "prelu", nn.PReLU(3, 0.1), [randn(2, 3, 4)])
    idx = torch.tensor([1, 4, 4, 0, 9, 2, 7, 3], dtype=torch.int64)
    case(out, "embedding_bag_sum", nn.EmbeddingBag(10, 4, mode="sum"),
         [idx, torch.tensor([0, 3, 3, 5]), torch.rand(8)], tweak=False)
    case(out, "embedding_bag_mean_padding", nn.EmbeddingBag(10, 4, mode="mean", padding_idx=2),
         [torch.tensor([[1, 2, 3], [2, 2, 2], [5, 6, 2]])], tweak=False)
    case(out, "embedding_bag_max_last_offset", nn.EmbeddingBag(10, 4, mode="max", include_last_offset=True),
         [idx, torch.tensor([0, 2, 2, 6, 8])], tweak=False)
    # Losses: the module is the loss; its inputs as the forward takes them.
    sign = torch.tensor([1, -1, 1, -1, -1], dtype=torch.float32)
    case(out, "cosine_embedding_loss", nn.CosineEmbeddingLoss(margin=0.2), [randn(5, 4), randn(5, 4), sign], targets=(2,))
    case(out, "margin_ranking_loss", nn.MarginRankingLoss(margin=0.1, reduction="sum"),
         [randn(6), randn(6), torch.tensor([1, -1, 1, 1, -1, -1], dtype=torch.float32)], targets=(2,))
    case(out, "triplet_margin_loss", nn.TripletMarginLoss(margin=1.0, p=2, swap=True),
         [randn(5, 4), randn(5, 4), randn(5, 4)])
    case(out, "triplet_margin_loss_p1", nn.TripletMarginLoss(margin=0.5, p=1, reduction="none"),
         [randn(5, 4), randn(5, 4), randn(5, 4)])
    lp = torch.log_softmax(randn(12, 3, 5), -1)
    case(out, "ctc_loss", nn.CTCLoss(blank=0),
         [lp, torch.tensor([[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 1, 0]]), torch.tensor([12, 10, 8]),
          torch.tensor([4, 2, 3])])
    case(out, "ctc_loss_concat_sum", nn.CTCLoss(blank=4, reduction="sum"),
         [lp, torch.tensor([1, 2, 2, 3, 0, 1, 3, 3, 1]), torch.tensor([12, 10, 8]), torch.tensor([4, 2, 3])])
    case(out, "ctc_loss_zero_infinity", nn.CTCLoss(blank=0, reduction="none", zero_infinity=True),
         [lp, torch.tensor([[1, 2, 2, 3], [4, 1, 0, 0], [3, 3, 1, 0]]), torch.tensor([12, 1, 8]),
          torch.tensor([4, 2, 3])])
    case(out, "poisson_nll_loss_full", nn.PoissonNLLLoss(log_input=True, full=True),
         [randn(4, 5), torch.randint(0, 5, (4, 5)).float()], targets=(1,))
    case(out, "poisson_nll_loss_rates", nn.PoissonNLLLoss(log_input=False, reduction="sum"),
         [torch.rand(4, 5) + 0.1, torch.randint(0, 5, (4, 5)).float()], targets=(1,))
    case(out, "gaussian_nll_loss", nn.GaussianNLLLoss(full=True),
         [randn(4, 3), randn(4, 3), torch.tensor([[0.5], [1e-8], [2.0], [0.3]])], targets=(1,))
    case(out, "multilabel_soft_margin_loss", nn.MultiLabelSoftMarginLoss(weight=torch.rand(5) + 0.5),
         [randn(4, 5), torch.randint(0, 2, (4, 5)).float()], tweak=False, targets=(1,))
    return 0


if __name__ == "__main__":
    sys.exit(main())
