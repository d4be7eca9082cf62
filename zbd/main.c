/* SPDX-License-Identifier: MIT */
/* zbd: the ZeroBuffer broker daemon. Parse arguments, run, map the result. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: zbd [-c FILE] [-s SOCKET] [-r STATE_DIR]\n"
		"  -c FILE       configuration file (default: built-in defaults)\n"
		"  -s SOCKET     control socket path (default: $ZBD_SOCKET, else\n"
		"                /run/zbd/zbd.sock as root, $XDG_RUNTIME_DIR/zbd.sock otherwise)\n"
		"  -r STATE_DIR  where the state file lives (default: the socket's directory)\n"
		"  -h            this help\n");
}

int main(int argc, char **argv)
{
	struct zbd_options opts = { 0 };
	int c;

	while ((c = getopt(argc, argv, "c:s:r:h")) != -1) {
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
