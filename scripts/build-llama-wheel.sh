#!/usr/bin/env bash
# Build (once) and install llama-cpp-python for this machine's CPU family without -march=native.
#
# A native build turns on every instruction set the CPU reports, AMX included; inside some
# virtual machines and sandboxes AMX tile instructions fault, and the server dies on its first
# completion (SIGSEGV in ggml_backend_amx_mul_mat). These flags keep AVX2/FMA/F16C, which every
# x86-64 server of the last decade has, and leave AMX and AVX-512 off. The wheel is cached under
# ~/.cache/jikji/wheels/<flags hash>/ so a clean clone on the same machine does not rebuild it
# (about 8 minutes on 2 cores).
set -euo pipefail
pip="$1"
version="${LLAMA_CPP_VERSION:-0.3.36}"
flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
key="$(printf '%s %s' "$version" "$flags" | sha256sum | cut -c1-16)"
wheels="${XDG_CACHE_HOME:-$HOME/.cache}/jikji/wheels/$key"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "Building llama-cpp-python $version (portable CPU flags; about 8 minutes, cached afterwards)..."
  mkdir -p "$wheels"
  CMAKE_ARGS="$flags" "$pip" wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
    "llama-cpp-python==$version" -w "$wheels.partial"
  mv "$wheels.partial"/llama_cpp_python-*.whl "$wheels"/
  rm -rf "$wheels.partial"
fi
"$pip" install --quiet --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
