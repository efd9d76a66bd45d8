#!/bin/sh
# make layers: fails when a file of a lower layer includes a header of a higher one.
#   src/core (0) <- src/aws (1) <- src/sinks (2) <- src/engine (3) <- src/cmd (4) <- src/main.c (5)
# A layer may include its own headers and those of any layer below it (docs/architecture.md).
cd "$(dirname "$0")/.." || exit 2
rank() {
	case "$1" in
	core) echo 0 ;; aws) echo 1 ;; sinks) echo 2 ;; engine) echo 3 ;; cmd) echo 4 ;;
	main) echo 5 ;; *) echo 9 ;;
	esac
}
bad=0
for f in src/*/*.c src/*/*.h src/main.c; do
	case "$f" in
	src/main.c) layer=main ;;
	*) layer=$(echo "$f" | cut -d/ -f2) ;;
	esac
	mine=$(rank "$layer")
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z]*\)\/[^"]*".*/\1/p' "$f"); do
		theirs=$(rank "$inc")
		if [ "$theirs" -gt "$mine" ]; then
			echo "layers: $f ($layer) includes a header of $inc, a higher layer" >&2
			bad=1
		fi
	done
done
[ $bad -eq 0 ] && echo "layers: every include goes down (core <- aws <- sinks <- engine <- cmd <- main.c)"
exit $bad
