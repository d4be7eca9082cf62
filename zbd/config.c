/* SPDX-License-Identifier: MIT */
/*
 * The configuration file is read with inih, through a line reader of our own
 * (ini_parse_stream). inih alone cannot give us what we promise: its handler
 * never learns the line number, it does not call the handler for a section
 * with no keys (an empty [buffer NAME] would vanish), it truncates section
 * names to 49 bytes (long buffer names would be silently cut), it treats an
 * indented line as the continuation of the previous value, and it splits an
 * over-long line into two. So the reader counts lines, refuses over-long
 * ones, strips indentation (so there are no continuation lines and
 * indentation is free), and takes [section] headers itself; inih still
 * parses every key = value line and its comments, and reports the lines it
 * cannot parse.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "segment.h"

/* A [buffer] that sets no mode or group takes the [zbd] defaults, which may
 * come later in the file: these mark "not set" until the end of the load. */
#define MODE_UNSET ((mode_t)-1)
#define GID_UNSET ((gid_t)-1)

enum section { SECTION_NONE, SECTION_ZBD, SECTION_BUFFER };

/* Keys already set: a key given twice is an error rather than a silent override. */
enum {
	KEY_SOCKET = 1u << 0,
	KEY_ADMIN_GROUP = 1u << 1,
	KEY_DEFAULT_MODE = 1u << 2,
	KEY_DEFAULT_GROUP = 1u << 3,
	KEY_SCAN_INTERVAL = 1u << 4,
	KEY_STALL = 1u << 5,
	KEY_CLIENT_IDLE = 1u << 6,
	KEY_PAYLOAD = 1u << 7,
	KEY_METADATA = 1u << 8,
	KEY_MODE = 1u << 9,
	KEY_GROUP = 1u << 10,
	KEY_METRICS_LISTEN = 1u << 11,
	KEY_FOREIGN_SCAN = 1u << 12,
};

/* Every key a section may set, and the bit that marks it set. */
static const struct key_name {
	enum section section;
	const char *name;
	unsigned bit;
} key_names[] = {
	{ SECTION_ZBD, "socket", KEY_SOCKET },
	{ SECTION_ZBD, "admin_group", KEY_ADMIN_GROUP },
	{ SECTION_ZBD, "default_mode", KEY_DEFAULT_MODE },
	{ SECTION_ZBD, "default_group", KEY_DEFAULT_GROUP },
	{ SECTION_ZBD, "scan_interval_ms", KEY_SCAN_INTERVAL },
	{ SECTION_ZBD, "stall_ms", KEY_STALL },
	{ SECTION_ZBD, "client_idle_s", KEY_CLIENT_IDLE },
	{ SECTION_ZBD, "metrics_listen", KEY_METRICS_LISTEN },
	{ SECTION_ZBD, "foreign_scan_ms", KEY_FOREIGN_SCAN },
	{ SECTION_BUFFER, "payload", KEY_PAYLOAD },
	{ SECTION_BUFFER, "metadata", KEY_METADATA },
	{ SECTION_BUFFER, "mode", KEY_MODE },
	{ SECTION_BUFFER, "group", KEY_GROUP },
};

struct load {
	struct zbd_config cfg; /* built here, handed over only when all is well */
	const char *path;
	FILE *f;
	unsigned line;
	enum section section;
	size_t buffer; /* index of the current [buffer] in cfg.buffers */
	size_t buffers_cap;
	unsigned seen_zbd; /* across every [zbd] section */
	unsigned seen_buffer;
	int r; /* the first error; 0 while there is none */
	char *err;
	size_t err_size;
};

void config_defaults(struct zbd_config *cfg)
{
	assert(cfg);
	*cfg = (struct zbd_config){
		.socket_path = NULL,
		/* Administration is opt-in: a group that merely exists (even one
		 * named "zbd") grants nothing until the file names it. */
		.admin_gid = (gid_t)-1,
		.default_mode = 0660,
		.default_gid = getegid(),
		.scan_interval_ms = 50,
		.stall_ms = 2000,
		.client_idle_s = 300,
		.foreign_scan_ms = 1000,
	};
}

void config_free(struct zbd_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->socket_path);
	cfg->socket_path = NULL;
	free(cfg->metrics_listen);
	cfg->metrics_listen = NULL;
	free(cfg->buffers);
	cfg->buffers = NULL;
	cfg->n_buffers = 0;
}

const struct zbd_buffer_spec *config_buffer(const struct zbd_config *cfg, const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->n_buffers; i++)
		if (strcmp(cfg->buffers[i].name, name) == 0)
			return &cfg->buffers[i];
	return NULL;
}

int config_parse_mode(const char *text, mode_t *ret)
{
	unsigned v = 0;
	const char *p;

	if (!text || !ret || *text == '\0')
		return -EINVAL;
	for (p = text; *p; p++) {
		if (*p < '0' || *p > '7')
			return -EINVAL;
		v = v * 8 + (unsigned)(*p - '0');
		if (v > 07777) /* checked per digit, so v cannot overflow */
			return -EINVAL;
	}
	*ret = (mode_t)v;
	return 0;
}

/* Decimal, no sign, no garbage: -EINVAL; above max: -ERANGE. */
static int parse_uint(const char *text, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *p;

	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	for (p = text; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (*p != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int config_parse_group(const char *text, gid_t *ret)
{
	struct group grp, *found = NULL;
	unsigned long long v;
	char *buf = NULL, *bigger;
	size_t size = 1024;
	int r;

	if (!text || !ret || *text == '\0')
		return -EINVAL;
	if (isdigit((unsigned char)*text)) {
		/* A number need not be in the group database: chown takes any gid.
		 * (gid_t)-1 is not a gid, it means "leave unchanged". */
		r = parse_uint(text, (gid_t)-2, &v);
		if (r < 0)
			return -EINVAL;
		*ret = (gid_t)v;
		return 0;
	}
	for (;;) {
		bigger = realloc(buf, size);
		if (!bigger) {
			r = -ENOMEM;
			goto fail;
		}
		buf = bigger;
		r = getgrnam_r(text, &grp, buf, size, &found);
		if (r != ERANGE)
			break;
		if (size >= 1024 * 1024) {
			r = -ERANGE;
			goto fail;
		}
		size *= 2;
	}
	/* getgrnam_r(3): a name that is not found may also come back as one of these. */
	if (!found && (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)) {
		r = -ENOENT;
		goto fail;
	}
	if (!found) {
		r = -r;
		goto fail;
	}
	*ret = grp.gr_gid;
	r = 0;
fail:
	free(buf);
	return r;
}

int config_parse_listen(const char *text, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long long port;
	size_t n;

	if (!text || !ret || !ret_len)
		return -EINVAL;
	colon = strrchr(text, ':');
	n = colon ? (size_t)(colon - text) : 0;
	if (!colon || n == 0 || n >= sizeof(host) || parse_uint(colon + 1, 65535, &port) < 0)
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (host[0] == '[' && host[n - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;

		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
			return -EINVAL;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(*a);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ret;

	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -EINVAL;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*ret_len = sizeof(*a);
	return 0;
}

/* Record the first error as "PATH:LINE: what" and return it. */
__attribute__((format(printf, 3, 4))) static int load_error(struct load *l, int r, const char *fmt,
							    ...)
{
	char what[512];
	va_list ap;

	assert(r < 0);
	if (l->r < 0)
		return l->r;
	l->r = r;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (l->err && l->err_size > 0)
		snprintf(l->err, l->err_size, "%s:%u: %s", l->path, l->line, what);
	return r;
}

const char *config_size_error(int err)
{
	return err == -EMSGSIZE
		       ? "too large (at most 1 TiB)"
		       : "expected a positive number of bytes with an optional K, M or G suffix";
}

/* "[zbd]" or "[buffer NAME]": open the section the following keys belong to. */
static int open_section(struct load *l, char *text)
{
	struct zbd_buffer_spec *spec, *grown;
	const struct zbd_buffer_spec *dup;
	char *end, *name, *after;

	end = strchr(text + 1, ']');
	if (!end)
		return load_error(l, -EINVAL, "section header without a closing ']'");
	/* After ']' only a comment may follow (inih ignores the rest; we do not). */
	after = end + 1;
	while (isspace((unsigned char)*after))
		after++;
	if (*after != '\0' && *after != ';' && *after != '#')
		return load_error(l, -EINVAL, "unexpected text after ']': '%s'", after);
	*end = '\0';
	name = text + 1;
	while (isspace((unsigned char)*name))
		name++;
	for (end = name + strlen(name); end > name && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';

	if (strcmp(name, "zbd") == 0) {
		l->section = SECTION_ZBD;
		return 0;
	}
	if (strncmp(name, "buffer", 6) != 0 ||
	    (name[6] != '\0' && !isspace((unsigned char)name[6])))
		return load_error(l, -EINVAL,
				  "unknown section [%s] (expected [zbd] or [buffer NAME])", name);
	name += 6;
	while (isspace((unsigned char)*name))
		name++;
	if (*name == '\0')
		return load_error(l, -EINVAL, "[buffer] needs a name: [buffer NAME]");
	if (zb_name_check(name) < 0)
		return load_error(l, -EINVAL, "invalid buffer name '%s' (%s)", name, ZB_NAME_RULE);
	dup = config_buffer(&l->cfg, name);
	if (dup)
		return load_error(l, -EEXIST, "buffer '%s' is already declared on line %u", name,
				  dup->line);

	if (l->cfg.n_buffers == l->buffers_cap) {
		size_t cap = l->buffers_cap ? 2 * l->buffers_cap : 8;

		grown = reallocarray(l->cfg.buffers, cap, sizeof(*grown));
		if (!grown)
			return load_error(l, -ENOMEM, "out of memory");
		l->cfg.buffers = grown;
		l->buffers_cap = cap;
	}
	spec = &l->cfg.buffers[l->cfg.n_buffers];
	*spec = (struct zbd_buffer_spec){ .mode = MODE_UNSET, .gid = GID_UNSET, .line = l->line };
	snprintf(spec->name, sizeof(spec->name), "%s", name);
	l->buffer = l->cfg.n_buffers++;
	l->section = SECTION_BUFFER;
	l->seen_buffer = 0;
	return 0;
}

static const unsigned char utf8_bom[3] = { 0xEF, 0xBB, 0xBF };

/*
 * inih's reader: one line per call, so l->line is the line inih is about to
 * parse, which is how the key handler knows its line number.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct load *l = stream;
	size_t len, skip;
	int c;

	/* Returning NULL looks like the end of the file to inih: the first error
	 * stops the load, and nothing after it runs. */
	if (l->r < 0)
		return NULL;
	errno = 0;
	if (!fgets(str, num, l->f)) {
		if (ferror(l->f)) {
			int e = errno ? errno : EIO;

			l->line++;
			load_error(l, -e, "cannot read: %s", strerror(e));
		}
		return NULL;
	}
	l->line++;
	len = strlen(str);
	if (len > 0 && str[len - 1] == '\n') {
		str[--len] = '\0';
	} else if (!feof(l->f)) {
		c = getc(l->f);
		if (c != '\n' && c != EOF) {
			load_error(l, -EINVAL, "line too long (at most %d characters)", num - 1);
			return NULL;
		}
	}
	/* A UTF-8 byte order mark is harmless; skip it so "[zbd]" is seen as one. */
	skip = 0;
	if (l->line == 1 && len >= 3 && memcmp(str, utf8_bom, 3) == 0)
		skip = 3;
	while (skip < len && isspace((unsigned char)str[skip]))
		skip++;
	memmove(str, str + skip, len - skip + 1);
	if (str[0] == '[') {
		if (open_section(l, str) < 0)
			return NULL;
		/* Handled: inih gets a blank line, its (truncating) idea of the
		 * section is never used. */
		str[0] = '\0';
	}
	return str;
}

static int set_unsigned(struct load *l, const char *key, const char *value, unsigned min,
			unsigned max, unsigned *out)
{
	unsigned long long v;
	int r = parse_uint(value, max, &v);

	if (r == 0 && v < min)
		r = -ERANGE;
	if (r < 0)
		return load_error(l, r, "%s: '%s' is not a whole number from %u to %u", key, value,
				  min, max);
	*out = (unsigned)v;
	return 0;
}

static int set_group(struct load *l, const char *key, const char *value, gid_t *out)
{
	int r = config_parse_group(value, out);

	if (r == -ENOENT)
		return load_error(l, r, "%s: unknown group '%s'", key, value);
	if (r < 0)
		return load_error(l, r, "%s: '%s' is not a group name or number (%s)", key, value,
				  strerror(-r));
	return 0;
}

static int set_mode(struct load *l, const char *key, const char *value, mode_t *out)
{
	if (config_parse_mode(value, out) < 0)
		return load_error(l, -EINVAL, "%s: '%s' is not an octal mode from 0 to 07777", key,
				  value);
	return 0;
}

static int set_size(struct load *l, const char *key, const char *value, uint64_t *out)
{
	int r = zb_size_parse(value, out);

	if (r < 0)
		return load_error(l, r, "%s: '%s': %s", key, value, config_size_error(r));
	return 0;
}

static int set_listen(struct load *l, const char *key, const char *value, char **out)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char *copy;

	if (config_parse_listen(value, &sa, &len) < 0)
		return load_error(l, -EINVAL,
				  "%s: '%s' is not ADDRESS:PORT with a numeric address "
				  "(127.0.0.1:9464, [::1]:9464)",
				  key, value);
	copy = strdup(value);
	if (!copy)
		return load_error(l, -ENOMEM, "out of memory");
	free(*out);
	*out = copy;
	return 0;
}

/* The bit of `key` in the current section, marked in *seen; an unknown key or
 * one set twice is an error naming the section (`where`). */
static int take_key(struct load *l, const char *key, unsigned *seen, const char *where)
{
	for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
		const struct key_name *k = &key_names[i];

		if (k->section != l->section || strcmp(k->name, key) != 0)
			continue;
		if (*seen & k->bit)
			return load_error(l, -EINVAL, "'%s' is set twice in [%s]", key, where);
		*seen |= k->bit;
		return (int)k->bit;
	}
	return load_error(l, -EINVAL, "unknown key '%s' in [%s]", key, where);
}

static int set_zbd(struct load *l, const char *key, const char *value)
{
	struct zbd_config *c = &l->cfg;
	char *copy;
	int r;

	r = take_key(l, key, &l->seen_zbd, "zbd");
	if (r < 0)
		return r;
	switch ((unsigned)r) {
	case KEY_SOCKET:
		/* Relative paths would depend on the daemon's working directory. */
		if (value[0] != '/')
			return load_error(l, -EINVAL, "socket: '%s' is not an absolute path",
					  value);
		if (strlen(value) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return load_error(l, -ENAMETOOLONG, "socket: path longer than %zu bytes",
					  sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		copy = strdup(value);
		if (!copy)
			return load_error(l, -ENOMEM, "out of memory");
		free(c->socket_path);
		c->socket_path = copy;
		return 0;
	case KEY_ADMIN_GROUP:
		return set_group(l, key, value, &c->admin_gid);
	case KEY_DEFAULT_MODE:
		return set_mode(l, key, value, &c->default_mode);
	case KEY_DEFAULT_GROUP:
		return set_group(l, key, value, &c->default_gid);
	case KEY_SCAN_INTERVAL:
		return set_unsigned(l, key, value, 1, 60000, &c->scan_interval_ms);
	case KEY_STALL:
		return set_unsigned(l, key, value, 1, 86400000, &c->stall_ms);
	case KEY_METRICS_LISTEN:
		return set_listen(l, key, value, &c->metrics_listen);
	case KEY_FOREIGN_SCAN:
		return set_unsigned(l, key, value, 0, 3600000, &c->foreign_scan_ms);
	default:
		return set_unsigned(l, key, value, 1, 86400, &c->client_idle_s);
	}
}

static int set_buffer(struct load *l, const char *key, const char *value)
{
	struct zbd_buffer_spec *spec = &l->cfg.buffers[l->buffer];
	char where[sizeof(spec->name) + 8];
	int r;

	snprintf(where, sizeof(where), "buffer %s", spec->name);
	r = take_key(l, key, &l->seen_buffer, where);
	if (r < 0)
		return r;
	switch ((unsigned)r) {
	case KEY_PAYLOAD:
		return set_size(l, key, value, &spec->payload_size);
	case KEY_METADATA:
		return set_size(l, key, value, &spec->metadata_size);
	case KEY_MODE:
		return set_mode(l, key, value, &spec->mode);
	default:
		return set_group(l, key, value, &spec->gid);
	}
}

/* inih's handler: non-zero means "fine", so our 0 / -errno is turned around here. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct load *l = user;
	int r;

	(void)section; /* ours (from read_line) is never truncated */
	if (l->r < 0)
		return 0;
	if (!value) /* only with INI_ALLOW_NO_VALUE builds of inih */
		value = "";
	switch (l->section) {
	case SECTION_ZBD:
		r = set_zbd(l, key, value);
		break;
	case SECTION_BUFFER:
		r = set_buffer(l, key, value);
		break;
	default:
		r = load_error(l, -EINVAL, "'%s' is outside any section (settings go under [zbd])",
			       key);
		break;
	}
	return r == 0;
}

int config_load(struct zbd_config *cfg, const char *path, char *err, size_t err_size)
{
	struct load l = { .path = path, .err = err, .err_size = err_size };
	int r, bad_line;

	if (!cfg || !path)
		return -EINVAL;
	if (err && err_size > 0)
		err[0] = '\0';
	config_defaults(&l.cfg);

	l.f = fopen(path, "re");
	if (!l.f) {
		r = -errno;
		if (err && err_size > 0)
			snprintf(err, err_size, "%s: cannot open: %s", path, strerror(-r));
		goto fail;
	}
	bad_line = ini_parse_stream(read_line, &l, on_key, &l);
	/* inih keeps going after a line it cannot parse and returns that line at
	 * the end; our own errors stop it at once, so an earlier inih line wins. */
	if (bad_line > 0 && (l.r == 0 || (unsigned)bad_line < l.line)) {
		l.r = 0;
		l.line = (unsigned)bad_line;
		load_error(&l, -EINVAL,
			   "syntax error (expected [section], key = value or a comment)");
	} else if (bad_line < 0 && l.r == 0) {
		load_error(&l, -ENOMEM, "out of memory");
	}
	r = l.r;
	if (r < 0)
		goto fail;

	for (size_t i = 0; i < l.cfg.n_buffers; i++) {
		if (l.cfg.buffers[i].mode == MODE_UNSET)
			l.cfg.buffers[i].mode = l.cfg.default_mode;
		if (l.cfg.buffers[i].gid == GID_UNSET)
			l.cfg.buffers[i].gid = l.cfg.default_gid;
	}
	fclose(l.f);
	config_free(cfg);
	*cfg = l.cfg;
	return 0;

fail:
	if (l.f)
		fclose(l.f);
	config_free(&l.cfg);
	return r;
}
