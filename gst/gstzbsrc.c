/* SPDX-License-Identifier: MIT */
/*
 * zbsrc: each frame of a ZeroBuffer v1 ring becomes one buffer whose memory
 * *is* the frame in shared memory: no copy. Freeing the memory (when the last
 * reference to it drops, in whatever thread and order) releases the frame to
 * the ring. The caps come from the buffer's metadata.
 *
 * Threads: create() reads in the streaming thread; frames are freed wherever
 * downstream drops them. libzbclient's reader is not thread-safe, so one mutex
 * guards it, and the streaming thread holds that mutex while it waits for a
 * frame. A frame freed meanwhile is queued (`pending`) and released by the
 * streaming thread as soon as its wait slice ends; while any frame is out,
 * slices are short (HELD_SLICE_MS) so that a writer waiting for the space of
 * a frame freed downstream waits at most that long. A thread that finds the
 * mutex free releases at once.
 *
 * The reader handle owns the mapping: it is closed only when the element has
 * stopped and every frame handed out has been freed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

#include "zbgst.h"

GST_DEBUG_CATEGORY_STATIC(zbsrc_debug);
#define GST_CAT_DEFAULT zbsrc_debug

/* Wait slices: the longer one while no frame is out (so unlock and stop are
 * seen within it), the shorter one while frames are out (so that a frame freed
 * in another thread reaches the writer within it). */
#define SLICE_MS 50
#define HELD_SLICE_MS 2

/* ------------------------------------------------------------ shared state */

typedef struct {
	gint refs;	     /* the element, and each frame handed out */
	GMutex lock;	     /* `r` and everything below but `pending` */
	struct zb_reader *r; /* NULL once closed */
	gchar *name;
	guint64 create;
	gboolean stopped;  /* the element stopped: close once no frame is out */
	guint outstanding; /* frames read and not yet released */
	GMutex pending_lock;
	GArray *pending; /* of struct zb_frame, freed while `lock` was taken */
} Reader;

typedef struct {
	Reader *rd;
	struct zb_frame f;
} FrameLoan;

static Reader *reader_ref(Reader *rd)
{
	g_atomic_int_inc(&rd->refs);
	return rd;
}

static void reader_unref(Reader *rd)
{
	if (!g_atomic_int_dec_and_test(&rd->refs))
		return;
	zb_reader_close(rd->r);
	g_array_unref(rd->pending);
	g_mutex_clear(&rd->pending_lock);
	g_mutex_clear(&rd->lock);
	g_free(rd->name);
	g_free(rd);
}

/* With rd->lock: close the handle once the element stopped and nothing is out. */
static void reader_maybe_close(Reader *rd)
{
	if (rd->stopped && rd->outstanding == 0 && rd->r) {
		zb_reader_close(rd->r);
		rd->r = NULL;
	}
}

/* With rd->lock: release the frames freed while the lock was taken. */
static void reader_apply_pending(Reader *rd)
{
	struct zb_frame batch[32];
	guint n;

	do {
		g_mutex_lock(&rd->pending_lock);
		n = MIN(rd->pending->len, G_N_ELEMENTS(batch));
		if (n) {
			memcpy(batch,
			       &g_array_index(rd->pending, struct zb_frame, rd->pending->len - n),
			       n * sizeof(batch[0]));
			g_array_set_size(rd->pending, rd->pending->len - n);
		}
		g_mutex_unlock(&rd->pending_lock);
		for (guint i = 0; i < n; i++) {
			if (rd->r)
				zb_reader_release(rd->r, &batch[i]);
			rd->outstanding--;
		}
	} while (n);
	reader_maybe_close(rd);
}

/* Release what is pending if the lock is free; whoever holds it releases
 * after us otherwise (and looks again after unlocking, so nothing strands). */
static void reader_drain(Reader *rd)
{
	for (;;) {
		gboolean empty;

		if (!g_mutex_trylock(&rd->lock))
			return;
		reader_apply_pending(rd);
		g_mutex_unlock(&rd->lock);
		g_mutex_lock(&rd->pending_lock);
		empty = rd->pending->len == 0;
		g_mutex_unlock(&rd->pending_lock);
		if (empty)
			return;
	}
}

/* A frame's memory was freed: its space goes back to the writer. */
static void frame_loan_end(gpointer data)
{
	FrameLoan *loan = data;
	Reader *rd = loan->rd;

	g_mutex_lock(&rd->pending_lock);
	g_array_append_val(rd->pending, loan->f);
	g_mutex_unlock(&rd->pending_lock);
	reader_drain(rd);
	reader_unref(rd);
	g_free(loan);
}

static int reader_open(Reader **ret, const gchar *name, guint64 create)
{
	struct zb_buffer_config config = { .payload_size = create };
	struct zb_reader *r;
	Reader *rd;
	int err;

	err = create ? zb_reader_create(&r, name, &config) : zb_reader_open(&r, name);
	if (err < 0)
		return err;
	rd = g_new0(Reader, 1);
	rd->refs = 1;
	g_mutex_init(&rd->lock);
	g_mutex_init(&rd->pending_lock);
	rd->pending = g_array_new(FALSE, FALSE, sizeof(struct zb_frame));
	rd->r = r;
	rd->name = g_strdup(name);
	rd->create = create;
	*ret = rd;
	return 0;
}

/* ------------------------------------------------------------- the element */

#define GST_TYPE_ZB_SRC (gst_zb_src_get_type())
G_DECLARE_FINAL_TYPE(GstZbSrc, gst_zb_src, GST, ZB_SRC, GstPushSrc)

struct _GstZbSrc {
	GstPushSrc parent;

	/* properties, with the object lock */
	gchar *name;
	gchar *socket;
	guint64 create;
	gboolean follow;
	gboolean is_live;
	GstCaps *caps;
	guint health_interval_ms;

	/* streaming state */
	Reader *rd;	     /* kept after stop while frames are out, to be reused */
	gchar *running_name; /* the buffer name while started */
	gint unlocked;	     /* atomic */
	gint64 next_health;

	/* counters, atomic */
	guint64 frames;
	guint64 dropped;

	ZbgstHealth health;
};

G_DEFINE_TYPE(GstZbSrc, gst_zb_src, GST_TYPE_PUSH_SRC)
GST_ELEMENT_REGISTER_DEFINE(zbsrc, "zbsrc", GST_RANK_NONE, GST_TYPE_ZB_SRC)

enum {
	PROP_0,
	PROP_BUFFER,
	PROP_SOCKET,
	PROP_CREATE,
	PROP_FOLLOW,
	PROP_IS_LIVE,
	PROP_CAPS,
	PROP_HEALTH_INTERVAL,
	PROP_FRAMES,
	PROP_DROPPED,
	PROP_UTILISATION,
};

static GstStaticPadTemplate src_template =
	GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void src_error(GstZbSrc *self, int code, const gchar *what)
{
	gchar *text = g_strdup_printf("buffer \"%s\": %s: %s", self->running_name, what,
				      zb_strerror(code));

	zbgst_element_error(GST_ELEMENT(self), code, text);
	g_free(text);
}

/*
 * Caps for a metadata blob: a caps string (what zbsink writes); or
 * "WIDTHxHEIGHT FORMAT" (as in libzbclient's own example, "1920x1080 I420")
 * for raw video. NULL for anything else.
 */
static GstCaps *caps_from_metadata(const void *data, size_t size)
{
	gchar *text = g_strndup(data, size);
	GstCaps *caps = NULL;
	unsigned w, h;
	char fmt[16];

	g_strstrip(text);
	if (sscanf(text, "%ux%u %15s", &w, &h, fmt) == 3 && w && h &&
	    gst_video_format_from_string(fmt) != GST_VIDEO_FORMAT_UNKNOWN) {
		caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, fmt, "width",
					   G_TYPE_INT, (int)w, "height", G_TYPE_INT, (int)h,
					   "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
	} else if (*text) {
		caps = gst_caps_from_string(text);
		if (caps && (gst_caps_is_empty(caps) || !gst_caps_is_fixed(caps)))
			gst_clear_caps(&caps);
	}
	g_free(text);
	return caps;
}

/* The caps to announce: the `caps` property, else the metadata's, else NULL
 * (no metadata yet, or not caps). */
static GstCaps *src_known_caps(GstZbSrc *self, gboolean *ret_metadata_unusable)
{
	GstCaps *caps = NULL;
	const void *data;
	size_t size;
	int r = -ENODATA;

	Reader *rd = NULL;

	/* Caps queries come from any thread, also while the element stops. */
	GST_OBJECT_LOCK(self);
	if (self->caps)
		caps = gst_caps_ref(self->caps);
	else if (self->rd)
		rd = reader_ref(self->rd);
	GST_OBJECT_UNLOCK(self);
	if (!rd)
		return caps;
	g_mutex_lock(&rd->lock);
	if (rd->r)
		r = zb_reader_metadata(rd->r, &data, &size);
	if (r == 0) {
		caps = caps_from_metadata(data, size);
		if (!caps && ret_metadata_unusable)
			*ret_metadata_unusable = TRUE;
	}
	g_mutex_unlock(&rd->lock);
	reader_unref(rd);
	return caps;
}

static GstCaps *gst_zb_src_get_caps(GstBaseSrc *bsrc, GstCaps *filter)
{
	GstZbSrc *self = GST_ZB_SRC(bsrc);
	GstCaps *caps = src_known_caps(self, NULL);

	if (!caps)
		caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(bsrc));
	if (filter) {
		GstCaps *both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);

		gst_caps_unref(caps);
		caps = both;
	}
	return caps;
}

/* Replace the element's reader (taking over `rd`'s reference). */
static void src_set_reader(GstZbSrc *self, Reader *rd)
{
	Reader *old;

	GST_OBJECT_LOCK(self);
	old = self->rd;
	self->rd = rd;
	GST_OBJECT_UNLOCK(self);
	if (old)
		reader_unref(old);
}

static gboolean gst_zb_src_start(GstBaseSrc *bsrc)
{
	GstZbSrc *self = GST_ZB_SRC(bsrc);
	gchar *name, *socket;
	guint64 create;
	int r;

	GST_OBJECT_LOCK(self);
	name = g_strdup(self->name);
	socket = g_strdup(self->socket);
	create = self->create;
	GST_OBJECT_UNLOCK(self);

	g_free(self->running_name);
	self->running_name = g_strdup(name);
	if (!name || !*name) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("no buffer name: set the \"buffer\" property"), (NULL));
		goto fail;
	}
	r = zb_name_check(name);
	if (r < 0) {
		src_error(self, r, "invalid buffer name");
		goto fail;
	}
	zbgst_health_set_socket(&self->health, socket);

	/* The reader of the last run, still open because frames are out, is
	 * reused: a second handle in this process would give their space back
	 * under it when it closes. */
	if (self->rd) {
		gboolean reuse;

		g_mutex_lock(&self->rd->lock);
		reuse = self->rd->r && g_str_equal(self->rd->name, name);
		if (reuse)
			self->rd->stopped = FALSE;
		g_mutex_unlock(&self->rd->lock);
		if (!reuse)
			src_set_reader(self, NULL);
	}
	if (!self->rd) {
		Reader *rd;

		r = reader_open(&rd, name, create);
		if (r == 0)
			src_set_reader(self, rd);
		if (r < 0) {
			src_error(self, r,
				  create ? "cannot create the buffer as its reader"
					 : "cannot attach as reader");
			goto fail;
		}
	}
	GST_INFO_OBJECT(self, "reading buffer \"%s\"%s", name,
			create ? " (created, standalone)" : "");
	g_atomic_int_set(&self->unlocked, 0);
	self->next_health = 0;
	g_free(name);
	g_free(socket);
	return TRUE;

fail:
	g_free(name);
	g_free(socket);
	return FALSE;
}

static gboolean gst_zb_src_stop(GstBaseSrc *bsrc)
{
	GstZbSrc *self = GST_ZB_SRC(bsrc);
	Reader *rd = self->rd;

	if (!rd)
		return TRUE;
	g_mutex_lock(&rd->lock);
	rd->stopped = TRUE;
	reader_apply_pending(rd);
	g_mutex_unlock(&rd->lock);
	reader_drain(rd);
	/* Closed now, or when the last frame out is freed. */
	g_mutex_lock(&rd->lock);
	if (!rd->r) {
		g_mutex_unlock(&rd->lock);
		src_set_reader(self, NULL);
	} else {
		g_mutex_unlock(&rd->lock);
	}
	return TRUE;
}

static gboolean gst_zb_src_unlock(GstBaseSrc *bsrc)
{
	g_atomic_int_set(&GST_ZB_SRC(bsrc)->unlocked, 1);
	return TRUE;
}

static gboolean gst_zb_src_unlock_stop(GstBaseSrc *bsrc)
{
	g_atomic_int_set(&GST_ZB_SRC(bsrc)->unlocked, 0);
	return TRUE;
}

static void src_release_now(Reader *rd, const struct zb_frame *f)
{
	g_mutex_lock(&rd->lock);
	zb_reader_release(rd->r, f);
	rd->outstanding--;
	g_mutex_unlock(&rd->lock);
}

static void src_maybe_post_health(GstZbSrc *self)
{
	guint interval;

	GST_OBJECT_LOCK(self);
	interval = self->health_interval_ms;
	GST_OBJECT_UNLOCK(self);
	zbgst_health_maybe_post(&self->health, GST_ELEMENT(self), interval, &self->next_health,
				self->running_name, zbgst_counter_get(&self->frames),
				zbgst_counter_get(&self->dropped));
}

/* Announce caps before the first frame if negotiation could not (no metadata
 * yet when it ran). */
static GstFlowReturn src_ensure_caps(GstZbSrc *self)
{
	GstBaseSrc *bsrc = GST_BASE_SRC(self);
	gboolean unusable = FALSE;
	GstCaps *caps;
	gboolean ok;

	if (gst_pad_has_current_caps(GST_BASE_SRC_PAD(bsrc)))
		return GST_FLOW_OK;
	caps = src_known_caps(self, &unusable);
	if (!caps) {
		GST_INFO_OBJECT(self, "%s: frames go out as application/octet-stream",
				unusable ? "metadata is not caps" : "no metadata");
		caps = gst_caps_new_empty_simple("application/octet-stream");
	}
	ok = gst_base_src_set_caps(bsrc, caps);
	if (!ok) {
		gchar *text = gst_caps_to_string(caps);

		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("buffer \"%s\": downstream refused the buffer's caps %s",
				   self->running_name, text),
				  (NULL));
		g_free(text);
	}
	gst_caps_unref(caps);
	return ok ? GST_FLOW_OK : GST_FLOW_NOT_NEGOTIATED;
}

static GstFlowReturn gst_zb_src_create(GstPushSrc *psrc, GstBuffer **ret)
{
	GstZbSrc *self = GST_ZB_SRC(psrc);
	Reader *rd = self->rd;
	struct zb_frame f;
	GstFlowReturn flow;
	FrameLoan *loan;
	GstBuffer *buf;
	gboolean follow;
	int r;

	GST_OBJECT_LOCK(self);
	follow = self->follow;
	GST_OBJECT_UNLOCK(self);

	for (;;) {
		if (g_atomic_int_get(&self->unlocked))
			return GST_FLOW_FLUSHING;
		g_mutex_lock(&rd->lock);
		reader_apply_pending(rd);
		r = zb_reader_read(rd->r, &f, rd->outstanding ? HELD_SLICE_MS : SLICE_MS);
		if (r == 0)
			rd->outstanding++;
		reader_apply_pending(rd);
		g_mutex_unlock(&rd->lock);
		reader_drain(rd);
		if (r == 0)
			break;
		if (r == -ETIMEDOUT) {
			src_maybe_post_health(self);
			continue;
		}
		if (r == ZB_EWRITER_GONE) {
			if (follow) {
				GST_INFO_OBJECT(self, "the writer left: waiting for the next one");
				continue;
			}
			GST_INFO_OBJECT(self, "the writer left and every frame was read: EOS");
			return GST_FLOW_EOS;
		}
		src_error(self, r, "cannot read a frame");
		return GST_FLOW_ERROR;
	}

	if (g_atomic_int_get(&self->unlocked)) {
		src_release_now(rd, &f);
		zbgst_counter_add(&self->dropped);
		return GST_FLOW_FLUSHING;
	}
	flow = src_ensure_caps(self);
	if (flow != GST_FLOW_OK) {
		src_release_now(rd, &f);
		zbgst_counter_add(&self->dropped);
		return flow;
	}

	loan = g_new(FrameLoan, 1);
	loan->rd = reader_ref(rd);
	loan->f = f;
	buf = gst_buffer_new();
	gst_buffer_append_memory(buf,
				 gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, (gpointer)f.data,
							f.size, 0, f.size, loan, frame_loan_end));
	GST_BUFFER_OFFSET(buf) = f.sequence;
	GST_BUFFER_OFFSET_END(buf) = f.sequence + 1;
	zbgst_counter_add(&self->frames);
	src_maybe_post_health(self);
	*ret = buf;
	return GST_FLOW_OK;
}

/* ------------------------------------------------------------- properties */

static void gst_zb_src_set_property(GObject *object, guint prop_id, const GValue *value,
				    GParamSpec *pspec)
{
	GstZbSrc *self = GST_ZB_SRC(object);

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_BUFFER:
		g_free(self->name);
		self->name = g_value_dup_string(value);
		break;
	case PROP_SOCKET:
		g_free(self->socket);
		self->socket = g_value_dup_string(value);
		break;
	case PROP_CREATE:
		self->create = g_value_get_uint64(value);
		break;
	case PROP_FOLLOW:
		self->follow = g_value_get_boolean(value);
		break;
	case PROP_IS_LIVE:
		self->is_live = g_value_get_boolean(value);
		GST_OBJECT_UNLOCK(self);
		gst_base_src_set_live(GST_BASE_SRC(self), g_value_get_boolean(value));
		return;
	case PROP_CAPS:
		gst_caps_replace(&self->caps, (GstCaps *)gst_value_get_caps(value));
		break;
	case PROP_HEALTH_INTERVAL:
		self->health_interval_ms = g_value_get_uint(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_zb_src_get_property(GObject *object, guint prop_id, GValue *value,
				    GParamSpec *pspec)
{
	GstZbSrc *self = GST_ZB_SRC(object);
	struct zb_health h;
	gchar *name;

	GST_OBJECT_LOCK(self);
	switch (prop_id) {
	case PROP_BUFFER:
		g_value_set_string(value, self->name);
		break;
	case PROP_SOCKET:
		g_value_set_string(value, self->socket);
		break;
	case PROP_CREATE:
		g_value_set_uint64(value, self->create);
		break;
	case PROP_FOLLOW:
		g_value_set_boolean(value, self->follow);
		break;
	case PROP_IS_LIVE:
		g_value_set_boolean(value, self->is_live);
		break;
	case PROP_CAPS:
		gst_value_set_caps(value, self->caps);
		break;
	case PROP_HEALTH_INTERVAL:
		g_value_set_uint(value, self->health_interval_ms);
		break;
	case PROP_FRAMES:
		g_value_set_uint64(value, zbgst_counter_get(&self->frames));
		break;
	case PROP_DROPPED:
		g_value_set_uint64(value, zbgst_counter_get(&self->dropped));
		break;
	case PROP_UTILISATION:
		name = g_strdup(self->name);
		GST_OBJECT_UNLOCK(self);
		g_value_set_double(
			value, zbgst_health_query(&self->health, name, &h) ? h.utilisation : -1.0);
		g_free(name);
		return;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_zb_src_finalize(GObject *object)
{
	GstZbSrc *self = GST_ZB_SRC(object);

	if (self->rd) {
		g_mutex_lock(&self->rd->lock);
		self->rd->stopped = TRUE;
		reader_maybe_close(self->rd);
		g_mutex_unlock(&self->rd->lock);
		reader_unref(self->rd);
	}
	gst_caps_replace(&self->caps, NULL);
	g_free(self->running_name);
	g_free(self->name);
	g_free(self->socket);
	zbgst_health_clear(&self->health);
	G_OBJECT_CLASS(gst_zb_src_parent_class)->finalize(object);
}

static void gst_zb_src_class_init(GstZbSrcClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseSrcClass *bsrc_class = GST_BASE_SRC_CLASS(klass);
	GstPushSrcClass *psrc_class = GST_PUSH_SRC_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
	const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

	GST_DEBUG_CATEGORY_INIT(zbsrc_debug, "zbsrc", 0, "ZeroBuffer source");

	gobject_class->set_property = gst_zb_src_set_property;
	gobject_class->get_property = gst_zb_src_get_property;
	gobject_class->finalize = gst_zb_src_finalize;

	g_object_class_install_property(
		gobject_class, PROP_BUFFER,
		g_param_spec_string("buffer", "Buffer name",
				    "Name of the ZeroBuffer buffer to read (zbd's, or one this "
				    "element creates with \"create\")",
				    NULL, rw));
	g_object_class_install_property(
		gobject_class, PROP_SOCKET,
		g_param_spec_string("socket", "zbd socket",
				    "zbd's control socket, for health (NULL: $ZBD_SOCKET, else "
				    "/run/zbd/zbd.sock for root, else $XDG_RUNTIME_DIR/zbd.sock)",
				    NULL, rw));
	g_object_class_install_property(
		gobject_class, PROP_CREATE,
		g_param_spec_uint64("create", "Create with payload size",
				    "Create the buffer with this payload (ring) size in bytes "
				    "and own it as a standalone reader, without zbd, as other "
				    "ZeroBuffer readers do; it is removed when the element "
				    "stops. 0 attaches to an existing buffer",
				    0, ZB_SIZE_MAX, 0, rw));
	g_object_class_install_property(
		gobject_class, PROP_FOLLOW,
		g_param_spec_boolean("follow", "Follow",
				     "When the writer leaves and every frame was read, wait for "
				     "the next writer instead of ending the stream (EOS)",
				     FALSE, rw));
	g_object_class_install_property(
		gobject_class, PROP_IS_LIVE,
		g_param_spec_boolean("is-live", "Is live",
				     "Act as a live source (with do-timestamp, buffers get the "
				     "running time of their arrival)",
				     FALSE, rw));
	g_object_class_install_property(
		gobject_class, PROP_CAPS,
		g_param_spec_boxed("caps", "Caps",
				   "Caps of the frames, instead of those in the buffer's metadata "
				   "(NULL: the metadata's; metadata that is no caps string and "
				   "not \"WIDTHxHEIGHT FORMAT\" gives application/octet-stream)",
				   GST_TYPE_CAPS, rw));
	g_object_class_install_property(
		gobject_class, PROP_HEALTH_INTERVAL,
		g_param_spec_uint("health-interval", "Health message interval",
				  "Post a \"zerobuffer-health\" element message (frames, dropped, "
				  "and zbd's state, utilisation, used-bytes, frames-lost...) at "
				  "most every this many milliseconds; 0: never",
				  0, G_MAXUINT, 0,
				  G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					  GST_PARAM_MUTABLE_PLAYING));
	g_object_class_install_property(gobject_class, PROP_FRAMES,
					g_param_spec_uint64("frames", "Frames",
							    "Frames pushed since the element was "
							    "created",
							    0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
		gobject_class, PROP_DROPPED,
		g_param_spec_uint64("dropped", "Dropped",
				    "Frames read from the ring but not pushed (a flush, or caps "
				    "downstream refused, came first)",
				    0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
		gobject_class, PROP_UTILISATION,
		g_param_spec_double("utilisation", "Utilisation",
				    "Share of the ring in use, in percent, as zbd reports it; "
				    "-1 when zbd does not answer for this buffer",
				    -1.0, 100.0, -1.0, ro));

	gst_element_class_set_static_metadata(
		element_class, "ZeroBuffer source", "Source/Video",
		"Reads the frames of a ZeroBuffer v1 shared-memory ring (zbd) without copying: "
		"each buffer's memory is the frame in the ring, released when the buffer is "
		"freed; caps come from the buffer's metadata",
		"zbd developers");
	gst_element_class_add_static_pad_template(element_class, &src_template);

	bsrc_class->start = GST_DEBUG_FUNCPTR(gst_zb_src_start);
	bsrc_class->stop = GST_DEBUG_FUNCPTR(gst_zb_src_stop);
	bsrc_class->unlock = GST_DEBUG_FUNCPTR(gst_zb_src_unlock);
	bsrc_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_zb_src_unlock_stop);
	bsrc_class->get_caps = GST_DEBUG_FUNCPTR(gst_zb_src_get_caps);
	psrc_class->create = GST_DEBUG_FUNCPTR(gst_zb_src_create);
}

static void gst_zb_src_init(GstZbSrc *self)
{
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
	zbgst_health_init(&self->health);
}
