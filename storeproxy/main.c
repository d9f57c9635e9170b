/*
 * codeward-storeproxy: the only process that holds the object store's
 * credentials. It answers PUT, GET, HEAD, DELETE and LIST (proto.h) on one
 * socketpair descriptor, each against the configured bucket through s3.c.
 * NOT WIRED YET: no daemon starts it (storeproxy/README.md).
 *
 * Trusts: its command line and the credentials file (read once, 0600).
 * Does not trust the peer on the socketpair: every message is checked
 * whole (proto.c), and a key can name only [A-Za-z0-9_-] ids and '/'.
 * Does not trust the store: every answer is mapped to an s3_status, a GET
 * is whole and matches its record's sha256 or is an error.
 *
 * Never: logs a credential, an object's bytes or a name; opens a socket
 * but AF_INET/AF_INET6 (and libcurl's AF_UNIX wake-up pair); resolves a
 * name after start (the endpoint is pinned before the filter); runs as
 * root after start-up; opens a file after start-up (seccomp).
 *
 * Start-up, in order: parse the command line; read the credentials;
 * check the socketpair; resolve the endpoint and make the client; drop
 * privileges when root (--user); no_new_privs; the seccomp filter; serve
 * until the peer closes. Any failure: exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "creds.h"
#include "ipc.h"
#include "log.h"
#include "privdrop.h"
#include "proto.h"
#include "s3.h"
#include "storeproxy.h"
#include "util.h"

#define SP_NOFILE	64
#define SP_CA_MAX	(4 * 1024 * 1024)	/* a CA bundle, PEM */
#define SP_CA_DEFAULT	"/etc/ssl/certs/ca-certificates.crt"

static struct s3 *client;

static void
usage(void)
{
	fprintf(stderr, "usage: codeward-storeproxy --endpoint URL --bucket B "
	    "--region R --credentials FILE --fd N [--user NAME] "
	    "[--list-page N] [--connect-timeout S] [--low-speed-time S] "
	    "[--ca-file PEM]\n");
	exit(1);
}

static void
on_stop(int sig)
{
	(void)sig;
	s3_wipe(client);
	_exit(0);
}

static void
reply_init(struct sp_reply *rep, uint32_t id)
{
	memset(rep, 0, sizeof(*rep));
	rep->hdr.type = SP_REPLY;
	rep->hdr.len = sizeof(*rep);
	rep->hdr.id = id;
}

static void
reply_err(struct sp_reply *rep, const struct s3_error *err)
{
	size_t i;

	rep->status = err->status;
	rep->http = err->http >= 0 && err->http <= 999 ? (uint32_t)err->http : 0;
	snprintf(rep->message, sizeof(rep->message), "%s", err->message);
	for (i = 0; rep->message[i] != '\0'; i++)
		if (rep->message[i] < 0x20 || rep->message[i] > 0x7e)
			rep->message[i] = '?';
}

/* a memfd for an answer's bytes, and the same made ready to send */
static int
answer_memfd(const char *what)
{
	int fd;

	if ((fd = cw_memfd(what)) < 0)
		fatal("%s: memfd", what);
	return fd;
}

static void
answer_sealed(int fd, const char *what)
{
	if (cw_memfd_seal(fd) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		fatal("%s: seal", what);
}

/* each answer fills rep and may set *fd to a descriptor sent with it */
static void
answer_put(const struct sp_request *q, int in_fd, struct sp_reply *rep, int *fd)
{
	struct s3_meta m;
	struct s3_error err;

	sp_meta_from(&q->meta, &m);
	if (s3_put(client, q->key, &m, in_fd, &err) != S3_OK)
		reply_err(rep, &err);
}

static void
answer_get(const struct sp_request *q, int in_fd, struct sp_reply *rep, int *fd)
{
	struct s3_meta m;
	struct s3_error err;
	int mfd;

	mfd = answer_memfd("answer_get");
	if (s3_get(client, q->key, mfd, &m, &err) != S3_OK) {
		close(mfd);
		reply_err(rep, &err);
		return;
	}
	answer_sealed(mfd, "answer_get");
	sp_meta_to(&m, &rep->meta);
	*fd = mfd;
}

static void
answer_head(const struct sp_request *q, int in_fd, struct sp_reply *rep, int *fd)
{
	struct s3_meta m;
	struct s3_error err;

	if (s3_head(client, q->key, &m, &err) != S3_OK)
		reply_err(rep, &err);
	else
		sp_meta_to(&m, &rep->meta);
}

static void
answer_delete(const struct sp_request *q, int in_fd, struct sp_reply *rep,
    int *fd)
{
	struct s3_error err;

	if (s3_delete(client, q->key, &err) != S3_OK)
		reply_err(rep, &err);
}

static void
answer_list(const struct sp_request *q, int in_fd, struct sp_reply *rep, int *fd)
{
	struct s3_error err;
	uint64_t count = 0;
	int mfd;

	mfd = answer_memfd("answer_list");
	if (s3_list(client, q->key, mfd, &count, &err) != S3_OK) {
		close(mfd);
		reply_err(rep, &err);
		return;
	}
	answer_sealed(mfd, "answer_list");
	rep->count = count;
	*fd = mfd;
}

static const struct {
	uint32_t	type;
	void		(*answer)(const struct sp_request *, int,
			    struct sp_reply *, int *);
} answers[] = {
	{ SP_PUT, answer_put },
	{ SP_GET, answer_get },
	{ SP_HEAD, answer_head },
	{ SP_DELETE, answer_delete },
	{ SP_LIST, answer_list },
};

static void
serve(int sock)
{
	for (;;) {
		struct sp_request q;
		struct sp_reply rep;
		int fds[IPC_FDS_MAX], out = -1;
		size_t nfds, i;
		const char *why;
		ssize_t n;

		n = ipc_recv(sock, &q, sizeof(q), fds, &nfds);
		if (n == 0)
			return;		/* the peer closed: done */
		if (n < 0)
			fatal("serve: recv");
		if (sp_request_check(&q, (size_t)n, nfds, &why) != 0)
			fatalx("serve: request refused: %s", why);
		for (i = 0; i < FILTER_NELEM(answers); i++)
			if (answers[i].type == q.hdr.type)
				break;
		if (i == FILTER_NELEM(answers))
			fatalx("serve: no answer for type %u", q.hdr.type);
		reply_init(&rep, q.hdr.id);
		answers[i].answer(&q, nfds > 0 ? fds[0] : -1, &rep, &out);
		if (nfds > 0)
			close(fds[0]);
		if (rep.status != S3_OK)
			log_warnx("%s", rep.message);
		if (ipc_send(sock, &rep, sizeof(rep), out >= 0 ? &out : NULL,
		    out >= 0 ? 1 : 0) != 0)
			fatal("serve: send");
		if (out >= 0)
			close(out);
	}
}

static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

static void
copy_arg(char *dst, size_t dstlen, const char *src)
{
	if (strlen(src) >= dstlen)
		fatalx("main: an argument is too long");
	memcpy(dst, src, strlen(src) + 1);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "endpoint", required_argument, NULL, 'e' },
		{ "bucket", required_argument, NULL, 'b' },
		{ "region", required_argument, NULL, 'r' },
		{ "credentials", required_argument, NULL, 'c' },
		{ "fd", required_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "list-page", required_argument, NULL, 'l' },
		{ "connect-timeout", required_argument, NULL, 't' },
		{ "low-speed-time", required_argument, NULL, 's' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct s3_conf conf;
	struct cw_user user;
	const char *creds = NULL, *username = NULL, *why;
	const char *ca_file = SP_CA_DEFAULT;
	char *ca_pem = NULL;
	int ch, sock = -1, type;
	socklen_t tl = sizeof(type);

	log_init("storeproxy");
	memset(&conf, 0, sizeof(conf));
	conf.list_page = S3_LIST_PAGE_MAX;
	conf.connect_timeout_s = 10;
	conf.low_speed_s = 30;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'e': copy_arg(conf.endpoint, sizeof(conf.endpoint), optarg); break;
		case 'b': copy_arg(conf.bucket, sizeof(conf.bucket), optarg); break;
		case 'r': copy_arg(conf.region, sizeof(conf.region), optarg); break;
		case 'c': creds = optarg; break;
		case 'f': sock = (int)number(optarg, 3, 1023); break;
		case 'u': username = optarg; break;
		case 'l': conf.list_page = (unsigned int)number(optarg, 1,
		    S3_LIST_PAGE_MAX); break;
		case 't': conf.connect_timeout_s = number(optarg, 1, 600); break;
		case 's': conf.low_speed_s = number(optarg, 1, 3600); break;
		case 'a': ca_file = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || creds == NULL || sock < 0 || conf.endpoint[0] == '\0')
		usage();
	if (creds_read(creds, &conf, &why) != 0)
		fatalx("main: credentials file: %s", why);
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_SEQPACKET)
		fatalx("main: --fd %d is not a SOCK_SEQPACKET socket", sock);
	if (geteuid() == 0 && username == NULL)
		fatalx("main: started as root: --user names the user to run as");
	if (username != NULL)
		privdrop_resolve(username, &user);
	if (strncmp(conf.endpoint, "https://", 8) == 0) {
		/* read now: no file is opened after the filter */
		if ((ca_pem = cw_read_file(ca_file, SP_CA_MAX, &conf.ca_pem_len)) == NULL)
			fatal("main: CA bundle %s", ca_file);
		conf.ca_pem = ca_pem;
	}
	if (s3_conf_ok(&conf, &why) != 0)
		fatalx("main: %s", why);
	/* resolves the endpoint now: no name look-up after the filter */
	if ((client = s3_open(&conf)) == NULL)
		fatalx("main: cannot set up the S3 client for the endpoint");
	sodium_memzero(&conf, sizeof(conf));
	if (username != NULL)
		privdrop_apply(&user, SP_NOFILE);
	else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fatal("main: no_new_privs");
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		fatal("main: PDEATHSIG");
	cw_stop_signals(on_stop);
	filter_load(storeproxy_filter());
	serve(sock);
	s3_close(client);
	free(ca_pem);
	return 0;
}
