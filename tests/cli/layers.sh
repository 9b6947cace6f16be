#!/usr/bin/env bash
# Imports run one way (docs/ARCHITECTURE.md): core <- io <- report <- app, and inside app
# platform <- run <- {bids, follow} <- the command line (src/app/*.cpp). Every #include of
# a realign header in src/ and include/ is checked against the includer's place: no layer
# or wing may include one above it, bids and follow not each other; and no header of a
# wing may include, through any chain, a header that includes it back.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh" "$@"
need_python

python3 - "$ROOT" <<'PY' || fail "an import runs the wrong way (above)"
import os, re, sys

root = sys.argv[1]
rank = {"core": 0, "io": 1, "report": 2, "app/platform": 3, "app/run": 4,
        "app/bids": 5, "app/follow": 5, "app": 6}

def place(rel):
    """core, io, report, app/<wing> or app (the command line) of a path under src/ or include/realign/."""
    parts = rel.split("/")
    if parts[0] != "app":
        return parts[0]
    if len(parts) > 2 and "app/" + parts[1] in rank:
        return "app/" + parts[1]
    return "app"

include = re.compile(r'#include\s+"realign/([^"]+)"')
problems, graph = [], {}
for base in ("src", "include/realign"):
    for dirpath, _, files in os.walk(os.path.join(root, base)):
        for name in files:
            if not name.endswith((".cpp", ".hpp", ".h", ".inc")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, os.path.join(root, base))
            here = place(rel)
            if here not in rank:
                continue
            for target in include.findall(open(path, encoding="utf-8").read()):
                there = place(target)
                graph.setdefault(os.path.join(base, rel), set()).add("include/realign/" + target)
                if there == here:
                    continue
                if rank[there] >= rank[here]:
                    problems.append(f"{base}/{rel} ({here}) includes realign/{target} ({there})")

# Circles among headers: a header reaching itself through its includes.
def reaches(start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt == start:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False

problems += [f"{h} includes itself through a circle" for h in graph if h.startswith("include/") and reaches(h)]
for p in problems:
    print(p)
print(f"{sum(len(v) for v in graph.values())} includes of realign headers checked, {len(problems)} the wrong way")
sys.exit(1 if problems else 0)
PY
log "PASS"
