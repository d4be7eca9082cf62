/* SPDX-License-Identifier: MIT */
/*
 * The plugin: zbsink and zbsrc, and the helpers they share.
 */
#include <errno.h>

#include "zbgst.h"

/* How long a health query may wait for zbd, and how long an absent daemon is
 * left alone: the property getter and the streaming thread call this. */
#define HEALTH_TIMEOUT_MS 500
#define HEALTH_RETRY_US (G_USEC_PER_SEC)

gchar *zbgst_socket_path(const gchar *socket)
{
	char buf[4096];

	if (socket && *socket)
		return g_strdup(socket);
	if (zb_ctl_default_socket(buf, sizeof(buf)) < 0)
		return g_strdup("(default socket path too long)");
	return g_strdup(buf);
}

void zbgst_element_error(GstElement *element, int code, const gchar *text)
{
	const gchar *lib = zb_strerror(code);

	switch (code) {
	case -ENOENT:
		GST_ELEMENT_ERROR(element, RESOURCE, NOT_FOUND, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	case -EACCES:
	case -EPERM:
		GST_ELEMENT_ERROR(element, RESOURCE, NOT_AUTHORIZED, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	case -EBUSY:
		GST_ELEMENT_ERROR(element, RESOURCE, BUSY, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	case -EMSGSIZE:
	case -ENOBUFS:
		GST_ELEMENT_ERROR(element, RESOURCE, NO_SPACE_LEFT, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	case -EINVAL:
		GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	case ZB_EREADER_GONE:
		GST_ELEMENT_ERROR(element, RESOURCE, WRITE, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	case ZB_EWRITER_GONE:
	case ZB_ECORRUPT:
	case ZB_EVERSION:
		GST_ELEMENT_ERROR(element, RESOURCE, READ, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	default:
		GST_ELEMENT_ERROR(element, RESOURCE, FAILED, ("%s", text),
				  ("libzbclient: %s (%d)", lib, code));
		break;
	}
}

void zbgst_health_init(ZbgstHealth *h)
{
	g_mutex_init(&h->lock);
	h->socket = NULL;
	h->ctl = NULL;
	h->retry_at = 0;
}

void zbgst_health_clear(ZbgstHealth *h)
{
	zb_ctl_close(h->ctl);
	h->ctl = NULL;
	g_clear_pointer(&h->socket, g_free);
	g_mutex_clear(&h->lock);
}

void zbgst_health_set_socket(ZbgstHealth *h, const gchar *socket)
{
	g_mutex_lock(&h->lock);
	g_free(h->socket);
	h->socket = g_strdup(socket);
	zb_ctl_close(h->ctl);
	h->ctl = NULL;
	h->retry_at = 0;
	g_mutex_unlock(&h->lock);
}

gboolean zbgst_health_query(ZbgstHealth *h, const gchar *name, struct zb_health *ret)
{
	struct zb_health *all = NULL;
	size_t n = 0;
	gboolean ok = FALSE;
	int r;

	if (!name)
		return FALSE;
	g_mutex_lock(&h->lock);
	if (!h->ctl) {
		if (g_get_monotonic_time() < h->retry_at)
			goto out;
		if (zb_ctl_connect(&h->ctl, h->socket && *h->socket ? h->socket : NULL) < 0) {
			h->ctl = NULL;
			h->retry_at = g_get_monotonic_time() + HEALTH_RETRY_US;
			goto out;
		}
		zb_ctl_set_timeout(h->ctl, HEALTH_TIMEOUT_MS);
	}
	r = zb_ctl_health(h->ctl, name, &all, &n, NULL);
	if (r == 0 && n >= 1) {
		*ret = all[0];
		ok = TRUE;
	} else if (r != -ENOENT && r < 0) {
		/* The connection may be out of step or the daemon gone: start over. */
		zb_ctl_close(h->ctl);
		h->ctl = NULL;
		h->retry_at = g_get_monotonic_time() + HEALTH_RETRY_US;
	}
	zb_health_free(all);
out:
	g_mutex_unlock(&h->lock);
	return ok;
}

GstStructure *zbgst_health_structure(const gchar *name, guint64 frames, guint64 dropped,
				     const struct zb_health *health)
{
	GstStructure *s =
		gst_structure_new("zerobuffer-health", "buffer", G_TYPE_STRING, name, "frames",
				  G_TYPE_UINT64, frames, "dropped", G_TYPE_UINT64, dropped, NULL);

	if (health)
		gst_structure_set(
			s, "state", G_TYPE_STRING, health->state_text, "utilisation", G_TYPE_DOUBLE,
			health->utilisation, "used-bytes", G_TYPE_UINT64, health->used_bytes,
			"payload-size", G_TYPE_UINT64, health->payload_size, "frames-lost",
			G_TYPE_UINT64, health->frames_lost, "reader-pid", G_TYPE_INT64,
			health->reader_pid, "writer-pid", G_TYPE_INT64, health->writer_pid, NULL);
	else
		gst_structure_set(s, "state", G_TYPE_STRING, "unknown", "utilisation",
				  G_TYPE_DOUBLE, -1.0, NULL);
	return s;
}

static gboolean plugin_init(GstPlugin *plugin)
{
	gboolean ok = FALSE;

	ok |= GST_ELEMENT_REGISTER(zbsink, plugin);
	ok |= GST_ELEMENT_REGISTER(zbsrc, plugin);
	return ok;
}

/* The macro leaves GstPluginDesc's reserved fields to zero-initialisation. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, zerobuffer,
		  "ZeroBuffer v1 shared-memory ring buffers (zbd, libzbclient)", plugin_init,
		  ZB_VERSION_STRING, "MIT/X11", "zbd", "Unknown package origin")

void zbgst_health_maybe_post(ZbgstHealth *h, GstElement *element, guint interval_ms,
			     gint64 *next_post, const gchar *name, guint64 frames, guint64 dropped)
{
	struct zb_health health;
	gboolean have;
	gint64 now;

	if (!interval_ms)
		return;
	now = g_get_monotonic_time();
	if (now < *next_post)
		return;
	*next_post = now + (gint64)interval_ms * 1000;
	have = zbgst_health_query(h, name, &health);
	gst_element_post_message(
		element, gst_message_new_element(GST_OBJECT(element),
						 zbgst_health_structure(name, frames, dropped,
									have ? &health : NULL)));
}
