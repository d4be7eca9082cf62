/* SPDX-License-Identifier: MIT */
/* A program built against the public header and linked with libzbclient only:
 * the whole API resolves from the shared library. */
#include <errno.h>
#include <stdio.h>

#include "zbclient.h"

int main(void)
{
	struct zb_reader *r = NULL;
	struct zb_writer *w = NULL;
	int err;

	if (zb_reader_open(&r, "") != -EINVAL || zb_writer_open(&w, "a/b") != -EINVAL) {
		fprintf(stderr, "argument checks failed\n");
		return 1;
	}
	err = zb_reader_open(&r, "zb-link-alone-no-such-buffer");
	if (err != -ENOENT) {
		fprintf(stderr, "open of a missing buffer: %s\n", zb_strerror(err));
		return 1;
	}
	zb_reader_close(NULL);
	zb_writer_close(NULL);
	puts(zb_strerror(ZB_ECORRUPT));
	return 0;
}
