/* peer.c - the Unix user behind a local connection (peer.h), so that an
 * agentd without keys serves its own user only, on a Unix socket or on
 * loopback TCP alike. Knows nothing of sessions. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "peer.h"

/* Asks sock_diag for the one TCP socket whose source is peer and whose
 * destination is us: the peer's own socket, owned by its process. */
static int
tcp_peer_uid(const struct sockaddr_storage *us,
    const struct sockaddr_storage *peer, uid_t *uidp)
{
	struct {
		struct nlmsghdr		nh;
		struct inet_diag_req_v2	req;
	} q;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	struct timeval tv = { 1, 0 };
	union {
		struct nlmsghdr	nh;
		char		buf[8192];
	} a;
	struct inet_diag_msg *m;
	struct nlmsgerr *e;
	ssize_t n;
	int s, r = -ENOENT;

	memset(&q, 0, sizeof(q));
	q.nh.nlmsg_len = sizeof(q);
	q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nh.nlmsg_flags = NLM_F_REQUEST;
	q.nh.nlmsg_seq = 1;
	q.req.sdiag_family = (unsigned char)peer->ss_family;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = ~0u;
	q.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	q.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)peer;
		const struct sockaddr_in *u = (const void *)us;

		q.req.id.idiag_sport = p->sin_port;
		q.req.id.idiag_dport = u->sin_port;
		memcpy(q.req.id.idiag_src, &p->sin_addr, 4);
		memcpy(q.req.id.idiag_dst, &u->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *p = (const void *)peer;
		const struct sockaddr_in6 *u = (const void *)us;

		q.req.id.idiag_sport = p->sin6_port;
		q.req.id.idiag_dport = u->sin6_port;
		memcpy(q.req.id.idiag_src, &p->sin6_addr, 16);
		memcpy(q.req.id.idiag_dst, &u->sin6_addr, 16);
	}
	if ((s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) < 0)
		return -errno;
	(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(s, &q, sizeof(q), 0, (struct sockaddr *)&nl,
	    sizeof(nl)) < 0) {
		r = -errno;
		goto out;
	}
	if ((n = recv(s, &a, sizeof(a), 0)) < 0) {
		r = -errno;
		goto out;
	}
	if (!NLMSG_OK(&a.nh, (size_t)n))
		goto out;
	if (a.nh.nlmsg_type == NLMSG_ERROR) {
		e = NLMSG_DATA(&a.nh);
		r = e->error < 0 ? e->error : -ENOENT;
		goto out;
	}
	if (a.nh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    a.nh.nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		goto out;
	m = NLMSG_DATA(&a.nh);
	*uidp = m->idiag_uid;
	r = 0;
out:
	close(s);
	return r;
}

int
zmx_peer_uid(int fd, uid_t *uidp)
{
	struct sockaddr_storage us, peer;
	socklen_t ulen = sizeof(us), plen = sizeof(peer);
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (fd < 0)
		return -EBADF;
	if (getsockname(fd, (struct sockaddr *)&us, &ulen) < 0 ||
	    getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		return -errno;
	if (us.ss_family == AF_UNIX) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0)
			return -errno;
		*uidp = cred.uid;
		return 0;
	}
	if ((us.ss_family != AF_INET && us.ss_family != AF_INET6) ||
	    peer.ss_family != us.ss_family)
		return -EAFNOSUPPORT;
	return tcp_peer_uid(&us, &peer, uidp);
}
