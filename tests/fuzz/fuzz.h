/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer entry point every harness defines. Built two ways: linked with
 * -fsanitize=fuzzer for fuzzing (build-fuzz, tests/fuzz/run.sh), or with
 * replay.c as a plain program that runs the corpora and the kept crash inputs
 * as regression tests in every build.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * For the harnesses of zbd's core (fuzz_daemon.c): set `d` up once per
 * process as zbd's main() would, with a loop, the default configuration, no
 * socket yet, sd_notify() going nowhere, and its state file (and socket, if
 * the harness listens) in /tmp/zbfuzz-TAG-PID-XXXXXX, removed at exit (named
 * with our pid, so run.sh can remove it after a crash).
 */
struct zbd;
void fuzz_daemon_setup(struct zbd *d, const char *tag);
