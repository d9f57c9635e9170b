/*
 * The file store: a directory frontd owns, one folder per session id, each
 * object beside a small metadata record. Every write is atomic (temporary
 * file, fsync, rename, fsync of the folder), and the record is in place
 * before its object: an object is never there without its record, so a
 * kill at any moment leaves either no object or a whole one. Ids are 21
 * characters of [A-Za-z0-9_-] from libsodium's generator. All access is
 * relative to the store's directory fd, opened before the privilege drop.
 *
 * Bytes are held to the policy's [files] user-quota, store-quota and
 * free-space-floor through the tally in quota.c: a refusal is -1 with errno
 * EDQUOT (the owner's quota) or ENOSPC (the store's quota, the floor, or
 * the disk itself).
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "quota.h"
#include "util.h"

#define STORE_NAME_MAX	255
/*
 * ".tmp.<generation>.<id>": a temporary file names the frontd that wrote
 * it (8 characters drawn at store_init), so one left by an earlier frontd
 * is known for dead whatever its age.
 */
#define STORE_GEN_LEN	8
#define STORE_TMP_LEN	(5 + STORE_GEN_LEN + 1 + CW_ID_LEN + 1)

struct store_meta {
	char		sid[CW_ID_LEN + 1];
	char		fid[CW_ID_LEN + 1];
	char		name[STORE_NAME_MAX + 1];	/* relative path */
	uint64_t	size;
	char		sha256[65];			/* hex */
	char		ctype[80];
	char		kind[16];			/* user, agent, skill, output */
	char		owner[64];			/* "" when unknown */
	int64_t		created;			/* unix seconds */
};

/*
 * Create the store directory if missing and make it uid:gid, 0700 (changing
 * only what differs); as root, before the privilege drop.
 */
int	store_prepare_dir(const char *path, uid_t uid, gid_t gid);
/* open it as its owner, after the drop: it must be ours and 0700 */
int	store_open_dir(const char *path);
/* the same for another directory of frontd's, of mode (the inbox) */
int	store_make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid);
/* a session's directory in the store, opened (O_DIRECTORY), or -1 */
int	store_session_fd(const char *sid);
void	store_init(int dirfd);

/*
 * Store 'len' bytes read from 'fd' at 'off' (or from 'data' when fd < 0) as
 * a new object in session sid (created when missing). Fills *m. Over a
 * quota it writes nothing: -1 with errno EDQUOT or ENOSPC.
 */
int	store_put(const char *sid, const char *name, int fd, uint64_t off,
	    const void *data, uint64_t len, const char *kind, const char *owner,
	    struct store_meta *m);
/*
 * A new object written as a stream (an upload): bytes go to a temporary
 * file in the session folder as they arrive, each write held to the store
 * quota and the free-space floor; commit makes it owner's object (the
 * owner's quota, fsync, the metadata record, rename, fsync of the folder),
 * abort removes it. A refusal sets w->why.
 */
struct store_writer {
	int				dir;	/* -1 when not open */
	int				fd;
	char				sid[CW_ID_LEN + 1];
	char				tmp[STORE_TMP_LEN];
	uint64_t			size;
	uint64_t			pending;	/* in the tally's pending bytes */
	enum quota_why			why;	/* the limit that refused it */
	crypto_hash_sha256_state	sha;
};

/* the session folder is created when missing */
int	store_writer_open(struct store_writer *w, const char *sid);
int	store_writer_write(struct store_writer *w, const void *data, size_t len);
int	store_writer_commit(struct store_writer *w, const char *name,
	    const char *kind, const char *owner, struct store_meta *m);
/* safe on a writer that is closed or was never opened */
void	store_writer_abort(struct store_writer *w);

/* open an object read-only; fills *m. -1 with errno ENOENT when missing */
int	store_get(const char *sid, const char *fid, struct store_meta *m);
int	store_meta(const char *sid, const char *fid, struct store_meta *m);
/* open the object of a record already read (store_meta, store_list) */
int	store_open(const struct store_meta *m);
/*
 * May 'who' see this object? Yes when either owner is unknown (""), else
 * only its owner. Everyone else is answered as if it did not exist.
 */
int	store_visible(const struct store_meta *m, const char *who);
/* remove one object; -1 with errno ENOENT when missing */
int	store_delete(const char *sid, const char *fid);
/*
 * Every object of a session, oldest first (then by name): a malloc'd array
 * in *list (NULL when empty). 0, or -1 with errno ENOENT for no session.
 */
int	store_list(const char *sid, struct store_meta **list, size_t *n);
/* "2026-01-31T12:00:00.000Z" */
void	store_iso8601(int64_t t, char out[32]);
/*
 * Remove objects older than lifetime seconds, and empty sessions; nothing
 * younger than STORE_GRACE_S is removed, with a record or without.
 */
#define STORE_GRACE_S	600
/* an object of this kind lives this long: lifetime_s, or workspace-lifetime */
uint32_t	store_lifetime(const char *kind, uint32_t lifetime_s);
void	store_sweep(uint32_t lifetime_s);
/* the same as if the time were 'now' (tests) */
void	store_sweep_at(uint32_t lifetime_s, int64_t now);
/* the policy's [files] limits in force */
void	store_limits(struct quota_limits *l);
/* "user-quota 1G" and the like: the limit 'why' names, for an answer */
const char *store_why(enum quota_why why, char *buf, size_t len);
/* the same for a refusal known only by its errno (EDQUOT, ENOSPC) */
const char *store_errno_why(int err, char *buf, size_t len);
const char *store_content_type(const char *name);

#endif
