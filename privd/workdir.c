/*
 * The work directory of one execution, in and out. In: a short program with
 * no input files rides in the exec's environment; anything else goes in a
 * tar privd writes itself (the code, then the files). Out: the raw tar of
 * /mnt/data, copied into a memfd that privd never parses, unless the
 * directory's stat says the run left it alone.
 */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "utf8.h"

/*
 * The code as a CW_CODE= environment entry in *env, or NULL there when it is
 * not text (it takes the archive then): 0, or -1 out of memory.
 */
static int
code_env(const struct job *j, char **env)
{
	char *e;
	ssize_t n;

	*env = NULL;
	if ((e = malloc(sizeof("CW_CODE=") + j->code_len)) == NULL)
		return -1;
	memcpy(e, "CW_CODE=", 8);
	n = pread(j->code_fd, e + 8, j->code_len, 0);
	/* an env entry is text: anything else takes the archive */
	if (n != (ssize_t)j->code_len ||
	    !utf8_valid((unsigned char *)e + 8, j->code_len)) {
		free(e);
		return 0;
	}
	e[8 + j->code_len] = '\0';
	*env = e;
	return 0;
}

uint32_t
workdir_stage(struct run *r, char *why, size_t whylen)
{
	const struct job *j = r->job;
	uint32_t i;

	/* the input archive: the code, then the files (a later name wins) */
	if ((r->tw = malloc(sizeof(*r->tw))) == NULL)
		return snprintf(why, whylen, "out of memory"), IPC_ST_UNAVAILABLE;
	tarw_init(r->tw, j->policy->uid, (uint64_t)time(NULL));
	/*
	 * A short program with no input files goes in the exec's environment:
	 * one archive upload fewer. Anything else goes in the archive.
	 */
	if (j->nrecv == 0 && j->code_len <= DK_CODE_ENV_MAX &&
	    code_env(j, &r->code_env) < 0)
		return snprintf(why, whylen, "out of memory"), IPC_ST_UNAVAILABLE;
	if (r->code_env == NULL && tarw_add_file(r->tw, ".codeward/code",
	    j->code_fd, j->code_len) < 0)
		return snprintf(why, whylen, "program cannot be placed"),
		    IPC_ST_REFUSED;
	for (i = 0; i < j->nrecv; i++) {
		if (tarw_add_file(r->tw, j->files[i].name, j->files[i].fd,
		    j->files[i].size) < 0)
			return snprintf(why, whylen, "file '%s' cannot be placed "
			    "in /mnt/data (a file where a folder must be, or a "
			    "name too long)", j->files[i].name), IPC_ST_REFUSED;
	}
	return IPC_ST_OK;
}

static size_t
fill(char *buf, size_t len, void *ctx)
{
	struct tarw *t = ctx;
	size_t n = tarw_fill(buf, len, t);

	return t->failed ? DK_FILL_ABORT : n;
}

int
workdir_put(struct run *r)
{
	/*
	 * Nothing to upload (the code is in the environment): remember the
	 * work directory's stat; if it is the same after the run, the program
	 * wrote nothing there and the archive download (dockerd runs a tar
	 * helper for it, ~50 ms) is skipped. With inputs, always download:
	 * an input changed in place leaves the directory's stat alone, and so
	 * does a session's file from an earlier call: a reused sandbox always
	 * downloads too. A pooled sandbox's stat was taken when it was pooled:
	 * only a new sandbox costs a request here.
	 */
	if (r->code_env == NULL || r->reused)
		r->stat0[0] = '\0';
	else if (!r->reused && r->stat0[0] == '\0' && dk_stat_workdir(&r->dk,
	    r->cid, r->stat0, sizeof(r->stat0)) != 0)
		r->stat0[0] = '\0';
	if (r->code_env == NULL &&
	    dk_put_archive(&r->dk, r->cid, tarw_size(r->tw), fill, r->tw) < 0)
		return -1;
	return 0;
}

/*
 * The stat taken before the run, unchanged after it (and both known); the
 * stat after is the reset's when a reset ran, else asked for here.
 */
static int
untouched(struct run *r)
{
	char stat1[DKH_STAT_MAX];

	if (r->stat0[0] == '\0')
		return 0;
	if (r->was_reset)
		return strcmp(r->stat0, r->reset_stat) == 0;
	if (dk_stat_workdir(&r->dk, r->cid, stat1, sizeof(stat1)) != 0)
		return 0;
	return strcmp(r->stat0, stat1) == 0;
}

int
workdir_get(struct run *r)
{
	struct ipc_exec_done *d = &r->done;
	uint64_t cap;

	if (untouched(r)) {
		d->flags |= IPC_DF_UNCHANGED;	/* nothing to fetch */
		return 0;
	}
	cap = 2 * r->job->policy->workdir_size + (4ULL << 20);
	if (dk_get_archive(&r->dk, r->cid, r->tarfd, cap, &r->tarlen) < 0)
		return -1;
	d->fds |= IPC_DONE_ARCHIVE;
	return 0;
}
