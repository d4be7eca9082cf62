/* SPDX-License-Identifier: MIT */
/* Helpers every test suite shares. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A buffer name no other test (or test run) uses: "t<pid>-<tag>-<n>". */
const char *tu_unique_name(const char *tag);

/* Remove segment, semaphores and lock file of `name`, whatever state they are in. */
void tu_cleanup_name(const char *name);

/* Remove every object created through tu_unique_name() so far (for teardown). */
void tu_cleanup_all(void);

/* True if /dev/shm/NAME, either semaphore or the lock file of `name` exists. */
bool tu_any_object_exists(const char *name);

/* fork + exec argv; returns the child's pid (the test fails if it cannot). */
pid_t tu_spawn(char *const argv[]);

/* waitpid with a timeout in ms; returns the raw status, or -1 on timeout
 * (the child is then SIGKILLed and reaped). */
int tu_wait(pid_t pid, int timeout_ms);
