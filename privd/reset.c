/*
 * The reset of a sandbox between two calls: a fixed script of privd's, run
 * as the policy's bash program, ends every process a call left and empties
 * /tmp, then the work directory's stat is read. A session's sandbox gets it
 * after every call (run.c), a killed program's sandbox right after the kill
 * (program.c). A leaf: it runs one exec through docker.c and calls nothing
 * else of privd.
 */
#include "reset.h"

#include <stdio.h>
#include <unistd.h>

#include "util.h"

/*
 * The reset: every process of the sandbox user but the container's init
 * (pid 1), the idle process (the oldest process whose parent is init) and
 * the pre-warmed interpreter (the idle process's child) is killed, in rounds
 * until a round finds no process it has not killed already (one still dying
 * or a zombie does not count; a fork storm that outlives five rounds fails
 * the reset); /tmp is emptied but for the interpreter's socket and
 * matplotlib's font list. Parents are read from /proc/PID/stat, which gVisor
 * provides too. A program that forges those names only keeps its own
 * leftovers in its own session.
 */
static const char reset_script[] =
    "set -u\n"
    "self=$$\n"
    "idle=\n"
    "best=\n"
    "for d in /proc/[0-9]*; do\n"
    "  read -r st < \"$d/stat\" 2>/dev/null || continue\n"
    "  st=${st##*) }; set -- $st\n"
    "  [ \"$2\" = 1 ] && [ \"${d#/proc/}\" != \"$self\" ] || continue\n"
    "  if [ -z \"$best\" ] || [ \"${20}\" -lt \"$best\" ]; then best=${20}; idle=${d#/proc/}; fi\n"
    "done\n"
    "[ -n \"$idle\" ] || exit 3\n"
    "keep=\" 1 $self $idle \"\n"
    "for d in /proc/[0-9]*; do\n"
    "  read -r st < \"$d/stat\" 2>/dev/null || continue\n"
    "  st=${st##*) }; set -- $st\n"
    "  [ \"$2\" = \"$idle\" ] && keep=\"$keep${d#/proc/} \"\n"
    "done\n"
    "dead=\" \"\n"
    "for round in 1 2 3 4 5; do\n"
    "  left=0\n"
    "  for d in /proc/[0-9]*; do\n"
    "    p=${d#/proc/}\n"
    "    case \"$keep$dead\" in *\" $p \"*) continue ;; esac\n"
    "    read -r st < \"$d/stat\" 2>/dev/null || continue\n"
    "    case ${st##*) } in [ZX]*) continue ;; esac\n"
    "    kill -9 \"$p\" 2>/dev/null && { left=1; dead=\"$dead$p \"; }\n"
    "  done\n"
    "  [ $left = 0 ] && break\n"
    "done\n"
    "[ $left = 0 ] || exit 4\n"
    "cd /tmp && for f in * .[!.]* ..?*; do\n"
    "  case \"$f\" in .codeward-zygote|.config|'*'|'.[!.]*'|'..?*') continue ;; esac\n"
    "  rm -rf -- \"/tmp/$f\"\n"
    "done\n"
    "exit 0\n";

/* the policy runner of bash on 'image': the reset runs as a bash program */
static int
bash_runner(const struct policy *p, int image, char **argv, size_t max)
{
	const struct policy_language *l = &p->langs[LANG_BASH];
	size_t i;

	if (!l->enabled || l->image != image || l->argc + 1 > max)
		return -1;
	for (i = 0; i < l->argc; i++)
		argv[i] = (char *)l->argv[i];
	argv[i] = NULL;
	return 0;
}

int
reset_sandbox(struct dk *dk, const struct policy *p, const char *cid, int image,
    char *stat, size_t statlen, uint32_t timeout_ms)
{
	char *argv[POLICY_ARGV_MAX + 1], xid[DK_ID_LEN + 1];
	char *envp[4], code[sizeof("CW_CODE=") + sizeof(reset_script)];
	char tmo[32];
	struct dk_watch *watch = NULL;
	enum dk_stream_end end;
	uint64_t len = 0;
	int fd, running = 0, exit_code = -1, r = -1;

	if (bash_runner(p, image, argv, sizeof(argv) / sizeof(argv[0])) < 0)
		return -1;
	snprintf(code, sizeof(code), "CW_CODE=%s", reset_script);
	snprintf(tmo, sizeof(tmo), "CW_TIMEOUT_MS=%u", timeout_ms);
	envp[0] = tmo;
	envp[1] = "CW_LANG=bash";
	envp[2] = code;
	envp[3] = NULL;
	if ((fd = cw_memfd("cw-reset")) < 0)
		return -1;
	if (dk_exec_create(dk, cid, argv, envp, xid) < 0)
		goto out;
	end = dk_exec_start(dk, cid, xid, fd, 65536, cw_now_ms() + timeout_ms, &len,
	    &watch);
	(void)dk_watch_end(watch, 0, NULL);
	if (end != DK_END_EOF ||
	    dk_exec_inspect(dk, xid, &running, &exit_code) < 0)
		goto out;
	if (exit_code != 0) {
		snprintf(dk->err, sizeof(dk->err), "the reset exited %d", exit_code);
		goto out;
	}
	r = dk_stat_workdir(dk, cid, stat, statlen);
out:
	close(fd);
	return r;
}
