/* SPDX-License-Identifier: MIT */
/*
 * zbd's health as Prometheus text (exposition format 0.0.4, which
 * node_exporter's textfile collector and Prometheus read): the same values as
 * the health records (health.c), named after Prometheus' conventions
 * (zbd_buffer_..., units in the name, counters ending in _total). The rates
 * of the health records are left out: Prometheus computes them from the
 * counters.
 */
#pragma once

#include <stddef.h>

#include "model.h"

/* The content type of what metrics_text() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The whole text, ending in a newline, in *ret (the caller frees it). 0 or -ENOMEM. */
int metrics_text(struct zbd *d, char **ret, size_t *ret_len);
