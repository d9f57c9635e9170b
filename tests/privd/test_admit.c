/*
 * The admission queue (privd/admit.c): runs over the caps wait in order
 * within a user and round-robin between users, a freed slot goes to a
 * waiter before a newcomer, the queue and its waits are bounded, and a
 * reload or a stop never leaves a waiter behind.
 */
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "../lib/check.h"

static struct admit a;

static void
test_caps(void)
{
	enum admit_refusal why;
	int t[4], i;

	admit_init(&a, 4, 2, 1);
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_RUN);
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_RUN);
	/* per-user 2: the third waits, the fourth finds the queue full */
	CHECK(admit_enter(&a, "u", 10, &t[1]) == ADMIT_WAIT && t[1] >= 0);
	CHECK(admit_enter(&a, "u", 10, &t[2]) == ADMIT_FULL && t[2] == -1);
	CHECK(a.refused[ADMIT_REF_FULL] == 1);
	/* another user is under both caps: it runs at once */
	CHECK(admit_enter(&a, "v", 10, &t[2]) == ADMIT_RUN);
	CHECK(admit_state(&a, t[1]) == ADMIT_WAITING);
	admit_release(&a, "u");
	CHECK(admit_state(&a, t[1]) == ADMIT_GRANTED);
	CHECK(a.running == 3 && a.waiting == 0);
	CHECK(admit_collect(&a, t[1], 510, &why) == 1);
	CHECK(a.waits == 1 && a.wait_ms == 500);
	CHECK(admit_state(&a, t[1]) == ADMIT_FREE);
	for (i = 0; i < 3; i++)
		admit_release(&a, i == 2 ? "v" : "u");
	CHECK(a.running == 0);
	/* a release that was never admitted changes nothing */
	admit_release(&a, "nobody");
	CHECK(a.running == 0);

	/* queue 0: today's behaviour, refused at once */
	admit_init(&a, 1, 1, 0);
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_RUN);
	CHECK(admit_enter(&a, "w", 0, &t[0]) == ADMIT_FULL);
}

/* a run that just ended cannot take its slot back ahead of a waiter */
static void
test_no_barging(void)
{
	int t[2];

	admit_init(&a, 1, 1, 4);
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_RUN);
	CHECK(admit_enter(&a, "w", 0, &t[1]) == ADMIT_WAIT);
	admit_release(&a, "u");
	CHECK(admit_state(&a, t[1]) == ADMIT_GRANTED);
	/* u comes straight back: it waits behind, not before */
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_WAIT);
	/* and a user's newcomer does not pass that user's own waiter */
	admit_init(&a, 2, 1, 4);
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_RUN);
	CHECK(admit_enter(&a, "u", 0, &t[1]) == ADMIT_WAIT);
	CHECK(admit_enter(&a, "u", 0, &t[0]) == ADMIT_WAIT);
	CHECK(a.users[a.q[t[1]].user].waiting == 2);
}

/* user A floods, B asks once: B is served before most of A's waiters */
static void
test_fair(void)
{
	enum admit_refusal why;
	const char *running[16];
	int t[9], order[9], n = 0, head = 0, tail = 0, i;

	admit_init(&a, 2, 2, 16);
	for (i = 0; i < 2; i++) {
		CHECK(admit_enter(&a, "A", 0, &t[0]) == ADMIT_RUN);
		running[tail++] = "A";
	}
	for (i = 0; i < 8; i++)
		CHECK(admit_enter(&a, "A", 0, &t[i]) == ADMIT_WAIT);
	CHECK(admit_enter(&a, "B", 0, &t[8]) == ADMIT_WAIT);
	/* the oldest run ends, its slot goes to someone: record whom */
	while (head < tail && n < 9) {
		admit_release(&a, running[head++]);
		for (i = 0; i < 9; i++) {
			if (t[i] < 0 || admit_state(&a, t[i]) != ADMIT_GRANTED)
				continue;
			CHECK(admit_collect(&a, t[i], 0, &why) == 1);
			t[i] = -1;
			order[n++] = i;
			running[tail++] = i == 8 ? "B" : "A";
		}
	}
	CHECK(n == 9);
	/* B within the first two turns, A's in their order */
	for (i = 0; i < n && order[i] != 8; i++)
		;
	CHECK(i < 2);
	for (i = 1; i < n; i++)
		if (order[i] != 8 && order[i - 1] != 8)
			CHECK(order[i] > order[i - 1]);
}

/* round-robin between three users who all wait */
static void
test_round_robin(void)
{
	enum admit_refusal why;
	const char *names[3] = { "a", "b", "c" };
	int t[3][3], u, i, served[3] = { 0, 0, 0 }, k;

	admit_init(&a, 1, 1, 16);
	CHECK(admit_enter(&a, "z", 0, &i) == ADMIT_RUN);
	for (i = 0; i < 3; i++)
		for (u = 0; u < 3; u++)
			CHECK(admit_enter(&a, names[u], 0, &t[u][i]) == ADMIT_WAIT);
	admit_release(&a, "z");
	for (k = 0; k < 9; k++) {
		int who = -1;

		for (u = 0; u < 3; u++)
			for (i = 0; i < 3; i++)
				if (t[u][i] >= 0 && admit_state(&a, t[u][i]) == ADMIT_GRANTED) {
					who = u;
					CHECK(admit_collect(&a, t[u][i], 0, &why) == 1);
					t[u][i] = -1;
				}
		CHECK(who >= 0);
		if (who < 0)
			return;
		served[who]++;
		/* after every third turn each user has had the same share */
		if (k % 3 == 2)
			CHECK(served[0] == served[1] && served[1] == served[2]);
		admit_release(&a, names[who]);
	}
	CHECK(a.running == 0 && a.waiting == 0);
}

static void
test_timeout_reload_stop(void)
{
	enum admit_refusal why;
	int t[4], i;

	admit_init(&a, 1, 1, 4);
	CHECK(admit_enter(&a, "u", 0, &i) == ADMIT_RUN);
	for (i = 0; i < 4; i++)
		CHECK(admit_enter(&a, "w", 100, &t[i]) == ADMIT_WAIT);
	/* the first gives up: counted as a timeout, its place freed */
	CHECK(admit_collect(&a, t[0], 30100, &why) == 0 && why == ADMIT_REF_TIMEOUT);
	CHECK(a.refused[ADMIT_REF_TIMEOUT] == 1 && a.waiting == 3);
	CHECK(a.waits == 1 && a.wait_ms == 30000);
	/* a reload to queue 1: the two newest are refused, the oldest stays */
	admit_limits(&a, 1, 1, 1);
	CHECK(admit_state(&a, t[1]) == ADMIT_WAITING);
	CHECK(admit_state(&a, t[2]) == ADMIT_REFUSED && admit_state(&a, t[3]) == ADMIT_REFUSED);
	CHECK(admit_collect(&a, t[3], 200, &why) == 0 && why == ADMIT_REF_SHRUNK);
	CHECK(admit_collect(&a, t[2], 200, &why) == 0);
	CHECK(a.refused[ADMIT_REF_SHRUNK] == 2);
	/* a reload to total 2 grants the waiter at once */
	admit_limits(&a, 2, 1, 1);
	CHECK(admit_state(&a, t[1]) == ADMIT_GRANTED);
	CHECK(admit_collect(&a, t[1], 300, &why) == 1);
	/* a stop refuses every waiter and every newcomer */
	CHECK(admit_enter(&a, "x", 0, &t[0]) == ADMIT_WAIT);
	admit_close(&a);
	CHECK(admit_state(&a, t[0]) == ADMIT_REFUSED);
	CHECK(admit_collect(&a, t[0], 0, &why) == 0 && why == ADMIT_REF_STOP);
	CHECK(admit_enter(&a, "y", 0, &t[0]) == ADMIT_FULL);
	CHECK(a.waiting == 0);
}

/* the tables are bounded: a full queue refuses, the ceiling holds */
static void
test_bounds(void)
{
	char name[16];
	int t, i, waits = 0;

	admit_init(&a, 1, 1, 1000);
	CHECK(a.queue == POLICY_QUEUE_CEIL);
	CHECK(admit_enter(&a, "first", 0, &t) == ADMIT_RUN);
	for (i = 0; i < 3 * POLICY_QUEUE_CEIL; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		waits += admit_enter(&a, name, 0, &t) == ADMIT_WAIT;
	}
	CHECK(waits == POLICY_QUEUE_CEIL);
	CHECK(a.refused[ADMIT_REF_FULL] == 2 * POLICY_QUEUE_CEIL);
}

int
main(void)
{
	test_caps();
	test_no_barging();
	test_fair();
	test_round_robin();
	test_timeout_reload_stop();
	test_bounds();
	return check_done("test_admit");
}
