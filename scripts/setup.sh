#!/usr/bin/env bash
# Installs what cicd needs on Debian 12 (when missing), then configures and builds it in build/.
# Run by demo.sh and test.sh; safe to run again (only missing packages are installed).
#
#   scripts/setup.sh                 everything: the tools, the tests, the benchmarks (test.sh)
#   scripts/setup.sh TARGET...       only what building these targets needs (demo.sh: cbuild cdeploy cpipeline)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
targets=("$@")

# To configure and build (catch2 too: configuring build/ includes the test suite).
build_packages=(build-essential cmake ninja-build pkg-config
  libcli11-dev libyaml-cpp-dev libgit2-dev libfmt-dev catch2 libcurl4-openssl-dev nettle-dev
  libarchive-dev nlohmann-json3-dev libpugixml-dev libdeflate-dev)
# Everything the tests and the benchmarks run; a test that finds a program missing is skipped, and
# in CI (CICD_NO_SKIP) fails.
test_packages=(
  util-linux passwd acl  # setpriv for run-as and runas, useradd for their tests, setfacl/getfacl
  git zip unzip tar coreutils python3  # tests compare against these and craft hostile archives with python3
  openssh-server openssh-client  # the ssh instances' tests: a real sshd on 127.0.0.1
  groff-base man-db zsh fish bash-completion  # checks of man pages and completions
  rsync bc)  # the benchmarks' baselines and arithmetic

# What demo.sh runs besides the tools: git (the example's repository), jq (reads the tools' JSON).
demo_packages=(git jq)

packages=("${build_packages[@]}" "${demo_packages[@]}")
((${#targets[@]})) || packages+=("${test_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCICD_WERROR="$werror" >&2
if ((${#targets[@]})); then
  cmake --build build -j "$(nproc)" --target "${targets[@]}" >&2
else
  cmake --build build -j "$(nproc)" >&2
fi
