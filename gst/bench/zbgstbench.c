/* SPDX-License-Identifier: MIT */
/*
 * zbgstbench: zbsink -> zbsrc next to what a GStreamer user would otherwise
 * use on one host (shmsink -> shmsrc; unixfdsink -> unixfdsrc where this
 * GStreamer has them), in the same run, writer and reader each in a process
 * of its own, on the same caps.
 *
 * Per scenario it reports the reader's frames per second and the CPU time
 * per frame of each process (getrusage, all threads), both measured between
 * the first and the last frame at a probe, so start-up and tear-down stay
 * out. The upstream element is one of:
 *   black  videotestsrc pattern=black: the upstream renders every frame
 *   lend   a source that writes only an 8-byte counter into a buffer taken
 *          from the sink's pool or allocator: the transport alone, with
 *          nothing copied when the sink lends its shared memory
 *   copy   a source that pushes one pre-rendered buffer again and again: the
 *          sink must copy each frame into shared memory
 * and, with zbd (--zbd PATH), how long after a writer's SIGKILL zbsrc ends
 * its stream.
 *
 * Shared memory: zbsink's ring holds --ring N frames (default 3); shmsink
 * always gets 16 frames (its allocator reuses the block freed last, so a
 * larger area costs it nothing, and with 3 frames it stalls: blocks held
 * upstream count against it; with 8 it still does now and then). A run that
 * takes over a minute is reported as stalled. A ZeroBuffer ring is a FIFO, so every frame
 * lands further along it: a ring larger than the last-level cache makes an
 * upstream that renders each frame (black) write to cold memory. The README
 * shows both ring sizes.
 *
 * Usage: zbgstbench [--frames N] [--repeat R] [--ring N] [--sizes 1080p,4k]
 *                   [--sources black,lend,copy] [--zbd PATH]
 * (GST_PLUGIN_PATH must name the directory of libgstzerobuffer.so; see
 * gst/bench/run.sh.) Internally: zbgstbench --child PIPELINE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <zbclient.h>

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------ the bench source */

#define BENCH_SRC_TYPE (bench_src_get_type())
G_DECLARE_FINAL_TYPE(BenchSrc, bench_src, ZBB, BENCH_SRC, GstPushSrc)

struct _BenchSrc {
	GstPushSrc parent;
	gboolean reuse; /* push one pre-rendered buffer (else: fill pool buffers) */
	GstVideoInfo info;
	GstBuffer *frame;
	guint64 n;
};

G_DEFINE_TYPE(BenchSrc, bench_src, GST_TYPE_PUSH_SRC)

enum { BENCH_PROP_0, BENCH_PROP_REUSE };

static GstStaticPadTemplate bench_src_template = GST_STATIC_PAD_TEMPLATE(
	"src", GST_PAD_SRC, GST_PAD_ALWAYS,
	GST_STATIC_CAPS("video/x-raw, format=(string)I420, width=(int)[1, 16384], "
			"height=(int)[1, 16384], framerate=(fraction)[0/1, 1000/1]"));

static gboolean bench_src_set_caps(GstBaseSrc *bsrc, GstCaps *caps)
{
	BenchSrc *self = ZBB_BENCH_SRC(bsrc);

	if (!gst_video_info_from_caps(&self->info, caps))
		return FALSE;
	gst_buffer_replace(&self->frame, NULL);
	self->frame = gst_buffer_new_allocate(NULL, self->info.size, NULL);
	gst_buffer_memset(self->frame, 0, 0x80, self->info.size);
	return TRUE;
}

static GstFlowReturn bench_src_fill(GstPushSrc *psrc, GstBuffer *buf)
{
	BenchSrc *self = ZBB_BENCH_SRC(psrc);
	guint64 n = self->n++;

	/* Only a counter: what costs is the transport, not the picture. */
	gst_buffer_fill(buf, 0, &n, sizeof(n));
	return GST_FLOW_OK;
}

static GstFlowReturn bench_src_create(GstPushSrc *psrc, GstBuffer **ret)
{
	BenchSrc *self = ZBB_BENCH_SRC(psrc);

	GstFlowReturn flow;

	if (self->reuse) {
		*ret = gst_buffer_ref(self->frame);
		return GST_FLOW_OK;
	}
	/* A buffer from the negotiated pool (the sink's, when it offers one). */
	flow = GST_BASE_SRC_CLASS(bench_src_parent_class)
		       ->alloc(GST_BASE_SRC(psrc), (guint64)-1, (guint)self->info.size, ret);
	if (flow == GST_FLOW_OK)
		flow = bench_src_fill(psrc, *ret);
	return flow;
}

static void bench_src_set_property(GObject *object, guint id, const GValue *value,
				   GParamSpec *pspec)
{
	if (id == BENCH_PROP_REUSE)
		ZBB_BENCH_SRC(object)->reuse = g_value_get_boolean(value);
}

static void bench_src_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	if (id == BENCH_PROP_REUSE)
		g_value_set_boolean(value, ZBB_BENCH_SRC(object)->reuse);
}

static void bench_src_finalize(GObject *object)
{
	gst_buffer_replace(&ZBB_BENCH_SRC(object)->frame, NULL);
	G_OBJECT_CLASS(bench_src_parent_class)->finalize(object);
}

static void bench_src_class_init(BenchSrcClass *klass)
{
	GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
	GstElementClass *element_class = GST_ELEMENT_CLASS(klass);

	gobject_class->set_property = bench_src_set_property;
	gobject_class->get_property = bench_src_get_property;
	gobject_class->finalize = bench_src_finalize;
	g_object_class_install_property(
		gobject_class, BENCH_PROP_REUSE,
		g_param_spec_boolean("reuse", "Reuse", "Push one pre-rendered buffer every time",
				     FALSE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
	gst_element_class_set_static_metadata(element_class, "Bench source", "Source/Video",
					      "Frames for zbgstbench", "zbd");
	gst_element_class_add_static_pad_template(element_class, &bench_src_template);
	GST_BASE_SRC_CLASS(klass)->set_caps = bench_src_set_caps;
	GST_PUSH_SRC_CLASS(klass)->create = bench_src_create;
}

static void bench_src_init(BenchSrc *self)
{
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

/* --------------------------------------------------------- child process */

static struct {
	guint64 frames;
	double t0, t1, c0, c1;
	double eos_at;
	GMainLoop *loop;
	int status;
} child;

static GstPadProbeReturn child_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		double t = mono_s(), c = cpu_s();

		if (child.frames++ == 0) {
			child.t0 = t;
			child.c0 = c;
			printf("first\n");
			fflush(stdout);
		}
		child.t1 = t;
		child.c1 = c;
	} else if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
		child.eos_at = mono_s();
	}
	return GST_PAD_PROBE_OK;
}

static gboolean child_bus(GstBus *bus, GstMessage *msg, gpointer data)
{
	GError *err = NULL;
	gchar *debug = NULL;

	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
		child.status = 0;
		g_main_loop_quit(child.loop);
	} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		gst_message_parse_error(msg, &err, &debug);
		printf("error %s\n", err->message);
		g_error_free(err);
		g_free(debug);
		child.status = 1;
		g_main_loop_quit(child.loop);
	}
	return TRUE;
}

static int child_main(const char *desc)
{
	GError *err = NULL;
	GstElement *pipeline = gst_parse_launch(desc, &err), *m;
	GstBus *bus;
	GstPad *pad;

	if (!pipeline || err) {
		printf("error %s\n", err ? err->message : "cannot build the pipeline");
		return 1;
	}
	m = gst_bin_get_by_name(GST_BIN(pipeline), "m");
	pad = gst_element_get_static_pad(m, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
			  child_probe, NULL, NULL);
	gst_object_unref(pad);
	gst_object_unref(m);
	child.loop = g_main_loop_new(NULL, FALSE);
	child.status = 1;
	bus = gst_element_get_bus(pipeline);
	gst_bus_add_watch(bus, child_bus, NULL);
	if (gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
		printf("ready\n");
		fflush(stdout);
		g_main_loop_run(child.loop);
	} else {
		printf("error cannot start the pipeline\n");
	}
	printf("result frames=%" G_GUINT64_FORMAT " seconds=%.9f cpu=%.9f eos_at=%.9f\n",
	       child.frames, child.t1 - child.t0, child.c1 - child.c0, child.eos_at);
	fflush(stdout);
	gst_element_set_state(pipeline, GST_STATE_NULL);
	gst_object_unref(bus);
	gst_object_unref(pipeline);
	return child.status;
}

/* ---------------------------------------------------------------- driver */

static const char *self_exe;
static int ring_frames = 3;
static char workdir[64];

struct proc {
	pid_t pid;
	int fd;
	char buf[4096];
	size_t len;
};

/* A run longer than this has stalled (shmsink does, now and then: its
 * writer waits for room in its area while its reader waits for data). */
#define RUN_TIMEOUT_S 60.0
static double deadline;

static void spawn(struct proc *p, const char *desc)
{
	int fds[2];

	if (pipe(fds) < 0) {
		perror("pipe");
		exit(1);
	}
	p->len = 0;
	p->pid = fork();
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(self_exe, self_exe, "--child", desc, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	p->fd = fds[0];
}

/* Read lines until one starts with `prefix` (into line); false at EOF or
 * when the run's deadline passed. */
static bool expect(struct proc *p, const char *prefix, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int left = (int)((deadline - mono_s()) * 1000);
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - p->buf);

			snprintf(line, size, "%.*s", (int)l, p->buf);
			memmove(p->buf, nl + 1, p->len - l - 1);
			p->len -= l + 1;
			if (strncmp(line, prefix, strlen(prefix)) == 0)
				return true;
			if (strncmp(line, "error ", 6) == 0)
				fprintf(stderr, "  %s\n", line);
			continue;
		}
		if (p->fd < 0 || left <= 0 || p->len == sizeof(p->buf))
			return false;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0)
			return false;
		p->len += (size_t)n;
	}
}

static int finish(struct proc *p)
{
	int status = 0;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (p->pid > 0) {
		/* Whatever is left of a stalled run. */
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
	}
	p->pid = 0;
	return status;
}

/* A run that failed may leave a standalone buffer behind (its reader was
 * killed): remove its objects, named as doc/protocol.md says. */
static void remove_buffer(const char *name)
{
	const char *const fmt[] = { "/dev/shm/%s", "/dev/shm/sem.sem-r-%s", "/dev/shm/sem.sem-w-%s",
				    "/tmp/zerobuffer/%s.lock" };
	char path[256];

	for (size_t i = 0; i < G_N_ELEMENTS(fmt); i++) {
		snprintf(path, sizeof(path), fmt[i], name);
		unlink(path);
	}
}

struct measure {
	double frames, seconds, cpu;
};

static bool parse_result(struct proc *p, struct measure *m, double *eos_at)
{
	char line[512];
	unsigned long long frames;
	double eos;

	if (!expect(p, "result ", line, sizeof(line)))
		return false;
	if (sscanf(line, "result frames=%llu seconds=%lf cpu=%lf eos_at=%lf", &frames, &m->seconds,
		   &m->cpu, &eos) != 4)
		return false;
	m->frames = (double)frames;
	if (eos_at)
		*eos_at = eos;
	return true;
}

struct size {
	const char *name;
	int width, height;
};

struct source {
	const char *name;
	const char *desc; /* %d: frames */
};

static const struct size sizes[] = { { "1080p", 1920, 1080 }, { "4k", 3840, 2160 } };
static const struct source sources[] = {
	{ "black", "videotestsrc pattern=black num-buffers=%d" },
	{ "lend", "zbbenchsrc num-buffers=%d" },
	{ "copy", "zbbenchsrc reuse=true num-buffers=%d" },
};

enum transport { ZEROBUFFER, SHM, UNIXFD, N_TRANSPORTS };
static const char *const transport_names[] = { "zbsink/zbsrc", "shmsink/shmsrc",
					       "unixfdsink/unixfdsrc" };

struct outcome {
	bool ok, stalled;
	double fps, wcpu_us, rcpu_us;
};

/* One writer and one reader of `frames` frames. */
static struct outcome run_once(enum transport t, const struct size *sz, const struct source *src,
			       int frames, int run)
{
	size_t frame = (size_t)sz->width * sz->height * 3 / 2;
	size_t ring = (size_t)ring_frames * (frame + 64), shm = 16 * (frame + 64);
	struct outcome o = { 0 };
	struct proc w = { .fd = -1 }, r = { .fd = -1 };
	struct measure mw, mr;
	char caps[160], up[128], wdesc[1024], rdesc[1024], line[512], name[64], path[160];

	deadline = mono_s() + RUN_TIMEOUT_S;
	snprintf(caps, sizeof(caps), "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1",
		 sz->width, sz->height);
	snprintf(up, sizeof(up), src->desc, frames);
	snprintf(name, sizeof(name), "zbgstbench-%d-%d", (int)getpid(), run);
	snprintf(path, sizeof(path), "%s/%s.sock", workdir, name);
	switch (t) {
	case ZEROBUFFER:
		/* The reader creates the buffer (standalone, no zbd), then the writer. */
		snprintf(rdesc, sizeof(rdesc),
			 "zbsrc buffer=%s create=%zu num-buffers=%d ! fakesink name=m sync=false "
			 "enable-last-sample=false",
			 name, ring, frames);
		snprintf(wdesc, sizeof(wdesc), "%s ! %s ! zbsink name=m buffer=%s sync=false", up,
			 caps, name);
		spawn(&r, rdesc);
		if (!expect(&r, "ready", line, sizeof(line)))
			goto out;
		spawn(&w, wdesc);
		break;
	case SHM:
		/* shmsink makes the socket and waits for its client. */
		snprintf(wdesc, sizeof(wdesc),
			 "%s ! %s ! shmsink name=m socket-path=%s shm-size=%zu "
			 "wait-for-connection=true sync=false",
			 up, caps, path, shm);
		snprintf(rdesc, sizeof(rdesc),
			 "shmsrc socket-path=%s num-buffers=%d ! %s ! fakesink name=m sync=false "
			 "enable-last-sample=false",
			 path, frames, caps);
		spawn(&w, wdesc);
		if (!expect(&w, "ready", line, sizeof(line)))
			goto out;
		spawn(&r, rdesc);
		break;
	case UNIXFD:
		snprintf(wdesc, sizeof(wdesc),
			 "%s ! %s ! unixfdsink name=m socket-path=%s sync=false", up, caps, path);
		snprintf(rdesc, sizeof(rdesc),
			 "unixfdsrc socket-path=%s num-buffers=%d ! fakesink name=m sync=false "
			 "enable-last-sample=false",
			 path, frames);
		spawn(&w, wdesc);
		if (!expect(&w, "ready", line, sizeof(line)))
			goto out;
		spawn(&r, rdesc);
		break;
	default:
		break;
	}
	if (!parse_result(&r, &mr, NULL) || !parse_result(&w, &mw, NULL) || mr.frames < 2 ||
	    mw.frames < 2)
		goto out;
	o.ok = true;
	o.fps = (mr.frames - 1) / mr.seconds;
	o.rcpu_us = mr.cpu / (mr.frames - 1) * 1e6;
	o.wcpu_us = mw.cpu / (mw.frames - 1) * 1e6;
out:
	o.stalled = !o.ok && mono_s() >= deadline;
	finish(&r);
	finish(&w);
	unlink(path);
	if (t == ZEROBUFFER)
		remove_buffer(name);
	return o;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void loadavg(char *buf, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "r");

	buf[0] = '\0';
	if (f) {
		if (fgets(buf, (int)size, f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
}

/* ------------------------------------------------ dead writer, with zbd */

static pid_t zbd_start(const char *zbd, char *sock, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[1024];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sock, size, "%s/zbd.sock", workdir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", workdir);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char log[128];
		int logfd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		snprintf(log, sizeof(log), "%s/zbd.log", workdir);
		logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (logfd >= 0)
			dup2(logfd, STDERR_FILENO);
		setenv("NOTIFY_SOCKET", sa.sun_path, 1);
		execl(zbd, zbd, "-s", sock, "-r", workdir, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(fd);
			return -1;
		}
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n > 0) {
			msg[n] = '\0';
			if (strstr(msg, "READY=1"))
				break;
		}
	}
	close(fd); /* zbd tolerates a notify socket that went away */
	return pid;
}

static void eos_latency(const char *zbd, int repeat)
{
	double lat[64];
	char sock[128], line[512], wdesc[512], rdesc[512];
	int n = 0;
	pid_t zpid = zbd_start(zbd, sock, sizeof(sock));

	printf("\n## Writer SIGKILLed -> zbsrc EOS, with zbd (%d runs)\n\n", repeat);
	if (zpid < 0) {
		printf("skipped: zbd at %s did not start\n", zbd);
		return;
	}
	for (int i = 0; i < repeat && i < 64; i++) {
		struct proc w = { .fd = -1 }, r = { .fd = -1 };
		struct measure mr;
		double killed, eos = 0;
		struct zb_ctl *ctl;
		char name[64];

		snprintf(name, sizeof(name), "zbgstbench-%d-eos-%d", (int)getpid(), i);
		snprintf(wdesc, sizeof(wdesc),
			 "videotestsrc is-live=true ! video/x-raw,format=I420,width=640,height=480,"
			 "framerate=100/1 ! zbsink name=m buffer=%s create=10000000 "
			 "socket=%s sync=false",
			 name, sock);
		snprintf(rdesc, sizeof(rdesc), "zbsrc buffer=%s ! fakesink name=m", name);
		deadline = mono_s() + RUN_TIMEOUT_S;
		spawn(&w, wdesc);
		if (!expect(&w, "ready", line, sizeof(line))) {
			finish(&w);
			continue;
		}
		spawn(&r, rdesc);
		if (expect(&r, "first", line, sizeof(line))) {
			killed = mono_s();
			kill(w.pid, SIGKILL);
			waitpid(w.pid, NULL, 0); /* no zombie: zbd sees a dead pid */
			w.pid = 0;
			if (parse_result(&r, &mr, &eos) && eos > 0)
				lat[n++] = (eos - killed) * 1e3;
		}
		finish(&r);
		finish(&w);
		/* zbd keeps its buffers over a restart: remove each one. */
		if (zb_ctl_connect(&ctl, sock) == 0) {
			zb_ctl_destroy(ctl, name, 1);
			zb_ctl_close(ctl);
		}
	}
	kill(zpid, SIGTERM);
	waitpid(zpid, NULL, 0);
	if (!n) {
		printf("no run completed\n");
		return;
	}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_double);
	printf("| runs | p50 | max |\n|---|---|---|\n| %d | %.1f ms | %.1f ms |\n", n, lat[n / 2],
	       lat[n - 1]);
}

static void remove_workdir(void)
{
	struct dirent *de;
	char path[512];
	DIR *d = opendir(workdir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", workdir, de->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(workdir);
}

/* Interrupted: the children die with us (PR_SET_PDEATHSIG); take our
 * directory along. */
static void on_signal(int sig)
{
	remove_workdir();
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(int argc, char **argv)
{
	const char *want_sizes = "1080p,4k", *want_sources = "black,lend,copy", *zbd = NULL;
	bool have[N_TRANSPORTS] = { true };
	char load[128];
	int frames = 2000, repeat = 3;

	gst_init(&argc, &argv);
	gst_element_register(NULL, "zbbenchsrc", GST_RANK_NONE, BENCH_SRC_TYPE);
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2]);
	self_exe = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc)
			frames = atoi(argv[++i]);
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (strcmp(argv[i], "--ring") == 0 && i + 1 < argc)
			ring_frames = atoi(argv[++i]);
		else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
			want_sizes = argv[++i];
		else if (strcmp(argv[i], "--sources") == 0 && i + 1 < argc)
			want_sources = argv[++i];
		else if (strcmp(argv[i], "--zbd") == 0 && i + 1 < argc)
			zbd = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--frames N] [--repeat R] [--ring N] "
				"[--sizes 1080p,4k] [--sources black,lend,copy] [--zbd PATH]\n",
				argv[0]);
			return 2;
		}
	}
	if (repeat < 1 || repeat > 32 || frames < 10 || ring_frames < 2) {
		fprintf(stderr, "%s: --repeat 1..32, --frames 10 or more, --ring 2 or more\n",
			argv[0]);
		return 2;
	}
	snprintf(workdir, sizeof(workdir), "/tmp/zbgstbench-%d", (int)getpid());
	if (mkdir(workdir, 0700) < 0) {
		perror(workdir);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!gst_element_factory_find("zbsink")) {
		fprintf(stderr, "zbsink not found: set GST_PLUGIN_PATH to the build's gst/\n");
		return 1;
	}
	have[ZEROBUFFER] = true;
	have[SHM] = gst_element_factory_find("shmsink") != NULL;
	have[UNIXFD] = gst_element_factory_find("unixfdsink") != NULL;

	loadavg(load, sizeof(load));
	printf("# zbgstbench: %s, %ld CPUs, load average at start %s\n\n", gst_version_string(),
	       sysconf(_SC_NPROCESSORS_ONLN), load);
	if (!have[SHM])
		printf("shmsink/shmsrc: skipped, not installed (Debian: "
		       "gstreamer1.0-plugins-bad)\n");
	if (!have[UNIXFD])
		printf("unixfdsink/unixfdsrc: skipped, not in %s (they came with GStreamer "
		       "1.24; Debian 12 ships 1.22)\n",
		       gst_version_string());
	printf("Median of %d runs; zbsink's ring holds %d frames, shmsink's area 16; fps at the "
	       "reader; CPU per frame of each whole process (user + system, all threads) "
	       "between its first and last frame.\n\n",
	       repeat, ring_frames);
	printf("| frames | upstream | transport | frames/s | writer CPU/frame | reader CPU/frame "
	       "|\n|---|---|---|---|---|---|\n");
	fflush(stdout);
	for (size_t si = 0; si < G_N_ELEMENTS(sizes); si++) {
		const struct size *sz = &sizes[si];
		/* A 4K frame is 4 times a 1080p one: a quarter as many. */
		int n = si == 0 ? frames : frames / 4;

		if (!strstr(want_sizes, sz->name))
			continue;
		for (size_t ui = 0; ui < G_N_ELEMENTS(sources); ui++) {
			if (!strstr(want_sources, sources[ui].name))
				continue;
			for (int t = 0; t < N_TRANSPORTS; t++) {
				double fps[32], wc[32], rc[32];
				int ok = 0, stalled = 0;

				if (!have[t])
					continue;
				/* Interleaved with the other transports would be fairer
				 * still; consecutive runs keep each median tight. */
				for (int k = 0; k < repeat; k++) {
					struct outcome o =
						run_once((enum transport)t, sz, &sources[ui], n, k);

					stalled += o.stalled;
					if (!o.ok)
						continue;
					fps[ok] = o.fps;
					wc[ok] = o.wcpu_us;
					rc[ok++] = o.rcpu_us;
				}
				if (!ok) {
					printf("| %s | %s | %s | failed (%d of %d stalled) | | |\n",
					       sz->name, sources[ui].name, transport_names[t],
					       stalled, repeat);
					continue;
				}
				printf("| %s | %s | %s | %.0f%s | %.1f µs | %.1f µs |\n", sz->name,
				       sources[ui].name, transport_names[t], median(fps, ok),
				       stalled ? " (a run stalled)" : "", median(wc, ok),
				       median(rc, ok));
				fflush(stdout);
			}
		}
	}
	if (zbd)
		eos_latency(zbd, 10);
	loadavg(load, sizeof(load));
	printf("\nload average at the end: %s\n", load);
	remove_workdir();
	return 0;
}
