/*
 * The store's byte tally (quota.h): an open-addressed table of owners,
 * twice as many slots as owners so a probe stays short, one lock. Pure
 * arithmetic: store.c decides when bytes move, this file whether they may.
 */
#include "quota.h"

#include <pthread.h>
#include <string.h>

#define SLOTS	(QUOTA_OWNERS_MAX * 2)

struct owner {
	char		name[QUOTA_OWNER_MAX];
	int		used_slot;
	uint64_t	bytes;
};

static pthread_mutex_t	lock = PTHREAD_MUTEX_INITIALIZER;
static struct owner	slots[SLOTS];
static struct owner	overflow;	/* every owner past QUOTA_OWNERS_MAX */
static unsigned		nowners;
static uint64_t		total, pending;
static uint64_t		epoch;	/* moves at every commit and release */

/* only the slots in use are written: the table's untouched pages stay unmapped */
void
quota_reset(void)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < SLOTS; i++)
		if (slots[i].used_slot)
			memset(&slots[i], 0, sizeof(slots[i]));
	memset(&overflow, 0, sizeof(overflow));
	nowners = 0;
	total = pending = 0;
	pthread_mutex_unlock(&lock);
}

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * owner's entry; with 'add', one is made while the table has room. Once
 * the table is full an owner without an entry has the overflow entry (it
 * was full before that owner's first byte, and never empties in a run).
 * NULL when owner has none and the table has room. Under the lock.
 */
static struct owner *
find(const char *owner, int add)
{
	uint32_t i = hash(owner) % SLOTS;
	size_t n = strnlen(owner, QUOTA_OWNER_MAX);

	if (n == QUOTA_OWNER_MAX)
		return &overflow;	/* never stored: store_meta bounds it */
	for (;;) {
		struct owner *o = &slots[i];

		if (!o->used_slot)
			break;
		if (strcmp(o->name, owner) == 0)
			return o;
		i = (i + 1) % SLOTS;
	}
	if (nowners == QUOTA_OWNERS_MAX)
		return &overflow;
	if (!add)
		return NULL;
	memcpy(slots[i].name, owner, n + 1);
	slots[i].used_slot = 1;
	nowners++;
	return &slots[i];
}

static int
over(uint64_t have, uint64_t n, uint64_t limit)
{
	return limit != 0 && (have > limit || n > limit - have);
}

void
quota_count(const char *owner, uint64_t n)
{
	pthread_mutex_lock(&lock);
	find(owner, 1)->bytes += n;
	total += n;
	pthread_mutex_unlock(&lock);
}

uint64_t
quota_epoch(void)
{
	uint64_t e;

	pthread_mutex_lock(&lock);
	e = epoch;
	pthread_mutex_unlock(&lock);
	return e;
}

int
quota_restate(const struct quota_entry *v, size_t n, uint64_t seen)
{
	size_t i;

	pthread_mutex_lock(&lock);
	if (epoch != seen) {
		pthread_mutex_unlock(&lock);
		return -1;
	}
	for (i = 0; i < SLOTS; i++)
		if (slots[i].used_slot)
			slots[i].bytes = 0;
	overflow.bytes = 0;
	total = 0;
	for (i = 0; i < n; i++) {
		find(v[i].owner, 1)->bytes += v[i].bytes;
		total += v[i].bytes;
	}
	pthread_mutex_unlock(&lock);
	return 0;
}

void
quota_release(const char *owner, uint64_t n)
{
	struct owner *o;

	pthread_mutex_lock(&lock);
	/* never more than the owner was counted (an owner unknown: none) */
	if ((o = find(owner, 0)) != NULL) {
		n = n < o->bytes ? n : o->bytes;
		o->bytes -= n;
		total -= n;
	}
	epoch++;
	pthread_mutex_unlock(&lock);
}

/* may an owner holding 'mine' add n bytes to a store holding 'all'? */
static enum quota_why
judge(uint64_t mine, uint64_t all, uint64_t n, const struct quota_limits *l)
{
	if (over(mine, n, l->user))
		return QUOTA_USER;
	return over(all, n, l->store) ? QUOTA_STORE : QUOTA_OK;
}

enum quota_why
quota_check(const char *owner, uint64_t n, const struct quota_limits *l)
{
	enum quota_why why;
	struct owner *o;

	pthread_mutex_lock(&lock);
	o = find(owner, 0);
	why = judge(o != NULL ? o->bytes : 0, total + pending, n, l);
	pthread_mutex_unlock(&lock);
	return why;
}

enum quota_why
quota_pend(uint64_t n, const struct quota_limits *l)
{
	enum quota_why why = QUOTA_OK;

	pthread_mutex_lock(&lock);
	if (over(total + pending, n, l->store))
		why = QUOTA_STORE;
	else
		pending += n;
	pthread_mutex_unlock(&lock);
	return why;
}

void
quota_unpend(uint64_t n)
{
	pthread_mutex_lock(&lock);
	pending -= n < pending ? n : pending;
	pthread_mutex_unlock(&lock);
}

enum quota_why
quota_commit(const char *owner, uint64_t n, const struct quota_limits *l)
{
	enum quota_why why;
	struct owner *o;
	uint64_t held;

	pthread_mutex_lock(&lock);
	o = find(owner, 1);
	held = n < pending ? n : pending;	/* the n bytes, pending already */
	if ((why = judge(o->bytes, total + pending - held, n, l)) == QUOTA_OK) {
		pending -= held;
		o->bytes += n;
		total += n;
		epoch++;
	}
	pthread_mutex_unlock(&lock);
	return why;
}

enum quota_why
quota_floor(uint64_t avail, uint64_t n, const struct quota_limits *l)
{
	if (l->floor == 0)
		return QUOTA_OK;
	return avail < n || avail - n < l->floor ? QUOTA_FLOOR : QUOTA_OK;
}

uint64_t
quota_used(const char *owner)
{
	struct owner *o;
	uint64_t n;

	pthread_mutex_lock(&lock);
	o = find(owner, 0);
	n = o != NULL ? o->bytes : 0;
	pthread_mutex_unlock(&lock);
	return n;
}

void
quota_stats(uint64_t *stored, uint64_t *pend, unsigned *owners)
{
	pthread_mutex_lock(&lock);
	*stored = total;
	*pend = pending;
	*owners = nowners;
	pthread_mutex_unlock(&lock);
}
