// SPDX-License-Identifier: MIT
/*
 * upstream-cpp: the real upstream C++ ZeroBuffer library as a test peer. A
 * driver of ours, compiled against upstream's sources in ../shared (never
 * copied here), speaking the same status-pipe protocol as the model peer
 * (upstream.c) so the interop suites drive both alike:
 *
 *   upstream-cpp SFD CFD read NAME COUNT SEED MIN MAX PAYLOAD [metadata TEXT] [hold]
 *                [timeout MS]
 *   upstream-cpp SFD CFD write NAME COUNT SEED MIN MAX [zerocopy|alternate] [metadata TEXT]
 *
 * Either takes `unit N`: every frame takes a multiple of N ring bytes (pattern.h).
 *
 * read creates the buffer (upstream's Reader owns it), checks every frame
 * against the tests' pattern (pattern.h) and the metadata, and releases each
 * frame (hold: keeps up to 4, under a quarter of the ring, before releasing
 * them together; upstream returns space per frame whatever the order).
 * write attaches (upstream's Writer) and copies every frame in (write_frame),
 * fills it in place (get_frame_buffer, commit_frame: zerocopy), or
 * alternates. SFD gets 'R' once attached, then
 * 'D' and "frames=N semr_max=N" once COUNT frames went through; a reader then
 * stays (objects in place for the test to inspect) until CFD reaches EOF.
 *
 * Exit codes as upstream.c's: 20 sequence, 21 bytes or size, 22 writer gone,
 * 23 other upstream error, 24 timed out, 25 buffer full, 26 reader gone,
 * 41 no live reader (upstream's refusal), 42 metadata differs, 50 create failed.
 */
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <zerobuffer/logger.h>
#include <zerobuffer/reader.h>
#include <zerobuffer/writer.h>

extern "C" {
#include "pattern.h"
}

namespace
{

int status_fd = -1;
/* A read that waits this long has lost its writer for good (a bound for the
 * test; upstream's own default is 5 s per call). `timeout MS` sets another. */
std::chrono::milliseconds read_timeout(20000);

[[noreturn]] void die(int code, const std::string &what)
{
	std::fprintf(stderr, "upstream-cpp[%d]: %s\n", (int)getpid(), what.c_str());
	std::exit(code);
}

void report(const std::string &s)
{
	if (write(status_fd, s.data(), s.size()) != (ssize_t)s.size())
		std::exit(90);
}

const char *word_arg(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i + 1 < argc; i++)
		if (std::strcmp(argv[i], word) == 0)
			return argv[i + 1];
	return nullptr;
}

bool has_word(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i < argc; i++)
		if (std::strcmp(argv[i], word) == 0)
			return true;
	return false;
}

/* The count of the buffer's sem-r, as the test's readers report it. */
int sem_r_value(const std::string &name)
{
	sem_t *s = sem_open(("/sem-r-" + name).c_str(), 0);
	int v = -1;

	if (s != SEM_FAILED) {
		sem_getvalue(s, &v);
		sem_close(s);
	}
	return v;
}

void check_frame(const pattern &pat, const zerobuffer::Frame &f, uint64_t seq)
{
	if (!f.valid())
		die(24, "no frame " + std::to_string(seq) + " in time");
	if (f.sequence() != seq)
		die(20, "sequence " + std::to_string(f.sequence()) + ", expected " +
				std::to_string(seq));
	if (!pattern_ok(&pat, seq, f.data(), f.size()))
		die(21, "frame " + std::to_string(seq) + ": size " + std::to_string(f.size()) +
				" or bytes differ");
}

int do_read(const std::string &name, uint64_t count, const pattern &pat, size_t payload,
	    const char *metadata, bool hold, int ctl_fd)
{
	zerobuffer::Reader reader(name, zerobuffer::BufferConfig(1024, payload));
	std::vector<zerobuffer::Frame> held;
	size_t held_bytes = 0;
	int semr_max = 0;

	report("R");
	for (uint64_t seq = 1; seq <= count; seq++) {
		held.push_back(reader.read_frame(read_timeout));
		check_frame(pat, held.back(), seq);
		if (seq == 1 && metadata) {
			std::vector<uint8_t> m = reader.get_metadata();

			if (std::string(m.begin(), m.end()) != metadata)
				die(42, "metadata \"" + std::string(m.begin(), m.end()) + "\"");
		}
		held_bytes += held.back().size() + 16;
		/* At most 4, and under a quarter of the ring: the writer goes on. */
		if (!hold || held.size() == 4 || held_bytes >= payload / 4 || seq == count) {
			held.clear(); /* each Frame's destructor releases it */
			held_bytes = 0;
		}
		if (seq % 1024 == 0 || seq == count) {
			int v = sem_r_value(name);

			if (v > semr_max)
				semr_max = v;
		}
	}
	report("Dframes=" + std::to_string(count) + " semr_max=" + std::to_string(semr_max) + "\n");
	/* Stay until the test has looked (bounded), then close as upstream does. */
	struct pollfd pfd = { ctl_fd, POLLIN, 0 };
	char x;

	while (poll(&pfd, 1, 60000) > 0 && read(ctl_fd, &x, 1) > 0)
		;
	return 0;
}

int do_write(const std::string &name, uint64_t count, const pattern &pat, int zerocopy,
	     const char *metadata)
{
	zerobuffer::Writer writer(name);

	if (metadata)
		writer.set_metadata(metadata, std::strlen(metadata));
	report("R");
	for (uint64_t seq = 1; seq <= count; seq++) {
		size_t size = pattern_size(&pat, seq);
		const uint8_t *src = pattern_data(&pat, seq, size);

		if (zerocopy == 1 || (zerocopy == 2 && seq % 2 == 0)) {
			uint64_t s;
			void *dst = writer.get_frame_buffer(size, s);

			std::memcpy(dst, src, size);
			writer.commit_frame();
		} else {
			writer.write_frame(src, size);
		}
	}
	report("Dframes=" + std::to_string(count) + " semr_max=0\n");
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	pattern pat;
	int r;

	if (argc < 10) {
		std::fprintf(stderr, "usage: upstream-cpp SFD CFD read|write NAME COUNT SEED MIN "
				     "MAX [...]\n");
		return 2;
	}
	/* A test that fails before ending us must not leave us behind. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
		return 3;
	status_fd = std::atoi(argv[1]);
	/* Upstream logs every wrap at debug level to stderr: warnings only. */
	boost::log::core::get()->set_filter(boost::log::trivial::severity >=
					    boost::log::trivial::warning);
	pattern_init(&pat, std::strtoull(argv[6], nullptr, 0), std::strtoul(argv[7], nullptr, 0),
		     std::strtoul(argv[8], nullptr, 0));
	try {
		std::string mode = argv[3];
		uint64_t count = std::strtoull(argv[5], nullptr, 0);

		if (word_arg(argc, argv, 9, "unit"))
			pat.unit = std::strtoul(word_arg(argc, argv, 9, "unit"), nullptr, 0);
		if (word_arg(argc, argv, 9, "timeout"))
			read_timeout = std::chrono::milliseconds(
				std::atoi(word_arg(argc, argv, 9, "timeout")));
		if (mode == "read")
			r = do_read(argv[4], count, pat, std::strtoull(argv[9], nullptr, 0),
				    word_arg(argc, argv, 10, "metadata"),
				    has_word(argc, argv, 10, "hold"), std::atoi(argv[2]));
		else if (mode == "write")
			r = do_write(argv[4], count, pat,
				     has_word(argc, argv, 9, "zerocopy")    ? 1
				     : has_word(argc, argv, 9, "alternate") ? 2
									    : 0,
				     word_arg(argc, argv, 9, "metadata"));
		else
			die(2, "bad mode " + mode);
	} catch (const zerobuffer::WriterDeadException &e) {
		die(22, e.what());
	} catch (const zerobuffer::ReaderDeadException &e) {
		die(26, e.what());
	} catch (const zerobuffer::BufferFullException &e) {
		die(25, e.what());
	} catch (const zerobuffer::SequenceError &e) {
		die(20, e.what());
	} catch (const std::exception &e) {
		std::string what = e.what();

		die(what.find("No active reader") != std::string::npos ? 41 : 23, what);
	}
	pattern_free(&pat);
	return r;
}
