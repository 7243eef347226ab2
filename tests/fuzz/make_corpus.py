#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz harnesses into tests/fuzz/corpus/<harness>/ (small valid
files in each format, plus a few near misses). Run from anywhere: python3 tests/fuzz/make_corpus.py"""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(*v):
    return struct.pack(f"<{len(v)}f", *v)


def f64(*v):
    return struct.pack(f"<{len(v)}d", *v)


# ---- safetensors
put("fuzz_safetensors", "two_tensors", safetensors([("w", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F32", [2], f32(5, 6))]))
put("fuzz_safetensors", "dtypes", safetensors([
    ("d", "F64", [1], f64(1.5)), ("i", "I64", [2], struct.pack("<2q", -1, 7)), ("m", "BOOL", [3], b"\x00\x01\x01"),
    ("e", "F32", [0, 3], b"")], {"format": "pt", "note": "seed"}))
put("fuzz_safetensors", "scalar", safetensors([("s", "F32", [], f32(3))]))
put("fuzz_safetensors", "empty", safetensors([]))

# ---- IDX: labels length (2 bytes, little-endian), t10k labels, t10k images
def be32(*v):
    return struct.pack(f">{len(v)}I", *v)


def idx_input(n, h, w, gz=False):
    labels = be32(0x801, n) + bytes(i % 10 for i in range(n))
    images = be32(0x803, n, h, w) + bytes((i * 7) % 256 for i in range(n * h * w))
    if gz:
        labels, images = gzip.compress(labels, mtime=0), gzip.compress(images, mtime=0)
    return struct.pack("<H", len(labels)) + labels + images


put("fuzz_idx", "three_4x3", idx_input(3, 4, 3))
put("fuzz_idx", "one_28x28", idx_input(1, 28, 28))
put("fuzz_idx", "gzip", idx_input(2, 5, 5, gz=True))

# ---- CIFAR-10 test_batch.bin
rec = lambda label, k: bytes([label]) + bytes((k + i) % 256 for i in range(3072))
put("fuzz_cifar10", "one_record", rec(3, 0))
put("fuzz_cifar10", "two_records", rec(0, 1) + rec(9, 2))
put("fuzz_cifar10", "gzip", gzip.compress(rec(5, 3), mtime=0))

# ---- CSV: first byte = options (bits 0-1 header, 2 regression, 3 allow non-finite, 4-5 delimiter,
# 6 label first, 7 label by name)
put("fuzz_csv", "iris_counts", "\x01" + "3,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4,0.2,1\n6.3,3.3,6.0,2.5,2\n")
put("fuzz_csv", "names", "\x80" + "a,b,label\n1,2,x\n3,4,y\n")
put("fuzz_csv", "plain", "\x00" + "1,2,0\n3,4,1\n\n5,6,1\n")
put("fuzz_csv", "regression_semicolon", "\x14" + "1.5;2e3;0.25\n-1;+4;7\n")
put("fuzz_csv", "nonfinite_allowed", "\x08" + "nan,inf,0\n-inf,1e39,1\n")
put("fuzz_csv", "bom_quoted", "\x00" + "\ufeff\"1\", 2 ,0\r\n3,4,1\r\n")
put("fuzz_csv", "gzip", b"\x00" + gzip.compress(b"1,2,0\n3,4,1\n", mtime=0))

# ---- optimizer state (OptimizerStateDict::save's layout)
def optim_state(kind, hparams, state, tensors):
    meta = {"format": "xgrad.optimizer/1", "optimizer": kind,
            "param_groups": [{"hparams": hparams, "params": [0, 1]}], "state": state}
    return safetensors(tensors, {"xgrad.optimizer": json.dumps(meta)})


adam_h = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": 0.0}
put("fuzz_optim_state", "adam", optim_state("Adam", adam_h, {"0": {"step": 2, "buffers": ["exp_avg", "exp_avg_sq"]}},
                                           [("state.0.exp_avg", "F32", [3], f32(0.1, 0.2, 0.3)),
                                            ("state.0.exp_avg_sq", "F32", [3], f32(0.01, 0.02, 0.03))]))
put("fuzz_optim_state", "sgd", optim_state("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0,
                                                   "nesterov": 0.0, "initial_lr": 0.1},
                                           {"1": {"step": 5, "buffers": ["momentum_buffer"]}},
                                           [("state.1.momentum_buffer", "F64", [2, 2], f64(1, 2, 3, 4))]))
put("fuzz_optim_state", "adagrad_nostate", optim_state("Adagrad", {"lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0,
                                                                   "initial_accumulator_value": 0.0, "eps": 1e-10},
                                                       {}, []))

# ---- scheduler state (SchedulerState::save's layout)
def sched(kind, values, lists, children=()):
    return {"kind": kind, "values": values, "lists": lists, "children": list(children)}


def sched_file(s):
    s = dict(s, format="xgrad.scheduler/1")
    return json.dumps(s, indent=1)


step = sched("StepLR", {"last_epoch": 3, "step_count": 4}, {"base_lrs": [0.1], "last_lrs": [0.05]})
put("fuzz_scheduler_state", "step", sched_file(step))
put("fuzz_scheduler_state", "onecycle", sched_file(sched("OneCycleLR", {"last_epoch": 5, "step_count": 6},
                                                          {"base_lrs": [0.04], "last_lrs": [0.7]})))
put("fuzz_scheduler_state", "plateau", sched_file(sched("ReduceLROnPlateau", {"last_epoch": 2, "best": "inf",
                                                                               "num_bad_epochs": 1, "cooldown_counter": 0},
                                                         {"last_lrs": [0.1]})))
lin = sched("LinearLR", {"last_epoch": 1, "step_count": 2}, {"base_lrs": [0.1], "last_lrs": [0.05]})
put("fuzz_scheduler_state", "sequential", sched_file(sched("SequentialLR", {"last_epoch": 1}, {"last_lrs": [0.05]},
                                                           [lin, step])))
exp = sched("ExponentialLR", {"last_epoch": 2, "step_count": 3}, {"base_lrs": [0.1], "last_lrs": [0.081]})
put("fuzz_scheduler_state", "chained", sched_file(sched("ChainedScheduler", {}, {"last_lrs": [0.081]}, [exp, step])))

# ---- tabular: CSV tables with a recipe byte first (fuzz_table), recipe JSON (fuzz_recipe)
put("fuzz_table", "messy_classification", b"\x00" + b"id,\"colour, main\",age,y\r\n1,red,34,yes\r\n2,\"blue\"\"s\",NA,no\r\n"
    b"3,,28,yes\r\n4,red,45,no\r\n")
put("fuzz_table", "median_onehot", b"\x03" + b"a;b;y\n1,5;x;0\n2;y;1\n;x;0\n4;z;1\n")
put("fuzz_table", "regression_minmax", b"\xc2" + b"x\ty\n1\t2.5\n2\t\"3\n.5\"\n3\t4\n")
put("fuzz_table", "ordinal_ignore", b"\x1d" + "\ufeffcity,n,label\nZ\u00fcrich,1,a\nParis,2,b\n?,3,a\n".encode())
recipe = {'classes': ['0', '1'], 'csv': {'delimiter': '', 'header': True, 'missing_values': ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', '?'], 'skip_rows': 0, 'trim_spaces': True}, 'features': [{'categories': [], 'fill_category': '', 'fill_number': 4.0, 'name': 'a', 'scale': 0.7071067811865476, 'shift': 4.0, 'type': 'numeric'}, {'categories': ['x', 'y', 'z'], 'fill_category': 'y', 'fill_number': 0.0, 'name': 'b', 'scale': 1.0, 'shift': 0.0, 'type': 'categorical'}, {'categories': [], 'fill_category': '', 'fill_number': 2.0, 'name': 'c', 'scale': 2.345207879911715, 'shift': 3.0, 'type': 'numeric'}], 'format': 'xgrad.tabular_recipe', 'numeric_labels': True, 'options': {'categorical': [], 'encoding': 'onehot', 'fill_category': 'missing', 'fill_number': 0.0, 'label': 'y', 'missing': 'median', 'scale_target': True, 'scaling': 'standard', 'task': 'classification', 'unknown': 'ignore'}, 'skipped_columns': [], 'target': {'scale': 1.0, 'shift': 0.0}, 'version': 1}
put("fuzz_recipe", "classification", json.dumps(recipe, indent=1))
put("fuzz_recipe", "regression_ordinal", json.dumps(dict(recipe, classes=[], options=dict(
    recipe["options"], task="regression", encoding="ordinal", label="c"), target={"shift": 3.0, "scale": 2.0})))
