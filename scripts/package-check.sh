#!/bin/sh
# make package-check: installs the .deb on this machine with dpkg -i, checks the
# binary, the man pages, the completions and the units, and purges it again,
# checking that every file of the package is gone. Needs root. Refuses to touch
# an iamkeys package that was installed before.
# usage: scripts/package-check.sh DEB VERSION
set -eu
deb=$1 version=$2
fail() { echo "package-check: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i)"
if dpkg-query -W -f='${Status}' iamkeys 2>/dev/null | grep -q "ok installed"; then
	fail "the iamkeys package is installed already; remove it first"
fi
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|')
dpkg -i "$deb" >/dev/null
trap 'dpkg --purge iamkeys >/dev/null 2>&1 || true' EXIT
out=$(iamkeys --version)
[ "$out" = "iamkeys $version" ] || fail "iamkeys --version says '$out', not 'iamkeys $version'"
# the release build: no test knob compiled in
! grep -q IAMKEYS_TEST_ /usr/bin/iamkeys || fail "/usr/bin/iamkeys obeys test knobs (not a release build)"
for p in iamkeys iamkeys-audit iamkeys-rotate iamkeys-policy; do
	man -w "$p" >/dev/null || fail "man -w $p finds nothing"
done
for f in /usr/share/bash-completion/completions/iamkeys /usr/share/zsh/vendor-completions/_iamkeys \
	 /usr/share/fish/vendor_completions.d/iamkeys.fish /lib/systemd/system/iamkeys-rotate.timer \
	 /usr/share/doc/iamkeys/copyright /usr/share/doc/iamkeys/examples/rotate.conf; do
	[ -f "$f" ] || fail "$f is not installed"
done
# installed, not enabled
[ ! -e /etc/systemd/system/timers.target.wants/iamkeys-rotate.timer ] || fail "the timer is enabled"
dpkg --purge iamkeys >/dev/null
trap - EXIT
for f in $files; do
	[ ! -e "$f" ] || fail "$f is left after dpkg --purge"
done
! dpkg-query -W -f='${Status}' iamkeys 2>/dev/null | grep -q "installed" || fail "still installed"
echo "package-check: $deb installs, works and purges cleanly"
