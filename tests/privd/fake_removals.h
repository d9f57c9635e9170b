/*
 * The removal side of the privd unit tests' fake Docker (struct
 * sandbox_ops's remove): every id removed, in order, for the checks.
 */
#ifndef CW_TEST_FAKE_REMOVALS_H
#define CW_TEST_FAKE_REMOVALS_H

#include <stdio.h>
#include <string.h>

#include "docker.h"

static char	removed[64][DK_ID_LEN + 1];
static size_t	nremoved;

static void
fake_remove(struct dk *dk, const char *id)
{
	(void)dk;
	if (nremoved < sizeof(removed) / sizeof(removed[0]))
		snprintf(removed[nremoved++], DK_ID_LEN + 1, "%s", id);
}

static int __attribute__((unused))
was_removed(const char *id)
{
	size_t i;

	for (i = 0; i < nremoved; i++)
		if (strcmp(removed[i], id) == 0)
			return 1;
	return 0;
}

#endif
