/*
 * frw_server.c - main of the FILEREADWRITE (9999 v2) file store.
 *
 *   frw_server [--port P] [--no-rpcbind]
 *
 * Serves TCP and UDP on 127.0.0.1 (port P for both, or a free port each),
 * with the rpcgen-generated dispatcher filereadwrite_2 (rpcgen -m) and the
 * procedures of frw_store.c. Unless --no-rpcbind: pmap_unset first, then
 * svc_register with IPPROTO_TCP / IPPROTO_UDP (pmap_set -> rpcb_set), and
 * pmap_unset again on SIGTERM/SIGINT. Prints
 *   READY frw_server tcp=PORT udp=PORT pid=N
 * on stdout (flushed) when serving. Single-threaded poll loop (like svc_run)
 * that leaves on SIGTERM/SIGINT; exit status 0 then.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <rpc/rpc.h>
#include <rpc/pmap_clnt.h>
#include "frw.h"

void filereadwrite_2(struct svc_req *, SVCXPRT *);

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
usage(void)
{
	fprintf(stderr, "usage: frw_server [--port P] [--no-rpcbind]\n");
	exit(2);
}

/* A socket of TYPE bound to 127.0.0.1:port (port 0: any free port). */
static int
bound_socket(int type, int port)
{
	struct sockaddr_in sin;
	int s, one = 1;

	s = socket(AF_INET, type, 0);
	if (s < 0) {
		perror("frw_server: socket");
		exit(1);
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "frw_server: bind 127.0.0.1:%d (%s): %s\n", port,
		    type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
		exit(1);
	}
	if (type == SOCK_STREAM && listen(s, 64) < 0) {
		perror("frw_server: listen");
		exit(1);
	}
	return s;
}

int
main(int argc, char **argv)
{
	int port = 0, use_rpcbind = 1, i, tcp_sock, udp_sock;
	SVCXPRT *tcp, *udp;
	struct sigaction sa;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			char *end;
			long p = strtol(argv[++i], &end, 10);
			if (*end != '\0' || p < 0 || p > 65535)
				usage();
			port = (int)p;
		} else if (strcmp(argv[i], "--no-rpcbind") == 0) {
			use_rpcbind = 0;
		} else {
			usage();
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: poll() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	tcp_sock = bound_socket(SOCK_STREAM, port);
	udp_sock = bound_socket(SOCK_DGRAM, port);

	if (use_rpcbind)
		pmap_unset(FILEREADWRITE, VERSION);

	/* sendsize/recvsize 0: libtirpc's defaults (__rpc_get_t_size). */
	tcp = svctcp_create(tcp_sock, 0, 0);
	if (tcp == NULL) {
		fprintf(stderr, "frw_server: svctcp_create failed\n");
		return 1;
	}
	udp = svcudp_create(udp_sock);
	if (udp == NULL) {
		fprintf(stderr, "frw_server: svcudp_create failed\n");
		return 1;
	}
	if (!svc_register(tcp, FILEREADWRITE, VERSION, filereadwrite_2,
	    use_rpcbind ? IPPROTO_TCP : 0)) {
		fprintf(stderr, "frw_server: unable to register (FILEREADWRITE, VERSION, tcp)%s\n",
		    use_rpcbind ? " with rpcbind" : "");
		if (use_rpcbind)
			pmap_unset(FILEREADWRITE, VERSION);
		return 1;
	}
	if (!svc_register(udp, FILEREADWRITE, VERSION, filereadwrite_2,
	    use_rpcbind ? IPPROTO_UDP : 0)) {
		fprintf(stderr, "frw_server: unable to register (FILEREADWRITE, VERSION, udp)%s\n",
		    use_rpcbind ? " with rpcbind" : "");
		if (use_rpcbind)
			pmap_unset(FILEREADWRITE, VERSION);
		return 1;
	}

	printf("READY frw_server tcp=%d udp=%d pid=%ld\n", tcp->xp_port, udp->xp_port,
	    (long)getpid());
	fflush(stdout);

	/* svc_run, with a way out. */
	while (!stop_signal) {
		int n = svc_max_pollfd;
		struct pollfd fds[FD_SETSIZE];
		int r;

		if (n > FD_SETSIZE)
			n = FD_SETSIZE;
		memcpy(fds, svc_pollfd, (size_t)n * sizeof(struct pollfd));
		r = poll(fds, (nfds_t)n, 1000);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("frw_server: poll");
			break;
		}
		if (r > 0)
			svc_getreq_poll(fds, r);
	}

	if (use_rpcbind)
		pmap_unset(FILEREADWRITE, VERSION);
	if (stop_signal)
		fprintf(stderr, "frw_server: stopped by signal %d\n", (int)stop_signal);
	return stop_signal ? 0 : 1;
}
