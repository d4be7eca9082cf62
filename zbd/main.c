/* SPDX-License-Identifier: MIT */
/* zbd: the ZeroBuffer broker daemon. Parse arguments, run, map the result. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "model.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: zbd [-c FILE] [-s SOCKET] [-r STATE_DIR]\n"
		"  -c, --config FILE        configuration file (default: built-in defaults)\n"
		"  -s, --socket SOCKET      control socket path (default: $ZBD_SOCKET, else\n"
		"                           /run/zbd/zbd.sock as root, $XDG_RUNTIME_DIR/zbd.sock\n"
		"                           otherwise)\n"
		"  -r, --state-dir DIR      where the state file lives (default: the socket's\n"
		"                           directory)\n"
		"  -h, --help               this help\n"
		"      --version            print zbd's version and exit\n"
		"See zbd(8) and zbd.conf(5).\n");
}

int main(int argc, char **argv)
{
	enum { OPT_VERSION = 0x100 };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct zbd_options opts = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "c:s:r:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 's':
			opts.socket_path = optarg;
			break;
		case 'r':
			opts.state_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case OPT_VERSION:
			printf("zbd %s\n", ZBD_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return daemon_run(&opts) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
