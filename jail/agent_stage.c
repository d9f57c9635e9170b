/*
 * codeward-agent's job directory: a fresh one per job (emptied /mnt/data
 * without -j, a new directory under /mnt/data/.codeward-agent with -j, bound
 * on /mnt/data by codeward-jail) or, for a session, one kept for all its
 * jobs (a file staged under an existing name replaces it); the input files
 * staged in it, the snapshot of what staging left (size, mtime, inode), and
 * the ustar archive of every regular file the job created or changed since
 * that snapshot, as frontd reads the engine's own (entries under "data/",
 * common/ustar.h's limits, a PAX path where ustar's fields cannot hold
 * one). In a session the jail's processes outlive a job and may race the
 * agent: every path below the directory is staged and walked from
 * descriptors with O_NOFOLLOW, and a file is archived only when the
 * descriptor opened is the regular file that was walked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "agent.h"
#include "jail.h"
#include "ustar.h"

static unsigned long job_seq;
static int session_begun;	/* the session's directory exists */

/* a path below the job directory the walk goes into: longer ones are left */
#define WALK_PATH_MAX	1024

/* a regular file of the walk: its directory, name, "/a/b", lstat */
typedef int (*walk_fn)(struct agent_job *, int, const char *, const char *,
    const struct stat *);
static unsigned char *arc;		/* FRAME_PIECE_MAX bytes being filled */
static size_t arc_len;
static uint64_t arc_total;
static char dirs_sent[64][USTAR_PATH_MAX + 1];	/* sent this archive */
static size_t ndirs_sent;

/*
 * remove everything under dir; 0 or -1. By descriptors, no link followed,
 * any depth, a directory the job locked opened up first (jail/rmtree.c)
 */
static int
empty_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	rc = jail_empty(fd);
	close(fd);
	return rc;
}

int
agent_stage_init(int jailed)
{
	if (jailed && mkdir(AGENT_JOBS, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
agent_stage_begin(struct agent_job *j)
{
	if (j->session) {
		snprintf(j->dir, sizeof(j->dir), "%s",
		    j->jailed ? AGENT_SESSION : AGENT_WORKDIR);
		if (session_begun)
			return 0;
		session_begun = 1;
		return j->jailed ? mkdir(j->dir, 0700) : empty_dir(j->dir);
	}
	if (!j->jailed) {
		snprintf(j->dir, sizeof(j->dir), "%s", AGENT_WORKDIR);
		return empty_dir(j->dir);
	}
	return agent_stage_newdir(j->dir, sizeof(j->dir));
}

int
agent_stage_newdir(char *dir, size_t n)
{
	snprintf(dir, n, "%s/%lu", AGENT_JOBS, ++job_seq);
	return mkdir(dir, 0700);
}

/*
 * The directory name below dfd, never a link: O_NOFOLLOW alone is not
 * enough, gVisor 20221219 follows a final link with O_DIRECTORY. So the
 * descriptor must be the directory lstat saw: a link swapped in between
 * leads to another inode and fails.
 */
static int
open_subdir(int dfd, const char *name)
{
	struct stat a, b;
	int fd;

	if (fstatat(dfd, name, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(a.st_mode))
		return -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &b) < 0 || b.st_dev != a.st_dev || b.st_ino != a.st_ino) {
		close(fd);
		return -1;
	}
	return fd;
}

/* dir/name opened below the directory open as dfd, no link followed */
static int
open_below(int dfd, char *name, int replace)
{
	char *part, *next;
	int fd;

	if ((dfd = dup(dfd)) < 0)
		return -1;
	for (part = name; (next = strchr(part, '/')) != NULL; part = next + 1) {
		*next = '\0';
		fd = -1;
		if ((mkdirat(dfd, part, 0755) == 0 || errno == EEXIST))
			fd = open_subdir(dfd, part);
		*next = '/';
		close(dfd);
		if ((dfd = fd) < 0)
			return -1;
	}
	if (replace && unlinkat(dfd, part, 0) < 0 && errno != ENOENT) {
		close(dfd);
		return -1;
	}
	fd = openat(dfd, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	close(dfd);
	return fd;
}

/* the job directory itself, never through a link */
static int
open_dir(const struct agent_job *j)
{
	return open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int
agent_stage_file(struct agent_job *j, const unsigned char *name, size_t n)
{
	char path[FRAME_NAME_MAX + 1];
	int dfd, fd;

	/* the name passed frame_name_check: relative, no . or .. part */
	memcpy(path, name, n);
	path[n] = '\0';
	if ((dfd = open_dir(j)) < 0)
		return -1;
	fd = open_below(dfd, path, j->session);
	close(dfd);
	return fd;
}

int
agent_stage_link(int fd, const unsigned char *p, size_t n)
{
	struct frame_link l;
	struct stat st;
	char path[sizeof(AGENT_INBOX) + FRAME_INBOX_LEN + 16];
	const char *why;
	uint64_t left;
	ssize_t k;
	int in;

	/* the channel checked it; the agent checks what it opens by it */
	if (frame_link_parse(p, n, &l, &why) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/%u", AGENT_INBOX, l.inbox, l.index);
	if ((in = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != l.size) {
		close(in);
		return -1;
	}
	/* in the kernel, page cache to the job's tmpfs: the one copy */
	for (left = l.size; left > 0; left -= (uint64_t)k) {
		k = sendfile(fd, in, NULL, left < (1u << 30) ? (size_t)left : (1u << 30));
		if (k <= 0)
			break;
	}
	close(in);
	return left == 0 ? 0 : -1;
}

int
agent_code_add(struct agent_job *j, const unsigned char *p, size_t n)
{
	unsigned char *c;

	if (n > AGENT_CODE_MAX - j->code_len ||
	    (c = realloc(j->code, j->code_len + n)) == NULL)
		return -1;
	memcpy(c + j->code_len, p, n);
	j->code = c;
	j->code_len += n;
	return 0;
}

/*
 * Every regular file below the directory open as fd (taken) but the top's
 * .codeward, depth first in directory order, by descriptor: no link is
 * followed, so what a session's processes swap in while it runs leads the
 * walk nowhere outside. -1 when fn says so.
 */
static int
walk_dir(struct agent_job *j, int fd, char *rel, size_t len, walk_fn fn)
{
	struct dirent *e;
	struct stat st;
	size_t k;
	DIR *d;
	int sub, rc = 0;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		k = strlen(e->d_name);
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (len == 0 && strcmp(e->d_name, ".codeward") == 0) ||
		    len + 1 + k > WALK_PATH_MAX ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		rel[len] = '/';
		memcpy(rel + len + 1, e->d_name, k + 1);
		if (S_ISREG(st.st_mode))
			rc = fn(j, dirfd(d), e->d_name, rel, &st);
		else if (S_ISDIR(st.st_mode) &&
		    (sub = open_subdir(dirfd(d), e->d_name)) >= 0)
			rc = walk_dir(j, sub, rel, len + 1 + k, fn);
		rel[len] = '\0';
	}
	closedir(d);
	return rc;
}

static int
walk(struct agent_job *j, walk_fn fn)
{
	char rel[WALK_PATH_MAX + 1] = "";
	int fd;

	if ((fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	return walk_dir(j, fd, rel, 0, fn);
}

static int
snap_entry(struct agent_job *j, int dfd, const char *name, const char *rel,
    const struct stat *st)
{
	struct agent_snap *s;

	(void)dfd;
	(void)name;
	if (j->nsnap == AGENT_SNAP_MAX)
		return -1;
	if (j->nsnap % 64 == 0) {
		if ((s = realloc(j->snap, (j->nsnap + 64) * sizeof(*s))) == NULL)
			return -1;
		j->snap = s;
	}
	s = &j->snap[j->nsnap];
	if ((s->path = strdup(rel)) == NULL)
		return -1;
	s->size = st->st_size;
	s->ino = st->st_ino;
	s->mtime = st->st_mtim;
	s->kept = 0;
	j->nsnap++;
	return 0;
}

/* n bytes of p into a new file name below dfd */
static int
put_below(int dfd, char *name, const void *p, size_t n)
{
	int fd, rc = -1;

	if ((fd = open_below(dfd, name, 0)) < 0)
		return -1;
	if (n == 0 || write(fd, p, n) == (ssize_t)n)
		rc = 0;
	return close(fd) < 0 ? -1 : rc;
}

int
agent_stage_seal(struct agent_job *j, int *code_in_env)
{
	char name[] = ".codeward/code", args[] = ".codeward/args";
	int dfd, rc;

	/*
	 * a session's server and a zygote's child read the code's file, and
	 * so does a jailed program: in the environment the code would stay in
	 * the jail's init, visible in a fresh /proc (under runsc) as its own
	 */
	*code_in_env = !j->jailed && j->srv == NULL && !j->zyg &&
	    j->code_len <= AGENT_CODE_ENV &&
	    memchr(j->code, '\0', j->code_len) == NULL;
	if (walk(j, snap_entry) != 0)
		return -1;
	if (*code_in_env)
		return 0;
	if ((dfd = open_dir(j)) < 0)
		return -1;
	/* a session's .codeward, whatever the jail left there: by
	 * descriptors, no link followed (jail/rmtree.c) */
	if ((j->session && jail_rmtree(dfd, ".codeward") < 0) ||
	    mkdirat(dfd, ".codeward", 0700) < 0) {
		close(dfd);
		return -1;
	}
	rc = put_below(dfd, name, j->code, j->code_len);
	/* a session's server takes no argv: its call's args, each
	 * NUL-terminated, beside the code (cw_session.py reads both) */
	if (rc == 0 && j->srv != NULL && j->argc > 0)
		rc = put_below(dfd, args, j->args, j->args_len);
	close(dfd);
	return rc;
}

static void
arc_put(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t k;

	while (n > 0) {
		k = FRAME_PIECE_MAX - arc_len < n ? FRAME_PIECE_MAX - arc_len : n;
		memcpy(arc + arc_len, b, k);
		arc_len += k;
		arc_total += k;
		b += k;
		n -= k;
		if (arc_len == FRAME_PIECE_MAX) {
			agent_send(FRAME_ARCHIVE, arc, arc_len);
			arc_len = 0;
		}
	}
}

/* a header block of name, or -1 when ustar's fields cannot hold it */
static int
hdr_block(unsigned char blk[USTAR_BLOCK], const char *name, size_t n,
    unsigned char type, uint64_t mode, uint64_t size, uint64_t mtime)
{
	struct ustar_hdr h;

	memset(&h, 0, sizeof(h));
	if (n > USTAR_PATH_MAX)
		return -1;
	memcpy(h.path, name, n);
	h.pathlen = n;
	h.type = type;
	h.mode = mode & 0777;
	h.uid = (uint64_t)geteuid();	/* the sandbox user's, as root too */
	h.gid = (uint64_t)getegid();
	h.size = size;
	h.mtime = mtime;
	return ustar_write(blk, &h);
}

/*
 * The PAX record "<len> path=<name>\n" into rec (len counts the whole
 * record, its own digits too): its length, or 0 when it does not fit.
 */
static size_t
pax_path(char *rec, size_t reclen, const char *name)
{
	size_t len = strlen(name) + 7, d;	/* ' ' "path=" name '\n' */
	int k;

	for (d = 1; d < 4 && len + d >= (d == 1 ? 10u : d == 2 ? 100u : 1000u);
	    d++)
		;
	len += d;
	k = snprintf(rec, reclen, "%zu path=%s\n", len, name);
	return k > 0 && (size_t)k == len ? len : 0;
}

/* the bytes name's headers take: one block, or three with a PAX path */
static uint64_t
hdr_bytes(const char *name)
{
	unsigned char blk[USTAR_BLOCK];

	return hdr_block(blk, name, strlen(name), USTAR_FILE, 0, 0, 0) == 0 ?
	    USTAR_BLOCK : 3 * USTAR_BLOCK;
}

/*
 * name's header. A name up to USTAR_OUT_PATH_MAX that ustar's fields
 * cannot hold (a component over 100 bytes, or no '/' to split it at) goes
 * as the engine's archive carries it: a PAX header with its path, then a
 * header under the name cut to 100 bytes. frontd's walker reads it as the
 * engine's: a component over 100 bytes skipped and counted
 * (name_too_long), any other kept.
 */
static int
arc_header(const char *name, unsigned char type, uint64_t mode, uint64_t size,
    uint64_t mtime)
{
	unsigned char blk[USTAR_BLOCK], pax[USTAR_BLOCK], rec[USTAR_BLOCK];
	size_t n = strlen(name), cut, reclen;

	if (n > USTAR_OUT_PATH_MAX)
		return -1;
	if (hdr_block(blk, name, n, type, mode, size, mtime) == 0) {
		arc_put(blk, sizeof(blk));
		return 0;
	}
	/* the cut at a character's start: not inside a UTF-8 sequence */
	for (cut = n < USTAR_NAME_LEN ? n : USTAR_NAME_LEN; cut > 0 &&
	    cut < n && ((unsigned char)name[cut] & 0xc0) == 0x80; cut--)
		;
	memset(rec, 0, sizeof(rec));
	if (hdr_block(blk, name, cut, type, mode, size, mtime) < 0 ||
	    (reclen = pax_path((char *)rec, sizeof(rec), name)) == 0 ||
	    hdr_block(pax, "PaxHeader", 9, USTAR_PAX, 0644, reclen, mtime) < 0)
		return -1;
	arc_put(pax, sizeof(pax));
	arc_put(rec, sizeof(rec));
	arc_put(blk, sizeof(blk));
	return 0;
}

/* a directory entry, once per archive */
static void
arc_dir(const char *d)
{
	size_t i, n = strlen(d);

	for (i = 0; i < ndirs_sent; i++)
		if (strcmp(dirs_sent[i], d) == 0)
			return;
	if (n > USTAR_OUT_PATH_MAX ||
	    ndirs_sent == sizeof(dirs_sent) / sizeof(dirs_sent[0]))
		return;
	memcpy(dirs_sent[ndirs_sent++], d, n + 1);
	arc_header(d, USTAR_DIR, 0755, 0, 0);
}

/* "data/" and every directory above rel ("a/b/c" -> data/a/, data/a/b/) */
static void
arc_parents(const char *rel)
{
	char d[USTAR_PATH_MAX + 8];
	const char *s;

	arc_dir("data/");
	for (s = strchr(rel, '/'); s != NULL; s = strchr(s + 1, '/')) {
		snprintf(d, sizeof(d), "data/%.*s/", (int)(s - rel), rel);
		arc_dir(d);
	}
}

static int
changed(const struct agent_job *j, const char *rel, const struct stat *st)
{
	size_t i;

	for (i = 0; i < j->nsnap; i++)
		if (strcmp(j->snap[i].path, rel) == 0)
			return j->snap[i].size != st->st_size ||
			    j->snap[i].ino != st->st_ino ||
			    j->snap[i].mtime.tv_sec != st->st_mtim.tv_sec ||
			    j->snap[i].mtime.tv_nsec != st->st_mtim.tv_nsec;
	return 1;
}

/* an input still there as staging left it: in the kept list, not in the archive */
static int
kept_entry(struct agent_job *j, int dfd, const char *name, const char *rel,
    const struct stat *st)
{
	size_t i;

	(void)dfd;
	(void)name;
	if (changed(j, rel, st))
		return 0;
	for (i = 0; i < j->nsnap; i++)
		if (strcmp(j->snap[i].path, rel) == 0)
			j->snap[i].kept = 1;
	return 0;
}

/*
 * data/.codeward/kept: the inputs the job left as they were, one path a
 * line, so that the reader of the archive tells a deleted input from an
 * unchanged one (frontd/outputs.c). The job cannot forge it: the agent
 * never archives the job's own .codeward/. First in the archive, so the
 * archive cap never leaves it out; without it (nothing kept) every input
 * absent from the archive was deleted.
 */
static void
arc_kept(const struct agent_job *j)
{
	static char list[1 << 18];	/* 1024 paths of 255 bytes */
	unsigned char blk[USTAR_BLOCK];
	size_t i, n = 0, k, off;

	for (i = 0; i < j->nsnap; i++) {
		k = strlen(j->snap[i].path + 1);
		if (!j->snap[i].kept || n + k + 1 > sizeof(list))
			continue;
		memcpy(list + n, j->snap[i].path + 1, k);
		list[n + k] = '\n';
		n += k + 1;
	}
	if (n == 0 || USTAR_BLOCK * 4 + ustar_padded(n) > j->job.archive_max)
		return;
	arc_dir("data/");
	arc_dir("data/.codeward/");
	if (arc_header("data/.codeward/kept", USTAR_FILE, 0600, n, 0) < 0)
		return;
	for (off = 0; off < n; off += USTAR_BLOCK) {
		memset(blk, 0, sizeof(blk));
		memcpy(blk, list + off, n - off < USTAR_BLOCK ? n - off : USTAR_BLOCK);
		arc_put(blk, USTAR_BLOCK);
	}
}

static int
arc_entry(struct agent_job *j, int dfd, const char *base, const char *rel,
    const struct stat *st)
{
	char name[WALK_PATH_MAX + 8], dir[USTAR_OUT_PATH_MAX + 1];
	struct stat fst;
	unsigned char blk[USTAR_BLOCK];
	uint64_t left, need, k, got;
	const char *s;
	ssize_t n;
	int fd;

	if (!changed(j, rel, st) || strlen(rel) + 4 > USTAR_OUT_PATH_MAX)
		return 0;		/* unchanged, or a name the engine's leaves out */
	snprintf(name, sizeof(name), "data%s", rel);
	/* its header, its directories', the end of the archive and a spare */
	need = hdr_bytes(name) + 3 * USTAR_BLOCK +
	    ustar_padded((uint64_t)st->st_size);
	for (s = strchr(name, '/'); s != NULL; s = strchr(s + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(s - name + 1), name);
		need += hdr_bytes(dir);
	}
	if (arc_total + need > j->job.archive_max)
		return 0;		/* does not fit: left out */
	if ((fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return 0;
	/* the file walked, not one renamed over it since */
	if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) ||
	    fst.st_dev != st->st_dev || fst.st_ino != st->st_ino) {
		close(fd);
		return 0;
	}
	arc_parents(rel + 1);
	if (arc_header(name, USTAR_FILE, st->st_mode, (uint64_t)st->st_size,
	    (uint64_t)st->st_mtim.tv_sec) < 0) {
		close(fd);
		return 0;
	}
	/* exactly the size the header says: zeros if the file shrank */
	for (left = (uint64_t)st->st_size; left > 0; left -= k) {
		k = left < USTAR_BLOCK ? left : USTAR_BLOCK;
		memset(blk, 0, sizeof(blk));
		for (got = 0; got < k; got += (uint64_t)n)
			if ((n = read(fd, blk + got, k - got)) <= 0)
				break;
		arc_put(blk, USTAR_BLOCK);
	}
	close(fd);
	return 0;
}

void
agent_archive(struct agent_job *j)
{
	static unsigned char zero[2 * USTAR_BLOCK];

	if (j->failed || (arc == NULL && (arc = malloc(FRAME_PIECE_MAX)) == NULL))
		return;
	arc_len = 0;
	arc_total = 0;
	ndirs_sent = 0;
	walk(j, kept_entry);
	arc_kept(j);
	walk(j, arc_entry);
	if (arc_total > 0)
		arc_put(zero, sizeof(zero));
	if (arc_len > 0)
		agent_send(FRAME_ARCHIVE, arc, arc_len);
}

void
agent_stage_end(struct agent_job *j)
{
	size_t i;

	if (!j->session) {
		empty_dir(j->dir);
		if (j->jailed)
			rmdir(j->dir);
	}
	for (i = 0; i < j->nsnap; i++)
		free(j->snap[i].path);
	free(j->snap);
	free(j->code);
}
