/* SPDX-License-Identifier: MIT */
/*
 * A buffer's sizes, looked at before it is made (create, read --create).
 * Sizes are rounded up to ZB_SIZE_ALIGN by the wire protocol: say so rather
 * than let "10" become 64 bytes silently. Shared memory on Linux lives in
 * /dev/shm, a tmpfs: a buffer larger than the whole of it is refused here (it
 * can never work). One larger than what is free now is refused by zbd or the
 * library, which reserve a buffer's memory when they make it (-ENOSPC, with
 * the bytes asked and the bytes left). The check is the client's view of
 * /dev/shm; zbd shares it unless it runs in a mount namespace of its own.
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/statvfs.h>

#include "zbctl.h"

#define SHM_DIR "/dev/shm"
/* The protocol's defaults, which a size left out takes (zbclient.h). */
#define DEFAULT_PAYLOAD (UINT64_C(1) << 20)
#define DEFAULT_METADATA UINT64_C(1024)
/* The control block before metadata and payload (protocol section 3). */
#define CONTROL_BLOCK 128

static uint64_t rounded(uint64_t size)
{
	return (size + ZB_SIZE_ALIGN - 1) / ZB_SIZE_ALIGN * ZB_SIZE_ALIGN;
}

static void note_rounding(const struct args *a, const char *what, uint64_t size)
{
	if (size == 0 || size % ZB_SIZE_ALIGN == 0)
		return;
	fprintf(stderr,
		"zbctl: %s: note: %s size %" PRIu64 " is rounded up to %" PRIu64
		" bytes (the wire protocol keeps sizes in multiples of %d)\n",
		a->verb->name, what, size, rounded(size), ZB_SIZE_ALIGN);
}

uint64_t buffer_bytes(const struct args *a)
{
	uint64_t payload = a->cfg.payload_size ? a->cfg.payload_size : DEFAULT_PAYLOAD;
	uint64_t metadata = a->cfg.metadata_size ? a->cfg.metadata_size : DEFAULT_METADATA;

	return CONTROL_BLOCK + rounded(metadata) + rounded(payload);
}

uint64_t shm_bytes_left(void)
{
	struct statvfs st;

	return statvfs(SHM_DIR, &st) == 0 ? (uint64_t)st.f_bavail * st.f_frsize : 0;
}

int check_buffer_sizes(const struct args *a)
{
	uint64_t need = buffer_bytes(a), total;
	char need_s[32], total_s[32];
	struct statvfs st;

	note_rounding(a, "payload", a->cfg.payload_size);
	note_rounding(a, "metadata", a->cfg.metadata_size);
	if (statvfs(SHM_DIR, &st) < 0)
		return EXIT_OK; /* nothing to compare with: zbd or the library will say */
	total = (uint64_t)st.f_blocks * st.f_frsize;
	format_size(need_s, sizeof(need_s), need);
	format_size(total_s, sizeof(total_s), total);
	if (total && need > total)
		return fail_text(a, -ENOSPC,
				 "choose a smaller --payload, or enlarge " SHM_DIR
				 " (a tmpfs: 'mount -o remount,size=...')",
				 "a buffer of %s cannot fit in " SHM_DIR " (%s in all)", need_s,
				 total_s);
	return EXIT_OK;
}
