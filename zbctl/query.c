/* SPDX-License-Identifier: MIT */
/* The verbs that ask zbd: list, health, watch, version. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zbctl.h"

int cmd_list(const struct args *a)
{
	struct zb_ctl *ctl;
	char **names;
	size_t count;
	int code = EXIT_OK, err;

	if (connect_or_fail(a, &ctl))
		return EXIT_FAIL;
	err = zb_ctl_list(ctl, &names, &count);
	if (err < 0) {
		code = fail(a, err, ctl);
		zb_ctl_close(ctl);
		return code;
	}
	if (a->json) {
		if (json_print_list(names, count) < 0)
			code = fail(a, -ENOMEM, NULL);
	} else {
		for (size_t i = 0; i < count; i++)
			printf("%s\n", names[i]);
	}
	zb_ctl_list_free(names);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(a);
}

/* One health reply, as a table (or every key, for a single buffer) or JSON.
 * `eol` as for print_health_table(). */
static int show_health(const struct args *a, const struct zb_ctl_reply *reply, bool detail,
		       const char *eol)
{
	struct zb_daemon_health d;
	struct zb_health *h;
	size_t n;
	int err;

	if (a->json) {
		err = json_print_reply(reply);
		return err < 0 ? fail(a, err, NULL) : EXIT_OK;
	}
	if (detail) {
		err = print_health_detail(stdout, reply);
		return err < 0 ? fail(a, err, NULL) : EXIT_OK;
	}
	err = zb_ctl_reply_health(reply, &h, &n, &d);
	if (err < 0)
		return fail(a, err, NULL);
	print_health_table(stdout, &d, h, n, eol);
	zb_health_free(h);
	return EXIT_OK;
}

/* Connect and send one request: 0 with the successful reply and the open
 * connection (the caller frees and closes both), else the exit code. */
static int ask(const struct args *a, const char *line, struct zb_ctl **ret_ctl,
	       struct zb_ctl_reply **ret_reply)
{
	struct zb_ctl_reply *reply;
	struct zb_ctl *ctl;
	int code, err;

	if (connect_or_fail(a, &ctl))
		return EXIT_FAIL;
	err = zb_ctl_request(ctl, line, &reply);
	if (err == 0 && reply->status < 0) {
		err = reply->status;
		zb_ctl_reply_free(reply);
	}
	if (err < 0) {
		code = fail(a, err, ctl);
		zb_ctl_close(ctl);
		return code;
	}
	*ret_ctl = ctl;
	*ret_reply = reply;
	return EXIT_OK;
}

int cmd_health(const struct args *a)
{
	char line[ZB_CTL_LINE_MAX + 1] = "health";
	struct zb_ctl_reply *reply = NULL;
	struct zb_ctl *ctl = NULL;
	int code;

	if (a->operand)
		snprintf(line, sizeof(line), "health %s", a->operand);
	code = ask(a, line, &ctl, &reply);
	if (code)
		return code;
	code = show_health(a, reply, a->operand != NULL, "\n");
	zb_ctl_reply_free(reply);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(a);
}

/* The Prometheus text as it is (node_exporter's textfile collector reads it),
 * or with --json the reply as every verb gives it. */
int cmd_metrics(const struct args *a)
{
	struct zb_ctl_reply *reply = NULL;
	struct zb_ctl *ctl = NULL;
	int code = ask(a, "metrics", &ctl, &reply);

	if (code)
		return code;
	if (a->json) {
		if (json_print_reply(reply) < 0)
			code = fail(a, -ENOMEM, NULL);
	} else {
		for (size_t i = 0; i < reply->n_fields; i++)
			if (strcmp(reply->fields[i].key, "metrics") == 0)
				printf("%s\n", reply->fields[i].value);
	}
	zb_ctl_reply_free(reply);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(a);
}

/* One report of a watch. The live view (a terminal, no --json) homes the
 * cursor and overwrites in place, clearing the whole screen only once, so
 * the picture does not flicker. */
static int show_report(const struct args *a, const struct zb_ctl_reply *reply, long interval,
		       bool live, bool first)
{
	int code;

	if (live) {
		char now[16];
		time_t t = time(NULL);

		strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
		fputs(first ? "\033[H\033[2J" : "\033[H", stdout);
		printf("%s  every %ld ms, Ctrl-C quits\033[K\n", now, interval);
	}
	code = show_health(a, reply, false, live ? "\033[K\n" : "\n");
	if (live)
		fputs("\033[J", stdout);
	else if (!a->json)
		fputc('\n', stdout);
	return code;
}

/* Send the request, then receive and show reports until a signal, an error,
 * or zbd hanging up. */
static int watch_reports(const struct args *a, struct zb_ctl *ctl, const char *line, long interval)
{
	bool live = !a->json && isatty(STDOUT_FILENO), first = true;
	int code = EXIT_OK, err = zb_ctl_send(ctl, line);

	while (err == 0 && !stop_signal) {
		struct zb_ctl_reply *reply;

		err = zb_ctl_receive(ctl, &reply);
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		if (reply->status < 0) {
			err = reply->status;
			zb_ctl_reply_free(reply);
			break;
		}
		code = show_report(a, reply, interval, live, first);
		first = false;
		zb_ctl_reply_free(reply);
		if (code)
			break;
		if (fflush(stdout) != 0) {
			code = finish_stdout(a); /* a closed pipe ends the watch quietly */
			break;
		}
	}
	if (err < 0)
		code = fail(a, err, ctl);
	else if (stop_signal)
		code = interrupted(a, NULL, 0);
	return code;
}

int cmd_watch(const struct args *a)
{
	char line[64] = "watch";
	struct zb_ctl *ctl;
	long interval = 1000;
	int code;

	if (a->operand) {
		if (!parse_uint(a->operand, 3600 * 1000, &interval) || interval < 10)
			return misuse(a, "invalid interval '%s' (milliseconds, 10 or more)",
				      a->operand);
		snprintf(line, sizeof(line), "watch %ld", interval);
	}
	catch_stop_signals();
	if (connect_or_fail(a, &ctl))
		return EXIT_FAIL;
	/* Reports come every interval: a wait well past it means a stuck daemon. */
	zb_ctl_set_timeout(ctl, (int)(interval * 3 > interval + ZB_CTL_TIMEOUT_MS
					      ? interval * 3
					      : interval + ZB_CTL_TIMEOUT_MS));
	code = watch_reports(a, ctl, line, interval);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(a);
}

/* Both ends: this program, the library it loaded (which may be newer than
 * the header zbctl was built with), and the daemon, asked over its socket.
 * Without a daemon the first two are still shown, and the exit status is 1. */
int cmd_version(const struct args *a)
{
	struct zb_ctl_field v[3] = {
		{ "zbctl", ZB_VERSION_STRING },
		{ "libzbclient", zb_version() },
	};
	struct zb_ctl_reply *reply = NULL;
	struct zb_ctl *ctl;
	int code, err;

	if (!a->json)
		printf("zbctl %s\nlibzbclient %s\n", v[0].value, v[1].value);
	if (fflush(stdout) != 0)
		return finish_stdout(a);
	if (connect_or_fail_with(a, &ctl, v, 2))
		return EXIT_FAIL;
	err = zb_ctl_request(ctl, "version", &reply);
	if (err == 0 && reply->status < 0)
		err = reply->status;
	if (err == 0 && (reply->n_fields == 0 || strcmp(reply->fields[0].key, "version") != 0))
		err = -EPROTO;
	if (err < 0) {
		code = fail_with(a, err, ctl, v, 2);
	} else {
		v[2] = (struct zb_ctl_field){ "zbd", reply->fields[0].value };
		if (a->json)
			code = json_print_doc(0, NULL, NULL, v, 3) < 0 ? fail(a, -ENOMEM, NULL)
								       : EXIT_OK;
		else
			code = printf("zbd %s\n", v[2].value) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	zb_ctl_reply_free(reply);
	zb_ctl_close(ctl);
	return code ? code : finish_stdout(a);
}
