/*
 * privd's own Docker client (privd/docker.c, linked as shipped) driving one
 * whole execution through sockproxy, the way privd/run.c does: create,
 * start, archive PUT (privd/tarw.c), exec create, exec start with a
 * deadline, exec inspect, archive GET, kill, remove, list. Every step must
 * succeed; the output stream and the archive land in the files named on the
 * command line for the caller to check.
 *
 *	sp_client POLICY SOCKET OUTPUT ARCHIVE [sleep]
 * With "sleep", the program sleeps past a 1 s deadline instead, and the
 * client must see DK_END_DEADLINE, then kill and remove.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker.h"
#include "log.h"
#include "tarw.h"
#include "util.h"

static const char program[] =
    "import os, sys\n"
    "print('out: hello')\n"
    "print('err: warning', file=sys.stderr)\n"
    "print('uid', os.getuid(), os.getgid())\n"
    "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
    "print([l for l in open('/proc/mounts') if ' /mnt/data ' in l][0].strip())\n"
    "print('input', open('sub/in.csv').read().strip())\n"
    "open('result.txt', 'w').write('42\\n')\n"
    "sys.exit(3)\n";

static const char sleeper[] = "import time\ntime.sleep(30)\n";

static size_t
fill(char *buf, size_t len, void *ctx)
{
	return tarw_fill(buf, len, ctx);
}

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fprintf(stderr, \
    ": %s\n", d.err); return 1; } while (0)

int
main(int argc, char **argv)
{
	static struct tarw tw;
	struct dk d;
	struct policy p;
	char id[DK_ID_LEN + 1], xid[DK_ID_LEN + 1], err[256], ids[8][DK_ID_LEN + 1];
	char *av[] = { "/usr/local/bin/cw-run", "py", NULL };
	char *ev[] = { "CW_TIMEOUT_MS=5000", "CW_LANG=py", NULL };
	const char *code;
	size_t len;
	char *buf;
	uint64_t olen = 0, tlen = 0;
	int cfd, ifd, ofd, tfd, running = -1, exit_code = -2, sleep_mode, n;
	enum dk_stream_end end;
	struct dk_watch *watch = NULL;

	if (argc < 5)
		return 2;
	sleep_mode = argc > 5 && strcmp(argv[5], "sleep") == 0;
	code = sleep_mode ? sleeper : program;
	if ((buf = cw_read_file(argv[1], 1 << 20, &len)) == NULL ||
	    policy_parse(buf, len, argv[1], &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "policy: %s\n", err);
		return 1;
	}
	if (dk_open(&d, argv[2]) != 0)
		FAIL("dk_open");
	if ((cfd = cw_memfd("code")) < 0 || (ifd = cw_memfd("in")) < 0 ||
	    cw_write_all(cfd, code, strlen(code)) != 0 ||
	    cw_write_all(ifd, "a,b\n", 4) != 0)
		return 1;
	tarw_init(&tw, p.uid, 1700000000);
	if (tarw_add_file(&tw, ".codeward/code", cfd, strlen(code)) != 0 ||
	    tarw_add_file(&tw, "sub/in.csv", ifd, 4) != 0)
		return 1;

	/* the sleeper asks for a pre-warmed Python: Env in the create */
	if (dk_create(&d, &p, policy_lang_image(&p, LANG_PY), sleep_mode, id) != 0)
		FAIL("create");
	printf("container %s\n", id);
	fflush(stdout);
	if (dk_start(&d, id) != 0)
		FAIL("start");
	if (dk_put_archive(&d, id, tarw_size(&tw), fill, &tw) != 0)
		FAIL("archive put");
	if (dk_exec_create(&d, id, av, ev, xid) != 0)
		FAIL("exec create");
	if ((ofd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (tfd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return 1;
	end = dk_exec_start(&d, id, xid, ofd, 1 << 20,
	    cw_now_ms() + (sleep_mode ? 1000 : 20000), &olen, &watch);
	/* the container goes on running: the watch sees no stop */
	if (dk_watch_end(watch, 0, NULL) != 0)
		FAIL("the container stopped under the exec");
	printf("stream end %d, %llu bytes\n", (int)end, (unsigned long long)olen);
	if (end != (sleep_mode ? DK_END_DEADLINE : DK_END_EOF))
		FAIL("exec start ended with %d", (int)end);
	if (sleep_mode && dk_kill(&d, id) != 0)
		FAIL("kill");
	if (dk_exec_inspect(&d, xid, &running, &exit_code) != 0)
		FAIL("exec inspect");
	printf("running %d exit %d\n", running, exit_code);
	if (!sleep_mode) {
		if (running != 0 || exit_code != 3)
			FAIL("exec inspect: running %d exit %d", running, exit_code);
		if (dk_get_archive(&d, id, tfd, 1 << 26, &tlen) != 0)
			FAIL("archive get");
		printf("archive %llu bytes\n", (unsigned long long)tlen);
		if ((n = dk_list(&d, ids, NULL, 8)) != 1 || strcmp(ids[0], id) != 0)
			FAIL("list: %d", n);
		if (dk_kill(&d, id) != 0)
			FAIL("kill");
	}
	if (dk_remove(&d, id) != 0)
		FAIL("remove");
	if ((n = dk_list(&d, ids, NULL, 8)) != 0)
		FAIL("list after remove: %d", n);
	dk_close(&d);
	close(ofd);
	close(tfd);
	printf("done\n");
	return 0;
}
