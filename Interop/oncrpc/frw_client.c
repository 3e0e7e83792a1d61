/*
 * frw_client.c - a scripted client of FILEREADWRITE (9999 v2), on the
 * rpcgen-generated stubs write_2 / read_2 (rpcgen -l).
 *
 *   frw_client HOST tcp|udp [--port P] [--auth-sys] [--prog N] [--vers N]
 *              [--timeout S] [--retry S] SCRIPT...
 *
 * Without --port the port comes from rpcbind (clnt_create); with --port,
 * clnttcp_create / clntudp_create on HOST:P directly (HOST: a dotted IPv4
 * address or a name). --auth-sys: AUTH_SYS credentials (authunix_create_default)
 * instead of AUTH_NONE. --prog/--vers: call another program/version number
 * (to see RPC_PROGUNAVAIL, RPC_PROGVERSMISMATCH, ...). --timeout S: the total
 * time of one call (CLSET_TIMEOUT; default: the stubs' 25 s). --retry S: the
 * UDP retransmit interval (CLSET_RETRY_TIMEOUT; default: libtirpc's).
 *
 * SCRIPT words, one step each:
 *   null                 procedure 0
 *   write:F:POS:TEXT     WRITE the bytes of TEXT (C escapes \\ \n \r \t \0 \xHH
 *                        are decoded; everything after the third ':' is TEXT)
 *   writelen:F:POS:LEN   WRITE with data.length = LEN, the buffer filled with
 *                        'a'..'z' repeating for min(LEN, MAX) bytes (LEN may be
 *                        negative or above MAX: for SYSTEM_ERR cases)
 *   read:F:POS:LEN       READ; prints the bytes received
 *   read:F:POS:LEN=TEXT  READ, and the bytes must be exactly TEXT (escapes decoded)
 * Any word may end with !STATUS (STATUS a clnt_stat name such as
 * RPC_SYSTEMERROR): the step must then fail with exactly that status.
 *
 * Output (stdout), one line per step, then a summary:
 *   null -> ok
 *   write 1 0 5 -> ok
 *   read 1 0 5 -> 5 "hello"
 *   read 1 -1 10 -> error RPC_SYSTEMERROR
 * A step that did not behave gets " (FAIL: expected ...)" appended. The last line
 * is "OK n steps" (exit 0) or "FAIL k of n steps" (exit 1). Usage errors and a
 * client that cannot be created: "create -> error RPC_..." / message, exit 2.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <rpc/rpc.h>
#include "frw.h"

static const struct {
	enum clnt_stat stat;
	const char *name;
} stat_names[] = {
	{ RPC_SUCCESS, "RPC_SUCCESS" },
	{ RPC_CANTENCODEARGS, "RPC_CANTENCODEARGS" },
	{ RPC_CANTDECODERES, "RPC_CANTDECODERES" },
	{ RPC_CANTSEND, "RPC_CANTSEND" },
	{ RPC_CANTRECV, "RPC_CANTRECV" },
	{ RPC_TIMEDOUT, "RPC_TIMEDOUT" },
	{ RPC_INTR, "RPC_INTR" },
	{ RPC_UDERROR, "RPC_UDERROR" },
	{ RPC_VERSMISMATCH, "RPC_VERSMISMATCH" },
	{ RPC_AUTHERROR, "RPC_AUTHERROR" },
	{ RPC_PROGUNAVAIL, "RPC_PROGUNAVAIL" },
	{ RPC_PROGVERSMISMATCH, "RPC_PROGVERSMISMATCH" },
	{ RPC_PROCUNAVAIL, "RPC_PROCUNAVAIL" },
	{ RPC_CANTDECODEARGS, "RPC_CANTDECODEARGS" },
	{ RPC_SYSTEMERROR, "RPC_SYSTEMERROR" },
	{ RPC_UNKNOWNHOST, "RPC_UNKNOWNHOST" },
	{ RPC_UNKNOWNPROTO, "RPC_UNKNOWNPROTO" },
	{ RPC_UNKNOWNADDR, "RPC_UNKNOWNADDR" },
	{ RPC_NOBROADCAST, "RPC_NOBROADCAST" },
	{ RPC_RPCBFAILURE, "RPC_RPCBFAILURE" },
	{ RPC_PROGNOTREGISTERED, "RPC_PROGNOTREGISTERED" },
	{ RPC_N2AXLATEFAILURE, "RPC_N2AXLATEFAILURE" },
	{ RPC_TLIERROR, "RPC_TLIERROR" },
	{ RPC_FAILED, "RPC_FAILED" },
	{ RPC_INPROGRESS, "RPC_INPROGRESS" },
	{ RPC_STALERACHANDLE, "RPC_STALERACHANDLE" },
	{ RPC_CANTCONNECT, "RPC_CANTCONNECT" },
	{ RPC_XPRTFAILED, "RPC_XPRTFAILED" },
	{ RPC_CANTCREATESTREAM, "RPC_CANTCREATESTREAM" },
};

static const char *
stat_name(enum clnt_stat s)
{
	static char buf[32];
	size_t i;

	for (i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		if (stat_names[i].stat == s)
			return stat_names[i].name;
	snprintf(buf, sizeof(buf), "RPC_STAT_%d", (int)s);
	return buf;
}

static int
known_stat(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(stat_names) / sizeof(stat_names[0]); i++)
		if (strcmp(stat_names[i].name, name) == 0)
			return 1;
	return 0;
}

static void
usage(const char *why)
{
	fprintf(stderr, "frw_client: %s\n"
	    "usage: frw_client HOST tcp|udp [--port P] [--auth-sys] [--prog N] [--vers N]\n"
	    "                  [--timeout S] [--retry S] SCRIPT...\n"
	    "  SCRIPT: null | write:F:POS:TEXT | writelen:F:POS:LEN | read:F:POS:LEN[=TEXT]\n"
	    "          each optionally ending in !RPC_STATUS (the step must fail so)\n", why);
	exit(2);
}

/* Decodes C escapes of S into OUT (at most CAP bytes); the length, or -1. */
static int
unescape(const char *s, char *out, int cap)
{
	int n = 0;

	while (*s) {
		int c = (unsigned char)*s++;

		if (c == '\\') {
			c = (unsigned char)*s++;
			switch (c) {
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '0': c = 0; break;
			case '"': c = '"'; break;
			case 'x': {
				int v = 0, k;
				for (k = 0; k < 2; k++) {
					int h = (unsigned char)*s;
					if (!isxdigit(h))
						return -1;
					v = v * 16 + (isdigit(h) ? h - '0' : (tolower(h) - 'a' + 10));
					s++;
				}
				c = v;
				break;
			}
			default:
				return -1;
			}
		}
		if (n >= cap)
			return -1;
		out[n++] = (char)c;
	}
	return n;
}

/* Prints N bytes as a C string literal body: printable ASCII as is except
 * '"' and '\\', then \n \r \t \0 and \xHH. */
static void
print_escaped(const char *b, int n)
{
	int i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == 0)
			fputs("\\0", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('"');
}

static int
parse_int(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < -2147483648L || v > 2147483647L)
		return 0;
	*out = (int)v;
	return 1;
}

/* Splits "a:b:c:rest" into up to 3 integer fields and the rest. */
static int
split3(char *s, int *a, int *b, char **rest)
{
	char *p1, *p2;

	p1 = strchr(s, ':');
	if (p1 == NULL)
		return 0;
	*p1++ = '\0';
	p2 = strchr(p1, ':');
	if (p2 == NULL)
		return 0;
	*p2++ = '\0';
	if (!parse_int(s, a) || !parse_int(p1, b))
		return 0;
	*rest = p2;
	return 1;
}

int
main(int argc, char **argv)
{
	const char *host, *proto;
	int port = -1, auth_sys = 0, i, first_step, steps = 0, failed = 0;
	long prog = FILEREADWRITE, vers = VERSION;
	double timeout = -1, retry = -1;
	CLIENT *cl;

	if (argc < 3)
		usage("missing HOST or transport");
	host = argv[1];
	proto = argv[2];
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		usage("transport must be tcp or udp");
	for (i = 3; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (!parse_int(argv[++i], &port) || port <= 0 || port > 65535)
				usage("bad --port");
		} else if (strcmp(argv[i], "--auth-sys") == 0) {
			auth_sys = 1;
		} else if (strcmp(argv[i], "--prog") == 0 && i + 1 < argc) {
			prog = strtol(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--vers") == 0 && i + 1 < argc) {
			vers = strtol(argv[++i], NULL, 0);
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = atof(argv[++i]);
		} else if (strcmp(argv[i], "--retry") == 0 && i + 1 < argc) {
			retry = atof(argv[++i]);
		} else {
			usage("unknown option");
		}
	}
	first_step = i;
	if (first_step >= argc)
		usage("no SCRIPT");

	if (port < 0) {
		cl = clnt_create(host, (rpcprog_t)prog, (rpcvers_t)vers, proto);
		if (cl == NULL) {
			printf("create -> error %s\n", stat_name(rpc_createerr.cf_stat));
			printf("FAIL create\n");
			fprintf(stderr, "frw_client: %s\n", clnt_spcreateerror(host));
			return 2;
		}
	} else {
		struct sockaddr_in sin;
		int sock = RPC_ANYSOCK;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((unsigned short)port);
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
			struct hostent *h = gethostbyname(host);
			if (h == NULL || h->h_addrtype != AF_INET) {
				printf("create -> error RPC_UNKNOWNHOST\n");
				printf("FAIL create\n");
				return 2;
			}
			memcpy(&sin.sin_addr, h->h_addr_list[0], sizeof(sin.sin_addr));
		}
		if (strcmp(proto, "tcp") == 0) {
			cl = clnttcp_create(&sin, (u_long)prog, (u_long)vers, &sock, 0, 0);
		} else {
			/* retransmit interval: as clnt_create's (15 s) unless --retry */
			struct timeval wait = { 15, 0 };
			cl = clntudp_create(&sin, (u_long)prog, (u_long)vers, wait, &sock);
		}
		if (cl == NULL) {
			printf("create -> error %s\n", stat_name(rpc_createerr.cf_stat));
			printf("FAIL create\n");
			fprintf(stderr, "frw_client: %s\n", clnt_spcreateerror(host));
			return 2;
		}
	}
	if (auth_sys) {
		auth_destroy(cl->cl_auth);
		cl->cl_auth = authunix_create_default();
		if (cl->cl_auth == NULL) {
			printf("create -> error authunix_create_default\n");
			printf("FAIL create\n");
			return 2;
		}
	}
	if (timeout >= 0) {
		struct timeval tv;
		tv.tv_sec = (long)timeout;
		tv.tv_usec = (long)((timeout - (double)tv.tv_sec) * 1e6);
		clnt_control(cl, CLSET_TIMEOUT, (char *)&tv);
	}
	if (retry > 0 && strcmp(proto, "udp") == 0) {
		struct timeval tv;
		tv.tv_sec = (long)retry;
		tv.tv_usec = (long)((retry - (double)tv.tv_sec) * 1e6);
		clnt_control(cl, CLSET_RETRY_TIMEOUT, (char *)&tv);
	}

	for (i = first_step; i < argc; i++) {
		char word[4096], *expect_err = NULL, *bang, *rest;
		char expect_text[MAX + 1];
		int expect_len = -1, expect_len_given = -1, ok_call, f, pos, len;
		enum clnt_stat st = RPC_SUCCESS;
		struct rpc_err err;
		int behaved;

		steps++;
		if (strlen(argv[i]) >= sizeof(word))
			usage("SCRIPT word too long");
		strcpy(word, argv[i]);
		bang = strrchr(word, '!');
		if (bang != NULL && known_stat(bang + 1)) {
			*bang = '\0';
			expect_err = bang + 1;
		}

		if (strcmp(word, "null") == 0) {
			struct timeval tv = { 25, 0 };
			printf("null -> ");
			st = clnt_call(cl, NULLPROC, (xdrproc_t)xdr_void, NULL,
			    (xdrproc_t)xdr_void, NULL, tv);
			ok_call = (st == RPC_SUCCESS);
			if (ok_call)
				printf("ok");
		} else if (strncmp(word, "write:", 6) == 0 || strncmp(word, "writelen:", 9) == 0) {
			static writeargs wa;
			int is_len = word[5] == 'l';

			memset(&wa, 0, sizeof(wa));
			if (!split3(word + (is_len ? 9 : 6), &f, &pos, &rest))
				usage("bad write step");
			if (is_len) {
				int k;
				if (!parse_int(rest, &len))
					usage("bad writelen LEN");
				for (k = 0; k < len && k < MAX; k++)
					wa.data.buffer[k] = (char)('a' + k % 26);
			} else {
				len = unescape(rest, wa.data.buffer, MAX);
				if (len < 0)
					usage("bad write TEXT (escape, or longer than MAX)");
			}
			wa.f = f;
			wa.position = pos;
			wa.data.length = len;
			printf("write %d %d %d -> ", f, pos, len);
			ok_call = write_2(&wa, cl) != NULL;
			if (ok_call)
				printf("ok");
		} else if (strncmp(word, "read:", 5) == 0) {
			readargs ra;
			Data *d;
			char *eq;

			if (!split3(word + 5, &f, &pos, &rest))
				usage("bad read step");
			eq = strchr(rest, '=');
			if (eq != NULL) {
				*eq++ = '\0';
				expect_len = unescape(eq, expect_text, MAX);
				expect_len_given = expect_len;
				if (expect_len < 0)
					usage("bad read =TEXT");
			}
			if (!parse_int(rest, &len))
				usage("bad read LEN");
			ra.f = f;
			ra.position = pos;
			ra.length = len;
			printf("read %d %d %d -> ", f, pos, len);
			d = read_2(&ra, cl);
			ok_call = d != NULL;
			if (ok_call) {
				int n = d->length;
				if (n < 0 || n > MAX) {
					printf("%d (bad length)", n);
					expect_len = -2;
				} else {
					printf("%d ", n);
					print_escaped(d->buffer, n);
					if (expect_len >= 0 &&
					    (n != expect_len || memcmp(d->buffer, expect_text, (size_t)n) != 0))
						expect_len = -2;
				}
			}
		} else {
			usage("unknown SCRIPT word");
		}

		if (!ok_call) {
			clnt_geterr(cl, &err);
			st = err.re_status;
			printf("error %s", stat_name(st));
			if (st == RPC_AUTHERROR)
				printf(" auth_stat=%d", (int)err.re_why);
			else if (st == RPC_PROGVERSMISMATCH || st == RPC_VERSMISMATCH)
				printf(" low=%lu high=%lu", (unsigned long)err.re_vers.low,
				    (unsigned long)err.re_vers.high);
		}
		if (expect_err != NULL)
			behaved = !ok_call && strcmp(stat_name(st), expect_err) == 0;
		else
			behaved = ok_call && expect_len != -2;
		if (!behaved) {
			failed++;
			if (expect_err != NULL)
				printf(" (FAIL: expected %s)", expect_err);
			else if (!ok_call)
				printf(" (FAIL: expected success)");
			else if (expect_len_given >= 0) {
				printf(" (FAIL: expected %d ", expect_len_given);
				print_escaped(expect_text, expect_len_given);
				printf(")");
			} else
				printf(" (FAIL: bad reply)");
		}
		putchar('\n');
		fflush(stdout);
	}
	clnt_destroy(cl);
	if (failed) {
		printf("FAIL %d of %d steps\n", failed, steps);
		return 1;
	}
	printf("OK %d steps\n", steps);
	return 0;
}
