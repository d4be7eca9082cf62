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
