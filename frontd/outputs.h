/*
 * The files a run gave back: frontd walks the tar of the sandbox's /mnt/data
 * (tar.c), stores every new or changed file under the run's fresh session id,
 * and learns which inputs are still there. A bad entry is skipped and counted
 * (codeward_output_entries_skipped_total); only a walk that saw every entry
 * may say an input was deleted.
 */
#ifndef CW_OUTPUTS_H
#define CW_OUTPUTS_H

#include <stddef.h>

#include "ipc.h"
#include "policy.h"
#include "sessions.h"
#include "store.h"
#include "tar.h"
#include "util.h"

/* what one input looks like in /mnt/data, to tell changed from unchanged */
struct input_state {
	char		name[IPC_NAME_MAX];
	char		sha256[65];
	int		seen;
	char		fid[CW_ID_LEN + 1];	/* its stored object */
	uint64_t	size;
};

/* one stored output (its session is the collect's sid) */
struct out_file {
	char		fid[CW_ID_LEN + 1];
	char		name[STORE_NAME_MAX + 1];
};

struct collect {
	const struct policy	*pol;
	struct input_state	*in;
	size_t			nin;
	struct sess_file	*known;		/* the session's files before */
	size_t			nknown;
	struct sess_file	*now;		/* every file there after */
	size_t			nnow;
	char			sid[CW_ID_LEN + 1];
	const char		*owner;
	struct out_file		*out;		/* pol->files_per_session of them */
	size_t			stored;
	size_t			dropped;	/* over files_per_session */
	int			failed;		/* the store failed */
	int			failed_errno;	/* how (files_store_failed) */
	size_t			unstored;	/* over a quota (store.h) */
	int			unstored_errno;
	char			unstored_names[120];	/* those that fit, quoted */
	int			complete;	/* every entry was seen */
	struct tar_stats	skip;
	/*
	 * use_fd: buf is a mapping of arcfd, and a file's bytes are read
	 * from arcfd in pieces, never through buf, so that frontd's resident
	 * set holds the archive's headers, not its data (issue 16)
	 */
	int			use_fd;
	int			arcfd;
	/* an attached workspace's store session (workspace.c), or NULL */
	const char		*ws;
	size_t			ws_files, ws_dropped;
	uint64_t		ws_bytes;
	const unsigned char	*base;		/* buf, set by outputs_walk */
};

/*
 * Walk the archive of len bytes into c (c->out allocated by the caller).
 * 0 when every entry was seen; -1 with err when the archive ended the walk
 * (the files stored until then stay) or the store failed (c->failed).
 */
int	outputs_walk(struct collect *c, const unsigned char *buf, size_t len,
	    char *err, size_t errlen);

/* 1 if input i is gone: a complete walk did not see it, nor a later input of its name */
int	outputs_deleted(const struct collect *c, size_t i);

#endif
