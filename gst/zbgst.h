/* SPDX-License-Identifier: MIT */
/*
 * What zbsink and zbsrc share: the plugin's registration, the text every
 * element error carries, and a client of zbd's health report.
 */
#pragma once

#include <gst/gst.h>
#include <zbclient.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE(zbsink);
GST_ELEMENT_REGISTER_DECLARE(zbsrc);

/*
 * Health of the element's buffer as zbd reports it, for the `utilisation`
 * property and the "zerobuffer-health" element message. Queries go to zbd's
 * control socket; a daemon that is not there is asked again at most once a
 * second, so an element without zbd pays nothing per frame.
 */
typedef struct {
	GMutex lock;
	gchar *socket;	    /* NULL: zb_ctl_default_socket() */
	struct zb_ctl *ctl; /* NULL while not connected */
	gint64 retry_at;    /* g_get_monotonic_time() before which we do not reconnect */
} ZbgstHealth;

void zbgst_health_init(ZbgstHealth *h);
void zbgst_health_clear(ZbgstHealth *h);
/* Use `socket` (NULL: the default path) from the next query on. */
void zbgst_health_set_socket(ZbgstHealth *h, const gchar *socket);
/* TRUE and *ret filled if zbd answered for buffer `name`. */
gboolean zbgst_health_query(ZbgstHealth *h, const gchar *name, struct zb_health *ret);

/*
 * The "zerobuffer-health" element message's structure: buffer, frames,
 * dropped, and from zbd (when it answered) state, utilisation, used-bytes,
 * payload-size, frames-lost, reader-pid, writer-pid. utilisation is -1 and
 * state "unknown" without an answer.
 */
GstStructure *zbgst_health_structure(const gchar *name, guint64 frames, guint64 dropped,
				     const struct zb_health *health);

/*
 * Post that message from the streaming thread when `interval_ms` (0: never)
 * has passed since *next_post was set; *next_post is the element's, reset to
 * 0 when it starts.
 */
void zbgst_health_maybe_post(ZbgstHealth *h, GstElement *element, guint interval_ms,
			     gint64 *next_post, const gchar *name, guint64 frames, guint64 dropped);

/* The elements' counters (frames, dropped...): written by the streaming
 * thread, read by property getters in any thread. */
static inline void zbgst_counter_add(guint64 *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static inline guint64 zbgst_counter_get(guint64 *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/*
 * Post an element error for libzbclient code `code` (a negative errno or a
 * ZB_E* code): the text says what failed, in the library's words
 * (zb_strerror) unless `text` already does; the GStreamer error code follows
 * from the library's (no such buffer: NOT_FOUND, too large: NO_SPACE_LEFT...).
 */
void zbgst_element_error(GstElement *element, int code, const gchar *text);

/* The socket path an element uses: its property, or the library's default.
 * Returns a newly allocated string. */
gchar *zbgst_socket_path(const gchar *socket);

G_END_DECLS
