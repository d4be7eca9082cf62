/* SPDX-License-Identifier: MIT */
/*
 * zbd's configuration: defaults, a full file, every error class with its exact
 * "PATH:LINE:" and code (and the previous configuration left untouched), and
 * the size / mode / group parsers the control socket shares.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	ck_assert_int_eq(tu_mkdtemp(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/zbd.conf", dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
}

static void write_conf(const char *text)
{
	ck_assert_int_eq(tu_write_file(path, text, strlen(text)), 0);
}

/* A group that is not the daemon's own, to see group settings take effect. */
static gid_t other_gid(const char **name)
{
	static const char *candidates[] = { "daemon", "bin", "sys", "adm", "nogroup", "users" };

	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		struct group *g = getgrnam(candidates[i]);

		if (g && g->gr_gid != getegid()) {
			*name = candidates[i];
			return g->gr_gid;
		}
	}
	*name = NULL;
	return (gid_t)-1;
}

START_TEST(defaults)
{
	struct zbd_config c;

	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	ck_assert_ptr_null(c.socket_path);
	ck_assert_uint_eq(c.admin_gid, (gid_t)-1);
	ck_assert_uint_eq(c.default_mode, 0660);
	ck_assert_uint_eq(c.default_gid, getegid());
	ck_assert_uint_eq(c.scan_interval_ms, 50);
	ck_assert_uint_eq(c.stall_ms, 2000);
	ck_assert_uint_eq(c.client_idle_s, 300);
	ck_assert_ptr_null(c.buffers);
	ck_assert_uint_eq(c.n_buffers, 0);
	config_free(&c);
	config_free(&c); /* empty after a free: freeing again is harmless */
	config_free(NULL);
}
END_TEST

START_TEST(full_file)
{
	struct zbd_config c;
	const struct zbd_buffer_spec *b;
	const char *gname;
	gid_t gid = other_gid(&gname);
	char text[2048], err[256] = "stale";
	char longname[ZB_NAME_MAX + 1];

	if (!gname)
		gname = "0", gid = 0;
	/* 150 bytes: far beyond inih's 49-byte section names, within a line. */
	memset(longname, 'n', 150);
	longname[150] = '\0';
	snprintf(text, sizeof(text),
		 "\xEF\xBB\xBF# a comment\n"
		 "; another\n"
		 "[buffer early]\n"
		 "payload = 1M\n"
		 "\n"
		 "  [zbd]   ; comment after a header\n"
		 "socket = /run/zbd-test/zbd.sock\n"
		 "\tadmin_group = %s\n"
		 "default_mode = 0640 ; inline comment\n"
		 "default_group = 0\n"
		 "scan_interval_ms = 20\n"
		 "stall_ms = 1500\n"
		 "client_idle_s = 60\n"
		 "[buffer camera0]\n"
		 "  payload = 64M\n"
		 "  metadata = 4K\n"
		 "  mode = 600\n"
		 "  group = %s\n"
		 "[buffer empty]\n"
		 "[ buffer   spaced ]\n"
		 "metadata=1024\n"
		 "[buffer %s]\n",
		 gname, gname, longname);
	write_conf(text);
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c.socket_path, "/run/zbd-test/zbd.sock");
	ck_assert_uint_eq(c.admin_gid, gid);
	ck_assert_uint_eq(c.default_mode, 0640);
	ck_assert_uint_eq(c.default_gid, 0);
	ck_assert_uint_eq(c.scan_interval_ms, 20);
	ck_assert_uint_eq(c.stall_ms, 1500);
	ck_assert_uint_eq(c.client_idle_s, 60);
	ck_assert_uint_eq(c.n_buffers, 5);

	/* Declared before [zbd]: still takes its mode and group from it. */
	b = &c.buffers[0];
	ck_assert_str_eq(b->name, "early");
	ck_assert_uint_eq(b->payload_size, 1 << 20);
	ck_assert_uint_eq(b->metadata_size, 0);
	ck_assert_uint_eq(b->mode, 0640);
	ck_assert_uint_eq(b->gid, 0);
	ck_assert_uint_eq(b->line, 3);

	b = config_buffer(&c, "camera0");
	ck_assert_ptr_eq(b, &c.buffers[1]);
	ck_assert_uint_eq(b->payload_size, 64u << 20);
	ck_assert_uint_eq(b->metadata_size, 4096);
	ck_assert_uint_eq(b->mode, 0600);
	ck_assert_uint_eq(b->gid, gid);
	ck_assert_uint_eq(b->line, 14);

	/* A section with no keys still declares its buffer. */
	b = config_buffer(&c, "empty");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->payload_size, 0);
	ck_assert_uint_eq(b->mode, 0640);
	ck_assert_uint_eq(b->line, 19);

	b = config_buffer(&c, "spaced");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->metadata_size, 1024);

	b = config_buffer(&c, longname);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(strlen(b->name), 150);

	ck_assert_ptr_null(config_buffer(&c, "nope"));
	ck_assert_ptr_null(config_buffer(NULL, "nope"));

	/* Loading again replaces (and frees) what was there; no error buffer is fine. */
	write_conf("[zbd]\nstall_ms = 7\n");
	ck_assert_int_eq(config_load(&c, path, NULL, 0), 0);
	ck_assert_uint_eq(c.stall_ms, 7);
	ck_assert_uint_eq(c.scan_interval_ms, 50);
	ck_assert_ptr_null(c.socket_path);
	ck_assert_uint_eq(c.n_buffers, 0);
	config_free(&c);
}
END_TEST

START_TEST(empty_file)
{
	struct zbd_config c, d;
	char err[256];

	write_conf("");
	config_defaults(&c);
	config_defaults(&d);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	config_free(&c);
}
END_TEST

START_TEST(bad_arguments)
{
	struct zbd_config c;

	config_defaults(&c);
	ck_assert_int_eq(config_load(NULL, "/x", NULL, 0), -EINVAL);
	ck_assert_int_eq(config_load(&c, NULL, NULL, 0), -EINVAL);
}
END_TEST

/*
 * Each broken file: the line it is reported at, the code, and a piece of the
 * message. The body follows a line-1 comment, so no error is at line 1 by luck.
 */
static const struct bad {
	const char *text;
	unsigned line;
	int r;
	const char *what;
} bads[] = {
	{ "#\n[zbd]\nscan_interval_ms = 10\n[foo]\n", 4, -EINVAL, "unknown section [foo]" },
	{ "#\n[zbdx]\n", 2, -EINVAL, "unknown section [zbdx]" },
	{ "#\n[buffers x]\n", 2, -EINVAL, "unknown section" },
	{ "#\n[zbd]\nsockett = /x\n", 3, -EINVAL, "unknown key 'sockett' in [zbd]" },
	{ "#\n[buffer a]\npayload = 1K\nsize = 1K\n", 4, -EINVAL,
	  "unknown key 'size' in [buffer a]" },
	{ "#\nstall_ms = 5\n", 2, -EINVAL, "outside any section" },
	{ "#\n[buffer a]\npayload = 0\n", 3, -EINVAL, "payload: '0'" },
	{ "#\n[buffer a]\npayload = 64X\n", 3, -EINVAL, "payload: '64X'" },
	{ "#\n[buffer a]\npayload = 64M # not a comment\n", 3, -EINVAL, "payload" },
	{ "#\n[buffer a]\nmetadata = -1\n", 3, -EINVAL, "metadata: '-1'" },
	{ "#\n[buffer a]\npayload = 99999999999999999999999\n", 3, -EMSGSIZE, "too large" },
	{ "#\n[buffer a]\npayload = 1025G\n", 3, -EMSGSIZE, "too large" },
	{ "#\n[buffer a]\nmode = 0668\n", 3, -EINVAL, "mode: '0668' is not an octal mode" },
	{ "#\n[zbd]\ndefault_mode = 010000\n", 3, -EINVAL, "default_mode" },
	{ "#\n[zbd]\ndefault_mode = rw-rw----\n", 3, -EINVAL, "default_mode" },
	{ "#\n[buffer a]\ngroup = no-such-group-zbdtest\n", 3, -ENOENT,
	  "group: unknown group 'no-such-group-zbdtest'" },
	{ "#\n[zbd]\nadmin_group = no-such-group-zbdtest\n", 3, -ENOENT, "unknown group" },
	{ "#\n[zbd]\ndefault_group = 4294967295\n", 3, -EINVAL, "default_group" },
	{ "#\n[buffer a]\n[buffer b]\n[buffer a]\n", 4, -EEXIST,
	  "buffer 'a' is already declared on line 2" },
	{ "#\n[buffer a/b]\n", 2, -EINVAL, "invalid buffer name 'a/b'" },
	{ "#\n[buffer ..]\n", 2, -EINVAL, "invalid buffer name '..'" },
	/* A name zbd could never create must not load and then silently not exist. */
	{ "#\n[buffer a b]\n", 2, -EINVAL, "invalid buffer name 'a b'" },
	{ "#\n[buffer k=v]\n", 2, -EINVAL, "invalid buffer name 'k=v'" },
	{ "#\n[buffer]\n", 2, -EINVAL, "needs a name" },
	{ "#\n[zbd\n", 2, -EINVAL, "without a closing ']'" },
	{ "#\n[zbd] junk\n", 2, -EINVAL, "unexpected text after ']'" },
	{ "#\n[zbd]\nthis line has no equals sign\n", 3, -EINVAL, "syntax error" },
	/* inih's own syntax error comes first even though a later line is also bad. */
	{ "#\n[zbd]\nno equals\nbogus = 1\n", 3, -EINVAL, "syntax error" },
	{ "#\n[zbd]\nstall_ms = 1\nstall_ms = 2\n", 4, -EINVAL, "'stall_ms' is set twice" },
	{ "#\n[buffer a]\nmode = 0600\nmode = 0600\n", 4, -EINVAL, "'mode' is set twice" },
	{ "#\n[zbd]\nscan_interval_ms = 0\n", 3, -ERANGE, "from 1 to 60000" },
	{ "#\n[zbd]\nscan_interval_ms = 60001\n", 3, -ERANGE, "scan_interval_ms" },
	{ "#\n[zbd]\nclient_idle_s = 99999999999999999999\n", 3, -ERANGE, "client_idle_s" },
	{ "#\n[zbd]\nmetrics_listen = localhost:9464\n", 3, -EINVAL, "numeric address" },
	{ "#\n[zbd]\nmetrics_listen = 127.0.0.1\n", 3, -EINVAL, "metrics_listen" },
	{ "#\n[zbd]\nmetrics_listen = 127.0.0.1:65536\n", 3, -EINVAL, "metrics_listen" },
	{ "#\n[zbd]\nmetrics_listen = ::1:9464\n", 3, -EINVAL, "metrics_listen" },
	{ "#\n[zbd]\nmetrics_listen = [::1]:9464\nmetrics_listen = [::1]:9465\n", 4, -EINVAL,
	  "set twice" },
	{ "#\n[zbd]\nstall_ms = 5s\n", 3, -EINVAL, "stall_ms: '5s'" },
	{ "#\n[zbd]\nstall_ms =\n", 3, -EINVAL, "stall_ms: ''" },
	{ "#\n[zbd]\nsocket = run/zbd.sock\n", 3, -EINVAL, "not an absolute path" },
};

static void expect_failure(const char *text, unsigned line, int r, const char *what)
{
	struct zbd_config c;
	char err[512], prefix[256];
	int got;

	write_conf("[zbd]\nstall_ms = 1234\n[buffer keep]\npayload = 8K\n");
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, NULL, 0), 0);
	struct zbd_config before = c;

	write_conf(text);
	got = config_load(&c, path, err, sizeof(err));
	ck_assert_msg(got == r, "%s: got %d (%s), want %d", text, got, err, r);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "'%s' does not start '%s'", err,
		      prefix);
	ck_assert_msg(strstr(err, what), "'%s' does not say '%s'", err, what);

	/* The previous configuration is untouched, down to its pointers. */
	ck_assert_int_eq(memcmp(&c, &before, sizeof(c)), 0);
	ck_assert_uint_eq(c.stall_ms, 1234);
	ck_assert_uint_eq(c.n_buffers, 1);
	ck_assert_str_eq(c.buffers[0].name, "keep");
	ck_assert_uint_eq(c.buffers[0].payload_size, 8192);
	config_free(&c);
}

START_TEST(bad_file)
{
	const struct bad *b = &bads[_i];

	expect_failure(b->text, b->line, b->r, b->what);
}
END_TEST

START_TEST(line_too_long)
{
	char text[1024];

	snprintf(text, sizeof(text), "#\n[zbd]\n# %0600d\nstall_ms = 1\n", 0);
	expect_failure(text, 3, -EINVAL, "line too long");
}
END_TEST

/* The longest line that fits is taken whole, with or without a final newline. */
START_TEST(line_at_limit)
{
	struct zbd_config c;
	char text[512], err[256];
	int n;

	for (n = 150; n < 400; n++) {
		snprintf(text, sizeof(text), "[zbd]\nstall_ms = 3\n# %0*d\n", n - 2, 0);
		write_conf(text);
		config_defaults(&c);
		if (config_load(&c, path, err, sizeof(err)) < 0)
			break;
		config_free(&c);
	}
	ck_assert_msg(strstr(err, ":3: line too long"), "%s", err);
	/* n - 1 characters fit: the message names that limit. */
	snprintf(text, sizeof(text), "(at most %d characters)", n - 1);
	ck_assert_msg(strstr(err, text), "'%s' does not say '%s'", err, text);

	/* At the limit, a line without a final newline is still read whole. */
	snprintf(text, sizeof(text), "#\n[buffer %0*d]", n - 1 - 9, 7);
	write_conf(text);
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.n_buffers, 1);
	ck_assert_uint_eq(strlen(c.buffers[0].name), (size_t)(n - 1 - 9));
	ck_assert_uint_eq(c.buffers[0].line, 2);
	config_free(&c);
}
END_TEST

START_TEST(missing_file)
{
	struct zbd_config c;
	char err[256], want[256];

	config_defaults(&c);
	c.stall_ms = 99;
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(c.stall_ms, 99);

	/* A directory opens but cannot be read: reported, not taken as empty. */
	ck_assert_int_eq(config_load(&c, dir, err, sizeof(err)), -EISDIR);
	ck_assert_msg(strncmp(err, dir, strlen(dir)) == 0 && strstr(err, ":1: cannot read"), "%s",
		      err);
	ck_assert_uint_eq(c.stall_ms, 99);
}
END_TEST

/* A tiny error buffer gets a truncated, terminated message. */
START_TEST(small_error_buffer)
{
	struct zbd_config c;
	char err[8];

	memset(err, 'x', sizeof(err));
	write_conf("[nope]\n");
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_int_eq(config_load(&c, path, NULL, 0), -EINVAL);
}
END_TEST

static const struct size_case {
	const char *text;
	int r;
	uint64_t value;
} sizes[] = {
	{ "1", 0, 1 },
	{ "1024", 0, 1024 },
	{ "4K", 0, 4096 },
	{ "4k", 0, 4096 },
	{ "64M", 0, 64ull << 20 },
	{ "1G", 0, 1ull << 30 },
	{ "0064m", 0, 64ull << 20 },
	{ "1024G", 0, 1ull << 40 },
	{ "1099511627776", 0, 1ull << 40 },
	{ "1099511627777", -EMSGSIZE, 0 },
	{ "1025G", -EMSGSIZE, 0 },
	{ "1048577M", -EMSGSIZE, 0 },
	{ "18446744073709551615", -EMSGSIZE, 0 },
	{ "18446744073709551616", -EMSGSIZE, 0 },
	{ "99999999999999999999999G", -EMSGSIZE, 0 },
	{ "99999999999999999999999X", -EINVAL, 0 },
	{ "0", -EINVAL, 0 },
	{ "0K", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "K", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ " 1", -EINVAL, 0 },
	{ "1 ", -EINVAL, 0 },
	{ "1 K", -EINVAL, 0 },
	{ "1KB", -EINVAL, 0 },
	{ "1KiB", -EINVAL, 0 },
	{ "1T", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1e6", -EINVAL, 0 },
	{ "1.5M", -EINVAL, 0 },
	{ "64MM", -EINVAL, 0 },
};

START_TEST(parse_size)
{
	const struct size_case *s = &sizes[_i];
	uint64_t v = 12345;
	int r = zb_size_parse(s->text, &v); /* the grammar zbd.conf reads */

	ck_assert_msg(r == s->r, "'%s': got %d, want %d", s->text, r, s->r);
	/* Written only on success. */
	ck_assert_uint_eq(v, s->r == 0 ? s->value : 12345);
}
END_TEST

START_TEST(parse_mode)
{
	mode_t m = 0123;

	ck_assert_int_eq(config_parse_mode("0660", &m), 0);
	ck_assert_uint_eq(m, 0660);
	ck_assert_int_eq(config_parse_mode("660", &m), 0);
	ck_assert_uint_eq(m, 0660);
	ck_assert_int_eq(config_parse_mode("0", &m), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(config_parse_mode("07777", &m), 0);
	ck_assert_uint_eq(m, 07777);
	ck_assert_int_eq(config_parse_mode("0000000666", &m), 0);
	ck_assert_uint_eq(m, 0666);
	/* World-writable is allowed: the file says so explicitly. */
	ck_assert_int_eq(config_parse_mode("0666", &m), 0);
	ck_assert_uint_eq(m, 0666);

	m = 0123;
	ck_assert_int_eq(config_parse_mode("010000", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("77777777777777777777777", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("0668", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("0x1ff", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("-660", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("660 ", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("u+rw", &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode(NULL, &m), -EINVAL);
	ck_assert_int_eq(config_parse_mode("0660", NULL), -EINVAL);
	ck_assert_uint_eq(m, 0123);
}
END_TEST

START_TEST(parse_group)
{
	const char *name;
	gid_t other = other_gid(&name), g = 77;

	ck_assert_int_eq(config_parse_group("root", &g), 0);
	ck_assert_uint_eq(g, 0);
	if (name) {
		ck_assert_int_eq(config_parse_group(name, &g), 0);
		ck_assert_uint_eq(g, other);
	}
	ck_assert_int_eq(config_parse_group("0", &g), 0);
	ck_assert_uint_eq(g, 0);
	/* Numbers need not exist in the group database. */
	ck_assert_int_eq(config_parse_group("4000000000", &g), 0);
	ck_assert_uint_eq(g, 4000000000u);
	ck_assert_int_eq(config_parse_group("4294967294", &g), 0);
	ck_assert_uint_eq(g, 4294967294u);

	g = 77;
	ck_assert_int_eq(config_parse_group("no-such-group-zbdtest", &g), -ENOENT);
	ck_assert_int_eq(config_parse_group("4294967295", &g), -EINVAL);
	ck_assert_int_eq(config_parse_group("4294967296", &g), -EINVAL);
	ck_assert_int_eq(config_parse_group("12abc", &g), -EINVAL);
	ck_assert_int_eq(config_parse_group("", &g), -EINVAL);
	ck_assert_int_eq(config_parse_group(NULL, &g), -EINVAL);
	ck_assert_int_eq(config_parse_group("root", NULL), -EINVAL);
	ck_assert_uint_eq(g, 77);
}
END_TEST

/* The shipped file as installed (everything commented out) is the defaults. */
START_TEST(parse_listen)
{
	struct sockaddr_storage sa;
	socklen_t len;
	struct zbd_config c;

	ck_assert_int_eq(config_parse_listen("127.0.0.1:9464", &sa, &len), 0);
	ck_assert_int_eq(sa.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&sa)->sin_port), 9464);
	ck_assert_int_eq(config_parse_listen("[::1]:0", &sa, &len), 0);
	ck_assert_int_eq(sa.ss_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(config_parse_listen("[::1]", &sa, &len), -EINVAL);
	ck_assert_int_eq(config_parse_listen(":9464", &sa, &len), -EINVAL);
	ck_assert_int_eq(config_parse_listen("1.2.3.4:-1", &sa, &len), -EINVAL);
	ck_assert_int_eq(config_parse_listen("1.2.3.4:9464 ", &sa, &len), -EINVAL);

	/* Off by default; set, it is kept as written. */
	config_defaults(&c);
	ck_assert_ptr_null(c.metrics_listen);
	write_conf("[zbd]\nmetrics_listen = 0.0.0.0:9464\n");
	ck_assert_int_eq(config_load(&c, path, NULL, 0), 0);
	ck_assert_str_eq(c.metrics_listen, "0.0.0.0:9464");
	config_free(&c);
}
END_TEST

START_TEST(shipped_file_is_defaults)
{
	const char *shipped = getenv("ZBD_CONF");
	struct zbd_config c, d;
	char err[256];

	ck_assert_ptr_nonnull(shipped);
	config_defaults(&c);
	config_defaults(&d);
	ck_assert_msg(config_load(&c, shipped, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	config_free(&c);
}
END_TEST

/*
 * The shipped file with every setting uncommented: each documented key exists,
 * and each documented default is the built-in one. Groups become 0, as the
 * ones named there need not exist on the test machine.
 */
START_TEST(shipped_file_documents_defaults)
{
	const char *shipped = getenv("ZBD_CONF");
	static const char *groups[] = { "admin_group", "default_group", "group" };
	struct zbd_config c, d;
	char line[512], err[256];
	unsigned settings = 0;
	FILE *in, *out;

	ck_assert_ptr_nonnull(shipped);
	in = fopen(shipped, "re");
	ck_assert_ptr_nonnull(in);
	out = fopen(path, "w");
	ck_assert_ptr_nonnull(out);
	while (fgets(line, sizeof(line), in)) {
		const char *text = line;
		size_t key_len = strcspn(line + 1, " =");

		/* "#key = value" and "#[section]" are settings; "# prose" is not. */
		if (line[0] == '#' && (line[1] == '[' || (line[1] >= 'a' && line[1] <= 'z'))) {
			text = line + 1;
			settings++;
			for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
				if (key_len == strlen(groups[i]) &&
				    strncmp(text, groups[i], key_len) == 0)
					text = strcmp(groups[i], "group") == 0 ? "group = 0\n"
					       : strcmp(groups[i], "admin_group") == 0
						       ? "admin_group = 0\n"
						       : "default_group = 0\n";
		}
		ck_assert_int_ge(fputs(text, out), 0);
	}
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	/* 8 [zbd] keys, the [buffer] header and its 4 keys. */
	ck_assert_uint_eq(settings, 13);

	config_defaults(&c);
	config_defaults(&d);
	ck_assert_msg(config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c.socket_path, "/run/zbd/zbd.sock");
	ck_assert_uint_eq(c.admin_gid, 0);
	ck_assert_uint_eq(c.default_mode, d.default_mode);
	ck_assert_uint_eq(c.default_gid, 0);
	ck_assert_uint_eq(c.scan_interval_ms, d.scan_interval_ms);
	ck_assert_uint_eq(c.stall_ms, d.stall_ms);
	ck_assert_uint_eq(c.client_idle_s, d.client_idle_s);
	ck_assert_uint_eq(c.foreign_scan_ms, d.foreign_scan_ms);
	ck_assert_uint_eq(c.n_buffers, 1);
	ck_assert_str_eq(c.buffers[0].name, "camera0");
	ck_assert_uint_eq(c.buffers[0].payload_size, 64u << 20);
	ck_assert_uint_eq(c.buffers[0].metadata_size, 4096);
	ck_assert_uint_eq(c.buffers[0].mode, 0660);
	config_free(&c);
}
END_TEST

TU_SUITE(config_suite, "config")
{
	TCase *tc = tu_tcase(s, "config", setup, teardown);

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, full_file);
	tcase_add_test(tc, parse_listen);
	tcase_add_test(tc, empty_file);
	tcase_add_test(tc, bad_arguments);
	tcase_add_loop_test(tc, bad_file, 0, (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, line_too_long);
	tcase_add_test(tc, line_at_limit);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, small_error_buffer);
	tcase_add_loop_test(tc, parse_size, 0, (int)(sizeof(sizes) / sizeof(sizes[0])));
	tcase_add_test(tc, parse_mode);
	tcase_add_test(tc, parse_group);
	tcase_add_test(tc, shipped_file_is_defaults);
	tcase_add_test(tc, shipped_file_documents_defaults);
}
