/* SPDX-License-Identifier: MIT */
/* The main() of every Check test program: its suites registered themselves
 * with TU_SUITE (testutil.h), and the runner does the rest. */
#include "testutil.h"

int main(int argc, char **argv)
{
	return tu_main(argc, argv);
}
