#!/usr/bin/env python3
"""Checks that every #include of the project's own headers points down the
layers of docs/design.md ("Layers"): a file may include headers of its own
folder and of the folders its folder is allowed to depend on, nothing
above. Exit 0 when every include is allowed; else one line per offence.

    check_layers.py SOURCE_DIR
"""
import pathlib
import re
import sys

# Folder -> the folders it may include (besides itself). Transitive uses are
# listed explicitly: a header a layer exposes is part of its interface.
BELOW = {
    "common": set(),
    "proto": set(),
    "rpc": {"common"},
    "security": {"common"},
    "handlers": {"common"},
    "server/core": {"handlers", "common"},
    "server/delivery": {"server/core", "handlers", "common"},
    "server/metrics": {"server/delivery", "server/core", "handlers",
                       "common"},
    "server/api": {"server/metrics", "server/core", "handlers", "common",
                   "proto"},
    "server/grpc": {"server/api", "server/metrics", "server/core", "handlers",
                    "common", "rpc", "security", "proto"},
    "server/http": {"server/api", "server/metrics", "server/core", "handlers",
                    "common", "security", "proto"},
    "client": {"server/delivery", "server/core", "handlers", "common", "rpc",
               "security", "proto"},
    "server/app": {"server/grpc", "server/http", "server/api",
                   "server/metrics", "server/delivery", "server/core",
                   "client", "handlers", "common", "rpc", "security", "proto"},
}
# Generated headers live under the proto package paths.
PROTO_PREFIXES = ("xxljob/", "grpc/health/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    for layer in sorted(BELOW, key=len, reverse=True):
        if path == layer or path.startswith(layer + "/"):
            return layer
    return None


def main():
    root = pathlib.Path(sys.argv[1])
    bad = []
    for layer in BELOW:
        folder = root / layer
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.[hc]*")):
            for n, line in enumerate(f.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                if target.startswith(PROTO_PREFIXES):
                    to = "proto"
                else:
                    to = layer_of(str(pathlib.PurePosixPath(target).parent))
                if to is None or to == layer or to in BELOW[layer]:
                    continue
                bad.append(f"{f.relative_to(root)}:{n}: {layer} includes "
                           f"{target} ({to} is not below it)")
    for b in bad:
        print(b)
    print(f"layers: {0 if bad else 1} passed, {1 if bad else 0} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
