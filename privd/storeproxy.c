/*
 * Starting codeward-storeproxy (storeproxy.h): its argv written from the
 * policy's [store] section, nothing else.
 */
#include "storeproxy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define SP_CHILD_FD	3
#define SP_CHILD_FD_ARG	"3"

int
storeproxy_spawn(const char *path, const struct policy *p, pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		log_warn("privd: storeproxy: socketpair");
		return -1;
	}
	if ((*pid = fork()) < 0) {
		log_warn("privd: storeproxy: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		char *argv[] = { (char *)path, "--endpoint", (char *)p->s3_endpoint,
		    "--bucket", (char *)p->s3_bucket, "--region", (char *)p->s3_region,
		    "--credentials", (char *)p->s3_credentials, "--fd", SP_CHILD_FD_ARG,
		    "--user", STOREPROXY_USER, NULL };
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* dup2 clears close-on-exec on the copy */
		if ((sv[1] == SP_CHILD_FD ? fcntl(sv[1], F_SETFD, 0) :
		    dup2(sv[1], SP_CHILD_FD)) < 0)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	close(sv[1]);
	log_info("privd: storeproxy pid %d for %s/%s", (int)*pid, p->s3_endpoint,
	    p->s3_bucket);
	return sv[0];
}
