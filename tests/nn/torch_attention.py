#!/usr/bin/python3
"""PyTorch's side of tests/nn/test_attention.cpp, with Debian's python3-torch (1.13).

    torch_attention.py OUT_DIR

Builds MultiheadAttention, the transformer layers and stacks, and the text_transformer example's
model in float64 with dropout 0, and writes one safetensors file per case into OUT_DIR:
"state.<name>" the module's state_dict, "in.<name>" the inputs, "out.<k>" the outputs, "gout.<k>"
the gradients fed back, "grad.<name>" the parameters' gradients and "gradin.<name>" the inputs'.
The text_transformer case holds the initial weights, 20 batches of tokens and PyTorch's first 20
Adam training losses. Exits 77 without torch.
"""
import json
import struct
import sys

try:
    import torch
    from torch import nn
except ImportError:
    print("python3-torch is missing: skipped")
    sys.exit(77)

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64", torch.bool: "BOOL"}


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        blob = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def case(out_dir, name, module, inputs, call):
    """Runs call(module, **inputs) in training mode (dropout is 0), backpropagates sum(out·gout)."""
    module.train()
    leaves = {k: v.clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
    outs = call(module, leaves)
    outs = [o for o in outs if o is not None]
    gouts = [torch.randn(o.shape, dtype=torch.float64) for o in outs]
    loss = sum((o * g).sum() for o, g in zip(outs, gouts))
    loss.backward()
    d = {f"state.{k}": v for k, v in module.state_dict().items()}
    d.update({f"in.{k}": v for k, v in inputs.items()})
    d.update({f"out.{i}": o for i, o in enumerate(outs)})
    d.update({f"gout.{i}": g for i, g in enumerate(gouts)})
    d.update({f"grad.{k}": p.grad for k, p in module.named_parameters() if p.grad is not None})
    d.update({f"gradin.{k}": v.grad for k, v in leaves.items() if v.grad is not None})
    write(f"{out_dir}/{name}.safetensors", d)


def causal(n):
    return torch.triu(torch.full((n, n), float("-inf"), dtype=torch.float64), diagonal=1)


def main(out_dir):
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    r = lambda *s: torch.randn(*s, dtype=torch.float64)
    kpm = torch.tensor([[False, False, True, False, True], [False, False, False, False, False]])

    mha = nn.MultiheadAttention(8, 2, dropout=0.0)
    case(out_dir, "mha_basic", mha, {"q": r(3, 2, 8), "k": r(5, 2, 8), "v": r(5, 2, 8), "kpm": kpm, "mask": r(3, 5)},
         lambda m, t: m(t["q"], t["k"], t["v"], key_padding_mask=t["kpm"], attn_mask=t["mask"]))

    mha2 = nn.MultiheadAttention(8, 2, kdim=6, vdim=4, add_bias_kv=True, add_zero_attn=True, batch_first=True)
    bmask = torch.tensor([[False, True, False, False, True], [True, False, False, False, False],
                          [False, False, True, True, False]])
    case(out_dir, "mha_kdim_bias_kv", mha2, {"q": r(2, 3, 8), "k": r(2, 5, 6), "v": r(2, 5, 4), "mask": bmask},
         lambda m, t: m(t["q"], t["k"], t["v"], attn_mask=t["mask"], average_attn_weights=False))

    mha3 = nn.MultiheadAttention(4, 1)
    case(out_dir, "mha_unbatched_self", mha3, {"x": r(3, 4)}, lambda m, t: m(t["x"], t["x"], t["x"]))

    enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    case(out_dir, "encoder_layer_post", enc, {"src": r(2, 5, 8), "mask": causal(5), "kpm": kpm},
         lambda m, t: [m(t["src"], src_mask=t["mask"], src_key_padding_mask=t["kpm"])])

    enc2 = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", norm_first=True)
    case(out_dir, "encoder_layer_pre_gelu", enc2, {"src": r(5, 2, 8)}, lambda m, t: [m(t["src"])])

    stack = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), 2,
                                  norm=nn.LayerNorm(8), enable_nested_tensor=False)
    case(out_dir, "encoder", stack, {"src": r(2, 5, 8), "mask": causal(5)},
         lambda m, t: [m(t["src"], mask=t["mask"])])

    dec = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    case(out_dir, "decoder_layer", dec, {"tgt": r(2, 4, 8), "memory": r(2, 5, 8), "mask": causal(4), "mkpm": kpm},
         lambda m, t: [m(t["tgt"], t["memory"], tgt_mask=t["mask"], memory_key_padding_mask=t["mkpm"])])

    dstack = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True), 2,
                                   norm=nn.LayerNorm(8))
    case(out_dir, "decoder", dstack, {"tgt": r(4, 2, 8), "memory": r(5, 2, 8)},
         lambda m, t: [m(t["tgt"], t["memory"])])

    text_transformer(out_dir)


class CharTransformer(nn.Module):
    """examples/text_transformer.h's model."""

    def __init__(self, vocab, context, d_model, nhead, layers, ff):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, d_model)
        self.pos_emb = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens):
        t = tokens.size(1)
        x = self.tok_emb(tokens) + self.pos_emb(torch.arange(t))
        return self.head(self.encoder(x, mask=causal(t)))


def text_transformer(out_dir):
    """The example's model (its test configuration), 20 Adam steps on fixed batches."""
    torch.manual_seed(1)
    vocab, context, batch, steps = 20, 16, 4, 20
    model = CharTransformer(vocab, context, 32, 4, 2, 64)
    d = {f"state.{k}": v.clone() for k, v in model.state_dict().items()}
    batches = torch.randint(0, vocab, (steps, batch, context + 1))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    model.train()
    for b in batches:
        opt.zero_grad()
        logits = model(b[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocab), b[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    d["batches"] = batches
    d["losses"] = torch.tensor(losses, dtype=torch.float64)
    write(f"{out_dir}/text_transformer.safetensors", d)


if __name__ == "__main__":
    main(sys.argv[1])
