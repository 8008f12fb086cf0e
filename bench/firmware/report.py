#!/usr/bin/env python3
"""Prints microfit's share of a firmware image, from the link maps of the size probe's variants.

Usage: report.py [--budget NAME=BYTES] BASELINE.map NAME=VARIANT.map [...]

For each variant, the sizes of the input sections that came from the probe's own object file are
compared with the baseline's. The variants differ from the baseline only by their calls into
microfit, so the difference is the code and data that microfit adds. Input sections from newlib,
libm and libgcc that a variant links and the baseline does not are listed apart: they are the C
library functions microfit calls (logf, for example).

With --budget NAME=BYTES, exits with 1 if the flash bytes (.text plus .rodata plus the initial
values of .data) that variant NAME adds exceed BYTES, C library excluded.
"""
import argparse
import re
import sys
from collections import defaultdict

SECTION_LINE = re.compile(r"^ (\.[^\s]+|COMMON)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*))?$")
CONTINUATION_LINE = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
LIBRARY_ORIGIN = re.compile(r"lib(c|m|gcc|rdimon|stdc\+\+|nosys|g)(_nano)?\.a\((.*)\)$")

KINDS = ("text", "rodata", "data", "bss")


def kind_of(section):
    """Sorts an input section into code, read-only data, initialized data or zeroed data."""
    if section.startswith(".text"):
        return "text"
    if section.startswith(".rodata"):
        return "rodata"
    if section.startswith(".data"):
        return "data"
    if section.startswith(".bss") or section == "COMMON":
        return "bss"
    return None


def read_map(path):
    """Returns (program sizes by kind, library sections {(origin, section): (kind, size)})."""
    program = defaultdict(int)
    library = {}
    in_memory_map = False
    pending = None
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if line.startswith("Linker script and memory map"):
                in_memory_map = True
                continue
            if not in_memory_map:
                continue
            if line.startswith("/DISCARD/"):
                break
            match = SECTION_LINE.match(line)
            if match and match.group(2) is None:
                pending = match.group(1)
                continue
            if match:
                section, size, origin = match.group(1), int(match.group(3), 16), match.group(4)
            elif pending is not None and CONTINUATION_LINE.match(line):
                continuation = CONTINUATION_LINE.match(line)
                section, size, origin = pending, int(continuation.group(2), 16), continuation.group(3)
            else:
                pending = None
                continue
            pending = None
            kind = kind_of(section)
            if kind is None or size == 0:
                continue
            if "size_probe.cpp" in origin:
                program[kind] += size
            elif LIBRARY_ORIGIN.search(origin):
                library[(origin, section)] = (kind, size)
    return program, library


def library_members(sections):
    """Sums the flash bytes of library sections per archive member, largest first."""
    by_member = defaultdict(int)
    for (origin, _), (kind, size) in sections.items():
        if kind == "bss":
            continue
        member = LIBRARY_ORIGIN.search(origin).group(3)
        by_member[member.replace("lib_a-", "").replace(".o", "")] += size
    return sorted(by_member.items(), key=lambda item: (-item[1], item[0]))


def wrap(items, indent, width=100):
    """Joins "name size" items into lines of at most `width` characters."""
    lines, line = [], indent
    for name, size in items:
        item = "{} {}".format(name, size)
        if len(line) + len(item) + 2 > width and line.strip():
            lines.append(line.rstrip(", "))
            line = indent
        line += item + ", "
    lines.append(line.rstrip(", "))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", help="NAME=BYTES: the flash bytes variant NAME may add")
    parser.add_argument("baseline", help="link map of the baseline variant")
    parser.add_argument("variants", nargs="+", help="NAME=PATH of each variant's link map")
    args = parser.parse_args()

    base_program, base_library = read_map(args.baseline)
    header = "{:<44} {:>7} {:>8} {:>6} {:>6} {:>7}".format("added to the baseline image", ".text", ".rodata",
                                                          ".data", ".bss", "flash")
    print(header)
    print("-" * len(header))
    flash_by_name = {}
    for variant in args.variants:
        name, _, path = variant.partition("=")
        program, library = read_map(path)
        added = {kind: program[kind] - base_program[kind] for kind in KINDS}
        flash = added["text"] + added["rodata"] + added["data"]
        print("{:<44} {:>7} {:>8} {:>6} {:>6} {:>7}".format(name, added["text"], added["rodata"], added["data"],
                                                           added["bss"], flash))
        new_library = {key: value for key, value in library.items() if key not in base_library}
        members = library_members(new_library)
        print("  C library code it adds: {} bytes of flash{}".format(sum(size for _, size in members),
                                                                   ":" if members else ""))
        if members:
            print(wrap(members, "    "))
        flash_by_name[name] = flash

    if args.budget is not None:
        name, _, limit = args.budget.partition("=")
        if name not in flash_by_name or not limit.isdigit():
            print("--budget {}: expected NAME=BYTES with NAME one of {}".format(args.budget, ", ".join(flash_by_name)))
            return 2
        flash, limit = flash_by_name[name], int(limit)
        verdict = "within" if flash <= limit else "OVER"
        print("\n{}: {} bytes of flash, {} the budget of {} bytes".format(name, flash, verdict, limit))
        if flash > limit:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
