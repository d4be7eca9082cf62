// SPDX-License-Identifier: MIT
//
// zbbench-upstream: the upstream ZeroBuffer C++ library (compiled from
// ../shared/upstream-zerobuffer at build time, never copied here) as a peer
// of zbbench (peer.h). Each channel is one zerobuffer::Reader, which creates
// the buffer, and one zerobuffer::Writer. The producer copies with
// write_frame() or fills get_frame_buffer() in place and commit_frame()s; the
// consumer waits in read_frame() (upstream has no busy poll: "busy" calls it
// with a zero timeout in a loop) and releases the frame by dropping it.
#include <boost/log/core.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "peer.h"
#include "zerobuffer/reader.h"
#include "zerobuffer/writer.h"

namespace {

struct Rx {
	std::unique_ptr<zerobuffer::Reader> reader;
	zerobuffer::Frame frame;
};

struct Tx {
	std::unique_ptr<zerobuffer::Writer> writer;
};

std::string buffer_name(const char *run, int chan)
{
	return std::string(run) + "-up" + std::to_string(chan);
}

void up_init(const char *)
{
	// Upstream logs every frame at debug level through Boost.Log.
	boost::log::core::get()->set_logging_enabled(false);
}

void *up_rx_open(const char *run, int chan, size_t, uint64_t ring)
{
	try {
		auto *r = new Rx;
		r->reader = std::make_unique<zerobuffer::Reader>(
			buffer_name(run, chan), zerobuffer::BufferConfig(1024, ring));
		return r;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "zbbench-upstream: Reader: %s\n", e.what());
		return nullptr;
	}
}

void *up_tx_open(const char *run, int chan, size_t)
{
	try {
		auto *t = new Tx;
		t->writer = std::make_unique<zerobuffer::Writer>(buffer_name(run, chan));
		t->writer->set_write_timeout(std::chrono::milliseconds(30000));
		return t;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "zbbench-upstream: Writer: %s\n", e.what());
		return nullptr;
	}
}

void *up_loan(void *tx, size_t size)
{
	uint64_t seq;

	try {
		return static_cast<Tx *>(tx)->writer->get_frame_buffer(size, seq);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "zbbench-upstream: get_frame_buffer: %s\n", e.what());
		return nullptr;
	}
}

bool up_publish(void *tx, void *, size_t)
{
	try {
		static_cast<Tx *>(tx)->writer->commit_frame();
		return true;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "zbbench-upstream: commit_frame: %s\n", e.what());
		return false;
	}
}

bool up_write(void *tx, const void *data, size_t size)
{
	try {
		static_cast<Tx *>(tx)->writer->write_frame(data, size);
		return true;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "zbbench-upstream: write_frame: %s\n", e.what());
		return false;
	}
}

const void *up_take(void *rx, bool busy)
{
	auto *r = static_cast<Rx *>(rx);
	auto timeout = std::chrono::milliseconds(busy ? 0 : 30000);

	try {
		for (;;) {
			r->frame = r->reader->read_frame(timeout);
			if (r->frame.valid())
				return r->frame.data();
			if (!busy)
				return nullptr;
		}
	} catch (const std::exception &e) {
		std::fprintf(stderr, "zbbench-upstream: read_frame: %s\n", e.what());
		return nullptr;
	}
}

void up_release(void *rx, const void *)
{
	static_cast<Rx *>(rx)->frame = zerobuffer::Frame();
}

void up_tx_close(void *tx)
{
	delete static_cast<Tx *>(tx);
}

void up_rx_close(void *rx)
{
	delete static_cast<Rx *>(rx);
}

} // namespace

int main(int argc, char **argv)
{
	static const peer_transport upstream = {
		"zbbench-upstream", up_init,	 up_rx_open, up_tx_open,  nullptr,     up_loan,
		up_publish,	    up_write,	 up_take,    up_release, up_tx_close, up_rx_close,
	};

	return peer_main(argc, argv, &upstream);
}
