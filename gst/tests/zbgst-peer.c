/* SPDX-License-Identifier: MIT */
/*
 * zbgst-peer: run one GStreamer pipeline as a process of its own, for the
 * tests that need a writer and a reader in two processes. It reports on
 * stdout, one line each:
 *   ready                  the pipeline is starting (its source/sink started)
 *   caps CAPS              caps reached the sink pad of element "m"
 *   frame N SIZE SUM       buffer N (from 0) reached element "m" (--sum)
 *   held-changed N         a held buffer's bytes changed before its release
 *   eos                    end of stream (exit 0)
 *   error TEXT | DEBUG     an element error (exit 1)
 * Options:
 *   --sum        print a frame line per buffer at "m"
 *   --hold K     keep up to K buffers from "m"; each time a new one comes,
 *                free the newest or the oldest held, in turn (out of order,
 *                yet no frame is held for long: ring space returns in read
 *                order, so a frame held for ever would stall the writer),
 *                checking that none changed while held (exit 3 if one did)
 *   --stop-after N  send EOS to the pipeline after N buffers at "m"
 * SIGTERM sends EOS and lets the pipeline finish.
 *
 * It also registers "holdback", an element that keeps each buffer until the
 * next one comes (as videorate does) and lets allocation queries through, so
 * that upstream renders into zbsink's ring slots and holds one while it asks
 * for the next.
 */
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "framesum.h"

struct held {
	GstBuffer *buf;
	uint64_t sum;
};

static struct {
	gboolean sum;
	guint hold;
	gint64 stop_after;
	guint64 count;
	struct held *held;
	guint n_held;
	gboolean changed;
	GstElement *pipeline;
	GMainLoop *loop;
	int status;
} peer = { .stop_after = -1 };

/* ------------------------------------------------------------- holdback */

#define HOLDBACK_TYPE (holdback_get_type())
G_DECLARE_FINAL_TYPE(Holdback, holdback, ZBGST, HOLDBACK, GstElement)

struct _Holdback {
	GstElement parent;
	GstPad *sinkpad, *srcpad;
	GstBuffer *prev;
};

G_DEFINE_TYPE(Holdback, holdback, GST_TYPE_ELEMENT)

static GstStaticPadTemplate holdback_sink =
	GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate holdback_src =
	GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static GstFlowReturn holdback_chain(GstPad *pad, GstObject *parent, GstBuffer *buf)
{
	Holdback *self = ZBGST_HOLDBACK(parent);
	GstBuffer *prev = self->prev;

	self->prev = buf;
	return prev ? gst_pad_push(self->srcpad, prev) : GST_FLOW_OK;
}

static gboolean holdback_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
	Holdback *self = ZBGST_HOLDBACK(parent);

	if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && self->prev) {
		gst_pad_push(self->srcpad, self->prev);
		self->prev = NULL;
	} else if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
		gst_buffer_replace(&self->prev, NULL);
	}
	return gst_pad_event_default(pad, parent, event);
}

static void holdback_dispose(GObject *object)
{
	gst_buffer_replace(&ZBGST_HOLDBACK(object)->prev, NULL);
	G_OBJECT_CLASS(holdback_parent_class)->dispose(object);
}

static void holdback_class_init(HoldbackClass *klass)
{
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = holdback_dispose;
	gst_element_class_set_static_metadata(element_class, "Holdback", "Filter",
					      "Keeps each buffer until the next comes", "zbd");
	gst_element_class_add_static_pad_template(element_class, &holdback_sink);
	gst_element_class_add_static_pad_template(element_class, &holdback_src);
}

static void holdback_init(Holdback *self)
{
	self->sinkpad = gst_pad_new_from_static_template(&holdback_sink, "sink");
	gst_pad_set_chain_function(self->sinkpad, holdback_chain);
	gst_pad_set_event_function(self->sinkpad, holdback_event);
	GST_PAD_SET_PROXY_CAPS(self->sinkpad);
	GST_PAD_SET_PROXY_ALLOCATION(self->sinkpad);
	gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
	self->srcpad = gst_pad_new_from_static_template(&holdback_src, "src");
	GST_PAD_SET_PROXY_CAPS(self->srcpad);
	gst_element_add_pad(GST_ELEMENT(self), self->srcpad);
}

/* ---------------------------------------------------------------- the peer */

static uint64_t buffer_sum(GstBuffer *buf, gsize *ret_size)
{
	GstMapInfo map;
	uint64_t sum;

	if (!gst_buffer_map(buf, &map, GST_MAP_READ))
		return 0;
	sum = frame_sum(map.data, map.size);
	*ret_size = map.size;
	gst_buffer_unmap(buf, &map);
	return sum;
}

static void release_held(guint i)
{
	gsize size;

	if (buffer_sum(peer.held[i].buf, &size) != peer.held[i].sum) {
		printf("held-changed %u\n", i);
		peer.changed = TRUE;
	}
	gst_buffer_unref(peer.held[i].buf);
	memmove(&peer.held[i], &peer.held[i + 1], (peer.n_held - i - 1) * sizeof(peer.held[0]));
	peer.n_held--;
}

static GstPadProbeReturn on_data(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);

		if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
			GstCaps *caps;
			gchar *text;

			gst_event_parse_caps(ev, &caps);
			text = gst_caps_to_string(caps);
			printf("caps %s\n", text);
			fflush(stdout);
			g_free(text);
		}
		return GST_PAD_PROBE_OK;
	}
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
		gsize size = 0;
		uint64_t sum = 0;

		if (peer.sum || peer.hold)
			sum = buffer_sum(buf, &size);
		if (peer.sum) {
			printf("frame %" G_GUINT64_FORMAT " %zu %016" G_GINT64_MODIFIER "x\n",
			       peer.count, size, sum);
			fflush(stdout);
		}
		if (peer.hold) {
			if (peer.n_held == peer.hold)
				release_held(peer.count % 2 ? 0 : peer.n_held - 1);
			peer.held[peer.n_held++] = (struct held){ gst_buffer_ref(buf), sum };
		}
		peer.count++;
		if (peer.stop_after >= 0 && peer.count == (guint64)peer.stop_after)
			gst_element_post_message(
				peer.pipeline, gst_message_new_application(
						       GST_OBJECT(peer.pipeline),
						       gst_structure_new_empty("zbgst-peer-stop")));
	}
	return GST_PAD_PROBE_OK;
}

static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	GError *err = NULL;
	gchar *debug = NULL;

	switch (GST_MESSAGE_TYPE(msg)) {
	case GST_MESSAGE_EOS:
		printf("eos\n");
		peer.status = 0;
		g_main_loop_quit(peer.loop);
		break;
	case GST_MESSAGE_ERROR:
		gst_message_parse_error(msg, &err, &debug);
		printf("error %s | %s\n", err->message, debug ? debug : "");
		fprintf(stderr, "zbgst-peer: error: %s | %s\n", err->message, debug ? debug : "");
		g_error_free(err);
		g_free(debug);
		peer.status = 1;
		g_main_loop_quit(peer.loop);
		break;
	case GST_MESSAGE_APPLICATION:
		gst_element_send_event(peer.pipeline, gst_event_new_eos());
		break;
	default:
		break;
	}
	fflush(stdout);
	return TRUE;
}

static gboolean on_sigterm(gpointer data)
{
	gst_element_send_event(peer.pipeline, gst_event_new_eos());
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	gchar *desc;
	GstElement *m;
	GstBus *bus;
	GstPad *pad;
	int i;

	gst_init(&argc, &argv);
	gst_element_register(NULL, "holdback", GST_RANK_NONE, HOLDBACK_TYPE);
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--sum") == 0)
			peer.sum = TRUE;
		else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
			peer.hold = (guint)atoi(argv[++i]);
		else if (strcmp(argv[i], "--stop-after") == 0 && i + 1 < argc)
			peer.stop_after = atoll(argv[++i]);
		else {
			fprintf(stderr, "zbgst-peer: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: zbgst-peer [--sum] [--hold K] [--stop-after N] "
				"PIPELINE...\n");
		return 2;
	}
	/* One description, possibly split over several arguments (not
	 * gst_parse_launchv, which would quote each argument as one token). */
	desc = g_strjoinv(" ", &argv[i]);
	peer.pipeline = gst_parse_launch(desc, &err);
	g_free(desc);
	if (!peer.pipeline || err) {
		printf("error cannot build the pipeline: %s\n", err ? err->message : "?");
		return 2;
	}
	peer.held = g_new0(struct held, peer.hold + 1);
	m = gst_bin_get_by_name(GST_BIN(peer.pipeline), "m");
	if (m) {
		pad = gst_element_get_static_pad(m, "sink");
		gst_pad_add_probe(pad,
				  GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
				  on_data, NULL, NULL);
		gst_object_unref(pad);
		gst_object_unref(m);
	}
	peer.loop = g_main_loop_new(NULL, FALSE);
	bus = gst_element_get_bus(peer.pipeline);
	gst_bus_add_watch(bus, on_bus, NULL);
	g_unix_signal_add(SIGTERM, on_sigterm, NULL);
	peer.status = 1;
	if (gst_element_set_state(peer.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		/* The element posted its error: let on_bus print it. */
		GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);

		if (msg) {
			on_bus(bus, msg, NULL);
			gst_message_unref(msg);
		} else {
			printf("error cannot start the pipeline | \n");
		}
	} else {
		printf("ready\n");
		fflush(stdout);
		g_main_loop_run(peer.loop);
	}
	gst_element_set_state(peer.pipeline, GST_STATE_NULL);
	while (peer.n_held)
		release_held(peer.n_held - 1);
	if (peer.changed)
		peer.status = 3;
	fflush(stdout);
	gst_bus_remove_watch(bus);
	gst_object_unref(bus);
	gst_object_unref(peer.pipeline);
	g_main_loop_unref(peer.loop);
	g_free(peer.held);
	gst_deinit();
	return peer.status;
}
