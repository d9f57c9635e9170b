/*
 * The store's sweep (store.h): objects past their lifetime, writes that
 * never finished, records without their object, empty sessions. Under
 * [store] backend s3 the local directory is a cache: what goes here is
 * only the cache's copy, and the objects themselves are swept in the
 * bucket (store_s3.c).
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "current.h"
#include "policy.h"
#include "store_int.h"
#include "store_s3.h"

#define STORE_TMP_AGE_S	3600	/* a write this long untouched is dead */

static void	sweep(uint32_t lifetime_s, int start, time_t now);

void
store_sweep(uint32_t lifetime_s)
{
	sweep(lifetime_s, 0, time(NULL));
}

void
store_sweep_at(uint32_t lifetime_s, int64_t now)
{
	sweep(lifetime_s, 0, (time_t)now);
}

/* seconds since the entry was last written or renamed */
static time_t
age(int dir, const char *name, time_t now)
{
	struct stat st;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	return now - (st.st_mtime > st.st_ctime ? st.st_mtime : st.st_ctime);
}

/* "<id>.meta": its id in 'id' */
static int
meta_name(const char *name, char id[CW_ID_LEN + 1])
{
	if (strlen(name) != CW_ID_LEN + 5 || strcmp(name + CW_ID_LEN, ".meta") != 0)
		return 0;
	memcpy(id, name, CW_ID_LEN);
	id[CW_ID_LEN] = '\0';
	return cw_id_ok(id);
}

/*
 * One session folder; the entries it keeps. Nothing younger than
 * STORE_GRACE_S goes, whatever its record says. A temporary file of an
 * earlier frontd (one frontd writes a store) goes at any age, this
 * frontd's after STORE_TMP_AGE_S untouched. At the start nothing is being
 * written: every record without its object goes too (a commit cut between
 * the two renames); the objects kept are counted into the tally.
 */
static int
sweep_session(int sfd, time_t now, uint32_t lifetime_s, int start)
{
	struct dirent *fe;
	DIR *sd;
	int left = 0;

	if ((sd = fdopendir(sfd)) == NULL) {
		close(sfd);
		return 1;
	}
	while ((fe = readdir(sd)) != NULL) {
		char metaname[CW_ID_LEN + 8], id[CW_ID_LEN + 1];
		struct store_meta m;
		time_t a;

		if (strncmp(fe->d_name, ".tmp.", 5) == 0) {
			/* a write that never finished: an earlier frontd's, or long idle */
			if ((a = age(sfd, fe->d_name, now)) >= 0 &&
			    (start || a >= STORE_TMP_AGE_S ||
			    strncmp(fe->d_name + 5, store_gen, STORE_GEN_LEN) != 0))
				unlinkat(sfd, fe->d_name, 0);
			else
				left++;
			continue;
		}
		if (meta_name(fe->d_name, id)) {
			/* a record whose object never arrived */
			if (age(sfd, id, now) < 0 && errno == ENOENT &&
			    (a = age(sfd, fe->d_name, now)) >= 0 &&
			    (start || a >= STORE_GRACE_S))
				unlinkat(sfd, fe->d_name, 0);
			else
				left++;
			continue;
		}
		if (!cw_id_ok(fe->d_name))
			continue;
		if ((a = age(sfd, fe->d_name, now)) < 0)
			continue;
		left++;
		if (store_meta_read(sfd, fe->d_name, &m) == 0) {
			if (a < STORE_GRACE_S || now - m.created <
			    (time_t)store_lifetime(m.kind, lifetime_s)) {
				/* backend s3: a cache's copy, the bucket's sweep counts */
				if (start && !store_s3_on())
					quota_count(m.owner, m.size);
				continue;
			}
			/* the record first, as store_delete: it alone says who paid */
			snprintf(metaname, sizeof(metaname), "%s.meta", fe->d_name);
			if (unlinkat(sfd, metaname, 0) == 0 && !store_s3_on())
				quota_release(m.owner, m.size);
			unlinkat(sfd, fe->d_name, 0);
			left--;
			continue;
		}
		/* no record (a hand removed it, or an older frontd's race) */
		if (a < STORE_GRACE_S)
			continue;
		snprintf(metaname, sizeof(metaname), "%s.meta", fe->d_name);
		unlinkat(sfd, fe->d_name, 0);
		unlinkat(sfd, metaname, 0);
		left--;
	}
	closedir(sd);
	return left;
}

static void
sweep(uint32_t lifetime_s, int start, time_t now)
{
	DIR *top;
	struct dirent *se;
	int topfd;

	if ((topfd = dup(store_fd)) < 0)
		return;
	if ((top = fdopendir(topfd)) == NULL) {
		close(topfd);
		return;
	}
	rewinddir(top);
	while ((se = readdir(top)) != NULL) {
		time_t a;
		int sfd;

		if (!cw_id_ok(se->d_name))
			continue;
		/* a folder just made may be about to receive its first file */
		if ((a = age(store_fd, se->d_name, now)) < 0)
			continue;
		if ((sfd = openat(store_fd, se->d_name, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		if (sweep_session(sfd, now, lifetime_s, start) == 0 &&
		    (start || a >= STORE_GRACE_S))
			unlinkat(store_fd, se->d_name, AT_REMOVEDIR);
	}
	closedir(top);
}

uint32_t
store_lifetime(const char *kind, uint32_t lifetime_s)
{
	/* an attached workspace's file: workspace-lifetime */
	return strcmp(kind, "workspace") == 0 ? current_policy()->ws_lifetime_s :
	    lifetime_s;
}

void
store_sweep_start(void)
{
	sweep(UINT32_MAX, 1, time(NULL));
}
