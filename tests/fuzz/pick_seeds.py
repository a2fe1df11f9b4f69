#!/usr/bin/env python3
"""Picks a small seed corpus from a libFuzzer merge control file.

libFuzzer 14 has no -set_cover_merge, and -merge=1 keeps every input that
adds a feature (hundreds). This reads what each input reached (the COV
edges and FT features of -merge_control_file) and picks greedily, most new
edges first, then most new features, until MAX inputs are chosen or none
adds anything. Prints their paths.

  pick_seeds.py CONTROL_FILE MAX
"""
import sys


def main():
    control, limit = sys.argv[1], int(sys.argv[2])
    with open(control) as f:
        lines = f.read().splitlines()
    count = int(lines[0].split()[0])
    paths = lines[2:2 + count]
    reached = {}  # input -> (edges, features)
    for line in lines[2 + count:]:
        fields = line.split()
        if fields and fields[0] in ("FT", "COV"):
            entry = reached.setdefault(int(fields[1]), (set(), set()))
            entry[fields[0] == "FT"].update(map(int, fields[2:]))
    all_edges = set().union(set(), *(e for e, _ in reached.values()))
    edges, features, chosen = set(), set(), []

    def gain(i):
        e, f = reached[i]
        return (len(e - edges), len(f - features), -i)

    while len(chosen) < limit and reached:
        best = max(reached, key=gain)
        if gain(best)[:2] == (0, 0):
            break
        e, f = reached.pop(best)
        edges |= e
        features |= f
        chosen.append(best)
    print(f"{len(chosen)} inputs reach {len(edges)} of {len(all_edges)} edges",
          file=sys.stderr)
    for i in chosen:
        print(paths[i])


if __name__ == "__main__":
    main()
