/*
 * frontd's inbox (inbox.h). The directory is 0711 and frontd's: a worker
 * (the sandbox uid, no capability) can open a name it is told but cannot
 * list one, and no jail sees the directory at all (jail/jail.c). A link is
 * the stored file itself, made readable by others (its store directory,
 * 0700, still keeps everyone out that way); it lives while its run does.
 */
#include "inbox.h"

#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "current.h"
#include "log.h"
#include "policy.h"
#include "store.h"
#include "util.h"

#define INBOX_MODE	0711
#define INBOX_RUN_MODE	0711
#define INBOX_FILE_MODE	0644

static int inbox_fd = -1;

int
inbox_prepare(const char *path, uid_t uid, gid_t gid)
{
	return store_make_dir(path, INBOX_MODE, uid, gid);
}

/* a run's directory left by an earlier frontd: its links, then itself */
static void
remove_run(int dfd, const char *name)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) >= 0 && (d = fdopendir(fd)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				(void)unlinkat(fd, e->d_name, 0);
		closedir(d);
	} else if (fd >= 0)
		close(fd);
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 &&
	    unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
		log_warn("inbox: %s left", name);
}

int
inbox_open(const char *path)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, dup_fd;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != INBOX_MODE) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	if ((dup_fd = dup(fd)) < 0 || (d = fdopendir(dup_fd)) == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			remove_run(fd, e->d_name);
	closedir(d);
	inbox_fd = fd;
	return 0;
}

int
inbox_on(void)
{
	const struct policy *p = current_policy();

	return inbox_fd >= 0 && p->inputs == INPUTS_INBOX &&
	    p->isolation == ISOLATION_JAIL && p->runtime == RUNTIME_RUNC;
}

int
inbox_begin(char name[IPC_SESSION_MAX])
{
	unsigned char rnd[IPC_SESSION_LEN / 2];
	char id[IPC_SESSION_LEN + 1];

	memset(name, 0, IPC_SESSION_MAX);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(id, sizeof(id), rnd, sizeof(rnd));
	if (mkdirat(inbox_fd, id, INBOX_RUN_MODE) != 0)
		return -1;
	/* the umask took bits off: the worker must reach the links */
	if (fchmodat(inbox_fd, id, INBOX_RUN_MODE, 0) != 0) {
		(void)unlinkat(inbox_fd, id, AT_REMOVEDIR);
		return -1;
	}
	memcpy(name, id, IPC_SESSION_LEN);
	return 0;
}

int
inbox_add(const char *name, size_t index, const char *sid, const char *fid,
    int fd)
{
	struct stat want, got;
	char path[IPC_SESSION_LEN + 24];
	int sdir, rc;

	snprintf(path, sizeof(path), "%s/%zu", name, index);
	if (fstat(fd, &want) != 0 || fchmod(fd, INBOX_FILE_MODE) != 0 ||
	    (sdir = store_session_fd(sid)) < 0)
		return -1;
	rc = linkat(sdir, fid, inbox_fd, path, 0);
	close(sdir);
	if (rc != 0)
		return -1;
	/* the name may have been replaced since fd was opened: the same inode */
	if (fstatat(inbox_fd, path, &got, AT_SYMLINK_NOFOLLOW) != 0 ||
	    got.st_dev != want.st_dev || got.st_ino != want.st_ino) {
		(void)unlinkat(inbox_fd, path, 0);
		errno = ESTALE;
		return -1;
	}
	return 0;
}

void
inbox_drop(const char *name, size_t n)
{
	char path[IPC_SESSION_LEN + 24];
	size_t i;

	if (name[0] == '\0')
		return;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%zu", name, i);
		if (unlinkat(inbox_fd, path, 0) != 0 && errno != ENOENT)
			log_warn("inbox: %s", path);
	}
	if (unlinkat(inbox_fd, name, AT_REMOVEDIR) != 0)
		log_warn("inbox: %s", name);
}
