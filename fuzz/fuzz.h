/* fuzz.h — the entry point every fuzz target defines. Built two ways (see Makefile.am, "fuzzing"):
 * with libFuzzer (./configure --enable-fuzzers, CC=clang), which supplies main(), or with
 * fuzz/replay.c, a small main() that feeds the files of a corpus to the target (make check). */
#ifndef GW_FUZZ_H
#define GW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
