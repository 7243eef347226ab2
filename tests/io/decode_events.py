#!/usr/bin/env python3
"""Reads the event files xgrad_log_fixture wrote, independently of the writer: TFRecord framing
and both masked CRC-32Cs by hand, the Event messages with classes protoc generated from the same
.proto (Debian's python3-protobuf), PNGs with Pillow (python3-pil).

usage: decode_events.py EVENT_DIR PROTO_DIR GEN_DIR
"""
import glob
import io
import json
import math
import os
import struct
import subprocess
import sys


def crc32c(data: bytes) -> int:
    """Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78): slow and obviously right."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path):
    data = open(path, "rb").read()
    pos, out = 0, []
    while pos < len(data):
        assert pos + 12 <= len(data), f"{path}: truncated header at {pos}"
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        assert hcrc == masked(crc32c(header)), f"{path}: bad length CRC at {pos}"
        payload = data[pos + 12:pos + 12 + length]
        assert len(payload) == length, f"{path}: truncated payload at {pos}"
        (pcrc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        assert pcrc == masked(crc32c(payload)), f"{path}: bad payload CRC at {pos}"
        out.append(payload)
        pos += 16 + length
    return out


def one_file(d):
    files = glob.glob(os.path.join(d, "events.out.tfevents.*"))
    assert len(files) == 1, f"expected one event file in {d}, found {files}"
    name = os.path.basename(files[0]).split(".")
    # events.out.tfevents.<time>.<host>.<pid>
    assert name[3].isdigit() and name[-1].isdigit(), files[0]
    return files[0]


def main():
    event_dir, proto_dir, gen_dir = sys.argv[1:4]
    os.makedirs(gen_dir, exist_ok=True)
    # Generated as a top-level module: a package named "io" would shadow Python's own.
    subprocess.run(["protoc", f"-I{os.path.join(proto_dir, 'io', 'tensorboard')}", f"--python_out={gen_dir}",
                    "event.proto"], check=True)
    sys.path.insert(0, gen_dir)
    import event_pb2 as pb  # noqa: E402  (generated above)

    expected = json.load(open(os.path.join(event_dir, "expected.json")))

    def events(d):
        evs = []
        for rec in read_records(one_file(d)):
            ev = pb.Event()
            ev.ParseFromString(rec)
            evs.append(ev)
        assert evs[0].file_version == "brain.Event:2", evs[0]
        return evs[1:]

    def values(evs):
        for ev in evs:
            for v in ev.summary.value:
                yield ev.step, v

    # ---- the SummaryWriter calls
    w = list(values(events(os.path.join(event_dir, "writer"))))
    assert os.path.basename(one_file(os.path.join(event_dir, "writer"))) == expected["writer_file"]
    loss = [(s, v.simple_value) for s, v in w if v.tag == "loss"]
    assert [s for s, _ in loss] == list(range(10)), loss
    for s, val in loss:
        assert math.isclose(val, 1.0 / (s + 1), rel_tol=1e-6), (s, val)
    pair = {v.tag: (s, v.simple_value) for s, v in w if v.tag.startswith("pair/")}
    assert pair == {"pair/a": (3, 1.5), "pair/b": (3, -2.0)}, pair

    (step, h), = [(s, v.histo) for s, v in w if v.tag == "weights"]
    assert step == 5 and h.min == 0 and h.max == 99 and h.num == 100, h
    assert h.sum == sum(range(100)) and h.sum_squares == sum(i * i for i in range(100)), h
    assert len(h.bucket) == 10 and sum(h.bucket) == 100 and list(h.bucket_limit)[-1] == 99, h

    (step, t), = [(s, v) for s, v in w if v.tag == "notes/text_summary"]
    assert step == 2 and t.metadata.plugin_data.plugin_name == "text", t
    assert t.tensor.dtype == pb.DT_STRING and t.tensor.string_val == [b"hello **xgrad**"], t

    from PIL import Image
    want = [[[round(((c * 4 + y) * 5 + x) / 59.0 * 255) for c in range(3)] for x in range(5)] for y in range(4)]
    for tag in ("image_chw", "image_hwc"):
        (step, im), = [(s, v.image) for s, v in w if v.tag == tag]
        assert step == 7 and (im.height, im.width, im.colorspace) == (4, 5, 3), im
        png = Image.open(io.BytesIO(im.encoded_image_string))
        assert png.format == "PNG" and png.size == (5, 4) and png.mode == "RGB", (png.format, png.size, png.mode)
        got = [[list(png.getpixel((x, y))) for x in range(5)] for y in range(4)]
        assert got == want, (tag, got, want)

    hp = {v.tag: v for _, v in w if v.metadata.plugin_data.plugin_name == "hparams"}
    assert set(hp) == {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}, hp
    start = pb.HParamsPluginData()
    start.ParseFromString(hp["_hparams_/session_start_info"].metadata.plugin_data.content)
    ssi = start.session_start_info.hparams
    assert ssi["lr"].number_value == 0.01 and ssi["optimizer"].string_value == "Adam", ssi
    assert ssi["shuffle"].bool_value is True, ssi
    exp = pb.HParamsPluginData()
    exp.ParseFromString(hp["_hparams_/experiment"].metadata.plugin_data.content)
    assert sorted(i.name for i in exp.experiment.hparam_infos) == ["lr", "optimizer", "shuffle"], exp
    assert [m.name.tag for m in exp.experiment.metric_infos] == ["hparam/accuracy"], exp
    assert [(s, round(v.simple_value, 6)) for s, v in w if v.tag == "hparam/accuracy"] == [(0, 0.9)]

    # ---- the TensorBoard callback: Keras's layout, train/ and validation/ runs
    hist = expected["history"]
    tr = list(values(events(os.path.join(event_dir, "fit", "train"))))
    va = list(values(events(os.path.join(event_dir, "fit", "validation"))))

    def series(vals, tag):
        return [(s, v.simple_value) for s, v in vals if v.tag == tag]

    for name in ("loss", "accuracy"):
        for vals, key in ((tr, name), (va, "val_" + name)):
            got = series(vals, "epoch_" + name)
            assert [s for s, _ in got] == [0, 1, 2], (key, got)
            for (_, g), e in zip(got, hist[key]):
                assert math.isclose(g, e, rel_tol=1e-6, abs_tol=1e-7), (key, g, e)
    lr = series(tr, "epoch_learning_rate")
    assert [s for s, _ in lr] == [0, 1, 2] and all(math.isclose(v, 0.1, rel_tol=1e-6) for _, v in lr), lr
    batch = series(tr, "batch_loss")
    assert [s for s, _ in batch] == list(range(1, 3 * expected["batches_per_epoch"] + 1)), batch
    for p in expected["params"]:
        for tag in (p, p + "/gradient"):
            hs = [(s, v.histo) for s, v in tr if v.tag == tag]
            assert [s for s, _ in hs] == [0, 1, 2] and all(h.num > 0 for _, h in hs), (tag, hs)
    assert not any(v.tag.startswith("epoch_val") for _, v in va), "validation tags keep Keras's names"
    print(f"decode_events: ok ({len(w)} writer values, {len(tr)} train values, {len(va)} validation values)")


if __name__ == "__main__":
    main()
