#!/usr/bin/env bash
# Builds Tongsuo's `openssl` command (an independent implementation of
# RFC 8998 TLS 1.3 with SM2/SM3/SM4) from the C source the `tongsuo-src`
# crate vendors, once per machine, and prints its path. The gateway's SM
# TLS tests talk to it (VEILGATE_TONGSUO). Usage: .ci/tongsuo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
version=8.5.0
cache="${VEILGATE_CACHE:-/var/cache/veilgate}/tongsuo-$version"
if [ ! -x "$cache/apps/openssl" ]; then
  cargo fetch --locked >&2
  manifest=$(cargo metadata --format-version 1 --locked 2>/dev/null |
    grep -o '"manifest_path":"[^"]*/tongsuo-src-[^"]*/Cargo.toml"' | head -1 |
    sed 's/"manifest_path":"//; s/"$//')
  src="$(dirname "$manifest")/tongsuo"
  [ -f "$src/Configure" ] || { echo "tongsuo-src has no source at $src" >&2; exit 1; }
  rm -rf "$cache.tmp" && mkdir -p "$(dirname "$cache")"
  cp -r "$src" "$cache.tmp"
  (
    cd "$cache.tmp"
    ./Configure linux-x86_64 no-shared no-tests no-module enable-ntls >&2
    make -j"$(nproc)" build_programs >&2
  )
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
fi
echo "$cache/apps/openssl"
