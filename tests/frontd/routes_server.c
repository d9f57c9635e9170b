/*
 * frontd's HTTP layer and file store alone, for test_routes.py: the same
 * library code that ships (http.c, upload.c, files.c, store.c, auth.c),
 * without privd. Exec and health are not served: without privd, frontd's IPC
 * client exits, so the tests never call them.
 *
 *   cw-routes-server --policy FILE --store DIR --port-file FILE
 *
 * Serves on 127.0.0.1 on a free port, writes the port to --port-file, runs
 * until SIGTERM. The policy's [auth] decides api-key or none.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "current.h"
#include "exec.h"
#include "http.h"
#include "log.h"
#include "policy.h"
#include "store.h"
#include "util.h"

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "store", required_argument, NULL, 's' },
		{ "port-file", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static struct policy pol;
	const char *ppath = NULL, *spath = NULL, *opath = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[512];
	int ch, lfd, sfd, one = 1;
	FILE *f;

	log_init("routes-server");
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': ppath = optarg; break;
		case 's': spath = optarg; break;
		case 'o': opath = optarg; break;
		default: fatalx("usage: cw-routes-server --policy F --store D --port-file F");
		}
	}
	if (ppath == NULL || spath == NULL || opath == NULL)
		fatalx("usage: cw-routes-server --policy F --store D --port-file F");
	if (sodium_init() < 0)
		fatalx("sodium_init");
	if (policy_load_path(ppath, &pol, NULL, NULL, err, sizeof(err)) != 0)
		fatalx("%s", err);
	if (pol.auth != AUTH_NONE && auth_load_keys(pol.keys_path, err, sizeof(err)) != 0)
		fatalx("keys: %s", err);
	auth_init(&pol);
	current_set(&pol);
	exec_init();
	if (store_prepare_dir(spath, getuid(), getgid()) != 0 ||
	    (sfd = store_open_dir(spath)) < 0)
		fatal("store %s", spath);
	store_init(sfd);

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		fatal("listen");

	cw_stop_signals(on_term);
	if (http_start(lfd, -1, &pol) != 0)
		fatalx("http_start");
	if ((f = fopen(opath, "w")) == NULL)
		fatal("%s", opath);
	fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port));
	fclose(f);
	while (!stop)
		pause();
	http_stop(2);
	return 0;
}
