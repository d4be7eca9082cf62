/* SPDX-License-Identifier: MIT */
/*
 * zbsink: each buffer becomes one frame of a ZeroBuffer v1 ring, after the
 * negotiated caps, written once as the buffer's metadata.
 *
 * Zero-copy: for raw video the sink offers upstream a buffer pool whose
 * buffers *are* ring slots (zb_writer_acquire), so an element that renders
 * into pool buffers (videotestsrc, videoconvert, decoders...) fills the ring
 * in place and render() only commits. Any other buffer is copied once.
 *
 * libzbclient's writer holds at most one acquired frame, so the sink lends
 * one slot at a time (the allocation query says min = max = 1): an upstream
 * thread asking for a second buffer waits until the first is rendered or
 * dropped. A dropped slot stays acquired ("spare") and is lent again or
 * filled by the next copy: the public API gives an acquisition back only by
 * closing the writer.
 *
 * Threads: the pool's acquire runs in upstream's streaming thread, render in
 * the sink's, property reads in the application's. One mutex (Shared.lock)
 * serialises every call on the writer handle, which is not thread-safe.
 * Memory lent upstream keeps the mapping alive (Session.refs), so a buffer
 * that outlives the element never points at unmapped memory.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include "zbgst.h"

GST_DEBUG_CATEGORY_STATIC(zbsink_debug);
#define GST_CAT_DEFAULT zbsink_debug

/* Waits happen in slices so that unlock, flushing and stop end them soon. */
#define SLICE_MS 20
/* How often a sink waiting for a reader looks again: nothing signals a
 * reader's arrival to a writer. */
#define READER_POLL_MS 10

/* ------------------------------------------------------------ shared state */

/* One attachment to the ring as its writer. */
typedef struct {
	gint refs;	     /* the sink while attached, and every memory over a slot */
	struct zb_writer *w; /* closed with the last reference */
	gchar *name;
	gboolean have_ino;
	dev_t dev;	    /* of /dev/shm/NAME at attach: a standalone reader that */
	ino_t ino;	    /* comes back re-creates the buffer as a new segment */
	gboolean meta_done; /* metadata set on this segment (by us or before us) */
	guint8 *slot;	    /* the acquired, uncommitted frame, or NULL */
	gsize slot_size;
	GstMemory *lent;	 /* the memory lending `slot` upstream; NULL: spare */
	gboolean lent_in_render; /* that memory's buffer is in render already */
} Session;

/* What the element, its pool and the memories it lends share. */
typedef struct {
	gint refs;
	GMutex lock;	   /* everything below, and every call on session->w */
	GMutex map_lock;   /* slot memories' maps and data (taken after `lock`, or alone) */
	GCond cond;	   /* a lent slot came back, or a wait must end */
	Session *session;  /* NULL while detached */
	gboolean unlocked; /* GstBaseSink::unlock: render's waits end */
	gboolean closed;   /* the sink stopped: the pool lends no more */
	gboolean no_lend;  /* upstream keeps lent slots: copy instead (until restart) */
	int pool_error;	   /* met by the pool's acquire, for render to report */
	gint timeout_ms;   /* the `timeout` property, for the pool */
} Shared;

static Session *session_ref(Session *s)
{
	g_atomic_int_inc(&s->refs);
	return s;
}

static void session_unref(Session *s)
{
	if (!g_atomic_int_dec_and_test(&s->refs))
		return;
	/* Drops an acquired, uncommitted frame with the handle. */
	zb_writer_close(s->w);
	g_free(s->name);
	g_free(s);
}

static Shared *shared_new(void)
{
	Shared *sh = g_new0(Shared, 1);

	sh->refs = 1;
	g_mutex_init(&sh->lock);
	g_mutex_init(&sh->map_lock);
	g_cond_init(&sh->cond);
	sh->timeout_ms = -1;
	return sh;
}

static Shared *shared_ref(Shared *sh)
{
	g_atomic_int_inc(&sh->refs);
	return sh;
}

static void shared_unref(Shared *sh)
{
	if (!g_atomic_int_dec_and_test(&sh->refs))
		return;
	if (sh->session)
		session_unref(sh->session);
	g_cond_clear(&sh->cond);
	g_mutex_clear(&sh->map_lock);
	g_mutex_clear(&sh->lock);
	g_free(sh);
}

/* With the lock: detach from the ring. Memory still lent keeps the mapping
 * (and, through the handle, the writer's pid) until it is freed. */
static void shared_detach(Shared *sh)
{
	Session *s = sh->session;

	if (!s)
		return;
	sh->session = NULL;
	session_unref(s);
	g_cond_broadcast(&sh->cond);
}

/* With the lock: a stopped sink lets the writer go once nothing lent is left,
 * so that the reader sees the writer leave. */
static void shared_retire(Shared *sh)
{
	if (sh->closed && sh->session && g_atomic_int_get(&sh->session->refs) == 1)
		shared_detach(sh);
}

/* ------------------------------------------------------- slot memory */

/*
 * Memory over a ring slot. Its bytes normally live in the ring; if the sink
 * must have the writer's one acquisition back while upstream still holds the
 * memory (an element that keeps the previous frame, such as videorate, while
 * a buffer from elsewhere is rendered), and nobody has it mapped, the bytes
 * move to the heap ("migrate") and the memory stays valid. mem_map returns
 * wherever they are, so the move is invisible to the holder.
 */
typedef struct {
	GstMemory mem;
	/* the root memory only (shares use their parent's): */
	Shared *sh;
	Session *s;   /* whose slot this is; NULL once migrated (with sh->lock) */
	guint8 *data; /* the slot, or the heap copy (with sh->map_lock) */
	gboolean heap;
	gint maps; /* maps in progress (with sh->map_lock) */
} SlotMemory;

#define GST_TYPE_ZB_SLOT_ALLOCATOR (gst_zb_slot_allocator_get_type())
G_DECLARE_FINAL_TYPE(GstZbSlotAllocator, gst_zb_slot_allocator, GST, ZB_SLOT_ALLOCATOR,
		     GstAllocator)

struct _GstZbSlotAllocator {
	GstAllocator parent;
};

G_DEFINE_TYPE(GstZbSlotAllocator, gst_zb_slot_allocator, GST_TYPE_ALLOCATOR)

static SlotMemory *slot_root(GstMemory *mem)
{
	return (SlotMemory *)(mem->parent ? mem->parent : mem);
}

static gpointer slot_mem_map(GstMemory *mem, gsize maxsize, GstMapFlags flags)
{
	SlotMemory *root = slot_root(mem);
	gpointer data;

	/* Not sh->lock: render maps buffers while it holds that. */
	g_mutex_lock(&root->sh->map_lock);
	root->maps++;
	data = root->data;
	g_mutex_unlock(&root->sh->map_lock);
	return data;
}

static void slot_mem_unmap(GstMemory *mem)
{
	SlotMemory *root = slot_root(mem);

	g_mutex_lock(&root->sh->map_lock);
	root->maps--;
	g_mutex_unlock(&root->sh->map_lock);
}

static GstMemory *slot_mem_share(GstMemory *mem, gssize offset, gssize size)
{
	SlotMemory *root = slot_root(mem);
	SlotMemory *sub = g_new0(SlotMemory, 1);

	if (size == -1)
		size = (gssize)mem->size - offset;
	gst_memory_init(GST_MEMORY_CAST(sub),
			GST_MINI_OBJECT_FLAGS(mem) | GST_MINI_OBJECT_FLAG_LOCK_READONLY,
			mem->allocator, GST_MEMORY_CAST(root), mem->maxsize, mem->align,
			mem->offset + (gsize)offset, (gsize)size);
	return GST_MEMORY_CAST(sub);
}

static GstMemory *slot_mem_copy(GstMemory *mem, gssize offset, gssize size)
{
	GstMemory *copy;
	GstMapInfo in, out;

	if (size == -1)
		size = (gssize)mem->size - offset;
	copy = gst_allocator_alloc(NULL, (gsize)size, NULL);
	if (!copy)
		return NULL;
	if (!gst_memory_map(mem, &in, GST_MAP_READ)) {
		gst_memory_unref(copy);
		return NULL;
	}
	if (gst_memory_map(copy, &out, GST_MAP_WRITE)) {
		memcpy(out.data, in.data + offset, (gsize)size);
		gst_memory_unmap(copy, &out);
	}
	gst_memory_unmap(mem, &in);
	return copy;
}

static GstMemory *slot_alloc(GstAllocator *allocator, gsize size, GstAllocationParams *params)
{
	return NULL; /* made by slot_lend() only */
}

/* The end of a loan: the slot returns to the sink, still acquired, to be lent
 * again or filled by the next copy. */
static void slot_free(GstAllocator *allocator, GstMemory *mem)
{
	SlotMemory *m = (SlotMemory *)mem;
	Shared *sh = m->sh;

	if (mem->parent) {
		g_free(m);
		return;
	}
	g_mutex_lock(&sh->lock);
	if (m->s) {
		if (m->s->lent == mem) {
			m->s->lent = NULL;
			m->s->lent_in_render = FALSE;
		}
		session_unref(m->s);
	}
	shared_retire(sh);
	g_cond_broadcast(&sh->cond);
	g_mutex_unlock(&sh->lock);
	if (m->heap)
		g_free(m->data);
	shared_unref(sh);
	g_free(m);
}

static void gst_zb_slot_allocator_class_init(GstZbSlotAllocatorClass *klass)
{
	GstAllocatorClass *allocator_class = GST_ALLOCATOR_CLASS(klass);

	allocator_class->alloc = slot_alloc;
	allocator_class->free = slot_free;
}

static void gst_zb_slot_allocator_init(GstZbSlotAllocator *self)
{
	GstAllocator *alloc = GST_ALLOCATOR(self);

	alloc->mem_type = "ZbSlotMemory";
	alloc->mem_map = slot_mem_map;
	alloc->mem_unmap = slot_mem_unmap;
	alloc->mem_share = slot_mem_share;
	alloc->mem_copy = slot_mem_copy;
	GST_OBJECT_FLAG_SET(self, GST_ALLOCATOR_FLAG_CUSTOM_ALLOC);
}

static GstAllocator *slot_allocator(void)
{
	static GstAllocator *alloc;

	if (g_once_init_enter(&alloc)) {
		GstAllocator *a = g_object_new(GST_TYPE_ZB_SLOT_ALLOCATOR, NULL);

		gst_object_ref_sink(a);
		g_once_init_leave(&alloc, a);
	}
	return alloc;
}

/* With the lock: wrap the session's slot (`size` bytes of it) in a memory. */
static GstMemory *slot_lend(Shared *sh, Session *s, gsize size)
{
	SlotMemory *m = g_new0(SlotMemory, 1);

	gst_memory_init(GST_MEMORY_CAST(m), 0, slot_allocator(), NULL, s->slot_size, 0, 0, size);
	m->sh = shared_ref(sh);
	m->s = session_ref(s);
	m->data = s->slot;
	s->lent = GST_MEMORY_CAST(m);
	s->lent_in_render = FALSE;
	return s->lent;
}

/* With the lock: move a lent slot's bytes to the heap so that the slot can be
 * filled with another frame. FALSE while someone has it mapped (the caller
 * looks again after a slice: an unmap does not signal, as it may run under
 * the lock). */
static gboolean slot_migrate(Shared *sh, Session *s)
{
	SlotMemory *m = (SlotMemory *)s->lent;

	g_mutex_lock(&sh->map_lock);
	if (m->maps > 0) {
		g_mutex_unlock(&sh->map_lock);
		return FALSE;
	}
	m->data = g_memdup2(s->slot, s->slot_size);
	m->heap = TRUE;
	g_mutex_unlock(&sh->map_lock);
	m->s = NULL;
	s->lent = NULL;
	s->lent_in_render = FALSE;
	session_unref(s); /* the memory's reference: the sink still holds one */
	GST_DEBUG("moved a lent slot of %zu bytes off the ring", s->slot_size);
	return TRUE;
}

/* A fallback buffer handed out because the ring stayed full for `timeout`:
 * render drops it instead of waiting a second time. */
static GQuark slot_timeout_quark(void)
{
	static GQuark q;

	if (!q)
		q = g_quark_from_static_string("zbsink-slot-timeout");
	return q;
}

/* ------------------------------------------------------------- slot pool */

/* How long the pool waits for a lent slot that is not in render yet (in a
 * queue, or kept by an element) before it copies instead, for good. */
#define LENT_WAIT_MS 200

#define GST_TYPE_ZB_SLOT_POOL (gst_zb_slot_pool_get_type())
G_DECLARE_FINAL_TYPE(GstZbSlotPool, gst_zb_slot_pool, GST, ZB_SLOT_POOL, GstBufferPool)

struct _GstZbSlotPool {
	GstBufferPool parent;
	Shared *sh;
	gsize size;
};

G_DEFINE_TYPE(GstZbSlotPool, gst_zb_slot_pool, GST_TYPE_BUFFER_POOL)

static gboolean slot_pool_set_config(GstBufferPool *pool, GstStructure *config)
{
	GstZbSlotPool *self = GST_ZB_SLOT_POOL(pool);
	guint size, min, max;
	GstCaps *caps;

	if (!gst_buffer_pool_config_get_params(config, &caps, &size, &min, &max))
		return FALSE;
	self->size = size;
	return GST_BUFFER_POOL_CLASS(gst_zb_slot_pool_parent_class)->set_config(pool, config);
}

/* Buffers are made on demand from ring slots: nothing to allocate up front. */
static gboolean slot_pool_start(GstBufferPool *pool)
{
	return TRUE;
}

static gboolean slot_pool_stop(GstBufferPool *pool)
{
	return TRUE;
}

static void slot_pool_flush_start(GstBufferPool *pool)
{
	Shared *sh = GST_ZB_SLOT_POOL(pool)->sh;

	g_mutex_lock(&sh->lock);
	g_cond_broadcast(&sh->cond);
	g_mutex_unlock(&sh->lock);
}

/*
 * A buffer over a ring slot when the writer can lend one within `timeout`;
 * otherwise ordinary memory, which render copies (and where it meets, and
 * reports, whatever kept the pool from lending: a missing reader, a frame
 * too large, an error).
 */
static GstFlowReturn slot_pool_acquire(GstBufferPool *pool, GstBuffer **ret,
				       GstBufferPoolAcquireParams *params)
{
	GstZbSlotPool *self = GST_ZB_SLOT_POOL(pool);
	Shared *sh = self->sh;
	gsize size = self->size;
	gboolean timed_out = FALSE;
	GstMemory *mem = NULL;
	gint64 deadline, lent_deadline = 0;
	GstBuffer *buf;

	g_mutex_lock(&sh->lock);
	deadline = sh->timeout_ms < 0 ? G_MAXINT64
				      : g_get_monotonic_time() + (gint64)sh->timeout_ms * 1000;
	for (;;) {
		Session *s = sh->session;
		gint64 now = g_get_monotonic_time();
		void *p;
		int r, slice;

		if (GST_BUFFER_POOL_IS_FLUSHING(pool)) {
			g_mutex_unlock(&sh->lock);
			return GST_FLOW_FLUSHING;
		}
		if (sh->closed || sh->no_lend || !s || sh->pool_error || size == 0)
			break;
		if (s->slot && s->lent) {
			/* One slot at a time: wait for the one lent to be rendered. */
			if (params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT)) {
				g_mutex_unlock(&sh->lock);
				return GST_FLOW_EOS;
			}
			if (!s->lent_in_render) {
				if (!lent_deadline)
					lent_deadline = now + LENT_WAIT_MS * 1000;
				if (now >= lent_deadline) {
					GST_INFO_OBJECT(pool, "a lent slot stays upstream: "
							      "copying frames from now on");
					sh->no_lend = TRUE;
					break;
				}
			}
			g_cond_wait_until(&sh->cond, &sh->lock, now + SLICE_MS * 1000);
			continue;
		}
		if (s->slot) {
			if (s->slot_size >= size)
				mem = slot_lend(sh, s, size);
			break; /* a spare too small: render copes */
		}
		slice = now >= deadline ? 0 : (int)MIN((deadline - now) / 1000, SLICE_MS);
		r = zb_writer_acquire(s->w, size, &p, slice);
		if (r == 0) {
			s->slot = p;
			s->slot_size = size;
			mem = slot_lend(sh, s, size);
			break;
		}
		if (r != -ENOBUFS) {
			GST_DEBUG_OBJECT(pool, "acquire %zu bytes: %s", size, zb_strerror(r));
			sh->pool_error = r;
			break;
		}
		if (g_get_monotonic_time() >= deadline) {
			timed_out = TRUE;
			break;
		}
		/* Let render and property reads in between slices. */
		g_mutex_unlock(&sh->lock);
		g_mutex_lock(&sh->lock);
	}
	g_mutex_unlock(&sh->lock);
	GST_LOG_OBJECT(pool, "%s (%zu bytes)", mem ? "lent a ring slot" : "handed out plain memory",
		       size);

	if (mem) {
		buf = gst_buffer_new();
		gst_buffer_append_memory(buf, mem);
	} else {
		buf = gst_buffer_new_allocate(NULL, size, NULL);
		if (!buf)
			return GST_FLOW_ERROR;
		if (timed_out)
			gst_mini_object_set_qdata(GST_MINI_OBJECT(buf), slot_timeout_quark(),
						  GINT_TO_POINTER(1), NULL);
	}
	*ret = buf;
	return GST_FLOW_OK;
}

/* Buffers are not recycled: freeing one ends its loan (slot_free). */
static void slot_pool_release(GstBufferPool *pool, GstBuffer *buf)
{
	gst_buffer_unref(buf);
}

static void slot_pool_finalize(GObject *object)
{
	GstZbSlotPool *self = GST_ZB_SLOT_POOL(object);

	shared_unref(self->sh);
	G_OBJECT_CLASS(gst_zb_slot_pool_parent_class)->finalize(object);
}

static void gst_zb_slot_pool_class_init(GstZbSlotPoolClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS(klass);

	gobject_class->finalize = slot_pool_finalize;
	pool_class->set_config = slot_pool_set_config;
	pool_class->start = slot_pool_start;
	pool_class->stop = slot_pool_stop;
	pool_class->flush_start = slot_pool_flush_start;
	pool_class->acquire_buffer = slot_pool_acquire;
	pool_class->release_buffer = slot_pool_release;
}

static void gst_zb_slot_pool_init(GstZbSlotPool *self)
{
}

static GstBufferPool *slot_pool_new(Shared *sh)
{
	GstZbSlotPool *pool = g_object_new(GST_TYPE_ZB_SLOT_POOL, NULL);

	gst_object_ref_sink(pool);
	pool->sh = shared_ref(sh);
	return GST_BUFFER_POOL(pool);
}

/* ------------------------------------------------------------- the element */

#define GST_TYPE_ZB_SINK (gst_zb_sink_get_type())
G_DECLARE_FINAL_TYPE(GstZbSink, gst_zb_sink, GST, ZB_SINK, GstBaseSink)

struct _GstZbSink {
	GstBaseSink parent;

	/* properties, with the object lock */
	gchar *name;
	gchar *socket;
	guint64 create;
	gboolean wait_for_reader;
	gint timeout_ms;
	guint health_interval_ms;

	/* streaming state, with sh->lock */
	Shared *sh;
	gchar *running_name; /* the buffer name while started */
	GstCaps *caps;
	gchar *caps_str;
	gboolean have_vinfo;
	GstVideoInfo vinfo;
	gboolean meta_written; /* we set metadata with `caps` on some segment */
	gboolean reader_seen;  /* a reader was attached since the last attach */
	gint64 next_health;

	/* counters, atomic */
	guint64 frames;
	guint64 copied;
	guint64 dropped;

	ZbgstHealth health;
};

G_DEFINE_TYPE(GstZbSink, gst_zb_sink, GST_TYPE_BASE_SINK)
GST_ELEMENT_REGISTER_DEFINE(zbsink, "zbsink", GST_RANK_NONE, GST_TYPE_ZB_SINK)

enum {
	PROP_0,
	PROP_BUFFER,
	PROP_SOCKET,
	PROP_CREATE,
	PROP_WAIT_FOR_READER,
	PROP_TIMEOUT,
	PROP_HEALTH_INTERVAL,
	PROP_FRAMES,
	PROP_COPIED,
	PROP_DROPPED,
	PROP_UTILISATION,
};

static GstStaticPadTemplate sink_template =
	GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void sink_error(GstZbSink *self, int code, const gchar *fmt, ...) G_GNUC_PRINTF(3, 4);

static void sink_error(GstZbSink *self, int code, const gchar *fmt, ...)
{
	gchar *what, *text;
	va_list ap;

	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	text = g_strdup_printf("buffer \"%s\": %s: %s", self->running_name, what,
			       zb_strerror(code));
	zbgst_element_error(GST_ELEMENT(self), code, text);
	g_free(text);
	g_free(what);
}

/* With the lock: set the buffer's metadata to the caps string, once per
 * segment. Returns 0 or the library's error. */
static int sink_write_metadata(GstZbSink *self)
{
	Session *s = self->sh->session;
	int r;

	if (!s || s->meta_done || !self->caps_str)
		return 0;
	r = zb_writer_set_metadata(s->w, self->caps_str, strlen(self->caps_str));
	if (r == -EALREADY) {
		/* Set once in the buffer's life: by us before a reattach, or by an
		 * earlier writer, whose caps the readers keep. */
		if (!self->meta_written)
			GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
					    ("buffer \"%s\": an earlier writer set its metadata, "
					     "which is written once per buffer: readers see that, "
					     "not necessarily %s",
					     self->running_name, self->caps_str),
					    ("libzbclient: %s", zb_strerror(r)));
		r = 0;
	}
	if (r == 0) {
		s->meta_done = TRUE;
		self->meta_written = TRUE;
	}
	return r;
}

/* With the lock: attach as the buffer's writer. */
static int sink_attach(GstZbSink *self)
{
	Shared *sh = self->sh;
	gchar *path = g_strconcat("/dev/shm/", self->running_name, NULL);
	struct zb_writer *w;
	struct stat st;
	Session *s;
	int r;

	r = zb_writer_open(&w, self->running_name);
	if (r < 0) {
		g_free(path);
		return r;
	}
	s = g_new0(Session, 1);
	s->refs = 1;
	s->w = w;
	s->name = g_strdup(self->running_name);
	if (stat(path, &st) == 0) {
		s->have_ino = TRUE;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	g_free(path);
	shared_detach(sh);
	sh->session = s;
	self->reader_seen = FALSE;
	GST_INFO_OBJECT(self, "attached to buffer \"%s\" as its writer", self->running_name);
	return sink_write_metadata(self);
}

/* With the lock: the segment we write is no longer the one the name names (a
 * standalone reader came back and made a new one), or the name is gone. */
static gboolean sink_session_stale(GstZbSink *self)
{
	Session *s = self->sh->session;
	gchar *path;
	struct stat st;
	gboolean stale;

	if (!s || !s->have_ino)
		return FALSE;
	path = g_strconcat("/dev/shm/", self->running_name, NULL);
	stale = stat(path, &st) < 0 || st.st_ino != s->ino || st.st_dev != s->dev;
	g_free(path);
	return stale;
}

static gboolean gst_zb_sink_start(GstBaseSink *bsink)
{
	GstZbSink *self = GST_ZB_SINK(bsink);
	Shared *sh = self->sh;
	gchar *name, *socket;
	guint64 create;
	gboolean wait;
	gint timeout;
	int r;

	GST_OBJECT_LOCK(self);
	name = g_strdup(self->name);
	socket = g_strdup(self->socket);
	create = self->create;
	wait = self->wait_for_reader;
	timeout = self->timeout_ms;
	GST_OBJECT_UNLOCK(self);

	if (!name || !*name) {
		GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
				  ("no buffer name: set the \"buffer\" property"), (NULL));
		goto fail;
	}
	g_free(self->running_name);
	self->running_name = g_strdup(name);
	r = zb_name_check(name);
	if (r < 0) {
		sink_error(self, r, "invalid buffer name");
		goto fail;
	}
	zbgst_health_set_socket(&self->health, socket);

	if (create) {
		struct zb_buffer_config config = { .payload_size = create };
		gchar *path = zbgst_socket_path(socket);
		struct zb_ctl *ctl;

		r = zb_ctl_connect(&ctl, socket && *socket ? socket : NULL);
		if (r < 0) {
			gchar *text = g_strdup_printf("buffer \"%s\": cannot reach zbd at %s to "
						      "create the buffer: %s",
						      name, path, g_strerror(-r));

			zbgst_element_error(GST_ELEMENT(self), r, text);
			g_free(text);
			g_free(path);
			goto fail;
		}
		r = zb_ctl_create(ctl, name, &config, NULL);
		if (r < 0 && r != -EEXIST) {
			const char *daemon = zb_ctl_last_error(ctl);
			gchar *text = g_strdup_printf("buffer \"%s\": zbd at %s refused to create "
						      "it: %s",
						      name, path, daemon ? daemon : zb_strerror(r));

			zbgst_element_error(GST_ELEMENT(self), r, text);
			g_free(text);
			zb_ctl_close(ctl);
			g_free(path);
			goto fail;
		}
		GST_INFO_OBJECT(self, "buffer \"%s\" %s by zbd at %s", name,
				r == -EEXIST ? "already exists" : "created", path);
		zb_ctl_close(ctl);
		g_free(path);
	}

	g_mutex_lock(&sh->lock);
	sh->closed = FALSE;
	sh->pool_error = 0;
	sh->timeout_ms = timeout;
	/* A writer from the last run that lent memory still alive is reused:
	 * a second handle in this process would release the pid under it. */
	if (sh->session && !g_str_equal(name, sh->session->name))
		shared_detach(sh);
	if (!sh->session) {
		/* A new attachment: the caps of an earlier buffer do not bind it. */
		self->meta_written = FALSE;
		gst_caps_replace(&self->caps, NULL);
		g_clear_pointer(&self->caps_str, g_free);
	}
	sh->no_lend = FALSE;
	r = 0;
	if (!sh->session) {
		r = sink_attach(self);
		/* A missing buffer is what wait-for-reader waits for. */
		if (r == -ENOENT && wait)
			r = 0;
	}
	g_mutex_unlock(&sh->lock);
	if (r < 0) {
		sink_error(self, r, "cannot attach as writer");
		goto fail;
	}
	self->next_health = 0;
	g_free(name);
	g_free(socket);
	return TRUE;

fail:
	g_free(name);
	g_free(socket);
	return FALSE;
}

static gboolean gst_zb_sink_stop(GstBaseSink *bsink)
{
	GstZbSink *self = GST_ZB_SINK(bsink);
	Shared *sh = self->sh;

	g_mutex_lock(&sh->lock);
	sh->closed = TRUE;
	shared_retire(sh);
	g_cond_broadcast(&sh->cond);
	g_mutex_unlock(&sh->lock);
	return TRUE;
}

static gboolean gst_zb_sink_unlock(GstBaseSink *bsink)
{
	Shared *sh = GST_ZB_SINK(bsink)->sh;

	g_mutex_lock(&sh->lock);
	sh->unlocked = TRUE;
	g_cond_broadcast(&sh->cond);
	g_mutex_unlock(&sh->lock);
	return TRUE;
}

static gboolean gst_zb_sink_unlock_stop(GstBaseSink *bsink)
{
	Shared *sh = GST_ZB_SINK(bsink)->sh;

	g_mutex_lock(&sh->lock);
	sh->unlocked = FALSE;
	g_mutex_unlock(&sh->lock);
	return TRUE;
}

static gboolean gst_zb_sink_set_caps(GstBaseSink *bsink, GstCaps *caps)
{
	GstZbSink *self = GST_ZB_SINK(bsink);
	Shared *sh = self->sh;
	gboolean ok = TRUE;
	int r;

	g_mutex_lock(&sh->lock);
	if (self->meta_written && self->caps && !gst_caps_is_equal(self->caps, caps)) {
		gchar *now = gst_caps_to_string(caps);

		/* The metadata block is written once in a buffer's life. */
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("buffer \"%s\": caps changed to %s after the buffer's metadata "
				   "was set to %s; ZeroBuffer metadata is written once per buffer",
				   self->running_name, now, self->caps_str),
				  ("libzbclient: %s", zb_strerror(-EALREADY)));
		g_free(now);
		ok = FALSE;
		goto out;
	}
	gst_caps_replace(&self->caps, caps);
	g_free(self->caps_str);
	self->caps_str = gst_caps_to_string(caps);
	self->have_vinfo = gst_video_info_from_caps(&self->vinfo, caps);
	r = sink_write_metadata(self);
	if (r < 0) {
		sink_error(self, r, "cannot write the caps (%zu bytes) as metadata",
			   strlen(self->caps_str));
		ok = FALSE;
	}
out:
	g_mutex_unlock(&sh->lock);
	return ok;
}

/* Raw video: lend ring slots of one frame each. */
static gboolean gst_zb_sink_propose_allocation(GstBaseSink *bsink, GstQuery *query)
{
	GstZbSink *self = GST_ZB_SINK(bsink);
	GstStructure *config;
	GstBufferPool *pool;
	GstVideoInfo info;
	gboolean need_pool;
	GstCaps *caps;

	gst_query_parse_allocation(query, &caps, &need_pool);
	if (!caps || !gst_video_info_from_caps(&info, caps) || info.size == 0)
		return TRUE;
	pool = slot_pool_new(self->sh);
	config = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_set_params(config, caps, (guint)info.size, 1, 1);
	if (!gst_buffer_pool_set_config(pool, config)) {
		gst_object_unref(pool);
		return TRUE;
	}
	gst_query_add_allocation_pool(query, pool, (guint)info.size, 1, 1);
	gst_object_unref(pool);
	GST_DEBUG_OBJECT(self, "offered ring slots of %zu bytes", info.size);
	return TRUE;
}

/* The buffer carries a video meta whose layout is not the caps' default one:
 * copy it plane by plane into the default layout readers expect. */
static gboolean sink_needs_relayout(GstZbSink *self, GstBuffer *buf)
{
	GstVideoMeta *meta;

	if (!self->have_vinfo || !(meta = gst_buffer_get_video_meta(buf)))
		return FALSE;
	if (meta->n_planes != GST_VIDEO_INFO_N_PLANES(&self->vinfo))
		return TRUE;
	for (guint i = 0; i < meta->n_planes; i++)
		if (meta->offset[i] != GST_VIDEO_INFO_PLANE_OFFSET(&self->vinfo, i) ||
		    meta->stride[i] != GST_VIDEO_INFO_PLANE_STRIDE(&self->vinfo, i))
			return TRUE;
	return FALSE;
}

/* Copy `buf` into `dst` (frame_size bytes). */
static gboolean sink_copy(GstZbSink *self, GstBuffer *buf, guint8 *dst, gsize frame_size,
			  gboolean relayout)
{
	GstVideoFrame in, out;
	GstBuffer *wrap;
	gboolean ok;

	if (!relayout) {
		gst_buffer_extract(buf, 0, dst, frame_size);
		return TRUE;
	}
	if (!gst_video_frame_map(&in, &self->vinfo, buf, GST_MAP_READ))
		return FALSE;
	wrap = gst_buffer_new_wrapped_full(0, dst, frame_size, 0, frame_size, NULL, NULL);
	ok = gst_video_frame_map(&out, &self->vinfo, wrap, GST_MAP_WRITE);
	if (ok) {
		ok = gst_video_frame_copy(&out, &in);
		gst_video_frame_unmap(&out);
	}
	gst_buffer_unref(wrap);
	gst_video_frame_unmap(&in);
	return ok;
}

static void sink_maybe_post_health(GstZbSink *self)
{
	guint interval;

	GST_OBJECT_LOCK(self);
	interval = self->health_interval_ms;
	GST_OBJECT_UNLOCK(self);
	zbgst_health_maybe_post(&self->health, GST_ELEMENT(self), interval, &self->next_health,
				self->running_name, zbgst_counter_get(&self->frames),
				zbgst_counter_get(&self->dropped));
}

/*
 * What render does next, decided with the lock held. Each wait is a slice,
 * after which the loop looks at everything again: unlock, a reader that came
 * or went, a slot that came back, the timeout.
 */
static GstFlowReturn gst_zb_sink_render(GstBaseSink *bsink, GstBuffer *buf)
{
	GstZbSink *self = GST_ZB_SINK(bsink);
	Shared *sh = self->sh;
	gsize frame_size = gst_buffer_get_size(buf);
	gboolean relayout, wait_for_reader, committed = FALSE, copied = FALSE;
	GstFlowReturn flow = GST_FLOW_OK;
	gint timeout_ms;
	gint64 deadline;

	if (gst_mini_object_get_qdata(GST_MINI_OBJECT(buf), slot_timeout_quark())) {
		GST_DEBUG_OBJECT(self, "ring full for the whole timeout: frame dropped");
		zbgst_counter_add(&self->dropped);
		return GST_FLOW_OK;
	}
	relayout = sink_needs_relayout(self, buf);
	if (relayout)
		frame_size = GST_VIDEO_INFO_SIZE(&self->vinfo);
	/* (Ring slots are lent without GstVideoMeta support: always the default
	 * layout, so `relayout` is never true for one.) */
	if (frame_size == 0) {
		/* A ZeroBuffer frame has at least one byte. */
		GST_DEBUG_OBJECT(self, "empty buffer: nothing to write");
		return GST_FLOW_OK;
	}
	GST_OBJECT_LOCK(self);
	wait_for_reader = self->wait_for_reader;
	timeout_ms = self->timeout_ms;
	GST_OBJECT_UNLOCK(self);
	deadline = timeout_ms < 0 ? G_MAXINT64 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	g_mutex_lock(&sh->lock);
	/* Our slot waits here (for a reader, for PLAYING): the pool need not
	 * give up on it. */
	if (sh->session && sh->session->lent && gst_buffer_n_memory(buf) == 1 &&
	    gst_buffer_peek_memory(buf, 0)->allocator == slot_allocator() &&
	    slot_root(gst_buffer_peek_memory(buf, 0)) == (SlotMemory *)sh->session->lent)
		sh->session->lent_in_render = TRUE;
	for (;;) {
		gint64 now = g_get_monotonic_time();
		gboolean expired = now >= deadline;
		Session *s = sh->session;
		GstMemory *mem;
		gboolean mine;
		void *p;
		int r, slice;

		if (sh->unlocked) {
			/* Flushing or leaving PLAYING: wait for PLAYING, or give up. */
			g_mutex_unlock(&sh->lock);
			flow = gst_base_sink_wait_preroll(bsink);
			g_mutex_lock(&sh->lock);
			if (flow != GST_FLOW_OK)
				break;
			continue;
		}
		if (sh->pool_error) {
			r = sh->pool_error;
			sh->pool_error = 0;
			if (r == ZB_EREADER_GONE && wait_for_reader) {
				self->reader_seen = FALSE;
				continue;
			}
			sink_error(self, r, "cannot take a frame of %zu bytes in the ring",
				   frame_size);
			flow = GST_FLOW_ERROR;
			break;
		}

		/* Attached to the buffer, with a reader as the properties want. */
		if (!s || (wait_for_reader && !self->reader_seen && sink_session_stale(self))) {
			r = sink_attach(self);
			if (r == -ENOENT && wait_for_reader) {
				shared_detach(sh);
				goto wait_reader;
			}
			if (r < 0) {
				sink_error(self, r, "cannot attach as writer");
				flow = GST_FLOW_ERROR;
				break;
			}
			s = sh->session;
		}
		r = zb_writer_reader_connected(s->w);
		if (r == 1) {
			self->reader_seen = TRUE;
		} else if (self->reader_seen) {
			GST_INFO_OBJECT(self, "the reader left");
			if (!wait_for_reader) {
				sink_error(self, ZB_EREADER_GONE, "the reader left");
				flow = GST_FLOW_ERROR;
				break;
			}
			self->reader_seen = FALSE;
			goto wait_reader;
		} else if (wait_for_reader) {
			goto wait_reader;
		}

		mem = gst_buffer_n_memory(buf) == 1 ? gst_buffer_peek_memory(buf, 0) : NULL;
		mine = mem && mem->allocator == slot_allocator() && s->lent &&
		       slot_root(mem) == (SlotMemory *)s->lent;

		/* A slot we lent, filled upstream: publish it where it is. */
		if (mine) {
			/* Lent and not migrated: its bytes are in the slot. */
			guint8 *data = s->slot + mem->offset;

			s->lent_in_render = TRUE;
			frame_size = mem->size;
			/* Upstream may have trimmed the front: frames start at the slot. */
			if (data != s->slot)
				memmove(s->slot, data, frame_size);
			r = zb_writer_commit(s->w, frame_size);
			s->slot = NULL;
			s->lent = NULL;
			s->lent_in_render = FALSE;
			g_cond_broadcast(&sh->cond);
			if (r < 0) {
				sink_error(self, r, "cannot commit a frame of %zu bytes",
					   frame_size);
				flow = GST_FLOW_ERROR;
				break;
			}
			GST_LOG_OBJECT(self, "frame of %zu bytes published in place", frame_size);
			committed = TRUE;
			break;
		}

		/* Any other buffer: one copy, into the spare slot or a new one. A
		 * slot lent upstream moves to the heap first (once unmapped). */
		if (s->slot && s->lent && !slot_migrate(sh, s)) {
			g_cond_wait_until(&sh->cond, &sh->lock, now + SLICE_MS * 1000);
			continue;
		}
		if (s->slot && s->slot_size < frame_size) {
			/* Only closing the writer gives an acquisition back: the
			 * reader sees a new writer session. */
			GST_WARNING_OBJECT(self,
					   "spare slot of %zu bytes too small for %zu: "
					   "reattaching",
					   s->slot_size, frame_size);
			shared_detach(sh);
			continue;
		}
		if (!s->slot) {
			slice = expired ? 0 : (int)MIN((deadline - now) / 1000, SLICE_MS);
			r = zb_writer_acquire(s->w, frame_size, &p, slice);
			if (r == -ENOBUFS) {
				if (expired || g_get_monotonic_time() >= deadline) {
					GST_DEBUG_OBJECT(self, "ring full for the whole timeout: "
							       "frame dropped");
					zbgst_counter_add(&self->dropped);
					break;
				}
				g_mutex_unlock(&sh->lock);
				g_mutex_lock(&sh->lock);
				continue;
			}
			if (r == ZB_EREADER_GONE && wait_for_reader) {
				self->reader_seen = FALSE;
				goto wait_reader;
			}
			if (r < 0) {
				sink_error(self, r, "cannot take a frame of %zu bytes in the ring",
					   frame_size);
				flow = GST_FLOW_ERROR;
				break;
			}
			s->slot = p;
			s->slot_size = frame_size;
		}
		if (!sink_copy(self, buf, s->slot, frame_size, relayout)) {
			GST_ELEMENT_ERROR(self, STREAM, FORMAT,
					  ("cannot map the video frame to copy it"), (NULL));
			flow = GST_FLOW_ERROR;
			break;
		}
		r = zb_writer_commit(s->w, frame_size);
		s->slot = NULL;
		if (r < 0) {
			sink_error(self, r, "cannot commit a frame of %zu bytes", frame_size);
			flow = GST_FLOW_ERROR;
			break;
		}
		GST_LOG_OBJECT(self, "frame of %zu bytes copied into the ring", frame_size);
		committed = copied = TRUE;
		break;

	wait_reader:
		/* Nothing tells a writer that a reader arrived: look again soon. */
		if (expired) {
			GST_DEBUG_OBJECT(self, "no reader within the timeout: frame dropped");
			zbgst_counter_add(&self->dropped);
			break;
		}
		g_cond_wait_until(&sh->cond, &sh->lock, MIN(deadline, now + READER_POLL_MS * 1000));
	}
	g_mutex_unlock(&sh->lock);

	if (committed)
		zbgst_counter_add(&self->frames);
	if (copied)
		zbgst_counter_add(&self->copied);
	if (flow == GST_FLOW_OK)
		sink_maybe_post_health(self);
	return flow;
}

/* ------------------------------------------------------------- properties */

static void gst_zb_sink_set_property(GObject *object, guint prop_id, const GValue *value,
				     GParamSpec *pspec)
{
	GstZbSink *self = GST_ZB_SINK(object);

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
	case PROP_WAIT_FOR_READER:
		self->wait_for_reader = g_value_get_boolean(value);
		break;
	case PROP_TIMEOUT:
		self->timeout_ms = g_value_get_int(value);
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

static void gst_zb_sink_get_property(GObject *object, guint prop_id, GValue *value,
				     GParamSpec *pspec)
{
	GstZbSink *self = GST_ZB_SINK(object);
	struct zb_health h;
	gchar *name;

	switch (prop_id) {
	case PROP_BUFFER:
		GST_OBJECT_LOCK(self);
		g_value_set_string(value, self->name);
		GST_OBJECT_UNLOCK(self);
		break;
	case PROP_SOCKET:
		GST_OBJECT_LOCK(self);
		g_value_set_string(value, self->socket);
		GST_OBJECT_UNLOCK(self);
		break;
	case PROP_CREATE:
		g_value_set_uint64(value, self->create);
		break;
	case PROP_WAIT_FOR_READER:
		g_value_set_boolean(value, self->wait_for_reader);
		break;
	case PROP_TIMEOUT:
		g_value_set_int(value, self->timeout_ms);
		break;
	case PROP_HEALTH_INTERVAL:
		g_value_set_uint(value, self->health_interval_ms);
		break;
	case PROP_FRAMES:
		g_value_set_uint64(value, zbgst_counter_get(&self->frames));
		break;
	case PROP_COPIED:
		g_value_set_uint64(value, zbgst_counter_get(&self->copied));
		break;
	case PROP_DROPPED:
		g_value_set_uint64(value, zbgst_counter_get(&self->dropped));
		break;
	case PROP_UTILISATION:
		GST_OBJECT_LOCK(self);
		name = g_strdup(self->name);
		GST_OBJECT_UNLOCK(self);
		g_value_set_double(
			value, zbgst_health_query(&self->health, name, &h) ? h.utilisation : -1.0);
		g_free(name);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
		break;
	}
}

static void gst_zb_sink_finalize(GObject *object)
{
	GstZbSink *self = GST_ZB_SINK(object);

	g_mutex_lock(&self->sh->lock);
	shared_detach(self->sh);
	g_mutex_unlock(&self->sh->lock);
	shared_unref(self->sh);
	gst_caps_replace(&self->caps, NULL);
	g_free(self->caps_str);
	g_free(self->running_name);
	g_free(self->name);
	g_free(self->socket);
	zbgst_health_clear(&self->health);
	G_OBJECT_CLASS(gst_zb_sink_parent_class)->finalize(object);
}

static void gst_zb_sink_class_init(GstZbSinkClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
	GstBaseSinkClass *bsink_class = GST_BASE_SINK_CLASS(klass);
	const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY;
	const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

	GST_DEBUG_CATEGORY_INIT(zbsink_debug, "zbsink", 0, "ZeroBuffer sink");

	gobject_class->set_property = gst_zb_sink_set_property;
	gobject_class->get_property = gst_zb_sink_get_property;
	gobject_class->finalize = gst_zb_sink_finalize;

	g_object_class_install_property(
		gobject_class, PROP_BUFFER,
		g_param_spec_string("buffer", "Buffer name",
				    "Name of the ZeroBuffer buffer to write (zbd's, or a "
				    "standalone reader's)",
				    NULL, rw));
	g_object_class_install_property(
		gobject_class, PROP_SOCKET,
		g_param_spec_string("socket", "zbd socket",
				    "zbd's control socket, for create and health (NULL: "
				    "$ZBD_SOCKET, else /run/zbd/zbd.sock for root, else "
				    "$XDG_RUNTIME_DIR/zbd.sock)",
				    NULL, rw));
	g_object_class_install_property(
		gobject_class, PROP_CREATE,
		g_param_spec_uint64("create", "Create with payload size",
				    "Ask zbd to create the buffer with this payload (ring) size "
				    "in bytes if it does not exist; 0 attaches to an existing "
				    "buffer. The ring should hold a few frames",
				    0, ZB_SIZE_MAX, 0, rw));
	g_object_class_install_property(
		gobject_class, PROP_WAIT_FOR_READER,
		g_param_spec_boolean("wait-for-reader", "Wait for reader",
				     "Hold each frame until a reader is attached, and when the "
				     "reader leaves wait for the next one; if false, a reader "
				     "leaving is an error and frames before the first reader "
				     "wait in the ring",
				     FALSE, rw));
	g_object_class_install_property(
		gobject_class, PROP_TIMEOUT,
		g_param_spec_int("timeout", "Timeout",
				 "Longest wait for ring space (or for a reader) per frame, in "
				 "milliseconds; the frame is then dropped and counted in "
				 "\"dropped\". -1 waits for ever",
				 -1, G_MAXINT, -1, rw));
	g_object_class_install_property(
		gobject_class, PROP_HEALTH_INTERVAL,
		g_param_spec_uint("health-interval", "Health message interval",
				  "Post a \"zerobuffer-health\" element message (frames, dropped, "
				  "and zbd's state, utilisation, used-bytes, frames-lost...) at "
				  "most every this many milliseconds while frames flow; 0: never",
				  0, G_MAXUINT, 0,
				  G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					  GST_PARAM_MUTABLE_PLAYING));
	g_object_class_install_property(gobject_class, PROP_FRAMES,
					g_param_spec_uint64("frames", "Frames",
							    "Frames written since the element was "
							    "created",
							    0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
		gobject_class, PROP_COPIED,
		g_param_spec_uint64("copied", "Copied",
				    "Of \"frames\", those copied into the ring; the others were "
				    "rendered in place by upstream, into ring slots this sink lent "
				    "(raw video from an element that uses the sink's buffer pool)",
				    0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
		gobject_class, PROP_DROPPED,
		g_param_spec_uint64("dropped", "Dropped",
				    "Buffers not written because the ring stayed full (or no "
				    "reader came) for \"timeout\"",
				    0, G_MAXUINT64, 0, ro));
	g_object_class_install_property(
		gobject_class, PROP_UTILISATION,
		g_param_spec_double("utilisation", "Utilisation",
				    "Share of the ring in use, in percent, as zbd reports it; "
				    "-1 when zbd does not answer for this buffer",
				    -1.0, 100.0, -1.0, ro));

	gst_element_class_set_static_metadata(
		element_class, "ZeroBuffer sink", "Sink/Video",
		"Writes each buffer as one frame of a ZeroBuffer v1 shared-memory ring (zbd), "
		"the caps as the buffer's metadata; raw video is written in place through "
		"ring slots lent upstream",
		"zbd developers");
	gst_element_class_add_static_pad_template(element_class, &sink_template);

	bsink_class->start = GST_DEBUG_FUNCPTR(gst_zb_sink_start);
	bsink_class->stop = GST_DEBUG_FUNCPTR(gst_zb_sink_stop);
	bsink_class->unlock = GST_DEBUG_FUNCPTR(gst_zb_sink_unlock);
	bsink_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_zb_sink_unlock_stop);
	bsink_class->set_caps = GST_DEBUG_FUNCPTR(gst_zb_sink_set_caps);
	bsink_class->propose_allocation = GST_DEBUG_FUNCPTR(gst_zb_sink_propose_allocation);
	bsink_class->render = GST_DEBUG_FUNCPTR(gst_zb_sink_render);
}

static void gst_zb_sink_init(GstZbSink *self)
{
	self->sh = shared_new();
	self->timeout_ms = -1;
	zbgst_health_init(&self->health);
	/* A kept last sample would keep a ring slot, and with it the writer,
	 * after the stream ended. */
	gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
}
