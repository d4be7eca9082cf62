/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "fdstore.h"
#include "log.h"

#define PREFIX "buf-"

int fdstore_name(char *out, size_t size, const char *name)
{
	size_t n = strlen(PREFIX);

	if (size <= n)
		return -ENAMETOOLONG;
	memcpy(out, PREFIX, n);
	for (const char *p = name; *p; p++) {
		const char *esc = *p == ':' ? "%3A" : *p == '%' ? "%25" : NULL;
		size_t len = esc ? 3 : 1;

		if (n + len >= size)
			return -ENAMETOOLONG;
		memcpy(out + n, esc ? esc : p, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

/* The buffer name in a descriptor name of ours; -EINVAL for anything else. */
static int name_of(const char *fdname, char out[ZB_NAME_MAX + 1])
{
	size_t n = 0;

	if (strncmp(fdname, PREFIX, strlen(PREFIX)) != 0)
		return -EINVAL;
	for (const char *p = fdname + strlen(PREFIX); *p; p++) {
		char c = *p;

		if (c == '%') {
			if (strncmp(p, "%3A", 3) == 0)
				c = ':';
			else if (strncmp(p, "%25", 3) == 0)
				c = '%';
			else
				return -EINVAL;
			p += 2;
		}
		if (n == ZB_NAME_MAX)
			return -EINVAL;
		out[n++] = c;
	}
	out[n] = '\0';
	return zb_name_check(out) < 0 ? -EINVAL : 0;
}

static int keep_lock(struct zbd *d, int fd, const char *fdname)
{
	struct fdstore_fd *grown, *e;

	grown = reallocarray(d->stored, d->n_stored + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	d->stored = grown;
	e = &d->stored[d->n_stored];
	if (name_of(fdname, e->name) < 0) {
		/* Not ours to use, and not ours to keep in the store either. */
		log_warning("descriptor '%s' from systemd is not a buffer's; closed and dropped "
			    "from the store",
			    fdname);
		sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", fdname);
		close(fd);
		return 0;
	}
	e->fd = fd;
	d->n_stored++;
	return 0;
}

int fdstore_receive(struct zbd *d)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names), r = 0, locks = 0;

	d->activation_fd = -1;
	if (n < 0)
		return log_error_errno(n, "sd_listen_fds_with_names");
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *fdname = names && names[i] ? names[i] : "unknown";

		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (r < 0) {
			close(fd);
		} else if (strncmp(fdname, PREFIX, strlen(PREFIX)) == 0) {
			r = keep_lock(d, fd, fdname);
			locks++;
		} else if (d->activation_fd < 0) {
			d->activation_fd = fd;
		} else {
			r = log_error_errno(-EINVAL,
					    "expected one socket from systemd, got "
					    "another ('%s')",
					    fdname);
			close(fd);
		}
	}
	if (locks)
		log_info("%d buffer lock%s kept by systemd while zbd was down", locks,
			 locks == 1 ? " was" : "s were");
	if (names)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	return r;
}

int fdstore_take(struct zbd *d, const char *name)
{
	for (size_t i = 0; i < d->n_stored; i++) {
		int fd = d->stored[i].fd;

		if (fd < 0 || strcmp(d->stored[i].name, name) != 0)
			continue;
		d->stored[i].fd = -1;
		return fd;
	}
	return -1;
}

void fdstore_add(const struct zbd_buffer *b)
{
	char fdname[sizeof(PREFIX) + 3 * ZB_NAME_MAX], msg[sizeof(fdname) + 32];
	int r;

	if (b->lock_fd < 0 || fdstore_name(fdname, sizeof(fdname), b->name) < 0)
		return;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", fdname);
	/* systemd keeps one copy per open file description: sending the same
	 * descriptor again (an adopted buffer) stores nothing twice. */
	r = sd_pid_notify_with_fds(0, 0, msg, &b->lock_fd, 1);
	if (r < 0)
		log_warning_errno(r, "%s: cannot hand its lock to systemd's descriptor store",
				  b->name);
}

void fdstore_remove(const char *name)
{
	char fdname[sizeof(PREFIX) + 3 * ZB_NAME_MAX];

	if (fdstore_name(fdname, sizeof(fdname), name) == 0)
		sd_notifyf(0, "FDSTOREREMOVE=1\nFDNAME=%s", fdname);
}

static bool owned(struct zbd *d, const char *name)
{
	struct zbd_buffer *b, *tmp;

	list_for_each_safe(b, tmp, &d->buffers, struct zbd_buffer, link)
		if (strcmp(b->name, name) == 0)
			return true;
	return false;
}

void fdstore_release_unclaimed(struct zbd *d)
{
	for (size_t i = 0; i < d->n_stored; i++) {
		struct fdstore_fd *e = &d->stored[i];

		if (e->fd < 0)
			continue;
		close(e->fd);
		e->fd = -1;
		if (owned(d, e->name))
			continue; /* a second copy: removing by name would drop the one in use */
		log_notice("%s: its lock came back from systemd but the buffer is not adopted; "
			   "dropped from the store",
			   e->name);
		fdstore_remove(e->name);
	}
	fdstore_forget(d);
}

void fdstore_forget(struct zbd *d)
{
	for (size_t i = 0; i < d->n_stored; i++)
		if (d->stored[i].fd >= 0)
			close(d->stored[i].fd);
	free(d->stored);
	d->stored = NULL;
	d->n_stored = 0;
}
