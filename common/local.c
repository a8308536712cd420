/* local.c - the local leg's sends and receives with an fd (local.h). Raw
 * system calls: the shim's wrappers must not see its own traffic. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "local.h"

ssize_t
zmx_local_send(int sock, const void *buf, size_t len, int passfd,
    int nonblock)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (passfd >= 0) {
		memset(&c, 0, sizeof(c));
		mh.msg_control = c.b;
		mh.msg_controllen = sizeof(c.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	n = syscall(SYS_sendmsg, sock, &mh, MSG_NOSIGNAL |
	    (nonblock ? MSG_DONTWAIT : 0));
	return n < 0 ? -errno : n;
}

ssize_t
zmx_local_recv(int sock, void *buf, size_t len, int *fdp, int nonblock)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(4 * sizeof(int))];
	} c;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	struct cmsghdr *cm;
	ssize_t n;
	int fds[4];
	size_t i, k;

	n = syscall(SYS_recvmsg, sock, &mh, MSG_CMSG_CLOEXEC |
	    (nonblock ? MSG_DONTWAIT : 0));
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (k > 4)
			k = 4;
		memcpy(fds, CMSG_DATA(cm), k * sizeof(int));
		for (i = 0; i < k; i++) {
			if (*fdp < 0)
				*fdp = fds[i];
			else
				syscall(SYS_close, fds[i]);
		}
	}
	return n;
}

int
zmx_local_send_all(int sock, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = zmx_local_send(sock, p, len, -1, 0);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
