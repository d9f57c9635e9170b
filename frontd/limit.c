#include "limit.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#define MILLI		1000u			/* one failure, in milli-tokens */
#define FULL		(LIMIT_BURST * MILLI)

struct slot {
	struct limit_addr	addr;
	uint32_t		tokens;		/* milli-tokens, 0..FULL */
	uint64_t		at_ms;		/* when tokens was computed */
	int			used;
};

static struct slot		slots[LIMIT_SLOTS];
static unsigned char		hkey[crypto_shorthash_KEYBYTES];
static pthread_mutex_t		lock = PTHREAD_MUTEX_INITIALIZER;

void
limit_init(void)
{
	randombytes_buf(hkey, sizeof(hkey));
	memset(slots, 0, sizeof(slots));
}

int
limit_addr_from(const struct sockaddr *sa, struct limit_addr *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memcpy(a->b, mapped, sizeof(mapped));
		memcpy(a->b + 12, &s4->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (memcmp(&s6->sin6_addr, mapped, sizeof(mapped)) == 0)
			memcpy(a->b, &s6->sin6_addr, 16);	/* IPv4 */
		else
			memcpy(a->b, &s6->sin6_addr, 8);	/* its /64 */
	}
	/* any other family (none today) shares the all-zero key */
	return 0;
}

static void
refill(struct slot *s, uint64_t now_ms)
{
	uint64_t add;

	if (now_ms <= s->at_ms)
		return;
	add = (now_ms - s->at_ms) / LIMIT_REFILL_S;	/* ms -> milli-tokens */
	if (add >= FULL - s->tokens) {
		s->tokens = FULL;
		s->at_ms = now_ms;
	} else {
		/* keep the remainder: no time is lost to rounding */
		s->tokens += (uint32_t)add;
		s->at_ms += add * LIMIT_REFILL_S;
	}
}

static size_t
home(const struct limit_addr *a)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, a->b, sizeof(a->b), hkey);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v % LIMIT_SLOTS);
}

/* the address's slot, or NULL; with lock held */
static struct slot *
find(const struct limit_addr *a)
{
	size_t h = home(a), i;

	for (i = 0; i < LIMIT_PROBE; i++) {
		struct slot *s = &slots[(h + i) % LIMIT_SLOTS];

		if (s->used && memcmp(&s->addr, a, sizeof(*a)) == 0)
			return s;
	}
	return NULL;
}

unsigned int
limit_check(const struct limit_addr *a, uint64_t now_ms)
{
	unsigned int wait = 0;
	struct slot *s;

	pthread_mutex_lock(&lock);
	if ((s = find(a)) != NULL) {
		refill(s, now_ms);
		if (s->tokens < MILLI) {
			/* milli-tokens missing x ms per milli-token, rounded up */
			uint64_t ms = (uint64_t)(MILLI - s->tokens) * LIMIT_REFILL_S;

			wait = (unsigned int)((ms + 999) / 1000);
			if (wait == 0)
				wait = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return wait;
}

void
limit_fail(const struct limit_addr *a, uint64_t now_ms)
{
	struct slot *s, *victim = NULL;
	size_t h, i;

	pthread_mutex_lock(&lock);
	if ((s = find(a)) == NULL) {
		h = home(a);
		for (i = 0; i < LIMIT_PROBE; i++) {
			struct slot *c = &slots[(h + i) % LIMIT_SLOTS];

			if (!c->used) {
				victim = c;
				break;
			}
			refill(c, now_ms);
			if (victim == NULL || c->tokens > victim->tokens)
				victim = c;
		}
		s = victim;
		memset(s, 0, sizeof(*s));
		s->used = 1;
		s->addr = *a;
		s->tokens = FULL;
		s->at_ms = now_ms;
	}
	refill(s, now_ms);
	s->tokens = s->tokens >= MILLI ? s->tokens - MILLI : 0;
	pthread_mutex_unlock(&lock);
}
