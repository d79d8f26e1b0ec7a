#!/usr/bin/env bash
# Fuzz the spec parsers briefly (libFuzzer, clang): FUZZ_SECONDS per target (default 20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
need=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCICD_FUZZ=ON -DCICD_BUILD_BENCH=OFF \
  -DCICD_FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >&2
cmake --build build-fuzz --target fuzz_buildspec fuzz_appspec fuzz_pipeline >&2
cd build-fuzz
exec ctest --output-on-failure -R '^fuzz:'
