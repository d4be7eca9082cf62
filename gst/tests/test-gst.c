/* SPDX-License-Identifier: MIT */
/*
 * zbsink and zbsrc: properties, caps through the buffer's metadata, frames
 * between real processes (checksums of every frame), each element against a
 * libzbclient peer, frames held and released out of order while the ring
 * wraps, peers killed with a real zbd behind them, and every error a user can
 * provoke. Behaviour only: no assertion here is about speed.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gst/gst.h>
#include <zbclient.h>

#include "framesum.h"
#include "gsttest.h"

/* Small frames keep the suite quick on a shared machine: 160x120 I420. */
#define SMALL_CAPS "video/x-raw,format=I420,width=160,height=120,framerate=30/1"
#define SMALL_SIZE (160 * 120 * 3 / 2)
/* A ring of about `n` small frames (each has a 16-byte header). */
#define RING_OF(n) ((n) * (SMALL_SIZE + 16) + 64)

#define LINE_MAX_ 4096

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* zbgst-peer with options (NULL-terminated) and a pipeline description. */
static void peer(struct gt_proc *p, const char *const opts[], const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void peer(struct gt_proc *p, const char *const opts[], const char *fmt, ...)
{
	char *argv[16], *desc;
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	desc = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	argv[n++] = (char *)gt_peer();
	for (int i = 0; opts && opts[i]; i++)
		argv[n++] = (char *)opts[i];
	argv[n++] = desc;
	argv[n] = NULL;
	gt_spawn(p, argv);
	g_free(desc);
}

static const char *const SUM[] = { "--sum", NULL };

/* What a peer printed: its caps, the checksum of each frame, how it ended. */
struct report {
	char caps[LINE_MAX_];
	uint64_t *sums;
	size_t n;
	bool eos;
	char error[LINE_MAX_];
};

/* Read a peer's lines until EOF (it exited) or timeout_ms. */
static void collect(struct gt_proc *p, struct report *r, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	size_t cap = 0;
	char line[LINE_MAX_];

	memset(r, 0, sizeof(*r));
	for (;;) {
		int left = (int)(end - now_ms());
		unsigned long long idx;
		size_t size;
		uint64_t sum;
		int got = gt_readline(p, line, sizeof(line), left > 0 ? left : 0);

		if (got <= 0)
			break;
		if (strncmp(line, "caps ", 5) == 0) {
			snprintf(r->caps, sizeof(r->caps), "%s", line + 5);
		} else if (sscanf(line, "frame %llu %zu %" SCNx64, &idx, &size, &sum) == 3) {
			ck_assert_uint_eq(idx, r->n);
			if (r->n == cap) {
				cap = cap ? cap * 2 : 256;
				r->sums = g_renew(uint64_t, r->sums, cap);
			}
			r->sums[r->n++] = sum;
		} else if (strcmp(line, "eos") == 0) {
			r->eos = true;
		} else if (strncmp(line, "error ", 6) == 0) {
			snprintf(r->error, sizeof(r->error), "%s", line + 6);
		}
	}
}

static void report_free(struct report *r)
{
	g_free(r->sums);
	r->sums = NULL;
}

static void assert_same_frames(const struct report *w, const struct report *r, size_t n)
{
	ck_assert_uint_eq(w->n, n);
	ck_assert_uint_eq(r->n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(w->sums[i] == r->sums[i],
			      "frame %zu: written with checksum %016" PRIx64 ", read %016" PRIx64,
			      i, w->sums[i], r->sums[i]);
}

static void assert_caps_equal(const char *a, const char *b)
{
	GstCaps *ca = gst_caps_from_string(a), *cb = gst_caps_from_string(b);

	ck_assert_msg(ca && cb, "unparsable caps: \"%s\" / \"%s\"", a, b);
	ck_assert_msg(gst_caps_is_equal(ca, cb), "caps differ: \"%s\" / \"%s\"", a, b);
	gst_caps_unref(ca);
	gst_caps_unref(cb);
}

static int exit_code(int status)
{
	ck_assert_msg(status != -1, "the process hung and was killed");
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static void setup(void)
{
	gst_init(NULL, NULL);
}

/* ---------------------------------------------------------------- elements */

static void assert_documented(const char *factory, const char *const names[])
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	GParamSpec **specs;
	guint n;

	ck_assert_msg(e != NULL, "no element %s (GST_PLUGIN_PATH?)", factory);
	specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
	for (guint i = 0; i < n; i++) {
		if (specs[i]->owner_type != G_OBJECT_TYPE(e))
			continue;
		ck_assert_msg(strlen(g_param_spec_get_blurb(specs[i])) > 20,
			      "%s::%s has no real description", factory, specs[i]->name);
		ck_assert_msg(strlen(g_param_spec_get_nick(specs[i])) > 0, "%s::%s has no nick",
			      factory, specs[i]->name);
	}
	g_free(specs);
	for (int i = 0; names[i]; i++)
		ck_assert_msg(g_object_class_find_property(G_OBJECT_GET_CLASS(e), names[i]),
			      "%s has no property %s", factory, names[i]);
	gst_object_unref(e);
}

START_TEST(test_properties)
{
	static const char *const sink[] = { "buffer",	       "socket",  "create",
					    "wait-for-reader", "timeout", "frames",
					    "copied",	       "dropped", "utilisation",
					    "health-interval", NULL };
	static const char *const src[] = { "buffer",	  "socket",	     "create",
					   "follow",	  "is-live",	     "do-timestamp",
					   "caps",	  "frames",	     "dropped",
					   "utilisation", "health-interval", NULL };
	GstElement *e;
	guint64 frames;
	gdouble util;

	assert_documented("zbsink", sink);
	assert_documented("zbsrc", src);
	/* Counters start at 0; without zbd the utilisation is unknown (-1). */
	e = gst_element_factory_make("zbsink", NULL);
	g_object_set(e, "buffer", gt_name("props"), NULL);
	g_object_get(e, "frames", &frames, "utilisation", &util, NULL);
	ck_assert_uint_eq(frames, 0);
	ck_assert_double_eq(util, -1.0);
	gst_object_unref(e);
}
END_TEST

/* zbsink writes the caps string as metadata; a libzbclient reader gets every
 * field back, and frames of the caps' size. */
START_TEST(test_caps_to_metadata)
{
	struct zb_buffer_config config = { .payload_size = 1 << 20 };
	const char *name = gt_name("capsmeta");
	struct zb_reader *rd;
	struct zb_frame f;
	const void *data;
	size_t size;
	GstStructure *s;
	GstCaps *caps;
	gchar *text, *desc, *err = NULL;
	GstElement *pipeline, *sink;
	guint64 frames, copied;
	gint w, h, n, d;

	ck_assert_int_eq(zb_reader_create(&rd, name, &config), 0);
	desc = g_strdup_printf("videotestsrc num-buffers=3 ! video/x-raw,format=NV12,width=320,"
			       "height=240,framerate=25/1,pixel-aspect-ratio=4/3 ! zbsink name=s "
			       "buffer=%s sync=false",
			       name);
	pipeline = gst_parse_launch(desc, NULL);
	sink = gst_bin_get_by_name(GST_BIN(pipeline), "s");
	ck_assert_int_eq(gt_run_pipeline(pipeline, 30000, &err), GST_MESSAGE_EOS);
	/* videotestsrc rendered into ring slots the sink lent: no copy. */
	g_object_get(sink, "frames", &frames, "copied", &copied, NULL);
	ck_assert_uint_eq(frames, 3);
	ck_assert_uint_eq(copied, 0);
	gst_object_unref(sink);
	ck_assert_int_eq(zb_reader_metadata(rd, &data, &size), 0);
	text = g_strndup(data, size);
	caps = gst_caps_from_string(text);
	ck_assert_msg(caps && gst_caps_is_fixed(caps), "metadata is no fixed caps: %s", text);
	s = gst_caps_get_structure(caps, 0);
	ck_assert_str_eq(gst_structure_get_name(s), "video/x-raw");
	ck_assert_str_eq(gst_structure_get_string(s, "format"), "NV12");
	ck_assert(gst_structure_get_int(s, "width", &w) && w == 320);
	ck_assert(gst_structure_get_int(s, "height", &h) && h == 240);
	ck_assert(gst_structure_get_fraction(s, "framerate", &n, &d) && n == 25 && d == 1);
	ck_assert(gst_structure_get_fraction(s, "pixel-aspect-ratio", &n, &d) && n == 4 && d == 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(zb_reader_read(rd, &f, 5000), 0);
		ck_assert_uint_eq(f.size, 320 * 240 * 3 / 2);
		ck_assert_int_eq(zb_reader_release(rd, &f), 0);
	}
	ck_assert_int_eq(zb_reader_read(rd, &f, 5000), ZB_EWRITER_GONE);
	gst_caps_unref(caps);
	g_free(text);
	g_free(desc);
	zb_reader_close(rd);
}
END_TEST

/* A pipeline ends in an element error whose text says what went wrong. */
static void assert_error(const char *desc, const char *const expect[])
{
	char *err = NULL;

	ck_assert_msg(gt_run(desc, 30000, &err) == GST_MESSAGE_ERROR, "\"%s\" did not fail", desc);
	for (int i = 0; expect[i]; i++)
		ck_assert_msg(strstr(err, expect[i]), "\"%s\": error \"%s\" lacks \"%s\"", desc,
			      err, expect[i]);
	g_free(err);
}

START_TEST(test_error_names)
{
	assert_error("videotestsrc num-buffers=1 ! zbsink buffer=bad/name",
		     (const char *const[]){ "invalid buffer name", "invalid argument", NULL });
	assert_error("zbsrc buffer=bad/name ! fakesink",
		     (const char *const[]){ "invalid buffer name", "invalid argument", NULL });
	assert_error("zbsrc ! fakesink", (const char *const[]){ "no buffer name", NULL });
	assert_error("videotestsrc num-buffers=1 ! zbsink",
		     (const char *const[]){ "no buffer name", NULL });
}
END_TEST

START_TEST(test_error_missing_buffer)
{
	char *desc;

	desc = g_strdup_printf("zbsrc buffer=%s ! fakesink", gt_name("missing"));
	assert_error(desc, (const char *const[]){ "no such buffer", NULL });
	g_free(desc);
	desc = g_strdup_printf("videotestsrc num-buffers=1 ! zbsink buffer=%s", gt_name("missing"));
	assert_error(desc, (const char *const[]){ "no such buffer", NULL });
	g_free(desc);
}
END_TEST

START_TEST(test_error_no_daemon)
{
	char *desc = g_strdup_printf("videotestsrc num-buffers=1 ! zbsink buffer=%s create=65536 "
				     "socket=%s/absent.sock",
				     gt_name("nodaemon"), gt_dir());

	assert_error(desc, (const char *const[]){ "cannot reach zbd", "absent.sock",
						  "No such file or directory", NULL });
	g_free(desc);
}
END_TEST

/* A 320x240 I420 frame (115,200 bytes) in a ring of 64 KiB. */
START_TEST(test_error_frame_too_large)
{
	struct zb_buffer_config config = { .payload_size = 65536 };
	const char *name = gt_name("small");
	struct zb_reader *rd;
	char *desc;

	ck_assert_int_eq(zb_reader_create(&rd, name, &config), 0);
	desc = g_strdup_printf("videotestsrc num-buffers=5 ! video/x-raw,format=I420,width=320,"
			       "height=240 ! zbsink buffer=%s",
			       name);
	assert_error(desc,
		     (const char *const[]){ "115200 bytes", "too large for the buffer", NULL });
	g_free(desc);
	zb_reader_close(rd);
}
END_TEST

/* A frame header announcing more bytes than the ring holds: the reader's
 * ZB_ECORRUPT becomes an element error. The segment is written here as
 * doc/protocol.md lays it out (control block, 1 KiB metadata, ring). */
START_TEST(test_error_corrupt)
{
	const char *name = gt_name("corrupt");
	struct zb_writer *w;
	GstElement *pipeline;
	GstMessage *msg;
	GError *gerr = NULL;
	gchar *debug = NULL, *desc, *path;
	uint64_t header[2] = { UINT64_C(1) << 40, 1 };
	unsigned char *seg;
	size_t len = 128 + 1024 + 65536;
	GstBus *bus;
	int fd;

	desc = g_strdup_printf("zbsrc buffer=%s create=65536 ! fakesink", name);
	pipeline = gst_parse_launch(desc, NULL);
	ck_assert_ptr_nonnull(pipeline);
	ck_assert_int_ne(gst_element_set_state(pipeline, GST_STATE_PLAYING),
			 GST_STATE_CHANGE_FAILURE);
	/* A live writer, so that the reader waits for its frames. */
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	path = g_strdup_printf("/dev/shm/%s", name);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	seg = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(seg, MAP_FAILED);
	memcpy(seg + 128 + 1024, header, sizeof(header));
	/* The writer has been past it (write position), and announced it (count). */
	__atomic_store_n((uint64_t *)(seg + 0x30), 4096, __ATOMIC_RELEASE);
	__atomic_store_n((uint64_t *)(seg + 0x40), 1, __ATOMIC_RELEASE);

	bus = gst_element_get_bus(pipeline);
	msg = gst_bus_timed_pop_filtered(bus, 20 * GST_SECOND, GST_MESSAGE_ERROR);
	ck_assert_msg(msg != NULL, "no error for a corrupt frame");
	gst_message_parse_error(msg, &gerr, &debug);
	ck_assert_msg(strstr(gerr->message, zb_strerror(ZB_ECORRUPT)), "error: %s", gerr->message);
	ck_assert_int_eq(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
	g_error_free(gerr);
	g_free(debug);
	gst_message_unref(msg);
	gst_object_unref(bus);
	gst_object_unref(pipeline);
	munmap(seg, len);
	close(fd);
	zb_writer_close(w);
	g_free(path);
	g_free(desc);
}
END_TEST

/* --------------------------------------------------------------- processes */

/* 1,000 frames from a zbsink process to a zbsrc process, every checksum equal,
 * the caps equal on both sides. */
START_TEST(test_thousand_frames)
{
	const char *name = gt_name("k");
	struct gt_proc rp, wp;
	struct report rr, wr;

	peer(&rp, SUM, "zbsrc buffer=%s create=%d ! fakesink name=m sync=false", name, RING_OF(16));
	ck_assert(gt_expect(&rp, "ready", NULL, 0, 30000));
	peer(&wp, SUM,
	     "videotestsrc num-buffers=1000 pattern=snow ! " SMALL_CAPS
	     " ! zbsink name=m buffer=%s sync=false",
	     name);
	collect(&wp, &wr, 120000);
	collect(&rp, &rr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&wp, 10000)), 0);
	ck_assert_int_eq(exit_code(gt_wait(&rp, 10000)), 0);
	ck_assert(wr.eos && rr.eos);
	assert_same_frames(&wr, &rr, 1000);
	assert_caps_equal(wr.caps, rr.caps);
	report_free(&wr);
	report_free(&rr);
	gt_proc_close(&wp);
	gt_proc_close(&rp);
}
END_TEST

/* The reader keeps frames (a queue, and 3 held and freed out of order, checked
 * unchanged when freed) while the writer wraps a ring of 16 frames 20 times. */
START_TEST(test_held_frames_while_wrapping)
{
	static const char *const opts[] = { "--sum", "--hold", "3", NULL };
	const char *name = gt_name("hold");
	struct gt_proc rp, wp;
	struct report rr, wr;

	peer(&rp, opts,
	     "zbsrc buffer=%s create=%d ! queue max-size-buffers=4 ! fakesink name=m sync=false",
	     name, RING_OF(16));
	ck_assert(gt_expect(&rp, "ready", NULL, 0, 30000));
	peer(&wp, SUM,
	     "videotestsrc num-buffers=320 pattern=snow ! " SMALL_CAPS
	     " ! zbsink name=m buffer=%s sync=false",
	     name);
	collect(&wp, &wr, 120000);
	collect(&rp, &rr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&wp, 10000)), 0);
	/* 3: a held frame changed under the reader. */
	ck_assert_int_eq(exit_code(gt_wait(&rp, 10000)), 0);
	assert_same_frames(&wr, &rr, 320);
	report_free(&wr);
	report_free(&rr);
	gt_proc_close(&wp);
	gt_proc_close(&rp);
}
END_TEST

/* An element upstream keeps each buffer until the next comes (as videorate
 * does): the slot it keeps is not waited for for ever, frames go on by copy,
 * and nothing stalls or changes. */
START_TEST(test_upstream_keeps_buffers)
{
	const char *name = gt_name("keep");
	struct gt_proc rp, wp;
	struct report rr, wr;

	peer(&rp, SUM, "zbsrc buffer=%s create=%d ! fakesink name=m sync=false", name, RING_OF(8));
	ck_assert(gt_expect(&rp, "ready", NULL, 0, 30000));
	peer(&wp, SUM,
	     "videotestsrc num-buffers=60 pattern=snow ! " SMALL_CAPS
	     " ! holdback ! zbsink name=m buffer=%s sync=false",
	     name);
	collect(&wp, &wr, 120000);
	collect(&rp, &rr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&wp, 10000)), 0);
	ck_assert_int_eq(exit_code(gt_wait(&rp, 10000)), 0);
	assert_same_frames(&wr, &rr, 60);
	report_free(&wr);
	report_free(&rr);
	gt_proc_close(&wp);
	gt_proc_close(&rp);
}
END_TEST

/* wait-for-reader with no buffer yet: the first frames queue up as plain
 * memory; once the reader made the buffer, slots are lent behind them, and
 * each plain frame rendered while a slot waits in the queue moves that slot
 * off the ring first. Every frame arrives, in order, unchanged. */
START_TEST(test_writer_before_reader)
{
	const char *name = gt_name("early");
	struct gt_proc rp, wp;
	struct report rr, wr;

	peer(&wp, SUM,
	     "videotestsrc num-buffers=100 pattern=snow ! " SMALL_CAPS
	     " ! queue max-size-buffers=20 ! zbsink name=m buffer=%s wait-for-reader=true "
	     "sync=false",
	     name);
	ck_assert(gt_expect(&wp, "ready", NULL, 0, 30000));
	peer(&rp, SUM, "zbsrc buffer=%s create=%d ! fakesink name=m sync=false", name, RING_OF(8));
	collect(&wp, &wr, 120000);
	collect(&rp, &rr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&wp, 10000)), 0);
	ck_assert_int_eq(exit_code(gt_wait(&rp, 10000)), 0);
	assert_same_frames(&wr, &rr, 100);
	report_free(&wr);
	report_free(&rr);
	gt_proc_close(&wp);
	gt_proc_close(&rp);
}
END_TEST

/* zbsink in its own process against a libzbclient reader here, which holds
 * up to 3 frames and releases them out of order. */
START_TEST(test_sink_to_library_reader)
{
	struct zb_buffer_config config = { .payload_size = RING_OF(8) };
	const char *name = gt_name("sinklib");
	uint64_t sums[300];
	struct zb_frame held[3];
	struct zb_reader *rd;
	struct gt_proc wp;
	struct report wr;
	const void *data;
	size_t size, n = 0, n_held = 0;
	gchar *meta;
	int r;

	ck_assert_int_eq(zb_reader_create(&rd, name, &config), 0);
	peer(&wp, SUM,
	     "videotestsrc num-buffers=300 pattern=snow ! " SMALL_CAPS
	     " ! zbsink name=m buffer=%s sync=false",
	     name);
	for (;;) {
		struct zb_frame f;

		r = zb_reader_read(rd, &f, 30000);
		if (r != 0)
			break;
		ck_assert_uint_lt(n, 300);
		ck_assert_uint_eq(f.size, SMALL_SIZE);
		sums[n++] = frame_sum(f.data, f.size);
		if (n_held == 3) {
			/* The newest or the oldest, in turn (see zbgst-peer's --hold). */
			size_t i = n % 2 ? 0 : 2;

			ck_assert_int_eq(zb_reader_release(rd, &held[i]), 0);
			memmove(&held[i], &held[i + 1], (n_held - i - 1) * sizeof(held[0]));
			n_held--;
		}
		held[n_held++] = f;
	}
	ck_assert_int_eq(r, ZB_EWRITER_GONE);
	collect(&wp, &wr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&wp, 10000)), 0);
	ck_assert_uint_eq(n, 300);
	ck_assert_uint_eq(wr.n, 300);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(sums[i] == wr.sums[i], "frame %zu differs", i);
	ck_assert_int_eq(zb_reader_metadata(rd, &data, &size), 0);
	meta = g_strndup(data, size);
	assert_caps_equal(meta, wr.caps);
	g_free(meta);
	report_free(&wr);
	gt_proc_close(&wp);
	zb_reader_close(rd);
}
END_TEST

/* zbsrc in its own process against a libzbclient writer here, for each kind
 * of metadata: a caps string, "WIDTHxHEIGHT FORMAT", something else, none. */
static const struct {
	const char *metadata; /* NULL: none set */
	const char *caps;     /* what zbsrc must announce */
} metas[] = {
	{ "video/x-raw, format=(string)GRAY8, width=(int)64, height=(int)48, "
	  "framerate=(fraction)30/1",
	  "video/x-raw, format=(string)GRAY8, width=(int)64, height=(int)48, "
	  "framerate=(fraction)30/1" },
	{ "64x48 GRAY8", "video/x-raw, format=(string)GRAY8, width=(int)64, height=(int)48, "
			 "framerate=(fraction)0/1" },
	{ "{\"json\": true}", "application/octet-stream" },
	{ NULL, "application/octet-stream" },
};

START_TEST(test_library_writer_to_src)
{
	const char *name = gt_name("libsrc");
	unsigned char frame[64 * 48];
	uint64_t sums[200];
	struct zb_writer *w;
	struct gt_proc rp;
	struct report rr;

	peer(&rp, SUM, "zbsrc buffer=%s create=65536 ! fakesink name=m sync=false", name);
	ck_assert(gt_expect(&rp, "ready", NULL, 0, 30000));
	ck_assert_int_eq(zb_writer_open(&w, name), 0);
	if (metas[_i].metadata)
		ck_assert_int_eq(
			zb_writer_set_metadata(w, metas[_i].metadata, strlen(metas[_i].metadata)),
			0);
	for (int i = 0; i < 200; i++) {
		for (size_t j = 0; j < sizeof(frame); j++)
			frame[j] = (unsigned char)(i * 7 + j * 13);
		sums[i] = frame_sum(frame, sizeof(frame));
		ck_assert_int_eq(zb_writer_write(w, frame, sizeof(frame), 30000), 0);
	}
	zb_writer_close(w);
	collect(&rp, &rr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&rp, 10000)), 0);
	ck_assert(rr.eos);
	ck_assert_uint_eq(rr.n, 200);
	for (int i = 0; i < 200; i++)
		ck_assert_msg(sums[i] == rr.sums[i], "frame %d differs", i);
	assert_caps_equal(rr.caps, metas[_i].caps);
	report_free(&rr);
	gt_proc_close(&rp);
}
END_TEST

/* --------------------------------------------------------------- with zbd */

#define LIVE_SMALL                                                                                 \
	"videotestsrc is-live=true pattern=snow ! "                                                \
	"video/x-raw,format=I420,width=160,height=120,framerate=200/1"

/* zbsink asks zbd to create the buffer; health arrives as element messages
 * and properties, from zbd's report. */
START_TEST(test_zbd_create_and_health)
{
	const char *name = gt_name("health");
	struct zb_health *health = NULL;
	struct gt_zbd z;
	struct zb_ctl *ctl;
	struct zb_reader *rd;
	struct zb_frame f;
	GstElement *pipeline, *sink;
	GstMessage *msg;
	GstBus *bus;
	size_t n;
	guint64 frames;
	gdouble util;
	gchar *desc;
	int health_msgs = 0;
	gboolean eos = FALSE;

	gt_zbd_start(&z);
	desc = g_strdup_printf("videotestsrc num-buffers=20 ! " SMALL_CAPS " ! zbsink name=s "
			       "buffer=%s create=%d socket=%s health-interval=1 sync=false",
			       name, RING_OF(30), z.sock);
	pipeline = gst_parse_launch(desc, NULL);
	ck_assert_ptr_nonnull(pipeline);
	bus = gst_element_get_bus(pipeline);
	gst_element_set_state(pipeline, GST_STATE_PLAYING);
	while (!eos && (msg = gst_bus_timed_pop(bus, 30 * GST_SECOND))) {
		const GstStructure *s = gst_message_get_structure(msg);
		const gchar *state;
		gdouble u;

		switch (GST_MESSAGE_TYPE(msg)) {
		case GST_MESSAGE_EOS:
			eos = TRUE;
			break;
		case GST_MESSAGE_ERROR:
			ck_abort_msg("error from the pipeline");
			break;
		case GST_MESSAGE_ELEMENT:
			if (!gst_structure_has_name(s, "zerobuffer-health"))
				break;
			health_msgs++;
			state = gst_structure_get_string(s, "state");
			ck_assert_str_ne(state, "unknown");
			ck_assert(gst_structure_get_double(s, "utilisation", &u) && u >= 0.0);
			ck_assert_str_eq(gst_structure_get_string(s, "buffer"), name);
			break;
		default:
			break;
		}
		gst_message_unref(msg);
	}
	ck_assert(eos);
	ck_assert_int_gt(health_msgs, 0);
	sink = gst_bin_get_by_name(GST_BIN(pipeline), "s");
	g_object_get(sink, "frames", &frames, "utilisation", &util, NULL);
	ck_assert_uint_eq(frames, 20);
	ck_assert(util > 0.0); /* 20 unread frames of the 30 the ring holds */
	gst_object_unref(sink);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(bus);
	gst_object_unref(pipeline);

	/* The buffer is zbd's: the frames wait for a reader. */
	ck_assert_int_eq(zb_ctl_connect(&ctl, z.sock), 0);
	ck_assert_int_eq(zb_ctl_health(ctl, name, &health, &n, NULL), 0);
	ck_assert_uint_eq(health[0].frames_written, 20);
	ck_assert_int_eq(zb_reader_open(&rd, name), 0);
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(zb_reader_read(rd, &f, 5000), 0);
		ck_assert_int_eq(zb_reader_release(rd, &f), 0);
	}
	zb_reader_close(rd);
	ck_assert_int_eq(zb_ctl_destroy(ctl, name, 1), 0);
	zb_health_free(health);
	zb_ctl_close(ctl);
	g_free(desc);
	gt_zbd_stop(&z);
}
END_TEST

/* SIGKILL the writer: zbd clears it at once and the reader ends the stream. */
START_TEST(test_zbd_writer_killed_is_eos)
{
	const char *name = gt_name("wkill");
	struct gt_proc wp, rp;
	struct gt_zbd z;
	double killed;

	gt_zbd_start(&z);
	peer(&wp, NULL, LIVE_SMALL " ! zbsink buffer=%s create=%d socket=%s sync=false", name,
	     RING_OF(16), z.sock);
	ck_assert(gt_expect(&wp, "ready", NULL, 0, 30000));
	peer(&rp, SUM, "zbsrc buffer=%s ! fakesink name=m sync=false", name);
	ck_assert(gt_expect(&rp, "frame 20 ", NULL, 0, 30000));
	killed = now_ms();
	gt_kill(&wp);
	ck_assert_msg(gt_expect(&rp, "eos", NULL, 0, 10000), "no EOS after the writer died");
	/* The bound is the benchmark's to measure; the log shows it. */
	fprintf(stderr, "EOS %.1f ms after the writer was killed\n", now_ms() - killed);
	ck_assert_int_eq(exit_code(gt_wait(&rp, 10000)), 0);
	gt_proc_close(&rp);
	gt_proc_close(&wp);
	gt_zbd_stop(&z);
}
END_TEST

/* SIGKILL the reader: with wait-for-reader=false the sink fails, saying so. */
START_TEST(test_zbd_reader_killed_is_error)
{
	const char *name = gt_name("rkill");
	char line[LINE_MAX_];
	struct gt_proc wp, rp;
	struct gt_zbd z;

	gt_zbd_start(&z);
	peer(&wp, NULL, LIVE_SMALL " ! zbsink buffer=%s create=%d socket=%s sync=false", name,
	     RING_OF(16), z.sock);
	ck_assert(gt_expect(&wp, "ready", NULL, 0, 30000));
	peer(&rp, SUM, "zbsrc buffer=%s ! fakesink name=m sync=false", name);
	ck_assert(gt_expect(&rp, "frame 20 ", NULL, 0, 30000));
	gt_kill(&rp);
	ck_assert_msg(gt_expect(&wp, "error ", line, sizeof(line), 10000),
		      "the sink did not fail when its reader died");
	ck_assert_msg(strstr(line, zb_strerror(ZB_EREADER_GONE)), "error: %s", line);
	ck_assert_int_eq(exit_code(gt_wait(&wp, 10000)), 1);
	gt_proc_close(&rp);
	gt_proc_close(&wp);
	gt_zbd_stop(&z);
}
END_TEST

/* SIGKILL the reader: with wait-for-reader=true the sink waits, and the next
 * reader gets frames. */
START_TEST(test_zbd_reader_killed_wait)
{
	const char *name = gt_name("rwait");
	struct gt_proc wp, r1, r2;
	struct report rr;
	struct gt_zbd z;
	char line[LINE_MAX_];

	gt_zbd_start(&z);
	peer(&wp, NULL,
	     LIVE_SMALL " ! zbsink buffer=%s create=%d socket=%s wait-for-reader=true sync=false",
	     name, RING_OF(16), z.sock);
	ck_assert(gt_expect(&wp, "ready", NULL, 0, 30000));
	peer(&r1, SUM, "zbsrc buffer=%s ! fakesink name=m sync=false", name);
	ck_assert(gt_expect(&r1, "frame 20 ", NULL, 0, 30000));
	gt_kill(&r1);
	peer(&r2, SUM, "zbsrc buffer=%s num-buffers=30 ! fakesink name=m sync=false", name);
	collect(&r2, &rr, 30000);
	ck_assert_int_eq(exit_code(gt_wait(&r2, 10000)), 0);
	ck_assert(rr.eos);
	ck_assert_uint_eq(rr.n, 30);
	/* The writer is still there, and said nothing of an error. */
	ck_assert_int_eq(gt_readline(&wp, line, sizeof(line), 0), -1);
	ck_assert_int_eq(waitpid(wp.pid, NULL, WNOHANG), 0);
	report_free(&rr);
	gt_proc_close(&r1);
	gt_proc_close(&r2);
	gt_proc_close(&wp);
	gt_zbd_stop(&z);
}
END_TEST

/* ------------------------------------------------ the real command line */

/* Run a shell command line (gst-inspect-1.0, gst-launch-1.0: the real
 * tools). In a sanitizer build they need the sanitizer runtime preloaded to
 * load our instrumented plugin; their own exit-time allocations are not ours
 * to account for. */
static void shell(struct gt_proc *p, const char *line)
{
	const char *preload = getenv("ZBGST_TOOL_PRELOAD");
	char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	char *cmd;

	if (preload && *preload)
		cmd = g_strdup_printf("LD_PRELOAD='%s' ASAN_OPTIONS=detect_leaks=0 exec %s",
				      preload, line);
	else
		cmd = g_strdup_printf("exec %s", line);
	argv[2] = cmd;
	gt_spawn(p, argv);
	g_free(cmd);
}

START_TEST(test_inspect)
{
	static const struct {
		const char *element, *expect[4];
	} cases[] = {
		{ "zbsink", { "ZeroBuffer sink", "wait-for-reader", "utilisation", NULL } },
		{ "zbsrc", { "ZeroBuffer source", "follow", "is-live", NULL } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[LINE_MAX_],
			*cmd = g_strdup_printf("gst-inspect-1.0 %s", cases[i].element);
		GString *out = g_string_new(NULL);
		struct gt_proc p;

		shell(&p, cmd);
		while (gt_readline(&p, line, sizeof(line), 30000) == 1)
			g_string_append_printf(out, "%s\n", line);
		ck_assert_int_eq(exit_code(gt_wait(&p, 10000)), 0);
		for (int j = 0; cases[i].expect[j]; j++)
			ck_assert_msg(strstr(out->str, cases[i].expect[j]), "%s: no \"%s\" in:\n%s",
				      cmd, cases[i].expect[j], out->str);
		gt_proc_close(&p);
		g_string_free(out, TRUE);
		g_free(cmd);
	}
}
END_TEST

/* The two gst-launch-1.0 lines of the README's GStreamer section, run as
 * written there (the buffer renamed, zbd's socket through $ZBD_SOCKET). */
START_TEST(test_readme_pipelines)
{
	const char *readme = getenv("ZBGST_README"), *name = gt_name("readme");
	gchar *text = NULL, **lines, *cmds[2] = { NULL, NULL }, *section;
	char line[LINE_MAX_];
	struct gt_proc w, r;
	struct gt_zbd z;
	bool health = false, eos = false;
	int n = 0;

	ck_assert_msg(readme && g_file_get_contents(readme, &text, NULL, NULL),
		      "cannot read the README ($ZBGST_README)");
	section = strstr(text, "\n## GStreamer");
	ck_assert_msg(section != NULL, "the README has no GStreamer section");
	lines = g_strsplit(section, "\n", -1);
	for (int i = 0; lines[i] && n < 2; i++) {
		if (g_str_has_prefix(lines[i], "gst-launch-1.0 ")) {
			gchar **parts = g_strsplit(lines[i], "camera0", -1);

			cmds[n++] = g_strjoinv(name, parts);
			g_strfreev(parts);
		}
	}
	g_strfreev(lines);
	ck_assert_int_eq(n, 2);

	gt_zbd_start(&z);
	setenv("ZBD_SOCKET", z.sock, 1);
	shell(&w, cmds[0]);
	ck_assert_msg(gt_expect(&w, "Setting pipeline to PLAYING", line, sizeof(line), 30000),
		      "the writer pipeline did not start: %s", cmds[0]);
	shell(&r, cmds[1]);
	while (gt_readline(&r, line, sizeof(line), 60000) == 1) {
		health |= strstr(line, "zerobuffer-health") != NULL;
		eos |= strstr(line, "Got EOS") != NULL;
	}
	ck_assert_int_eq(exit_code(gt_wait(&r, 10000)), 0);
	ck_assert_int_eq(exit_code(gt_wait(&w, 30000)), 0);
	ck_assert_msg(health, "no zerobuffer-health message from: %s", cmds[1]);
	ck_assert_msg(eos, "no EOS for: %s", cmds[1]);
	gt_proc_close(&w);
	gt_proc_close(&r);
	gt_zbd_stop(&z);
	g_free(cmds[0]);
	g_free(cmds[1]);
	g_free(text);
}
END_TEST

static Suite *gst_suite(void)
{
	Suite *s = suite_create("gst");
	TCase *tc;

	tc = tcase_create("elements");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_properties);
	tcase_add_test(tc, test_caps_to_metadata);
	tcase_add_test(tc, test_error_names);
	tcase_add_test(tc, test_error_missing_buffer);
	tcase_add_test(tc, test_error_no_daemon);
	tcase_add_test(tc, test_error_frame_too_large);
	tcase_add_test(tc, test_error_corrupt);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_thousand_frames);
	tcase_add_test(tc, test_held_frames_while_wrapping);
	tcase_add_test(tc, test_upstream_keeps_buffers);
	tcase_add_test(tc, test_writer_before_reader);
	tcase_add_test(tc, test_sink_to_library_reader);
	tcase_add_loop_test(tc, test_library_writer_to_src, 0, sizeof(metas) / sizeof(metas[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("zbd");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_zbd_create_and_health);
	tcase_add_test(tc, test_zbd_writer_killed_is_eos);
	tcase_add_test(tc, test_zbd_reader_killed_is_error);
	tcase_add_test(tc, test_zbd_reader_killed_wait);
	suite_add_tcase(s, tc);

	tc = tcase_create("tools");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_inspect);
	tcase_add_test(tc, test_readme_pipelines);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	gt_init_runner();
	sr = srunner_create(gst_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	gt_sweep();
	return failed ? 1 : 0;
}
