/* SPDX-License-Identifier: MIT */
/*
 * zbd's health as Prometheus text: the `metrics` control command, `zbctl
 * metrics`, and the optional HTTP listener (metrics_listen=). The text is
 * parsed here by the exposition format's grammar (HELP and TYPE before a
 * family's samples, names and labels well-formed, counters ending in _total)
 * and its values checked against a real stream; `promtool check metrics`
 * checks it too when Prometheus' promtool is installed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zbclient.h"
#include "zbdtest.h"

#define TEXT_MAX (128 * 1024)

static struct tz t;

static void teardown(void)
{
	tz_teardown(&t);
}

/* The Prometheus text inside a `metrics` reply: its metrics= values, one a line. */
static void reply_text(const char *reply, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (const char *l = reply; *l;) {
		size_t len = strcspn(l, "\n");

		if (strncmp(l, "metrics=", 8) == 0) {
			ck_assert_uint_lt(n + len, size);
			n += (size_t)snprintf(out + n, size - n, "%.*s\n", (int)(len - 8), l + 8);
		}
		l += len + (l[len] == '\n');
	}
}

static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
			return false;
	return true;
}

/* Labels from just after '{' to its '}': name="value" pairs, escapes allowed.
 * Returns the position after '}', or NULL. */
static const char *labels_end(const char *p)
{
	while (*p != '}') {
		const char *eq = strchr(p, '=');

		if (!eq || !name_ok(p, (size_t)(eq - p)) || eq[1] != '"')
			return NULL;
		for (p = eq + 2; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return NULL;
			if (*p == '\\' && !strchr("\\\"n", *++p))
				return NULL;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

/* Check the whole text against the format; the test fails at the first wrong line. */
static void check_format(const char *text)
{
	char family[256] = "", type[16] = "", help_of[256] = "";
	unsigned samples = 0;

	for (const char *l = text; *l;) {
		size_t len = strcspn(l, "\n");
		char line[1024], *end;

		ck_assert_uint_lt(len, sizeof(line));
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		ck_assert_msg(l[len] == '\n', "the text does not end in a newline");
		l += len + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert_msg(sscanf(line + 7, "%255s", help_of) == 1, "bad: %s", line);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_msg(sscanf(line + 7, "%255s %15s", family, type) == 2, "bad: %s",
				      line);
			ck_assert_str_eq(family, help_of); /* HELP, then TYPE, of one family */
			ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0,
				      "type %s", type);
			ck_assert_msg(strncmp(family, "zbd_", 4) == 0, "%s: not zbd_", family);
			ck_assert_msg(strcmp(type, "counter") != 0 ||
					      strcmp(family + strlen(family) - 6, "_total") == 0,
				      "counter %s does not end in _total", family);
			continue;
		}
		ck_assert_msg(line[0] != '#' && line[0] != '\0', "unexpected line '%s'", line);
		/* A sample of the family just declared. */
		len = strcspn(line, "{ ");
		ck_assert_msg(name_ok(line, len), "bad name in '%s'", line);
		ck_assert_msg(strlen(family) == len && strncmp(line, family, len) == 0,
			      "sample '%s' outside its family's TYPE", line);
		end = line + len;
		if (*end == '{') {
			end = (char *)labels_end(end + 1);
			ck_assert_msg(end != NULL, "bad labels in '%s'", line);
		}
		ck_assert_msg(*end == ' ', "no value in '%s'", line);
		errno = 0;
		(void)strtod(end + 1, &end);
		ck_assert_msg(errno == 0 && *end == '\0', "bad value in '%s'", line);
		samples++;
	}
	ck_assert_uint_gt(samples, 0);
}

/* The value of `name`{buffer="buffer"[,extra]} (buffer NULL: no labels). */
static double sample(const char *text, const char *name, const char *buffer, const char *extra)
{
	char want[512];
	const char *p;

	if (buffer)
		snprintf(want, sizeof(want), "\n%s{buffer=\"%s\"%s%s} ", name, buffer,
			 extra ? "," : "", extra ? extra : "");
	else
		snprintf(want, sizeof(want), "\n%s ", name);
	p = strstr(text, want);
	ck_assert_msg(p != NULL, "no sample '%s' in:\n%s", want + 1, text);
	return strtod(p + strlen(want), NULL);
}

/* promtool's own check, when Prometheus' promtool is installed. */
static void promtool_check(const char *text)
{
	const char *tools[] = { "/usr/bin/promtool", "/usr/local/bin/promtool" };
	char in[160], out[160], report[4096];
	const char *tool = NULL;
	int status;

	for (size_t i = 0; i < 2; i++)
		if (access(tools[i], X_OK) == 0)
			tool = tools[i];
	if (!tool) {
		fprintf(stderr, "promtool is not installed: the text was checked by the test's "
				"own parser only\n");
		return;
	}
	snprintf(in, sizeof(in), "%s/metrics.prom", t.dir);
	snprintf(out, sizeof(out), "%s/promtool.out", t.dir);
	ck_assert_int_eq(tu_write_file(in, text, strlen(text)), 0);
	status = tu_wait(
		tu_spawn_io(tool, (char *const[]){ "check", "metrics", NULL }, in, out, out),
		30000);
	report[0] = '\0';
	tu_read_file(out, report, sizeof(report));
	/* promtool prints lint findings and exits non-zero when it has any. */
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && report[0] == '\0',
		      "promtool check metrics: status %#x:\n%s", status, report);
}

static void write_frames(const char *name, unsigned n)
{
	struct zb_writer *w;
	char frame[100] = { 0 };

	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(zb_writer_write(w, frame, sizeof(frame), 1000), 0);
	zb_writer_close(w);
}

START_TEST(metrics_command_text)
{
	static char text[TEXT_MAX];
	const char *a = tu_unique_name("metrics-a");
	char odd[256], odd_label[300];

	/* A name with the characters a label value must escape. */
	snprintf(odd, sizeof(odd), "%s-q\"b\\s", tu_unique_name("metrics"));
	for (size_t i = 0, n = 0; i <= strlen(odd); i++) {
		if (odd[i] == '"' || odd[i] == '\\')
			odd_label[n++] = '\\';
		odd_label[n++] = odd[i];
	}
	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	ck_assert_int_eq(tz_request(&t, "create %s payload=4K", odd), 0);
	write_frames(a, 7);

	ck_assert_int_eq(tz_request(&t, "metrics"), 0);
	reply_text(t.reply, text, sizeof(text));
	check_format(text);
	ck_assert_double_eq(sample(text, "zbd_buffers", NULL, NULL), 2);
	ck_assert_double_eq(sample(text, "zbd_buffer_payload_size_bytes", a, NULL), 65536);
	ck_assert_double_eq(sample(text, "zbd_buffer_frames_written_total", a, NULL), 7);
	ck_assert_double_eq(sample(text, "zbd_buffer_frames_read_total", a, NULL), 0);
	ck_assert_double_eq(sample(text, "zbd_buffer_used_bytes", a, NULL), 7 * (100 + 16));
	ck_assert_double_eq_tol(sample(text, "zbd_buffer_utilisation_ratio", a, NULL),
				7.0 * 116 / 65536, 1e-5);
	ck_assert_double_eq(sample(text, "zbd_buffer_state", a, "state=\"healthy\""), 1);
	ck_assert_double_eq(sample(text, "zbd_buffer_state", a, "state=\"stalled\""), 0);
	ck_assert_double_eq(sample(text, "zbd_buffer_payload_size_bytes", odd_label, NULL), 4096);
	promtool_check(text);

	/* The control protocol's own rule: no arguments. */
	ck_assert_int_eq(tz_request(&t, "metrics now"), -EINVAL);
}
END_TEST

/* zbctl metrics prints the text alone, as the textfile collector reads it. */
START_TEST(zbctl_metrics_prints_the_text)
{
	static char printed[TEXT_MAX];
	const char *zbctl = getenv("ZBCTL"), *a = tu_unique_name("metrics-cli");
	char out[160];
	pid_t pid;

	if (!zbctl || access(zbctl, X_OK) != 0) {
		fprintf(stderr, "ZBCTL is not set: zbctl metrics not tested\n");
		return;
	}
	tz_setup(&t, NULL);
	tz_start(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	snprintf(out, sizeof(out), "%s/zbctl.out", t.dir);
	tz_notify_drain(&t);
	pid = tu_spawn_io(zbctl, (char *const[]){ "-s", t.sock, "metrics", NULL }, NULL, out, NULL);
	ck_assert_int_eq(tu_exit_status(tu_wait(pid, 10000)), 0);
	ck_assert_int_gt(tu_read_file(out, printed, sizeof(printed)), 0);
	check_format(printed);
	ck_assert_double_eq(sample(printed, "zbd_buffer_payload_size_bytes", a, NULL), 65536);
}
END_TEST

/* The port of zbd's metrics listener, from its log line. */
static unsigned http_port(void)
{
	static char log[64 * 1024];
	char path[160];
	const char *p;

	snprintf(path, sizeof(path), "%s/zbd.log", t.dir);
	ck_assert_int_ge(tu_read_file(path, log, sizeof(log)), 0);
	p = strstr(log, "metrics: serving http://127.0.0.1:");
	ck_assert_msg(p != NULL, "no listener in zbd's log:\n%s", log);
	return (unsigned)atoi(p + strlen("metrics: serving http://127.0.0.1:"));
}

static int http_connect(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One request, the whole response (zbd closes after it) into out. */
static void http_get(unsigned port, const char *request, char *out, size_t size)
{
	int fd = http_connect(port);
	size_t len = 0;

	ck_assert_int_eq(send(fd, request, strlen(request), MSG_NOSIGNAL),
			 (ssize_t)strlen(request));
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ck_assert_msg(poll(&pfd, 1, 5000) == 1, "no response within 5 s");
		ck_assert_uint_lt(len, size - 1);
		n = recv(fd, out + len, size - 1 - len, 0);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
}

START_TEST(http_listener_serves_metrics)
{
	static char res[TEXT_MAX];
	const char *a = tu_unique_name("metrics-http");
	const char *body;
	unsigned port;
	int idle;

	tz_setup(&t, "[zbd]\nmetrics_listen = 127.0.0.1:0\n");
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "create %s payload=64K", a), 0);
	port = http_port();

	/* A client that sends half a request and waits holds nothing up. */
	idle = http_connect(port);
	ck_assert_int_eq(send(idle, "GET /met", 8, MSG_NOSIGNAL), 8);

	http_get(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", res,
		 sizeof(res));
	ck_assert_msg(strncmp(res, "HTTP/1.1 200 ", 13) == 0, "response: %.200s", res);
	ck_assert_msg(strcasestr(res, "\r\nContent-Type: text/plain; version=0.0.4"),
		      "response: %.300s", res);
	body = strstr(res, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	check_format(body + 4);
	ck_assert_double_eq(sample(body + 4, "zbd_buffer_payload_size_bytes", a, NULL), 65536);
	ck_assert(tz_in_list(&t, a)); /* the control socket answers meanwhile */

	http_get(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", res, sizeof(res));
	ck_assert_msg(strncmp(res, "HTTP/1.1 405 ", 13) == 0, "response: %.200s", res);
	http_get(port, "GET /other HTTP/1.0\r\n\r\n", res, sizeof(res));
	ck_assert_msg(strncmp(res, "HTTP/1.1 404 ", 13) == 0, "response: %.200s", res);
	close(idle);
}
END_TEST

/* Off unless configured: no port is opened by default. */
START_TEST(http_listener_off_by_default)
{
	tz_setup(&t, NULL);
	tz_start_logged(&t);
	ck_assert_int_eq(tz_request(&t, "metrics"), 0);
	tz_log_has(&t, false, "metrics: serving", NULL);
}
END_TEST

TU_SUITE(zbd_metrics_suite, "zbd-metrics")
{
	TCase *tc = tu_tcase(s, "metrics", NULL, teardown);

	tcase_add_test(tc, metrics_command_text);
	tcase_add_test(tc, zbctl_metrics_prints_the_text);
	tcase_add_test(tc, http_listener_serves_metrics);
	tcase_add_test(tc, http_listener_off_by_default);
}
