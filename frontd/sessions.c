#include "sessions.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct sess {
	char			key[IPC_SESSION_LEN + 1];	/* "" when free */
	uint64_t		used;
	struct sess_file	*f;
	size_t			n;
};

static pthread_mutex_t	sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sess	*table;
static unsigned		table_max, files_max;

/* a fixed context: these keys mean nothing anywhere else */
static const unsigned char key_ctx[crypto_generichash_KEYBYTES] =
    "codeward stateful session key 1";

void
sess_init(unsigned max_sessions, unsigned max_files)
{
	table_max = max_sessions;
	files_max = max_files;
	if (max_sessions > 0 && (table = calloc(max_sessions, sizeof(*table))) == NULL)
		table_max = 0;
}

void
sess_key(const char *user, const char *hint, size_t hintlen, char *key)
{
	crypto_generichash_state st;
	unsigned char h[IPC_SESSION_LEN / 2];

	crypto_generichash_init(&st, key_ctx, sizeof(key_ctx), sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
	crypto_generichash_update(&st, (const unsigned char *)hint, hintlen);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(key, IPC_SESSION_LEN + 1, h, sizeof(h));
}

static struct sess *
find(const char *key)
{
	unsigned i;

	for (i = 0; i < table_max; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

struct sess_file *
sess_get(const char *key, size_t *n)
{
	struct sess_file *copy = NULL;
	struct sess *s;

	*n = 0;
	pthread_mutex_lock(&sess_lock);
	if ((s = find(key)) != NULL && s->n > 0 &&
	    (copy = malloc(s->n * sizeof(*copy))) != NULL) {
		memcpy(copy, s->f, s->n * sizeof(*copy));
		*n = s->n;
	}
	pthread_mutex_unlock(&sess_lock);
	return copy;
}

void
sess_set(const char *key, const struct sess_file *f, size_t n)
{
	struct sess *s, *lru = NULL;
	struct sess_file *copy = NULL;
	unsigned i;

	if (table_max == 0)
		return;
	if (n > files_max)
		n = files_max;
	if (n > 0 && (copy = malloc(n * sizeof(*copy))) == NULL)
		return;
	if (n > 0)
		memcpy(copy, f, n * sizeof(*copy));
	pthread_mutex_lock(&sess_lock);
	if ((s = find(key)) == NULL) {
		/* a free slot, else the least recently used */
		for (i = 0; i < table_max; i++) {
			if (table[i].key[0] == '\0') {
				lru = &table[i];
				break;
			}
			if (lru == NULL || table[i].used < lru->used)
				lru = &table[i];
		}
		s = lru;
		memcpy(s->key, key, IPC_SESSION_LEN + 1);
	}
	free(s->f);
	s->f = copy;
	s->n = n;
	s->used = cw_now_ms();
	pthread_mutex_unlock(&sess_lock);
}

void
sess_forget(const char *key)
{
	struct sess *s;

	pthread_mutex_lock(&sess_lock);
	if ((s = find(key)) != NULL) {
		free(s->f);
		memset(s, 0, sizeof(*s));
	}
	pthread_mutex_unlock(&sess_lock);
}

void
sess_follow(const char *key, uint32_t outcome, int listed,
    const struct sess_file *f, size_t n)
{
	switch (outcome) {
	case IPC_SESS_NEW_KEPT:
	case IPC_SESS_REUSED_KEPT:
		if (listed)
			sess_set(key, f, n);
		else if (outcome == IPC_SESS_NEW_KEPT)
			sess_forget(key);	/* fresh and untouched: nothing */
		break;				/* reused and untouched: as it was */
	case IPC_SESS_NEW_DROPPED:
	case IPC_SESS_REUSED_DROPPED:
		sess_forget(key);		/* the sandbox is gone */
		break;
	default:
		break;				/* none: not this call's to change */
	}
}

int
sess_reused(uint32_t outcome)
{
	return outcome == IPC_SESS_REUSED_KEPT || outcome == IPC_SESS_REUSED_DROPPED;
}
