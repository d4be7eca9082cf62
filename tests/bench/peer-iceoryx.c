/* SPDX-License-Identifier: MIT */
/*
 * zbbench-iceoryx: iceoryx (Debian's 2.0 packages, its C binding) as a peer
 * of zbbench (peer.h). Each channel is one publisher and one subscriber of
 * service "zbbench"/RUN/chanN, set up as a user who loses nothing would: the
 * publisher blocks while the subscriber's queue is full
 * (ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER, QueueFullPolicy_BLOCK_PRODUCER),
 * the producer loans a chunk, fills it and publishes it, and the consumer
 * either busy-polls iox_sub_take_chunk() or sleeps on a WaitSet. zbbench
 * starts the RouDi daemon this needs, with mempools for the sizes it runs.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "iceoryx_binding_c/chunk.h"
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/wait_set.h"
#include "peer.h"

struct rx {
	iox_sub_storage_t sub_storage;
	iox_ws_storage_t ws_storage;
	iox_sub_t sub;
	iox_ws_t ws;
};

struct tx {
	iox_pub_storage_t storage;
	iox_pub_t pub;
};

static void iox_init(const char *proc)
{
	char name[64];

	/* Runtime names are unique per RouDi. */
	snprintf(name, sizeof(name), "%s-%d", proc, (int)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
}

static void *iox_rx_open(const char *run, int chan, size_t size, uint64_t ring)
{
	struct rx *r = calloc(1, sizeof(*r));
	iox_sub_options_t opts;
	char event[16];

	(void)ring; /* the mempools are RouDi's */
	if (!r)
		return NULL;
	iox_sub_options_init(&opts);
	opts.queueCapacity = peer_iceoryx_queue(size);
	opts.historyRequest = 0;
	opts.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	snprintf(event, sizeof(event), "chan%d", chan);
	r->sub = iox_sub_init(&r->sub_storage, "zbbench", run, event, &opts);
	r->ws = iox_ws_init(&r->ws_storage);
	if (iox_ws_attach_subscriber_state(r->ws, r->sub, SubscriberState_HAS_DATA, 0, NULL) !=
	    WaitSetResult_SUCCESS) {
		fprintf(stderr, "zbbench-iceoryx: cannot attach the WaitSet\n");
		return NULL;
	}
	return r;
}

static void *iox_tx_open(const char *run, int chan, size_t size)
{
	struct tx *t = calloc(1, sizeof(*t));
	iox_pub_options_t opts;
	char event[16];

	(void)size;
	if (!t)
		return NULL;
	iox_pub_options_init(&opts);
	opts.historyCapacity = 0;
	opts.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	snprintf(event, sizeof(event), "chan%d", chan);
	t->pub = iox_pub_init(&t->storage, "zbbench", run, event, &opts);
	return t;
}

static bool iox_tx_connected(void *tx)
{
	return iox_pub_has_subscribers(((struct tx *)tx)->pub);
}

static void *iox_loan(void *tx, size_t size)
{
	void *p = NULL;

	/* The pool is larger than the queue: a loan fails only while the
	 * consumer still holds chunks it is about to release. */
	for (int tries = 0; tries < 1000000; tries++) {
		if (iox_pub_loan_chunk(((struct tx *)tx)->pub, &p, (uint32_t)size) ==
		    AllocationResult_SUCCESS)
			return p;
		sched_yield();
	}
	return NULL;
}

static bool iox_publish(void *tx, void *frame, size_t size)
{
	(void)size;
	iox_pub_publish_chunk(((struct tx *)tx)->pub, frame);
	return true;
}

static const void *iox_take(void *rx, bool busy)
{
	struct rx *r = rx;
	const void *p = NULL;

	for (;;) {
		iox_notification_info_t info[1];
		uint64_t missed = 0;

		if (iox_sub_take_chunk(r->sub, &p) == ChunkReceiveResult_SUCCESS)
			return p;
		if (busy)
			continue;
		iox_ws_wait(r->ws, info, 1, &missed);
	}
}

static void iox_release(void *rx, const void *frame)
{
	iox_sub_release_chunk(((struct rx *)rx)->sub, frame);
}

static void iox_tx_close(void *tx)
{
	iox_pub_deinit(((struct tx *)tx)->pub);
	free(tx);
}

static void iox_rx_close(void *rx)
{
	struct rx *r = rx;

	iox_ws_detach_subscriber_state(r->ws, r->sub, SubscriberState_HAS_DATA);
	iox_ws_deinit(r->ws);
	iox_sub_deinit(r->sub);
	free(r);
}

static const struct peer_transport iceoryx = {
	.name = "zbbench-iceoryx",
	.init = iox_init,
	.rx_open = iox_rx_open,
	.tx_open = iox_tx_open,
	.tx_connected = iox_tx_connected,
	.loan = iox_loan,
	.publish = iox_publish,
	.take = iox_take,
	.release = iox_release,
	.tx_close = iox_tx_close,
	.rx_close = iox_rx_close,
};

int main(int argc, char **argv)
{
	return peer_main(argc, argv, &iceoryx);
}
