#!/usr/bin/python3
"""Blocks a scenario leaves on the heap: reads what bench/alloc-trace.c
recorded (TRACE, TRACE.maps) and the scenarios' time spans (MARKS: lines
of "name start_ns end_ns"), and prints, per scenario, the blocks it
allocated that were still allocated when it ended, grouped by call
stack.  Used by `bench/nginx-callgrind.sh --alloc`.  Frames in stripped
libraries (Debian's libcrypto) are named after the nearest exported
symbol, so read them as "somewhere near".

usage: alloc-trace.py TRACE MARKS
"""
import collections
import struct
import subprocess
import sys

FRAMES = 8
RECORD = struct.Struct("<QQQII" + "Q" * FRAMES)   # wid_at_record
ALLOC, FREE, REALLOC = 1, 2, 3


def records(path):
    data = open(path, "rb").read()
    for off in range(0, len(data) - RECORD.size + 1, RECORD.size):
        yield RECORD.unpack_from(data, off)


class Symbols:
    """Return addresses to "object:function", through addr2line."""

    def __init__(self, maps_path):
        self.maps = []
        self.base = {}
        for line in sorted(set(open(maps_path))):   # merged snapshots
            f = line.split()
            if len(f) < 6 or not f[5].startswith("/"):
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            self.maps.append((lo, hi, f[5]))
            start = lo - int(f[2], 16)
            self.base[f[5]] = min(self.base.get(f[5], start), start)
        self.cache = {}

    def name(self, addr):
        if addr not in self.cache:
            self.cache[addr] = "?"
            for lo, hi, obj in self.maps:
                if lo <= addr < hi:
                    # A return address points after the call: step back.
                    off = addr - 1 - self.base[obj]
                    out = subprocess.run(
                        ["addr2line", "-f", "-e", obj, hex(off)],
                        capture_output=True, text=True).stdout.split("\n")
                    fn = out[0] if out and out[0] != "??" else hex(off)
                    self.cache[addr] = obj.rsplit("/", 1)[-1] + ":" + fn
                    break
        return self.cache[addr]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    trace, marks_path = sys.argv[1:]
    marks = []
    for line in open(marks_path):
        name, start, end = line.split()
        marks.append((name, int(start), int(end)))
    sym = Symbols(trace + ".maps")

    live = {}          # address -> (size, stack, time)
    recs = list(records(trace))
    i = 0
    for name, start, end in marks:
        while i < len(recs) and recs[i][0] <= end:
            t, ptr, old, size, op = recs[i][:5]
            stack = recs[i][5:]
            if op == ALLOC and ptr:
                live[ptr] = (size, stack, t)
            elif op == FREE:
                live.pop(ptr, None)
            elif op == REALLOC:
                live.pop(old, None)
                if ptr:
                    live[ptr] = (size, stack, t)
            i += 1
        left = [v for v in live.values() if start <= v[2] <= end]
        print("%-10s %4d block(s), %d bytes left allocated"
              % (name, len(left), sum(v[0] for v in left)))
        groups = collections.Counter()
        for size, stack, _ in left:
            frames = [sym.name(a) for a in stack if a]
            frames = [f for f in frames if "alloc-trace" not in f]
            groups[" < ".join(frames[:6])] += 1
        for stack, n in groups.most_common(10):
            print("  %4d x %s" % (n, stack))


if __name__ == "__main__":
    main()
