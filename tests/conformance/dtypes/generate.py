#!/usr/bin/env python3
"""Writes tests/conformance/dtypes/cases.json: PyTorch's result dtype and values of every
elementwise, reduction and shape op for each pair of input dtypes (bool, int64, float32, float64),
as dimensioned tensors, zero-dim tensors and Python numbers, plus the in-place, copy_/fill_ and
out= forms with their refusals. Format and how to regenerate: README.md beside it.

Run with Debian's python3-torch (CPU): /usr/bin/python3 tests/conformance/dtypes/generate.py
The output is byte-identical from run to run: fixed values, no randomness, one thread.
"""
import json
import math
import os
import sys

import numpy
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

DTYPES = {"bool": torch.bool, "int64": torch.int64, "float32": torch.float32, "float64": torch.float64}
NAMES = {v: k for k, v in DTYPES.items()}

# Fixed values, exact in float32. "a" values feed first operands, "b" values second operands
# (no zero among the integer ones, so integer division mostly succeeds; bool False still divides
# by zero, which PyTorch refuses).
A_VALUES = {"bool": [True, False, True], "int64": [-7, 0, 5], "float32": [-2.5, 0.5, 3.25],
            "float64": [-1.75, 0.0, 6.5]}
B_VALUES = {"bool": [True, False, True], "int64": [3, -2, 4], "float32": [1.5, -2.0, 0.75],
            "float64": [-0.5, 2.25, 3.0]}
A_ZERO = {"bool": True, "int64": 3, "float32": 2.5, "float64": -1.25}
B_ZERO = {"bool": False, "int64": -2, "float32": -1.5, "float64": 0.75}
NUMBERS = [True, 2, -2.5]


def tensor_operand(dtype, zero_dim, role):
    if zero_dim:
        v = (A_ZERO if role == "a" else B_ZERO)[dtype]
        return {"kind": "tensor", "dtype": dtype, "shape": [], "value": v, "role": role}
    return {"kind": "tensor", "dtype": dtype, "shape": [3], "value": (A_VALUES if role == "a" else B_VALUES)[dtype],
            "role": role}


def custom_operand(role, dtype, shape, value):
    """A tensor with its own values; role names it in the operand table (unique per role)."""
    return {"kind": "tensor", "dtype": dtype, "shape": shape, "value": value, "role": role}


def number_operand(v):
    return {"kind": "number", "value": v}


def tensor_operands(role):
    return [tensor_operand(d, z, role) for z in (False, True) for d in DTYPES]


def number_kind(v):
    return "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "float"


def describe(o):
    if o["kind"] == "number":
        return "{}:{}".format(number_kind(o["value"]), json.dumps(o["value"]))
    return "{}[{}]".format(o["dtype"], ",".join(str(s) for s in o["shape"]))


OPERANDS = {}


def operand_key(o):
    """The operand's key in the file's operand table: number kind and value, or role:dtype[shape]."""
    key = describe(o) if o["kind"] == "number" else "{}:{}".format(o["role"], describe(o))
    entry = encode_operand(o)
    assert OPERANDS.setdefault(key, entry) == entry, key
    return key


def to_torch(o):
    if o["kind"] == "number":
        return o["value"]
    return torch.tensor(o["value"], dtype=DTYPES[o["dtype"]])


def encode_value(v, dtype):
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if dtype == torch.float32:
        # The shortest decimal that round-trips the float32 (parse as double, cast to float: exact).
        return float(repr(numpy.float32(v)))
    return v


def encode_tensor(t):
    t = t.detach()
    data = [encode_value(v, t.dtype) for v in t.reshape(-1).tolist()]
    return {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data": data}


def encode_operand(o):
    if o["kind"] == "number":
        return {"number": o["value"], "kind": number_kind(o["value"])}
    return encode_tensor(torch.tensor(o["value"], dtype=DTYPES[o["dtype"]]))


TOLERANCES = {"float32": {"rtol": 1e-6, "atol": 1e-7}, "float64": {"rtol": 1e-13, "atol": 1e-15}}


def make_case(name, op, named_operands, fn, attrs=None):
    """Runs fn in PyTorch; records its result, or the error PyTorch raised."""
    assert name not in NAMES_SEEN, name  # names only keep the generator honest; the file derives them
    NAMES_SEEN.add(name)
    case = {"op": op}
    if attrs:
        case["attrs"] = attrs
    case["inputs"] = [[n, operand_key(o)] for n, o in named_operands]
    try:
        r = fn(*[to_torch(o) for _, o in named_operands])
    except (RuntimeError, TypeError, ZeroDivisionError) as e:
        case["error"] = str(e).splitlines()[0][:80]
        return case
    case["expected"] = encode_tensor(r)
    return case


CASES = []
NAMES_SEEN = set()


def add(case):
    CASES.append(case)


def binary_cases(op, fn, numbers=True, number_first=False):
    seconds = tensor_operands("b") + ([number_operand(v) for v in NUMBERS] if numbers else [])
    for a in tensor_operands("a"):
        for b in seconds:
            add(make_case("{}/{},{}".format(op, describe(a), describe(b)), op, [("input", a), ("other", b)], fn))
    if number_first:
        for v in NUMBERS:
            a = number_operand(v)
            for b in tensor_operands("b"):
                add(make_case("{}/{},{}".format(op, describe(a), describe(b)), op, [("input", a), ("other", b)], fn))


def unary_cases(op, fn):
    for a in tensor_operands("a"):
        add(make_case("{}/{}".format(op, describe(a)), op, [("input", a)], fn))


def elementwise():
    binary_cases("add", lambda a, b: a + b, number_first=True)
    binary_cases("sub", lambda a, b: a - b, number_first=True)
    binary_cases("mul", lambda a, b: a * b, number_first=True)
    binary_cases("div", lambda a, b: a / b, number_first=True)
    binary_cases("floor_divide", torch.floor_divide)
    binary_cases("remainder", torch.remainder)
    binary_cases("fmod", torch.fmod)
    binary_cases("pow", lambda a, b: a ** b, number_first=True)
    binary_cases("maximum", torch.maximum, numbers=False)
    binary_cases("minimum", torch.minimum, numbers=False)
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        binary_cases(op, getattr(torch, op))
    for op in ("logical_and", "logical_or", "logical_xor"):
        binary_cases(op, getattr(torch, op), numbers=False)
    for op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        binary_cases(op, getattr(torch, op))
    for op in ("neg", "abs", "sign", "square", "exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "erf",
               "logical_not", "bitwise_not", "isnan", "isfinite", "relu", "sigmoid", "tanh"):
        unary_cases(op, getattr(torch, op))
    for op in ("leaky_relu", "gelu", "softplus", "elu", "silu"):
        unary_cases(op, getattr(torch.nn.functional, op))
    # clamp with number bounds (None: absent)
    for a in tensor_operands("a"):
        for lo, hi in ((0, 3), (-1.5, 2.5), (0, 2.5), (False, True), (1, None), (None, 0.5)):
            attrs = {"min": lo, "max": hi}
            name = "clamp/{},{},{}".format(describe(a), json.dumps(lo), json.dumps(hi))
            add(make_case(name, "clamp", [("input", a)], lambda x, lo=lo, hi=hi: torch.clamp(x, lo, hi), attrs))
    # where: condition bool; input and other any mix of tensors and numbers
    cond = custom_operand("cond", "bool", [3], [True, False, False])
    operands = tensor_operands("a") + [number_operand(v) for v in NUMBERS]
    others = tensor_operands("b") + [number_operand(v) for v in NUMBERS]
    for a in operands:
        for b in others:
            name = "where/{},{}".format(describe(a), describe(b))
            add(make_case(name, "where", [("condition", cond), ("input", a), ("other", b)], torch.where))


def reductions():
    for dtype in DTYPES:
        vals = {"bool": [True, False, True, True, True, False], "int64": [3, -1, 4, 1, -5, 9],
                "float32": [0.5, -1.25, 2.0, 3.5, -0.75, 1.0], "float64": [1.5, 0.25, -2.0, 4.0, 0.5, -3.0]}[dtype]
        shapes = [("2x3", [2, 3], vals), ("0d", [], vals[:1])]
        for label, shape, v in shapes:
            x = custom_operand("r", dtype, shape, torch.tensor(v).reshape(shape).tolist())
            for op in ("sum", "prod", "mean", "amax", "amin", "argmax", "argmin", "logsumexp", "var", "std"):
                dims = [None, 0, -1] if shape else [None]
                for dim in dims:
                    if op == "logsumexp" and dim is None:
                        continue
                    if op in ("var", "std") and not shape:
                        continue  # one element: n - 1 = 0
                    attrs = {"dim": dim, "keepdim": False}

                    def fn(t, op=op, dim=dim):
                        if op in ("argmax", "argmin"):
                            return getattr(torch, op)(t) if dim is None else getattr(torch, op)(t, dim)
                        if op == "logsumexp":
                            return torch.logsumexp(t, dim)
                        return getattr(torch, op)(t) if dim is None else getattr(torch, op)(t, dim)

                    add(make_case("{}/{}_{}_dim{}".format(op, dtype, label, dim), op, [("input", x)], fn, attrs))


def shape_ops():
    for dtype in DTYPES:
        vals = {"bool": [True, False, True, True, False, False], "int64": [3, -1, 4, 1, -5, 9],
                "float32": [0.5, -1.25, 2.0, 3.5, -0.75, 1.0], "float64": [1.5, 0.25, -2.0, 4.0, 0.5, -3.0]}[dtype]
        x = custom_operand("s", dtype, [2, 3], torch.tensor(vals).reshape(2, 3).tolist())
        idx = torch.tensor([2, 0])
        ops = {
            "reshape": ({"shape": [3, 2]}, lambda t: t.reshape(3, 2)),
            "flatten": ({}, lambda t: t.flatten()),
            "permute": ({"dims": [1, 0]}, lambda t: t.permute(1, 0)),
            "transpose": ({"dim0": 0, "dim1": 1}, lambda t: t.transpose(0, 1)),
            "narrow": ({"dim": 1, "start": 1, "length": 2}, lambda t: t.narrow(1, 1, 2)),
            "select": ({"dim": 1, "index": 2}, lambda t: t.select(1, 2)),
            "squeeze": ({}, lambda t: t.unsqueeze(0).squeeze()),
            "unsqueeze": ({"dim": 1}, lambda t: t.unsqueeze(1)),
            "expand": ({"size": [2, 2, 3]}, lambda t: t.expand(2, 2, 3)),
            "index_select": ({"dim": 1, "index": idx.tolist()}, lambda t: t.index_select(1, idx)),
            "contiguous": ({}, lambda t: t.t().contiguous()),
            "clone": ({}, lambda t: t.clone()),
        }
        for op, (attrs, fn) in ops.items():
            add(make_case("{}/{}".format(op, dtype), op, [("input", x)], fn, attrs))
        for to in DTYPES:
            add(make_case("to/{}->{}".format(dtype, to), "to", [("input", x)], lambda t, to=to: t.to(DTYPES[to]),
                          {"dtype": to}))
    for a in DTYPES:
        for b in DTYPES:
            x = tensor_operand(a, False, "a")
            y = tensor_operand(b, False, "b")
            add(make_case("cat/{},{}".format(a, b), "cat", [("t0", x), ("t1", y)], lambda s, t: torch.cat([s, t]),
                          {"dim": 0}))
            add(make_case("stack/{},{}".format(a, b), "stack", [("t0", x), ("t1", y)],
                          lambda s, t: torch.stack([s, t], 1), {"dim": 1}))
            x0 = tensor_operand(a, True, "a")
            y0 = tensor_operand(b, True, "b")
            add(make_case("stack/{}[],{}[]".format(a, b), "stack", [("t0", x0), ("t1", y0)],
                          lambda s, t: torch.stack([s, t]), {"dim": 0}))


def inplace_ops():
    """In-place, copy_, fill_ and out= forms: self's dtype is kept, or PyTorch refuses the op."""
    selves = [tensor_operand(d, False, "a") for d in DTYPES]
    others = tensor_operands("b") + [number_operand(v) for v in NUMBERS]
    for op in ("add_", "sub_", "mul_", "div_"):
        for s in selves:
            for o in others:
                add(make_case("{}/{},{}".format(op, describe(s), describe(o)), op, [("self", s), ("other", o)],
                              lambda x, y, op=op: getattr(x.clone(), op)(y)))
    for s in selves:
        for o in [tensor_operand(d, z, "b") for z in (False, True) for d in DTYPES]:
            add(make_case("copy_/{},{}".format(describe(s), describe(o)), "copy_", [("self", s), ("src", o)],
                          lambda x, y: x.clone().copy_(y)))
        for v in NUMBERS:
            o = number_operand(v)
            add(make_case("fill_/{},{}".format(describe(s), describe(o)), "fill_", [("self", s), ("value", o)],
                          lambda x, y: x.clone().fill_(y)))
        for lo, hi in ((0, 3), (-1.5, 2.5)):
            add(make_case("clamp_/{},{},{}".format(describe(s), json.dumps(lo), json.dumps(hi)), "clamp_",
                          [("self", s)], lambda x, lo=lo, hi=hi: x.clone().clamp_(lo, hi), {"min": lo, "max": hi}))
        for op in ("neg_", "sigmoid_"):
            add(make_case("{}/{}".format(op, describe(s)), op, [("self", s)], lambda x, op=op: getattr(x.clone(), op)()))
    for op in ("add", "sub", "mul", "div"):
        for a in DTYPES:
            for b in DTYPES:
                for o in DTYPES:
                    x = tensor_operand(a, False, "a")
                    y = tensor_operand(b, False, "b")
                    out = tensor_operand(o, False, "a")

                    def fn(s, t, u, op=op):
                        u = u.clone()
                        getattr(torch, op)(s, t, out=u)
                        return u

                    add(make_case("{}_out/{},{}->{}".format(op, a, b, o), op + "_out",
                                  [("input", x), ("other", y), ("out", out)], fn))


def overflow():
    """int64 arithmetic wraps modulo 2^64, as PyTorch."""
    big, small = 2 ** 63 - 1, -2 ** 63
    t = custom_operand("big", "int64", [3], [big, small, 3])
    u = custom_operand("by", "int64", [3], [1, -1, 50])
    add(make_case("overflow/add", "add", [("input", t), ("other", u)], lambda a, b: a + b))
    add(make_case("overflow/sub", "sub", [("input", t), ("other", u)], lambda a, b: a - b))
    add(make_case("overflow/mul", "mul", [("input", t), ("other", u)], lambda a, b: a * b))
    add(make_case("overflow/pow", "pow", [("input", t), ("other", u)], lambda a, b: a ** b))
    add(make_case("overflow/neg", "neg", [("input", t)], torch.neg))
    add(make_case("overflow/abs", "abs", [("input", t)], torch.abs))
    add(make_case("overflow/square", "square", [("input", t)], torch.square))
    add(make_case("overflow/sum", "sum", [("input", t)], torch.sum, {"dim": None, "keepdim": False}))
    add(make_case("overflow/prod", "prod", [("input", t)], torch.prod, {"dim": None, "keepdim": False}))
    add(make_case("overflow/mul_number", "mul", [("input", t), ("other", number_operand(2))], lambda a, b: a * b))
    # sign conventions of integer and float division
    n = custom_operand("num", "int64", [4], [-7, 7, -7, 7])
    d = custom_operand("den", "int64", [4], [2, -2, -2, 2])
    nf = custom_operand("num", "float32", [4], [-7.5, 7.5, -7.5, 7.5])
    df = custom_operand("den", "float32", [4], [2.0, -2.0, -2.0, 2.0])
    for op in ("floor_divide", "remainder", "fmod"):
        add(make_case("signs/{}_int64".format(op), op, [("input", n), ("other", d)], getattr(torch, op)))
        add(make_case("signs/{}_float32".format(op), op, [("input", nf), ("other", df)], getattr(torch, op)))
    # integer powers: negative tensor exponents give 0 except for bases ±1; a negative number is refused
    b = custom_operand("base", "int64", [4], [2, 1, -1, 0])
    e = custom_operand("exp", "int64", [4], [-1, -3, -3, 2])
    add(make_case("signs/pow_negative_tensor", "pow", [("input", b), ("other", e)], lambda x, y: x ** y))
    add(make_case("signs/pow_negative_number", "pow", [("input", b), ("other", number_operand(-2))],
                  lambda x, y: x ** y))


def main():
    elementwise()
    reductions()
    shape_ops()
    inplace_ops()
    overflow()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.json")
    compact = dict(separators=(",", ":"))
    with open(path, "w") as f:
        f.write('{"format_version": 1,\n"reference": ' + json.dumps("torch {}, CPU".format(torch.__version__)) +
                ',\n"default_dtype": "float32",\n"tolerances": ' + json.dumps(TOLERANCES, **compact) +
                ',\n"operands": {\n')
        f.write(",\n".join(json.dumps(k) + ":" + json.dumps(v, **compact) for k, v in sorted(OPERANDS.items())))
        f.write('},\n"cases": [\n')
        f.write(",\n".join(json.dumps(c, **compact) for c in CASES))
        f.write("\n]}\n")
    print("wrote {} cases to {}".format(len(CASES), path), file=sys.stderr)


if __name__ == "__main__":
    main()
