/* SPDX-License-Identifier: MIT */
/* The words for libzbclient's own error codes, which strerror does not know. */
#pragma once

/* Text for a ZB_E* code; NULL for anything else (an errno: ask strerror). */
const char *error_own_text(int code);
