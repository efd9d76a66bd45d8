#!/bin/sh
# make layers: fails when a file of a lower layer includes a header of a higher one.
#   src/core (0) <- src/aws (1) <- src/sinks (2) <- src/engine (3) <- src/cmd (4) <- src/main.c (5)
# A layer may include its own headers and those of any layer below it (docs/architecture.md).
cd "$(dirname "$0")/.." || exit 2
grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z]*/' src/*/*.c src/*/*.h src/main.c |
awk -F: '
BEGIN { r["core"] = 0; r["aws"] = 1; r["sinks"] = 2; r["engine"] = 3; r["cmd"] = 4; r["main"] = 5 }
{
	file = $1
	n = split(file, part, "/")
	layer = (file == "src/main.c") ? "main" : part[2]
	inc = $0
	sub(/^[^"]*"/, "", inc)
	sub(/\/.*/, "", inc)
	if (!(inc in r) || r[inc] > r[layer]) {
		printf "layers: %s (%s) includes a header of %s, a higher layer\n", file, layer, inc > "/dev/stderr"
		bad = 1
	}
}
END {
	if (!bad)
		print "layers: every include goes down (core <- aws <- sinks <- engine <- cmd <- main.c)"
	exit bad
}'
