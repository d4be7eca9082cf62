/* SPDX-License-Identifier: MIT */
/*
 * libzbclient/ring.c called directly, on segments built by hand in ordinary
 * memory: every position, count, free count and header is set here, so each
 * case is one exact state of the ring, including the ones a peer leaves when
 * it dies at the worst moment. Most of these functions are otherwise reached
 * only through zbd's reaper, with real processes and timing.
 *
 * The layouts are written as in test-ring.c: [a, b) is a frame's header and
 * data, "marker at x" a 16-byte wrap marker.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libtest.h"
#include "ring.h"
#include "testutil.h"

#define META 64
#define RING_MAX 512

/* A whole segment: OIEB, metadata, ring; ring_new() resets it for every test. */
static uint8_t mem[ZB_OIEB_SIZE + META + RING_MAX] __attribute__((aligned(64)));
static struct zb_segment seg;
static struct zb_oieb *o;

/* A well-formed, empty ring of `p` bytes whose data bytes are not zero, so that
 * nothing reads as a wrap marker unless a test writes one. */
static void ring_new(uint64_t p)
{
	ck_assert_uint_le(p, RING_MAX);
	memset(mem, 0, sizeof(mem));
	seg = (struct zb_segment){
		.base = mem,
		.map_size = ZB_OIEB_SIZE + META + p,
		.oieb = (struct zb_oieb *)mem,
		.metadata = mem + ZB_OIEB_SIZE,
		.metadata_size = META,
		.ring = mem + ZB_OIEB_SIZE + META,
		.payload_size = p,
	};
	o = seg.oieb;
	memset(seg.ring, 0xa5, p);
	o->oieb_size = ZB_OIEB_SIZE;
	o->version[0] = ZB_VERSION_MAJOR_WIRE;
	o->metadata_size = o->metadata_free_bytes = META;
	o->payload_size = o->payload_free_bytes = p;
}

static void frame_at(uint64_t pos, uint64_t size, uint64_t seq)
{
	struct zb_frame_header h = { size, seq };

	memcpy(seg.ring + pos, &h, sizeof(h));
}

static void marker_at(uint64_t pos)
{
	frame_at(pos, 0, 0);
}

/* What the writer has published (w, wc), what the reader has (r, rc), and free. */
static void set_state(uint64_t w, uint64_t wc, uint64_t r, uint64_t rc, uint64_t free_bytes)
{
	o->payload_write_pos = w;
	o->payload_written_count = wc;
	o->payload_read_pos = r;
	o->payload_read_count = rc;
	o->payload_free_bytes = free_bytes;
}

/* Frames 1 [0, 116) and 2 [116, 232): where most layouts here start. */
static void ring_with_frames_1_2(uint64_t p)
{
	ring_new(p);
	frame_at(0, 100, 1);
	frame_at(116, 100, 2);
}

static uint64_t free_after_resync(uint64_t held)
{
	ring_resync_free(&seg, held);
	return o->payload_free_bytes;
}

static uint64_t free_after_resync_empty(void)
{
	ring_resync_empty(&seg);
	return o->payload_free_bytes;
}

/* ring_held_frames()'s count, or -1 where it gives none (and then it must
 * have left its output alone). */
static int64_t held_frames_now(void)
{
	uint64_t n = 999;

	if (!ring_held_frames(&seg, &n)) {
		ck_assert_uint_eq(n, 999);
		return -1;
	}
	return (int64_t)n;
}

/* Whether ring_unfinished_commit() sees a commit to undo; where it does not,
 * ring_undo_unfinished_commit() must not move write_pos either. */
static bool commit_to_undo(void)
{
	uint64_t w = o->payload_write_pos;

	if (ring_unfinished_commit(&seg))
		return true;
	ck_assert(!ring_undo_unfinished_commit(&seg));
	ck_assert_uint_eq(o->payload_write_pos, w);
	return false;
}

/* A pid that named a process of ours, now exited and reaped. */
static uint64_t dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return (uint64_t)pid;
}

START_TEST(used_bytes)
{
	ring_new(256);
	ck_assert_uint_eq(ring_used_bytes(&seg), 0); /* fresh */
	set_state(116, 1, 0, 0, 140);
	ck_assert_uint_eq(ring_used_bytes(&seg), 116);
	set_state(36, 4, 232, 2, 196); /* wrapped: [232, 256) and [0, 36) */
	ck_assert_uint_eq(ring_used_bytes(&seg), 60);
	/* Equal positions: the counts tell full from empty. */
	set_state(116, 3, 116, 1, 0);
	ck_assert_uint_eq(ring_used_bytes(&seg), 256);
	set_state(116, 3, 116, 3, 256);
	ck_assert_uint_eq(ring_used_bytes(&seg), 0);
	/* A position of P (another implementation's "at the end") is 0. */
	set_state(256, 1, 0, 0, 0);
	ck_assert_uint_eq(ring_used_bytes(&seg), 256);
	set_state(256, 1, 256, 1, 256);
	ck_assert_uint_eq(ring_used_bytes(&seg), 0);
	set_state(100, 1, 256, 0, 156);
	ck_assert_uint_eq(ring_used_bytes(&seg), 100);
}
END_TEST

START_TEST(step)
{
	uint64_t next = 999;
	bool counted = false;

	ring_new(256);
	frame_at(0, 100, 1); /* [0, 116) */
	ck_assert(ring_step(&seg, 0, &next, &counted));
	ck_assert_uint_eq(next, 116);
	ck_assert(counted);
	frame_at(116, 124, 2); /* [116, 256): ends exactly at the end */
	ck_assert(ring_step(&seg, 116, &next, &counted));
	ck_assert_uint_eq(next, 0);
	ck_assert(counted);
	frame_at(116, 125, 2); /* one byte past the end */
	ck_assert(!ring_step(&seg, 116, &next, &counted));
	frame_at(116, UINT64_MAX, 2);
	ck_assert(!ring_step(&seg, 116, &next, &counted));

	marker_at(232);
	next = 999;
	counted = false;
	ck_assert(ring_step(&seg, 232, &next, &counted));
	ck_assert_uint_eq(next, 0);
	ck_assert(counted); /* a marker takes a count */
	marker_at(240);	    /* exactly 16 left: still a marker */
	next = 999;
	ck_assert(ring_step(&seg, 240, &next, &counted));
	ck_assert_uint_eq(next, 0);
	ck_assert(counted);
	marker_at(0); /* never at 0, where the whole ring lies ahead */
	ck_assert(!ring_step(&seg, 0, &next, &counted));

	/* 8 bytes left: a wrap without a marker, and without a count. */
	next = 999;
	counted = true;
	ck_assert(ring_step(&seg, 248, &next, &counted));
	ck_assert_uint_eq(next, 0);
	ck_assert(!counted);
}
END_TEST

/* A reader died holding frame 1, read; frame 2 is unread. */
START_TEST(resync_free_returns_what_a_dead_reader_held)
{
	ring_with_frames_1_2(256);
	set_state(232, 2, 116, 1, 24);
	ck_assert_uint_eq(free_after_resync(0), 140);
	ck_assert_uint_eq(free_after_resync(0), 140); /* nothing more to give */

	/* What the caller holds itself stays out. */
	set_state(232, 2, 116, 1, 24);
	ck_assert_uint_eq(free_after_resync(50), 90);
	set_state(232, 2, 116, 1, 24);
	ck_assert_uint_eq(free_after_resync(116), 24); /* all of it: nothing is missing */

	/* Across the end: the marker at 232 and [0, 36) are unread, 1 and 2 held. */
	marker_at(232);
	frame_at(0, 20, 3);
	set_state(36, 4, 232, 2, 100);
	ck_assert_uint_eq(free_after_resync(0), 196);
}
END_TEST

/*
 * doc/protocol.md section 8: a writer counts its wrap marker and takes the tail from free
 * before it moves write_pos to 0. In that window the tail looks free from the
 * positions, and must not be given back.
 */
START_TEST(resync_free_keeps_a_tail_in_flight)
{
	ring_with_frames_1_2(256); /* 1 read and given back, 2 unread */
	marker_at(232);		   /* counted, tail taken, write_pos not moved yet */
	set_state(232, 3, 116, 1, 116);
	ck_assert_uint_eq(free_after_resync(0), 116);

	/* And the same window with frame 1 held by a dead reader: 116 back, not 140. */
	set_state(232, 3, 116, 1, 0);
	ck_assert_uint_eq(free_after_resync(0), 116);
}
END_TEST

/* Counts that the headers do not bear out: a look torn by a commit, or garbage. */
START_TEST(resync_free_leaves_a_torn_ring)
{
	ring_with_frames_1_2(256);
	frame_at(232, 200, 9); /* cannot fit: the walk stops here */
	set_state(232, 4, 116, 1, 24);
	ck_assert_uint_eq(free_after_resync(0), 24);

	/* Positions ahead of the counts: a commit that has stored write_pos and
	 * not yet its count. */
	set_state(232, 1, 116, 1, 24);
	ck_assert_uint_eq(free_after_resync(0), 24);
}
END_TEST

START_TEST(resync_empty)
{
	/* Every frame read, the reader died holding them all: free is the ring. */
	ring_with_frames_1_2(256);
	set_state(232, 2, 232, 2, 24);
	ck_assert_uint_eq(free_after_resync(0), 24); /* leaves equal positions alone */
	ck_assert_uint_eq(free_after_resync_empty(), 256);

	/* Equal positions, unequal counts: a full ring, not an empty one. */
	set_state(232, 3, 232, 2, 24);
	ck_assert_uint_eq(free_after_resync_empty(), 24);

	/* A tail too short for a marker may have been taken already. */
	frame_at(116, 116, 2); /* [116, 248): 8 bytes left */
	set_state(248, 2, 248, 2, 8);
	ck_assert_uint_eq(free_after_resync_empty(), 248);

	/* Free at 0 is looked at twice, then filled. */
	frame_at(0, 240, 1); /* [0, 256) */
	set_state(0, 1, 0, 1, 0);
	ck_assert_uint_eq(free_after_resync_empty(), 256);
}
END_TEST

/* The writer died after storing write_pos past frame 3, before counting it. */
START_TEST(undo_unfinished_commit)
{
	ring_with_frames_1_2(512); /* 1 read, 2 unread */
	frame_at(232, 20, 3);	   /* [232, 268): no count announces it */
	set_state(268, 2, 116, 1, 232);
	ck_assert(ring_unfinished_commit(&seg));
	ck_assert_uint_eq(o->payload_write_pos, 268); /* looking moves nothing */
	ck_assert(ring_undo_unfinished_commit(&seg));
	ck_assert_uint_eq(o->payload_write_pos, 232);
	/* Nothing else moves: the counts, the reader's side, free. */
	ck_assert_uint_eq(o->payload_written_count, 2);
	ck_assert_uint_eq(o->payload_read_pos, 116);
	ck_assert_uint_eq(o->payload_read_count, 1);
	ck_assert_uint_eq(o->payload_free_bytes, 232);
	/* Undone: now a settled ring. */
	ck_assert(!commit_to_undo());
}
END_TEST

/* The commit that died had wrapped: marker at 232, frame 3 at [0, 36). */
START_TEST(undo_unfinished_commit_across_the_end)
{
	ring_with_frames_1_2(256); /* 1 read and given back, 2 unread */
	marker_at(232);
	frame_at(0, 20, 3);
	set_state(36, 2, 116, 1, 80);
	ck_assert(ring_unfinished_commit(&seg));
	ck_assert(ring_undo_unfinished_commit(&seg));
	ck_assert_uint_eq(o->payload_write_pos, 232);
	ck_assert_uint_eq(o->payload_written_count, 2);
}
END_TEST

START_TEST(no_unfinished_commit)
{
	/* Settled: write_pos at the end of the last counted frame. */
	ring_with_frames_1_2(512);
	frame_at(232, 20, 3);
	set_state(268, 3, 116, 1, 360);
	ck_assert(!commit_to_undo());

	/* write_pos where no header chain from the counted frames lands: past
	 * frame 3 the walk meets data, not a header. */
	set_state(300, 2, 116, 1, 212);
	ck_assert(!commit_to_undo());

	/* Impossible positions are not walked at all, even where the position
	 * modulo the ring would land on a header chain (frame 3's end). */
	set_state(512 + 268, 2, 116, 1, 212);
	ck_assert(!commit_to_undo());

	/* More past the counted frames than one commit writes (a marker and a
	 * frame): old frames chained up by a torn look, not a commit. */
	frame_at(268, 20, 4);
	frame_at(304, 20, 5); /* [304, 340) */
	set_state(340, 2, 116, 1, 172);
	ck_assert(!commit_to_undo());
}
END_TEST

START_TEST(held_frames)
{
	ring_with_frames_1_2(512);
	frame_at(232, 20, 3); /* [232, 268): unread */
	/* The dead reader had taken frames 1 and 2 and given back neither. */
	set_state(268, 3, 232, 2, 244);
	ck_assert_int_eq(held_frames_now(), 2);
	/* It had given frame 1 back. */
	set_state(268, 3, 232, 2, 360);
	ck_assert_int_eq(held_frames_now(), 1);
	/* It held nothing. */
	set_state(268, 3, 232, 2, 476);
	ck_assert_int_eq(held_frames_now(), 0);
	/* It had taken frame 3 too: the ring is empty, and all three are held. */
	set_state(268, 3, 268, 3, 244);
	ck_assert_int_eq(held_frames_now(), 3);

	/* A full ring of unread frames (equal positions, counts apart): none held. */
	ring_new(256);
	frame_at(0, 112, 3);   /* [0, 128) */
	frame_at(128, 112, 4); /* [128, 256) */
	set_state(0, 4, 0, 2, 0);
	ck_assert_int_eq(held_frames_now(), 0);
}
END_TEST

/* A wrap marker's tail is held bytes, but not a frame. */
START_TEST(held_frames_across_a_marker)
{
	ring_with_frames_1_2(256);
	marker_at(232);
	frame_at(0, 20, 3);  /* [0, 36): taken and held, with the tail before it */
	frame_at(36, 20, 4); /* [36, 72): unread */
	set_state(72, 5, 36, 4, 160);
	ck_assert_int_eq(held_frames_now(), 1);

	/* A tail too short for a marker, likewise, with frame 2 held too. */
	frame_at(116, 116, 2);	     /* [116, 248) */
	set_state(72, 4, 36, 3, 44); /* 2, the tail and 3 held */
	ck_assert_int_eq(held_frames_now(), 2);
}
END_TEST

START_TEST(held_frames_not_countable)
{
	ring_with_frames_1_2(512);
	frame_at(232, 20, 3);
	/* More free than the positions leave. */
	set_state(268, 3, 232, 2, 500);
	ck_assert_int_eq(held_frames_now(), -1);
	/* 100 held bytes, but no header chain from 132 lands on read_pos. */
	set_state(268, 3, 232, 2, 376);
	frame_at(132, 50, 7); /* [132, 198) */
	frame_at(198, 30, 8); /* [198, 244): past read_pos */
	ck_assert_int_eq(held_frames_now(), -1);
	/* A header that cannot fit in the ring. */
	frame_at(132, 1000, 7);
	ck_assert_int_eq(held_frames_now(), -1);

	/* Free claims the whole ring while 128 bytes are unread. */
	ring_new(256);
	frame_at(0, 112, 1);   /* [0, 128): unread */
	frame_at(128, 112, 2); /* [128, 256) */
	set_state(128, 2, 0, 0, 256);
	ck_assert_int_eq(held_frames_now(), -1);

	/* The held bytes before read_pos (60) would be one frame, if frames
	 * could run past the ring's end: [232, 292) cannot. */
	ring_new(256);
	frame_at(232, 44, 3);
	frame_at(36, 20, 4); /* [36, 72): unread */
	set_state(72, 5, 36, 4, 160);
	ck_assert_int_eq(held_frames_now(), -1);
}
END_TEST

START_TEST(slot_claim_and_release)
{
	uint64_t self = (uint64_t)getpid(), live = (uint64_t)getppid(), dead = dead_pid();

	ring_new(256);
	ck_assert_int_eq(ring_slot_claim(&o->reader_pid, self), 0);
	ck_assert_uint_eq(o->reader_pid, self);
	ck_assert_int_eq(ring_slot_claim(&o->reader_pid, self), 0); /* ours already */
	ck_assert_uint_eq(o->reader_pid, self);
	/* Release only what still names us. */
	ck_assert(!ring_slot_release(&o->reader_pid, live));
	ck_assert_uint_eq(o->reader_pid, self);
	ck_assert(ring_slot_release(&o->reader_pid, self));
	ck_assert_uint_eq(o->reader_pid, 0);

	/* A live holder keeps the slot; a dead one loses it. */
	o->writer_pid = live;
	ck_assert_int_eq(ring_slot_claim(&o->writer_pid, self), -EBUSY);
	ck_assert_uint_eq(o->writer_pid, live);
	o->writer_pid = dead;
	ck_assert_int_eq(ring_slot_claim(&o->writer_pid, self), 0);
	ck_assert_uint_eq(o->writer_pid, self);
}
END_TEST

START_TEST(slot_fence)
{
	uint64_t fencer = (uint64_t)getpid(), other = (uint64_t)getppid(), dead = dead_pid();

	ring_new(256);
	o->reader_pid = dead;
	/* Not the pid the slot names: a successor claimed it. */
	ck_assert(!ring_slot_fence(&o->reader_pid, dead + 1, fencer));
	ck_assert_uint_eq(o->reader_pid, dead);
	ck_assert(ring_slot_fence(&o->reader_pid, dead, fencer));
	ck_assert_uint_eq(o->reader_pid, fencer);
	/* While fenced, nobody else can claim the slot. */
	ck_assert_int_eq(ring_slot_claim(&o->reader_pid, other), -EBUSY);
	ck_assert_uint_eq(o->reader_pid, fencer);
	/* The fence is lifted by its own pid only. */
	ck_assert(!ring_slot_release(&o->reader_pid, dead));
	ck_assert_uint_eq(o->reader_pid, fencer);
	ck_assert(ring_slot_release(&o->reader_pid, fencer));
	ck_assert_uint_eq(o->reader_pid, 0);
	ck_assert_int_eq(ring_slot_claim(&o->reader_pid, other), 0);
	ck_assert_uint_eq(o->reader_pid, other);

	/* A dead writer's slot is cleared outright. */
	o->writer_pid = dead;
	ck_assert(ring_slot_release(&o->writer_pid, dead));
	ck_assert_uint_eq(o->writer_pid, 0);
}
END_TEST

/* zbd's stand-in for an absent reader: claimable by a reader, given back to,
 * never taken for a reader; a fence (no mark) is not a stand-in. */
START_TEST(reader_standin)
{
	uint64_t zbd = (uint64_t)getppid(), self = (uint64_t)getpid(), dead = dead_pid();

	ring_new(256);
	ck_assert(ring_standin_take(&seg, zbd));
	ck_assert_uint_eq(o->reader_pid, zbd);
	ck_assert_uint_eq(o->reader_standin, zbd);
	ck_assert_uint_eq(ring_reader_pid(&seg), 0);
	ck_assert_int_eq(ring_reader_claim(&seg, self), 0);
	ck_assert_uint_eq(ring_reader_pid(&seg), self);
	/* A reader holds the slot: no stand-in over it, and it is no fence. */
	ck_assert(!ring_standin_take(&seg, zbd));
	ck_assert_uint_eq(o->reader_pid, self);
	ring_reader_release(&seg, self);
	ck_assert_uint_eq(o->reader_pid, zbd);

	/* zbd fencing a dead reader clears the mark first: then its pid is a
	 * fence, which no reader may take. */
	o->reader_pid = dead;
	ring_standin_drop(&seg, zbd);
	ck_assert_uint_eq(o->reader_pid, dead); /* not ours to clear */
	ck_assert(ring_slot_fence(&o->reader_pid, dead, zbd));
	ck_assert_int_eq(ring_reader_claim(&seg, self), -EBUSY);
	ck_assert_uint_eq(o->reader_pid, zbd);
	/* The repair done, the fence becomes the stand-in again. */
	ck_assert(ring_standin_take(&seg, zbd));
	ck_assert_int_eq(ring_reader_claim(&seg, self), 0);
	/* A stand-in whose zbd is gone: the slot goes back to 0. */
	o->reader_standin = dead;
	ring_reader_release(&seg, self);
	ck_assert_uint_eq(o->reader_pid, 0);
	/* zbd stopping leaves neither. */
	ck_assert(ring_standin_take(&seg, zbd));
	ring_standin_drop(&seg, zbd);
	ck_assert_uint_eq(o->reader_pid, 0);
	ck_assert_uint_eq(o->reader_standin, 0);
}
END_TEST

/* What lies between two positions: frames, payload, counted wraps. */
START_TEST(span_walk)
{
	struct ring_span s;

	ring_with_frames_1_2(256); /* [0, 116) [116, 232), 24 bytes left */
	marker_at(232);
	frame_at(0, 50, 3); /* over frame 1: the writer went on at 0 */
	ck_assert(ring_span_walk(&seg, 116, 66, 3, &s));
	ck_assert_uint_eq(s.frames, 2);
	ck_assert_uint_eq(s.payload, 150);
	ck_assert_uint_eq(s.wraps, 1);
	ck_assert(s.last_wrap_counted);
	ck_assert_uint_eq(s.ring_bytes, 116 + 24 + 66);
	/* Not landing on `to` with the counts given: a lap, or a torn look. */
	ck_assert(!ring_span_walk(&seg, 116, 66, 2, &s));
	ck_assert(!ring_span_walk(&seg, 116, 60, 3, &s));
	/* Nothing written: nothing to walk. */
	ck_assert(ring_span_walk(&seg, 66, 66, 0, &s));
	ck_assert_uint_eq(s.frames + s.wraps + s.ring_bytes, 0);

	/* A tail of 8 bytes, no marker: the Python writer counts it, C++'s not. */
	ring_new(256);
	frame_at(0, 100, 1);
	frame_at(116, 116, 2); /* [116, 248) */
	frame_at(0, 10, 3);    /* [0, 26) after the wrap */
	ck_assert(ring_span_walk(&seg, 116, 26, 2, &s));
	ck_assert_uint_eq(s.frames, 2);
	ck_assert_uint_eq(s.wraps, 0);
	ck_assert(!s.last_wrap_counted);
	ck_assert(ring_span_walk(&seg, 116, 26, 3, &s)); /* one count more: the wrap's */
	ck_assert_uint_eq(s.frames, 2);
	ck_assert_uint_eq(s.wraps, 1);
	/* As many as there are, from 0 to a position. */
	ck_assert(ring_span_walk(&seg, 0, 26, RING_SPAN_ANY, &s));
	ck_assert_uint_eq(s.frames, 1);
	ck_assert_uint_eq(s.payload, 10);
}
END_TEST

TU_SUITE(ring_unit_suite, "ring-unit")
{
	TCase *tc = tu_tcase(s, "ring-unit", NULL, NULL);

	tcase_add_test(tc, used_bytes);
	tcase_add_test(tc, step);
	tcase_add_test(tc, resync_free_returns_what_a_dead_reader_held);
	tcase_add_test(tc, resync_free_keeps_a_tail_in_flight);
	tcase_add_test(tc, resync_free_leaves_a_torn_ring);
	tcase_add_test(tc, resync_empty);
	tcase_add_test(tc, undo_unfinished_commit);
	tcase_add_test(tc, undo_unfinished_commit_across_the_end);
	tcase_add_test(tc, no_unfinished_commit);
	tcase_add_test(tc, held_frames);
	tcase_add_test(tc, held_frames_across_a_marker);
	tcase_add_test(tc, held_frames_not_countable);
	tcase_add_test(tc, slot_claim_and_release);
	tcase_add_test(tc, slot_fence);
	tcase_add_test(tc, reader_standin);
	tcase_add_test(tc, span_walk);
}
