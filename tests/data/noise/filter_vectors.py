#!/usr/bin/env python3
"""Copies the Noise test vectors crust runs out of the full vector files.

Usage: filter_vectors.py SOURCE_DIR DEST_DIR

Each selected vector is copied as the exact byte range it occupies in the
source file (no re-serialisation), so its content stays byte-exact. Selected:
protocol names Noise_<pattern>_25519_<suite> with <pattern> one of NN, XX, IK,
XK with optional pskN modifiers, and <suite> one of ChaChaPoly_SHA256,
ChaChaPoly_BLAKE2s, AESGCM_SHA256. The obsolete NoisePSK_ vectors are left
out. Keep the selection in step with noise_vectors_test.cpp.
"""
import json
import re
import sys

FILES = {
    "snow-cacophony.txt": "snow-cacophony.json",
    "noise-c-cacophony.txt": "noise-c-cacophony.json",
    "noise-c-basic.txt": "noise-c-basic.json",
}
NAME = re.compile(
    r"^Noise_(NN|XX|IK|XK)((?:psk[0-9])(?:\+psk[0-9])*)?_25519_"
    r"(ChaChaPoly_SHA256|ChaChaPoly_BLAKE2s|AESGCM_SHA256)$")


def vector_slices(text):
    """Yields (object, exact source text) for each entry of "vectors"."""
    decoder = json.JSONDecoder()
    start = text.index("[", text.index('"vectors"')) + 1
    pos = start
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        if text[pos] == "]":
            return
        obj, end = decoder.raw_decode(text, pos)
        yield obj, text[pos:end]
        pos = end


def main(src_dir, dst_dir):
    for src, dst in FILES.items():
        with open(f"{src_dir}/{src}", encoding="utf-8") as f:
            text = f.read()
        kept = []
        for obj, raw in vector_slices(text):
            name = obj.get("protocol_name") or obj.get("name")
            if NAME.match(name):
                assert json.loads(raw) == obj
                kept.append(raw)
        with open(f"{dst_dir}/{dst}", "w", encoding="utf-8") as f:
            f.write('{\n"vectors": [\n' + ",\n".join(kept) + "\n]\n}\n")
        print(f"{src}: {len(kept)} vectors -> {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
