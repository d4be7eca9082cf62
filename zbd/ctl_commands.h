/* SPDX-License-Identifier: MIT */
/* The control commands: one table of {name, usage, who may, handler}. */
#pragma once

#include "ctl_server.h"

/* Parse and run one request line (no newline) and queue its reply. */
void ctl_dispatch(struct ctl_client *c, char *line);

/* The body of a health reply: daemon record, then `only` or every buffer. */
int ctl_write_health(struct zbd *d, struct reply *r, const char *only);
