#!/bin/sh
# Installs the Debian 12 packages iamkeys needs to build and test.
# As root it runs apt-get; otherwise it prints the apt-get line to run.
# --check: exit 0 if everything is installed, 1 otherwise (installs nothing).
PKGS="build-essential pkg-config libcurl4-openssl-dev libssl-dev libxml2-dev libjansson-dev \
libcmocka-dev git python3 python3-botocore python3-boto3 awscli faketime ca-certificates \
groff mandoc man-db zsh fish debhelper lintian clang clang-format libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "$1" = "--check" ]; then
	[ -z "$missing" ] && exit 0
	echo "missing packages:$missing" >&2
	exit 1
fi
[ -z "$missing" ] && { echo "deps: all packages installed"; exit 0; }
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: run as root: apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
