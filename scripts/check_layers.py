#!/usr/bin/env python3
"""Checks the library's include graph against the layers of cmake/layers.txt.

Every file of a layer (its source folders and its public headers under include/xgrad/) may include
headers of its own layer and of the layers named in its last column, nothing else. Prints each
violation as file:line and exits 1 if there is one. Tests, examples and benchmarks are not checked:
they sit above every layer. Run from anywhere: python3 scripts/check_layers.py

With --objects BUILD_DIR (after a build) it also checks the linker's view: every symbol a layer's
object files use and do not define must not be defined only by a layer it may not use (a function
declared low and defined high, which no #include shows).
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_layers():
    layers = []
    with open(os.path.join(ROOT, "cmake", "layers.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, folders, headers, uses = (c.strip() for c in line.split("|"))
            layers.append({
                "name": name,
                "folders": folders.split(),
                "headers": headers.split(),
                "uses": set() if uses == "-" else set(uses.split()),
            })
    return layers


def owner(path, layers):
    """The layer a repository-relative path belongs to, or None (tests, generated files...)."""
    for layer in layers:
        for folder in layer["folders"]:
            if path.startswith(folder + "/"):
                return layer["name"]
        if path.startswith("include/xgrad/"):
            rel = path[len("include/xgrad/"):]
            for h in layer["headers"]:
                if (h.endswith("/") and rel.startswith(h)) or rel == h:
                    return layer["name"]
    return None


def resolve(inc, src_dir):
    """Where the compiler finds a quoted include: beside the file, then the library's include paths."""
    for base in (src_dir, os.path.join(ROOT, "include"), os.path.join(ROOT, "src"), ROOT):
        candidate = os.path.normpath(os.path.join(base, inc))
        if os.path.isfile(candidate):
            return os.path.relpath(candidate, ROOT)
    return None


def symbols(objects):
    """(defined, undefined) mangled symbol sets of some object files."""
    defined, undefined = set(), set()
    if not objects:
        return defined, undefined
    out = subprocess.run(["nm", "--defined-only", "-g"] + objects, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            defined.add(parts[2])
    out = subprocess.run(["nm", "--undefined-only", "-g"] + objects, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def check_objects(build, layers, allowed):
    per_layer = {}
    for l in layers:
        objs = sorted(glob.glob(os.path.join(build, "CMakeFiles", f"xgrad_{l['name']}.dir", "**", "*.o"), recursive=True))
        if not objs:
            print(f"check_layers: no object files of layer {l['name']} under {build}")
            return 1
        per_layer[l["name"]] = symbols(objs)
    bad = 0
    for name, (_, undefined) in per_layer.items():
        reachable = set()
        for other in allowed[name]:
            reachable |= per_layer[other][0]
        for sym in sorted(undefined - reachable):
            owners = [o for o, (d, _) in per_layer.items() if sym in d]
            if owners:
                pretty = subprocess.run(["c++filt", sym], capture_output=True, text=True).stdout.strip()
                print(f"layer {name} uses {pretty}, defined in layer {', '.join(owners)}")
                bad += 1
    if bad:
        print(f"check_layers: {bad} symbol(s) used across layers")
        return 1
    print("check_layers: every symbol a layer uses comes from its layer or below")
    return 0


def main():
    layers = read_layers()
    names = {l["name"] for l in layers}
    for l in layers:
        unknown = l["uses"] - names
        if unknown:
            print(f"cmake/layers.txt: layer {l['name']} uses unknown layers {sorted(unknown)}")
            return 1
    allowed = {l["name"]: l["uses"] | {l["name"]} for l in layers}
    roots = [f for l in layers for f in l["folders"]] + ["include/xgrad"]
    violations = unowned = 0
    for root in roots:
        for d, _, files in os.walk(os.path.join(ROOT, root)):
            for fn in sorted(files):
                if not fn.endswith((".h", ".cpp")):
                    continue
                path = os.path.relpath(os.path.join(d, fn), ROOT)
                src_layer = owner(path, layers)
                if src_layer is None:
                    print(f"{path}: belongs to no layer of cmake/layers.txt")
                    unowned += 1
                    continue
                with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = resolve(m.group(1), os.path.dirname(os.path.join(ROOT, path)))
                        if target is None:
                            continue  # a generated header (protobuf), a system header in quotes
                        dst_layer = owner(target, layers)
                        if dst_layer is None or dst_layer in allowed[src_layer]:
                            continue
                        print(f"{path}:{n}: layer {src_layer} includes {m.group(1)} of layer {dst_layer} "
                              f"(allowed: {' '.join(sorted(allowed[src_layer]))})")
                        violations += 1
    if violations or unowned:
        print(f"check_layers: {violations} include(s) across layers, {unowned} file(s) outside the layers")
        return 1
    print("check_layers: every include stays within its layer or below")
    if len(sys.argv) == 3 and sys.argv[1] == "--objects":
        return check_objects(sys.argv[2], layers, allowed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
