/*
 * frw_store.c - the FILEREADWRITE procedures (write_2_svc, read_2_svc) over an
 * in-memory file store shared by every transport of frw_server.
 *
 * WRITE stores data.length bytes of data.buffer at position of file f,
 * creating the file and zero-filling any gap (the file's size becomes
 * max(size, position + data.length), so a 0-byte WRITE past the end extends it).
 * READ answers min(length, size - position) bytes, 0 past the end or for an
 * unknown file (READ never creates a file).
 * SYSTEM_ERR (svcerr_systemerr) for: a negative position, a negative length,
 * a length above MAX (data.length for WRITE, length for READ: not clamped),
 * a WRITE whose end (position + data.length) is past FRW_MAX_FILE bytes.
 */
#include <stdlib.h>
#include <string.h>
#include "frw.h"

#define FRW_MAX_FILE (1024 * 1024)

struct file {
	int id;
	size_t size;
	size_t cap;
	char *bytes;
	struct file *next;
};

static struct file *files;

static struct file *
find_file(int id)
{
	struct file *f;

	for (f = files; f != NULL; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

void *
write_2_svc(writeargs *argp, struct svc_req *rqstp)
{
	static char ok;
	struct file *f;
	long long end;
	size_t need;

	if (argp->position < 0 || argp->data.length < 0 || argp->data.length > MAX) {
		svcerr_systemerr(rqstp->rq_xprt);
		return NULL;
	}
	end = (long long)argp->position + argp->data.length;
	if (end > FRW_MAX_FILE) {
		svcerr_systemerr(rqstp->rq_xprt);
		return NULL;
	}
	f = find_file(argp->f);
	if (f == NULL) {
		f = calloc(1, sizeof(*f));
		if (f == NULL) {
			svcerr_systemerr(rqstp->rq_xprt);
			return NULL;
		}
		f->id = argp->f;
		f->next = files;
		files = f;
	}
	need = (size_t)end;
	if (need > f->cap) {
		size_t cap = f->cap ? f->cap : 64;
		char *p;

		while (cap < need)
			cap *= 2;
		if (cap > FRW_MAX_FILE)
			cap = FRW_MAX_FILE;
		p = realloc(f->bytes, cap);
		if (p == NULL) {
			svcerr_systemerr(rqstp->rq_xprt);
			return NULL;
		}
		memset(p + f->cap, 0, cap - f->cap);
		f->bytes = p;
		f->cap = cap;
	}
	memcpy(f->bytes + argp->position, argp->data.buffer, (size_t)argp->data.length);
	if (need > f->size)
		f->size = need;
	return &ok;
}

Data *
read_2_svc(readargs *argp, struct svc_req *rqstp)
{
	static Data result;
	struct file *f;
	long long n = 0;

	if (argp->position < 0 || argp->length < 0 || argp->length > MAX) {
		svcerr_systemerr(rqstp->rq_xprt);
		return NULL;
	}
	memset(&result, 0, sizeof(result));
	f = find_file(argp->f);
	if (f != NULL && (size_t)argp->position < f->size) {
		n = (long long)f->size - argp->position;
		if (n > argp->length)
			n = argp->length;
		memcpy(result.buffer, f->bytes + argp->position, (size_t)n);
	}
	result.length = (int)n;
	return &result;
}
