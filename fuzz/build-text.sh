#!/bin/sh
# Builds fuzz/fuzz_text.c, the libFuzzer target for the text modules, with
# clang's fuzzer, AddressSanitizer and UBSan, straight from the sources (no
# libtool, no configure needed):
#
#   fuzz/build-text.sh [OUTDIR]          (default OUTDIR: current directory)
#   OUTDIR/fuzz_text -max_total_time=120 -max_len=4096 CORPUSDIR
#
# With BUILDDIR set to a configured build directory its autoconfig.h is used;
# otherwise a minimal one is written into OUTDIR.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ -n "${BUILDDIR:-}" ] && [ -f "$BUILDDIR/autoconfig.h" ]; then
	confinc=$BUILDDIR
else
	confinc=$out/fuzz-text-include
	mkdir -p "$confinc"
	printf '/* minimal autoconfig.h for fuzz/build-text.sh */\n#define _GNU_SOURCE 1\n' \
		>"$confinc/autoconfig.h"
fi

${CC:-clang} -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Wno-unused-parameter \
	-I"$confinc" -I"$top/kernel" -I"$top/include" \
	-o "$out/fuzz_text" \
	"$top/fuzz/fuzz_text.c" \
	"$top/kernel/mail/mutf7.c" \
	"$top/kernel/mail/transfer-decode.c" \
	"$top/kernel/mail/charset.c" \
	"$top/kernel/mail/rfc2047.c" \
	"$top/kernel/mail/text-match.c" \
	"$top/kernel/error.c" "$top/kernel/xalloc.c" "$top/kernel/strbuf.c" \
	-lpthread
echo "built $out/fuzz_text"
