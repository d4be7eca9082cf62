/* SPDX-License-Identifier: MIT */
/*
 * Finding a peer's process from where zbd stands, whatever pid namespace the
 * peer is in (doc/zbd.md, "Liveness").
 *
 * A control block records a peer's pid in the peer's own pid namespace. zbd
 * sees, in its /proc, every process of its own namespace and of the
 * namespaces below it, and for each one its pid in every namespace from ours
 * down to its own (the NSpid: line of /proc/PID/status, the last entry being
 * the pid the process itself knows). So the peer recorded as P of a buffer is
 * the process that maps the buffer's segment (/proc/PID/maps, the segment's
 * device and inode) and whose own pid is P; if the peer's liveness mark names
 * its namespace (liveness.h), that namespace too. One such process: found, and
 * zbd may watch it by its pid in zbd's namespace (a pidfd). None: the peer is
 * dead (a zombie maps nothing), or out of our sight (in an ancestor or sibling
 * namespace of ours, or hidden from us by /proc's permissions). More than one:
 * pid numbers that collide across namespaces, and nothing to choose by.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum peerproc_found {
	PEERPROC_FOUND,	    /* *ret_pid is the peer's pid in our namespace */
	PEERPROC_NONE,	    /* no such process in our sight */
	PEERPROC_AMBIGUOUS, /* more than one process fits */
};

/* What to look for: the pid the peer recorded, the segment it maps, and its
 * pid namespace's inode (0: not known, any namespace). */
struct peerproc_query {
	uint64_t pid;
	dev_t seg_dev;
	ino_t seg_ino;
	uint32_t pidns;
};

/* Look through /proc. *ret_complete: every process could be read (no process
 * hidden from us or unreadable), so NONE means none in our sight at all. */
enum peerproc_found peerproc_find(const struct peerproc_query *q, pid_t *ret_pid,
				  bool *ret_complete);

/* Whether process `pid` (of our namespace) still fits q: called once a pidfd
 * pins it, so that the process we watch is the one we found. */
bool peerproc_fits(const struct peerproc_query *q, pid_t pid);

/* Whether our /proc shows every process on the host: we are in the initial pid
 * namespace and /proc hides nothing from us. Then a peer not found is dead. */
bool peerproc_sees_all(void);

/* The device and inode of the file our own mapping at `addr` maps (the segment
 * of a buffer whose descriptor we no longer keep): false if none. */
bool peerproc_mapping_of(const void *addr, dev_t *ret_dev, ino_t *ret_ino);
