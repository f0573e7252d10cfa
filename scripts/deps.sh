#!/usr/bin/env bash
# scripts/deps.sh - make sure the Debian 12 packages this project needs are installed.
#
# Checks every package with dpkg-query; only when something is missing does it run
# `apt-get update` once and `apt-get install` the missing ones (needs root; as a
# normal user it lists what is missing and exits 1). Silent when all is present,
# so it is cheap to call at the start of every build/CI run. Idempotent.
set -euo pipefail

PKGS=(
  gcc make pkg-config
  libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
  libpq-dev postgresql-15 postgresql-client-15
  libcmocka-dev libyaml-dev libssl-dev libmicrohttpd-dev libcurl4-openssl-dev libjson-c-dev
  python3 python3-zmq python3-protobuf protobuf-compiler
  faketime procps tzdata clang-format curl jq
)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $st == "install ok installed" ]] || missing+=("$p")
done

((${#missing[@]} == 0)) && exit 0

if ((EUID != 0)); then
  echo "deps.sh: missing packages (run as root to install): ${missing[*]}" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
