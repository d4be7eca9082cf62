/* SPDX-License-Identifier: MIT */
#pragma once

/* Everything is hidden by default; this marks the public zb_ entry points. */
#define ZB_EXPORT __attribute__((visibility("default")))
