/* SPDX-License-Identifier: MIT */
/*
 * zbctl's one table of verbs: dispatch, their options, `--help` and
 * `zbctl VERB --help` all come from it. Exit status: 0 ok, 1 failed, 2 misused,
 * 128 + the signal when SIGINT or SIGTERM ended it (130 for Ctrl-C).
 */
#include <string.h>

#include "zbctl.h"

volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* SIGINT and SIGTERM interrupt blocking calls (no SA_RESTART) and set the flag,
 * so readers and writers detach cleanly and a standalone reader removes its buffer. */
void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Buffer sizes and mode: `create`, and `read --create`. */
/* clang-format off */
#define SIZE_OPTIONS                                                                               \
	{ "payload", required_argument, NULL, OPT_PAYLOAD },                                       \
	{ "metadata", required_argument, NULL, OPT_METADATA },                                     \
	{ "mode", required_argument, NULL, OPT_MODE }
/* clang-format on */
#define SIZE_HELP                                                                                  \
	"  --payload SIZE    payload ring size (K, M, G suffixes: powers of 1024; at\n"            \
	"                    most 1024G; rounded up to a multiple of 64)\n"                        \
	"  --metadata SIZE   metadata block size\n"                                                \
	"  --mode OCTAL      mode of the segment, semaphores and lock file (e.g. 0660)\n"

static const struct option create_options[] = {
	SIZE_OPTIONS,
	{ "group", required_argument, NULL, OPT_GROUP },
	{ 0 },
};

/* The daemon's own grammar works too: `create cam0 payload=64M`. */
static const struct word create_words[] = {
	{ "payload=", OPT_PAYLOAD },
	{ "metadata=", OPT_METADATA },
	{ "mode=", OPT_MODE },
	{ "group=", OPT_GROUP },
	{ 0 },
};

static const struct option destroy_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	{ 0 },
};

static const struct word destroy_words[] = { { "force", OPT_FORCE }, { 0 } };

static const struct option write_options[] = {
	{ "lines", no_argument, NULL, OPT_LINES },
	{ "frame-size", required_argument, NULL, OPT_FRAME_SIZE },
	{ "metadata", required_argument, NULL, OPT_METADATA_TEXT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ 0 },
};

static const struct option read_options[] = {
	{ "lines", no_argument, NULL, OPT_LINES },
	{ "follow", no_argument, NULL, OPT_FOLLOW },
	{ "create", no_argument, NULL, OPT_CREATE },
	SIZE_OPTIONS,
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ 0 },
};

/* The columns of the health table (output.c). */
#define HEALTH_LEGEND                                                                              \
	"  Columns: SIZE the payload ring, USED what the reader has not consumed yet,\n"           \
	"  UTIL used in percent, READER/WRITER the peer's pid ('-' none, '(pid)' dead),\n"         \
	"  WRITTEN/READ frames (wrap markers count), W/S R/S frames per second over\n"             \
	"  zbd's last scan, REAPED(R/W) dead readers/writers zbd cleared. Sizes: B, K, M,\n"       \
	"  G (powers of 1024), one decimal when not whole.\n"

/* { verb, function, operand, options, daemon words, synopsis, description, help } */
static const struct verb verbs[] = {
	{ "create", cmd_create, OPERAND_NAME, create_options, create_words,
	  "NAME [--payload SIZE] [--metadata SIZE] [--mode OCTAL] [--group GROUP]",
	  "create a buffer that zbd owns (the daemon's key=value words work too)",
	  SIZE_HELP "  --group GROUP     group of the buffer's objects\n" },
	{ "destroy", cmd_destroy, OPERAND_NAME, destroy_options, destroy_words, "NAME [--force]",
	  "remove a buffer; refused while a peer is attached unless forced",
	  "  --force           remove it anyway; attached peers are told the buffer was\n"
	  "                    destroyed\n" },
	{ "list", cmd_list, OPERAND_NONE, NULL, NULL, "", "list the buffers zbd owns", NULL },
	{ "health", cmd_health, OPERAND_NAME_OPTIONAL, NULL, NULL, "[NAME]",
	  "show every buffer's health as a table, or every detail of one buffer", HEALTH_LEGEND },
	{ "watch", cmd_watch, OPERAND_WORD_OPTIONAL, NULL, NULL, "[INTERVAL_MS]",
	  "live health view, refreshed every interval (default 1000) until interrupted",
	  "  On a terminal the view refreshes in place; otherwise a report follows\n"
	  "  another, and with --json each report is one JSON document on one line.\n"
	  "  Ends on SIGINT (exit 130) or when zbd hangs up (exit 1).\n" HEALTH_LEGEND },
	{ "metrics", cmd_metrics, OPERAND_NONE, NULL, NULL, "",
	  "print zbd's health as Prometheus text (for node_exporter's textfile collector)",
	  "  Write it to a temporary file and rename it into the collector's directory,\n"
	  "  so the collector never reads half a file.\n" },
	{ "write", cmd_write, OPERAND_NAME, write_options, NULL,
	  "NAME [--lines | --frame-size N] [--metadata TEXT] [--timeout MS]",
	  "write stdin into buffer NAME as frames (any ZeroBuffer buffer)",
	  "  --lines           one frame per line, without its newline (empty lines skipped)\n"
	  "  --frame-size N    frames of N bytes (the last one may be shorter)\n"
	  "                    without either, one frame per chunk read from stdin\n"
	  "  --metadata TEXT   set the buffer's metadata first (once per buffer; the same\n"
	  "                    metadata again is accepted)\n"
	  "  --timeout MS      give up when the ring stays full this long (default: wait)\n"
	  "  With --json, one document at the end: status, frames and bytes written.\n" },
	{ "read", cmd_read, OPERAND_NAME, read_options, NULL,
	  "NAME [--lines] [--follow] [--timeout MS]\n"
	  "        [--create [--payload SIZE] [--metadata SIZE] [--mode OCTAL]]",
	  "write the frames of buffer NAME to stdout until the writer has gone",
	  "  --lines           add a newline after each frame\n"
	  "  --follow          keep reading when the writer leaves, from the next writer\n"
	  "  --create          no daemon: create the buffer and own it until exit\n"
	  "                    (an existing buffer is read as it is)\n" SIZE_HELP
	  "  --timeout MS      fail when no frame arrives for this long (default: wait)\n"
	  "  With --json (not with --lines), each frame is a document\n"
	  "  {\"sequence\":N,\"size\":N,\"data\":\"BASE64\"} and a last one gives status,\n"
	  "  frames and bytes.\n" },
	{ "version", cmd_version, OPERAND_NONE, NULL, NULL, "",
	  "show the versions of zbctl, of the libzbclient it loaded, and of zbd", NULL },
	{ "help", cmd_help, OPERAND_WORD_OPTIONAL, NULL, NULL, "[VERB]",
	  "show this help, or the help of one verb", NULL },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

#define GLOBAL_OPTIONS                                                                             \
	"  -s, --socket SOCKET  zbd's control socket (default: $ZBD_SOCKET, else\n"                \
	"                       /run/zbd/zbd.sock for root, else $XDG_RUNTIME_DIR/zbd.sock)\n"     \
	"      --json           output for scripts: JSON Lines, one document per line, each\n"     \
	"                       with \"status\"; failures add \"error\", \"error_name\", "         \
	"\"hint\"\n"                                                                               \
	"  -h, --help           show help\n"                                                       \
	"      --version        show zbctl's version\n"

void usage(FILE *f)
{
	fputs("Usage: zbctl [-s SOCKET] [--json] VERB [ARGS...]\n\nVerbs:\n", f);
	for (size_t i = 0; i < N_VERBS; i++) {
		char synopsis[256];

		snprintf(synopsis, sizeof(synopsis), "%s%s%s", verbs[i].name,
			 *verbs[i].synopsis ? " " : "", verbs[i].synopsis);
		fprintf(f, "  %s\n      %s\n", synopsis, verbs[i].description);
	}
	fputs("\nOptions:\n" GLOBAL_OPTIONS "\n"
	      "SIZE takes K, M or G (powers of 1024). `zbctl VERB --help` describes a verb;\n"
	      "zbctl(1) describes them all.\n"
	      "Exit status: 0 ok, 1 failed, 2 misused, 130 interrupted (128 + the signal).\n",
	      f);
}

void verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "Usage: zbctl [-s SOCKET] [--json] %s%s%s\n\n%s\n", v->name,
		*v->synopsis ? " " : "", v->synopsis, v->description);
	if (v->help)
		fprintf(f, "\n%s", v->help);
	fputs("\nOptions of every verb:\n" GLOBAL_OPTIONS, f);
}

int cmd_help(const struct args *a)
{
	const struct verb *about;

	if (!a->operand) {
		usage(stdout);
		return EXIT_OK;
	}
	about = verb_find(a->operand);
	if (!about)
		return misuse(a, "unknown verb '%s'", a->operand);
	verb_help(about, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static char prog[] = "zbctl";
	const struct verb *v;
	struct args a;
	int code;

	argv[0] = prog; /* getopt's messages say "zbctl: ", whatever path ran us */
	/* A closed stdout is seen as EPIPE where we write, not as a silent death. */
	signal(SIGPIPE, SIG_IGN);
	args_init(&a);
	if (!args_parse_global(argc, argv, &a, &code))
		return code;
	if (optind >= argc) {
		fputs("zbctl: missing VERB\n\n", stderr);
		usage(stderr);
		return EXIT_USAGE;
	}
	v = verb_find(argv[optind]);
	if (!v) {
		fprintf(stderr, "zbctl: unknown verb '%s'\nTry 'zbctl --help'.\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!args_parse(v, argc - optind, argv + optind, &a, &code))
		return code;
	return v->run(&a);
}
