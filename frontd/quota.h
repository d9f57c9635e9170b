/*
 * The store's byte tally: what each owner has stored, what is stored in
 * all, and what uploads still arriving hold in temporary files; kept in
 * memory so that no request rescans the store. store_init() builds it from
 * the records on disk; every commit, delete and sweep moves it. Sizes are
 * the objects' own (records and folders are not counted).
 *
 * The table is bounded: owners beyond QUOTA_OWNERS_MAX in one run share
 * one overflow entry, held to the per-user quota as if it were one user
 * (conservative: they can be refused early, never let past their quota).
 * An owner keeps its entry until frontd restarts. Calls without a user id
 * (owner "") are one owner like any other.
 */
#ifndef CW_QUOTA_H
#define CW_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#define QUOTA_OWNERS_MAX	4096
#define QUOTA_OWNER_MAX		64	/* as store_meta.owner */

/* which limit said no */
enum quota_why {
	QUOTA_OK,
	QUOTA_USER,		/* [files] user-quota: 413 */
	QUOTA_STORE,		/* [files] store-quota: 507 */
	QUOTA_FLOOR,		/* [files] free-space-floor: 507 */
};

/* 0 in any field: no such limit */
struct quota_limits {
	uint64_t	user;
	uint64_t	store;
	uint64_t	floor;
};

/* forget everything (store_init, before the count) */
void		quota_reset(void);
/* an object found at start-up: counted, never refused */
void		quota_count(const char *owner, uint64_t n);
/*
 * Every owner's stored bytes made again from a whole count (the bucket's
 * sweep under [store] backend s3: what every node stored), in one step;
 * the pending bytes stay. A count is whole only if no commit or release
 * moved the tally while it was taken: 'seen' is quota_epoch() from before
 * it began, and when the epoch moved since, nothing changes (-1) and the
 * caller counts again.
 */
struct quota_entry {
	char		owner[QUOTA_OWNER_MAX];
	uint64_t	bytes;
};
uint64_t	quota_epoch(void);
int		quota_restate(const struct quota_entry *v, size_t n, uint64_t seen);
/* an object removed (DELETE, the sweep, a commit undone) */
void		quota_release(const char *owner, uint64_t n);
/*
 * Would n more bytes of owner fit? Nothing is taken: a first look before
 * bytes are written (an output whose size is known).
 */
enum quota_why	quota_check(const char *owner, uint64_t n,
		    const struct quota_limits *l);
/* n more bytes in a temporary file: refused past the store quota */
enum quota_why	quota_pend(uint64_t n, const struct quota_limits *l);
/* n bytes of temporary files gone (aborted, or committed below) */
void		quota_unpend(uint64_t n);
/*
 * A temporary file of n pending bytes becomes owner's object: checked
 * against both quotas, then moved from pending to owner. On a refusal
 * nothing changes (the caller aborts, which unpends).
 */
enum quota_why	quota_commit(const char *owner, uint64_t n,
		    const struct quota_limits *l);
/*
 * n more bytes with 'avail' free on the store's filesystem: QUOTA_FLOOR
 * when fewer than l->floor would remain.
 */
enum quota_why	quota_floor(uint64_t avail, uint64_t n,
		    const struct quota_limits *l);

/* what owner has stored (the overflow entry's when it has none) */
uint64_t	quota_used(const char *owner);
/* stored in all, pending, and owners with an entry of their own */
void		quota_stats(uint64_t *stored, uint64_t *pend, unsigned *owners);

#endif
