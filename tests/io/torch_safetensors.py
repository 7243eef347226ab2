#!/usr/bin/python3
"""PyTorch's side of tests/io/test_safetensors_dtypes.cpp, with Debian's python3-torch.

    torch_safetensors.py WRITTEN_BY_TORCH VALUES F16 BF16

Writes WRITTEN_BY_TORCH: each narrow dtype (F16, BF16, I8, U8, I16, I32) as PyTorch stores it, with
its exact values beside it as F64 or I64 ("<name>.ref"). Then checks the files xgrad wrote: F16 and
BF16 each hold one tensor that must be bit for bit what torch's .half() and .bfloat16() make of the
float64 tensor in VALUES. Exits 1 on a mismatch, 77 without torch.
"""
import json
import struct
import sys

try:
    import torch
except ImportError:
    print("python3-torch is missing: skipped")
    sys.exit(77)

# Values that round differently at each step: ties, subnormals, overflow, signed zero, NaN, inf.
VALUES = [0.0, -0.0, 1.0, -2.5, 65504.0, 65520.0, 1e5, 5.960464477539063e-08, 2.98e-08, 6.1e-05, 1.0009765625,
          1.00048828125, 1.000732421875, 3.14159265358979, -1e-40, 1e-45, 3.4e38, float("inf"), float("-inf"),
          float("nan"), 1.0 + 2 ** -11 + 2 ** -40, 1.0 + 2 ** -8 + 2 ** -30, 0.1, -123.456]


def write(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


def main():
    torch_path, values_path, f16_path, bf16_path = sys.argv[1:5]
    x = torch.tensor(VALUES, dtype=torch.float64)
    tensors = {}
    for name, dt in (("F16", torch.float16), ("BF16", torch.bfloat16)):
        t = x.to(dt)
        tensors[name] = (name, [len(VALUES)], t.view(torch.int16).numpy().tobytes())
        tensors[name + ".ref"] = ("F64", [len(VALUES)], t.to(torch.float64).numpy().tobytes())
    ints = torch.tensor([0, 1, -1, 127, -128, 255, 32767, -32768, 2 ** 31 - 1, -2 ** 31], dtype=torch.int64)
    for name, dt in (("I8", torch.int8), ("U8", torch.uint8), ("I16", torch.int16), ("I32", torch.int32)):
        t = ints.to(dt)  # wraps as C casts do: the reference is what the narrow tensor holds
        tensors[name] = (name, [2, 5], t.numpy().tobytes())
        tensors[name + ".ref"] = ("I64", [2, 5], t.to(torch.int64).numpy().tobytes())
    write(torch_path, tensors)

    values = torch.frombuffer(bytearray(next(iter(read(values_path).values()))[2]), dtype=torch.float64)
    ok = True
    for name, path, dtype_name, dt in (("f16", f16_path, "F16", torch.float16),
                                       ("bf16", bf16_path, "BF16", torch.bfloat16)):
        dtype, shape, blob = next(iter(read(path).values()))
        want = values.to(dt).view(torch.int16)
        have = torch.frombuffer(bytearray(blob), dtype=torch.int16)
        if dtype != dtype_name or shape != [len(values)] or not torch.equal(have, want):
            ok = False
            bad = (have != want).nonzero().flatten().tolist()
            print(f"{name}: dtype {dtype}, shape {shape}; bits differ at {bad}: "
                  f"xgrad {have[bad].tolist()} torch {want[bad].tolist()} for {values[bad].tolist()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
