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
limit_peer_net(const struct sockaddr *sa, struct policy_net *n)
{
	memset(n, 0, sizeof(*n));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		n->addr[10] = n->addr[11] = 0xff;
		memcpy(n->addr + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6)
		memcpy(n->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return -1;
	n->bits = 128;
	return 0;
}

static int
trusted(const struct policy_net *a, const struct policy_net *proxies,
    size_t nproxies)
{
	size_t i;

	for (i = 0; i < nproxies; i++)
		if (policy_net_match(&proxies[i], a))
			return 1;
	return 0;
}

/* X-Forwarded-For into hops[], left to right: their count, or -1 */
static int
xff_parse(const char *xff, struct policy_net *hops)
{
	char buf[LIMIT_XFF_MAX + 1], *e, *next;
	size_t len = strnlen(xff, LIMIT_XFF_MAX + 1);
	int n = 0;

	if (len > LIMIT_XFF_MAX)
		return -1;
	memcpy(buf, xff, len);
	buf[len] = '\0';
	for (e = buf; e != NULL; e = next) {
		char *end;

		if ((next = strchr(e, ',')) != NULL)
			*next++ = '\0';
		while (*e == ' ' || *e == '\t')
			e++;
		end = e + strlen(e);
		while (end > e && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (n == LIMIT_XFF_HOPS || policy_net_parse(e, 0, &hops[n]) != 0)
			return -1;
		n++;
	}
	return n;
}

void
limit_client(const struct policy_net *peer, const char *xff, size_t nxff,
    const struct policy_net *proxies, size_t nproxies,
    struct policy_net *client)
{
	struct policy_net hops[LIMIT_XFF_HOPS];
	int n, i;

	*client = *peer;
	if (!trusted(peer, proxies, nproxies) || xff == NULL || nxff != 1 ||
	    (n = xff_parse(xff, hops)) <= 0)
		return;
	for (i = n - 1; i > 0 && trusted(&hops[i], proxies, nproxies); i--)
		;
	*client = hops[i];
}

void
limit_addr_from_net(const struct policy_net *n, struct limit_addr *a)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (memcmp(n->addr, mapped, sizeof(mapped)) == 0)
		memcpy(a->b, n->addr, 16);	/* IPv4 */
	else
		memcpy(a->b, n->addr, 8);	/* its /64 */
}

int
limit_addr_from(const struct sockaddr *sa, struct limit_addr *a)
{
	struct policy_net n;

	memset(a, 0, sizeof(*a));
	if (sa == NULL)
		return -1;
	/* any other family (none today) shares the all-zero key */
	if (limit_peer_net(sa, &n) == 0)
		limit_addr_from_net(&n, a);
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
