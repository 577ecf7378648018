/*
 * Copyright (c) 2026 The sniproxyd developers
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hello.h"
#include "suites.h"

#ifndef HELLODIR
#define HELLODIR	"regress/hellos"
#endif

/* Room for a hello over the bound, framed in 1-byte records. */
#define BUFSZ		(8 * HELLO_MAXBYTES)

struct wbuf {
	uint8_t		b[BUFSZ];
	size_t		len;
};

static const struct capture {
	const char	*file;
	const char	*sni;		/* NULL: the client sent none */
	const char	*alpn[3];	/* NULL terminated */
} captures[] = {
	{ "openssl.bin",	"openssl.example.com",	{ "h2", "http/1.1" } },
	{ "openssl-nosni.bin",	NULL,			{ NULL } },
	{ "gnutls.bin",		"gnutls.example.com",	{ "h2", "http/1.1" } },
	{ "curl.bin",		"curl.example.com",	{ "h2", "http/1.1" } },
	{ "chromium.bin",	"chromium.example.com",	{ "h2", "http/1.1" } },
};
#define NCAPTURES	(sizeof(captures) / sizeof(captures[0]))

static const size_t fragsizes[] = { 1, 7, 64, 512 };
#define NFRAGSIZES	(sizeof(fragsizes) / sizeof(fragsizes[0]))

/*
 * A hello to build.  Lengths inside it are computed, so the malformed
 * cases are made by patching the offsets recorded in struct offs.
 */
struct spec {
	const char	*sni;		/* NULL: no server_name */
	size_t		 snilen;
	unsigned	 snitype;
	const char	*snitrail;	/* bytes after the name, in the list */
	size_t		 snitraillen;
	int		 dupsni;
	const char	*alpn;		/* protocol_name_list body, or NULL */
	size_t		 alpnlen;
	int		 dupalpn;
	int		 noext;
	size_t		 pad;		/* bytes of a padding extension */
	size_t		 trail;		/* bytes after the extension block */
};

/* Offsets in the handshake message; 0 when absent. */
struct offs {
	size_t		 sid, cs, comp, compend, ext, end;
	size_t		 sniext, snilist, sniname;
	size_t		 alpnext, alpnlist, alpnname;
};

static struct wbuf	 in, hs, out;

static void
put(struct wbuf *w, const void *p, size_t n)
{
	ck_assert_uint_le(w->len + n, sizeof(w->b));
	if (n == 0)
		return;
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void
setn(uint8_t *p, size_t width, size_t v)
{
	while (width-- > 0) {
		p[width] = v & 0xff;
		v >>= 8;
	}
}

static void
putn(struct wbuf *w, size_t width, size_t v)
{
	uint8_t	b[4];

	setn(b, width, v);
	put(w, b, width);
}

static size_t
open_len(struct wbuf *w, size_t width)
{
	size_t	off = w->len;

	putn(w, width, 0);
	return (off);
}

static void
close_len(struct wbuf *w, size_t off, size_t width)
{
	setn(w->b + off, width, w->len - off - width);
}

static size_t
getn(const uint8_t *p, size_t width)
{
	size_t	v = 0;

	while (width-- > 0)
		v = v << 8 | *p++;
	return (v);
}

static void
put_sni(struct wbuf *w, const struct spec *s, struct offs *o)
{
	size_t	ext, list, name;

	putn(w, 2, 0);
	o->sniext = ext = open_len(w, 2);
	o->snilist = list = open_len(w, 2);
	putn(w, 1, s->snitype);
	o->sniname = name = open_len(w, 2);
	put(w, s->sni, s->snilen);
	close_len(w, name, 2);
	put(w, s->snitrail, s->snitraillen);
	close_len(w, list, 2);
	close_len(w, ext, 2);
}

static void
put_alpn(struct wbuf *w, const struct spec *s, struct offs *o)
{
	size_t	ext, list;

	putn(w, 2, 16);
	o->alpnext = ext = open_len(w, 2);
	o->alpnlist = list = open_len(w, 2);
	o->alpnname = w->len;
	put(w, s->alpn, s->alpnlen);
	close_len(w, list, 2);
	close_len(w, ext, 2);
}

static void
put_extensions(struct wbuf *w, const struct spec *s, struct offs *o)
{
	static const uint8_t	 versions[] = {
		0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04
	};
	size_t			 pad;

	if (s->sni != NULL)
		put_sni(w, s, o);
	put(w, versions, sizeof(versions));
	if (s->sni != NULL && s->dupsni)
		put_sni(w, s, o);
	if (s->alpn != NULL)
		put_alpn(w, s, o);
	if (s->alpn != NULL && s->dupalpn)
		put_alpn(w, s, o);
	if (s->pad > 0) {
		putn(w, 2, 21);
		putn(w, 2, s->pad);
		for (pad = 0; pad < s->pad; pad++)
			putn(w, 1, 0);
	}
}

/* Build the handshake message (no record layer) into w. */
static void
build(struct wbuf *w, const struct spec *s, struct offs *o)
{
	static const uint8_t	 suites[] = {
		0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2f
	};
	uint8_t			 rnd[32];
	size_t			 msg, ext, i;

	memset(o, 0, sizeof(*o));
	w->len = 0;
	putn(w, 1, 1);
	msg = open_len(w, 3);
	putn(w, 2, 0x0303);
	memset(rnd, 0x5a, sizeof(rnd));
	put(w, rnd, sizeof(rnd));
	o->sid = w->len;
	putn(w, 1, sizeof(rnd));
	put(w, rnd, sizeof(rnd));
	o->cs = w->len;
	putn(w, 2, sizeof(suites));
	put(w, suites, sizeof(suites));
	o->comp = w->len;
	putn(w, 1, 1);
	putn(w, 1, 0);
	o->compend = w->len;
	if (!s->noext) {
		o->ext = ext = open_len(w, 2);
		put_extensions(w, s, o);
		close_len(w, ext, 2);
	}
	for (i = 0; i < s->trail; i++)
		putn(w, 1, 0);
	close_len(w, msg, 3);
	o->end = w->len;
}

/* Frame a handshake message in records of at most frag bytes. */
static void
frame(struct wbuf *w, const uint8_t *msg, size_t len, uint16_t version,
    size_t frag)
{
	size_t	n;

	w->len = 0;
	while (len > 0) {
		n = len < frag ? len : frag;
		putn(w, 1, 22);
		putn(w, 2, version);
		putn(w, 2, n);
		put(w, msg, n);
		msg += n;
		len -= n;
	}
}

/* The handshake bytes of a (well-formed) capture, records stripped. */
static void
unframe(struct wbuf *w, const uint8_t *rec, size_t len)
{
	size_t	n;

	w->len = 0;
	while (len >= 5) {
		n = getn(rec + 3, 2);
		ck_assert_uint_le(5 + n, len);
		put(w, rec + 5, n);
		rec += 5 + n;
		len -= 5 + n;
	}
	ck_assert_uint_eq(len, 0);
}

static void
load(struct wbuf *w, const char *file)
{
	char	 path[1024];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", HELLODIR, file);
	fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "cannot open %s", path);
	w->len = fread(w->b, 1, sizeof(w->b), fp);
	ck_assert(!ferror(fp));
	fclose(fp);
	ck_assert_uint_gt(w->len, 0);
}

/* Parse from a heap copy of exactly len bytes, so ASan sees over-reads. */
static enum hello_status
parse(const uint8_t *buf, size_t len, struct tls_hello *h)
{
	enum hello_status	 st;
	uint8_t			*p;

	p = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(p);
	if (len > 0)
		memcpy(p, buf, len);
	st = hello_parse(p, len, h);
	free(p);
	return (st);
}

static enum hello_status
parse_w(const struct wbuf *w, struct tls_hello *h)
{
	return (parse(w->b, w->len, h));
}

static void
check_prefixes(const uint8_t *buf, size_t len)
{
	struct tls_hello	h;
	size_t			i;

	for (i = 0; i < len; i++)
		ck_assert_msg(parse(buf, i, &h) == HELLO_NEED_MORE,
		    "prefix of %zu/%zu bytes not NEED_MORE", i, len);
}

static void
check_capture(const struct capture *c, const struct tls_hello *h)
{
	size_t	i;

	ck_assert_int_eq(h->has_sni, c->sni != NULL);
	if (c->sni != NULL)
		ck_assert_str_eq(h->sni, c->sni);
	for (i = 0; c->alpn[i] != NULL; i++) {
		ck_assert_uint_lt(i, h->nalpn);
		ck_assert_str_eq(h->alpn[i], c->alpn[i]);
	}
	ck_assert_uint_eq(h->nalpn, i);
	ck_assert_uint_eq(h->record_version, 0x0301);
	ck_assert_uint_eq(h->client_version, 0x0303);
}

static void
same_hello(const struct tls_hello *a, const struct tls_hello *b)
{
	size_t	i;

	ck_assert_uint_eq(a->record_version, b->record_version);
	ck_assert_uint_eq(a->client_version, b->client_version);
	ck_assert_int_eq(a->has_sni, b->has_sni);
	if (a->has_sni)
		ck_assert_str_eq(a->sni, b->sni);
	ck_assert_uint_eq(a->nalpn, b->nalpn);
	for (i = 0; i < a->nalpn; i++)
		ck_assert_str_eq(a->alpn[i], b->alpn[i]);
}

/* Offset of the end of compression_methods in a handshake message. */
static size_t
compend(const uint8_t *msg)
{
	size_t	off = 4 + 2 + 32;

	off += 1 + msg[off];
	off += 2 + getn(msg + off, 2);
	off += 1 + msg[off];
	return (off);
}

/*
 * Cut the message after each of its bytes, fixing up the handshake
 * length: only the cut at the end of compression_methods (a hello
 * without extensions) is well-formed.
 */
static void
check_truncations(const uint8_t *msg, size_t len)
{
	struct tls_hello	 h;
	uint8_t			*cut;
	size_t			 end, ok = compend(msg);

	cut = malloc(len);
	ck_assert_ptr_nonnull(cut);
	memcpy(cut, msg, len);
	for (end = 4; end < len; end++) {
		setn(cut + 1, 3, end - 4);
		frame(&out, cut, end, 0x0301, 16384);
		ck_assert_msg(parse_w(&out, &h) ==
		    (end == ok ? HELLO_OK : HELLO_BAD),
		    "message cut at %zu of %zu", end, len);
	}
	free(cut);
}

static enum hello_status
parse_spec(const struct spec *s, struct tls_hello *h)
{
	struct offs	o;

	build(&hs, s, &o);
	frame(&out, hs.b, hs.len, 0x0301, 16384);
	return (parse_w(&out, h));
}

static const struct spec base = {
	.sni = "www.example.com", .snilen = 15,
	.alpn = "\x02h2\x08http/1.1", .alpnlen = 12
};

START_TEST(test_capture)
{
	const struct capture	*c = &captures[_i];
	struct tls_hello	 h;

	load(&in, c->file);
	ck_assert_int_eq(parse_w(&in, &h), HELLO_OK);
	check_capture(c, &h);

	/* Bytes after the hello (e.g. early data) are not looked at. */
	memset(in.b + in.len, 0xff, 100);
	in.len += 100;
	ck_assert_int_eq(parse_w(&in, &h), HELLO_OK);
	check_capture(c, &h);
}
END_TEST

START_TEST(test_capture_prefixes)
{
	load(&in, captures[_i].file);
	check_prefixes(in.b, in.len);
}
END_TEST

START_TEST(test_capture_refragmented)
{
	const struct capture	*c = &captures[_i / NFRAGSIZES];
	size_t			 frag = fragsizes[_i % NFRAGSIZES];
	struct tls_hello	 h1, h2;

	load(&in, c->file);
	ck_assert_int_eq(parse_w(&in, &h1), HELLO_OK);
	unframe(&hs, in.b, in.len);
	frame(&out, hs.b, hs.len, 0x0301, frag);
	if (hs.len > frag)
		ck_assert_uint_gt(out.len, in.len);
	ck_assert_int_eq(parse_w(&out, &h2), HELLO_OK);
	same_hello(&h1, &h2);
	check_capture(c, &h2);
	check_prefixes(out.b, out.len);
}
END_TEST

START_TEST(test_capture_truncated)
{
	load(&in, captures[_i].file);
	unframe(&hs, in.b, in.len);
	check_truncations(hs.b, hs.len);
}
END_TEST

/* Every byte of a capture set to a few values: any answer, no crash. */
START_TEST(test_capture_mutations)
{
	static const uint8_t	 vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	struct tls_hello	 h;
	size_t			 pos, v, n;
	uint8_t			 orig;

	load(&in, captures[_i].file);
	for (pos = 0; pos < in.len; pos++) {
		orig = in.b[pos];
		for (v = 0; v < sizeof(vals) + 2; v++) {
			in.b[pos] = v < sizeof(vals) ? vals[v] :
			    (uint8_t)(orig + (v == sizeof(vals) ? 1 : -1));
			if (parse_w(&in, &h) != HELLO_OK)
				continue;
			n = strlen(h.sni);
			ck_assert_uint_le(n, HELLO_SNI_MAX);
			ck_assert_uint_le(h.nalpn, HELLO_ALPN_MAX);
		}
		in.b[pos] = orig;
	}
}
END_TEST

START_TEST(test_synthetic)
{
	struct tls_hello	h;
	struct offs		o;

	build(&hs, &base, &o);
	check_truncations(hs.b, hs.len);
	frame(&out, hs.b, hs.len, 0x0301, 16384);
	check_prefixes(out.b, out.len);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_OK);
	ck_assert_int_eq(h.has_sni, 1);
	ck_assert_str_eq(h.sni, "www.example.com");
	ck_assert_uint_eq(h.nalpn, 2);
	ck_assert_str_eq(h.alpn[0], "h2");
	ck_assert_str_eq(h.alpn[1], "http/1.1");
}
END_TEST

START_TEST(test_not_tls)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} inputs[] = {
#define S(x)	{ x, sizeof(x) - 1 }
		S("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
		S("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
		S("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n"),
		S("\x80\x2e\x01\x03\x01\x00\x15"),	/* SSLv2 hello */
		S("\x15\x03\x01\x00\x02\x02\x28"),	/* alert */
		S("\x17\x03\x03\x00\x01\x00"),		/* application data */
		S("\x16\x02\x00\x00\x04"),		/* SSLv2 version */
		S("\x16\x04\x00\x00\x04"),
		S("\x16\x03\x01\x00\x04\x02\x00\x00\x00"),	/* server */
#undef S
	};
	struct tls_hello	h;
	size_t			i;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		ck_assert_int_eq(parse((const uint8_t *)inputs[i].s,
		    inputs[i].len, &h), HELLO_BAD);
		/* The deciding byte is enough: no waiting. */
		if (inputs[i].s[0] != 0x16)
			ck_assert_int_eq(parse((const uint8_t *)inputs[i].s,
			    1, &h), HELLO_BAD);
	}
	ck_assert_int_eq(parse((const uint8_t *)"\x16\x03", 2, &h),
	    HELLO_NEED_MORE);
	ck_assert_int_eq(parse((const uint8_t *)"\x16\x02", 2, &h),
	    HELLO_BAD);
	ck_assert_int_eq(parse((const uint8_t *)"\x16\x03\x01\x00\x01\x02",
	    6, &h), HELLO_BAD);
}
END_TEST

START_TEST(test_record_layer)
{
	struct tls_hello	h;
	struct offs		o;
	size_t			mid;

	build(&hs, &base, &o);

	/* Empty and over-long records. */
	frame(&out, hs.b, hs.len, 0x0301, 16384);
	setn(out.b + 3, 2, 0);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	setn(out.b + 3, 2, 16385);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	/* A record longer than the hello: the hello is complete already. */
	setn(out.b + 3, 2, hs.len + 10);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_OK);

	/* A second record of the wrong type or version. */
	frame(&out, hs.b, hs.len, 0x0303, 64);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_OK);
	ck_assert_uint_eq(h.record_version, 0x0303);
	mid = 5 + 64;
	out.b[mid] = 21;
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	ck_assert_int_eq(parse(out.b, mid + 1, &h), HELLO_BAD);
	out.b[mid] = 22;
	out.b[mid + 1] = 2;
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	out.b[mid + 1] = 3;
	setn(out.b + mid + 3, 2, 0);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);

	/* Handshake length: one more is a prefix, one less is cut. */
	frame(&out, hs.b, hs.len, 0x0301, 16384);
	setn(out.b + 6, 3, hs.len - 4 + 1);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_NEED_MORE);
	setn(out.b + 6, 3, hs.len - 4 - 1);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	setn(out.b + 6, 3, 0xffffff);
	ck_assert_int_eq(parse(out.b, 9, &h), HELLO_BAD);
}
END_TEST

/* Every length field made to overrun what contains it, or fall short. */
START_TEST(test_lengths)
{
	struct field {
		size_t	off, width, end;
		int	shorter;	/* must fill the container exactly */
	};
	struct field		 f[16];
	struct tls_hello	 h;
	struct offs		 o;
	size_t			 i, n, nf = 0, v;
	int			 d;

	build(&hs, &base, &o);
#define F(off, w, end, s)	f[nf++] = (struct field){ off, w, end, s }
	F(o.sid, 1, o.end, 0);
	F(o.cs, 2, o.end, 0);
	F(o.comp, 1, o.end, 0);
	F(o.ext, 2, o.end, 1);
	F(o.sniext, 2, o.end, 1);
	F(o.snilist, 2, o.snilist + 2 + 3 + base.snilen, 1);
	F(o.sniname, 2, o.sniname + 2 + base.snilen, 1);
	F(o.alpnext, 2, o.end, 1);
	F(o.alpnlist, 2, o.alpnlist + 2 + base.alpnlen, 1);
	F(o.alpnname, 1, o.alpnlist + 2 + base.alpnlen, 0);
#undef F
	for (i = 0; i < nf; i++) {
		for (d = -1; d <= 1; d += 2) {
			if (d < 0 && !f[i].shorter)
				continue;
			build(&hs, &base, &o);
			n = getn(hs.b + f[i].off, f[i].width);
			v = d > 0 ? f[i].end - f[i].off - f[i].width + 1 :
			    n - 1;
			if (f[i].width == 1 && v > 0xff)
				v = 0xff;
			setn(hs.b + f[i].off, f[i].width, v);
			frame(&out, hs.b, hs.len, 0x0301, 16384);
			ck_assert_msg(parse_w(&out, &h) == HELLO_BAD,
			    "field at %zu set to %zu", f[i].off, v);
		}
	}
}
END_TEST

/*
 * Replace del bytes at off in the handshake message w with ins bytes,
 * keeping the message length right, so that only the field the caller
 * changes is wrong.
 */
static void
splice(struct wbuf *w, size_t off, size_t del, const char *ins, size_t n)
{
	ck_assert_uint_le(off + del, w->len);
	ck_assert_uint_le(w->len - del + n, sizeof(w->b));
	memmove(w->b + off + n, w->b + off + del, w->len - off - del);
	memcpy(w->b + off, ins, n);
	w->len = w->len - del + n;
	setn(w->b + 1, 3, w->len - 4);
}

static enum hello_status
parse_hs(struct tls_hello *h)
{
	frame(&out, hs.b, hs.len, 0x0301, 16384);
	return (parse_w(&out, h));
}

START_TEST(test_fixed_fields)
{
	struct tls_hello	h;
	struct offs		o;

	build(&hs, &base, &o);
	hs.b[4] = 2;			/* legacy_version 2.x */
	ck_assert_int_eq(parse_hs(&h), HELLO_BAD);

	build(&hs, &base, &o);
	hs.b[o.sid] = 33;		/* session_id over 32 */
	splice(&hs, o.sid + 1, 0, "x", 1);
	ck_assert_int_eq(parse_hs(&h), HELLO_BAD);
	hs.b[o.sid] = 32;
	splice(&hs, o.sid + 1, 1, "", 0);
	ck_assert_int_eq(parse_hs(&h), HELLO_OK);

	build(&hs, &base, &o);
	setn(hs.b + o.cs, 2, 7);	/* odd cipher_suites */
	splice(&hs, o.cs + 2, 1, "", 0);
	ck_assert_int_eq(parse_hs(&h), HELLO_BAD);

	build(&hs, &base, &o);
	setn(hs.b + o.cs, 2, 0);	/* no cipher_suites */
	splice(&hs, o.cs + 2, 8, "", 0);
	ck_assert_int_eq(parse_hs(&h), HELLO_BAD);

	build(&hs, &base, &o);
	hs.b[o.comp] = 0;		/* no compression_methods */
	splice(&hs, o.comp + 1, 1, "", 0);
	ck_assert_int_eq(parse_hs(&h), HELLO_BAD);
}
END_TEST

/* Bytes after the ServerNameList, inside the extension. */
START_TEST(test_sni_ext_trailing)
{
	struct tls_hello	h;
	struct offs		o;
	size_t			end;

	build(&hs, &base, &o);
	end = o.snilist + 2 + getn(hs.b + o.snilist, 2);
	splice(&hs, end, 0, "", 1);
	setn(hs.b + o.sniext, 2, getn(hs.b + o.sniext, 2) + 1);
	setn(hs.b + o.ext, 2, getn(hs.b + o.ext, 2) + 1);
	ck_assert_int_eq(parse_hs(&h), HELLO_BAD);
	/* The same padding in an unknown extension is fine. */
	hs.b[o.sniext - 1] = 0xaa;
	ck_assert_int_eq(parse_hs(&h), HELLO_OK);
	ck_assert_int_eq(h.has_sni, 0);
}
END_TEST

START_TEST(test_no_sni)
{
	struct spec		s = base;
	struct tls_hello	h;

	s.sni = NULL;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_OK);
	ck_assert_int_eq(h.has_sni, 0);
	ck_assert_uint_eq(h.nalpn, 2);

	s.noext = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_OK);
	ck_assert_int_eq(h.has_sni, 0);
	ck_assert_uint_eq(h.nalpn, 0);
}
END_TEST

START_TEST(test_sni_case)
{
	struct spec		s = base;
	struct tls_hello	h;

	s.sni = "WwW.ExAmPle-1.COM.";
	s.snilen = strlen(s.sni);
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_OK);
	ck_assert_int_eq(h.has_sni, 1);
	ck_assert_str_eq(h.sni, "www.example-1.com");
}
END_TEST

START_TEST(test_sni_bad)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} names[] = {
		{ "", 0 },
		{ "a\0b.example.com", 15 },
		{ "\0", 1 },
		{ "a b.example.com", 15 },
		{ "a\tb.example.com", 15 },
		{ "a\x7f.example.com", 15 },
		{ "caf\xc3\xa9.example.com", 17 },
		{ ".", 1 },
		{ "..", 2 },
		{ "a.example.com..", 15 },
		{ "a..example.com", 14 },
		{ ".a.example.com", 14 },
	};
	struct spec		s = base;
	struct tls_hello	h;
	size_t			i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		s.sni = names[i].s;
		s.snilen = names[i].len;
		ck_assert_msg(parse_spec(&s, &h) == HELLO_BAD, "name %zu", i);
	}
}
END_TEST

START_TEST(test_sni_length)
{
	char			name[HELLO_SNI_MAX + 2];
	struct spec		s = base;
	struct tls_hello	h;

	memset(name, 'a', sizeof(name));
	s.sni = name;
	s.snilen = HELLO_SNI_MAX;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_OK);
	ck_assert_uint_eq(strlen(h.sni), HELLO_SNI_MAX);
	s.snilen = HELLO_SNI_MAX + 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
}
END_TEST

START_TEST(test_sni_list)
{
	struct spec		s = base;
	struct tls_hello	h;

	s.snitype = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s.snitype = 0;
	s.snitrail = "\x00\x00\x03xyz";	/* a second host_name */
	s.snitraillen = 6;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s.snitrail = "\x00";
	s.snitraillen = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s.snitraillen = 0;
	s.dupsni = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
}
END_TEST

START_TEST(test_alpn)
{
	char			list[1024];
	struct spec		s = base;
	struct tls_hello	h;
	size_t			i, n = 0;

	/* More protocols than remembered: the first ones are kept. */
	for (i = 0; i < HELLO_ALPN_MAX + 4; i++)
		n += snprintf(list + n, sizeof(list) - n, "\x03p%02zu", i);
	s.alpn = list;
	s.alpnlen = n;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_OK);
	ck_assert_uint_eq(h.nalpn, HELLO_ALPN_MAX);
	ck_assert_str_eq(h.alpn[0], "p00");
	ck_assert_str_eq(h.alpn[HELLO_ALPN_MAX - 1], "p15");

	/* Too long to remember, or not plain printable: skipped. */
	n = 0;
	list[n++] = 2;
	memcpy(list + n, "h2", 2);
	n += 2;
	list[n++] = HELLO_ALPN_LEN + 1;
	memset(list + n, 'x', HELLO_ALPN_LEN + 1);
	n += HELLO_ALPN_LEN + 1;
	list[n++] = 3;
	memcpy(list + n, "a\0b", 3);
	n += 3;
	/* A line of its own in the log, were it kept. */
	list[n++] = 8;
	memcpy(list + n, "x\n1.2.3.", 8);
	n += 8;
	list[n++] = 3;
	memcpy(list + n, "a b", 3);
	n += 3;
	list[n++] = HELLO_ALPN_LEN;
	memset(list + n, 'y', HELLO_ALPN_LEN);
	n += HELLO_ALPN_LEN;
	s.alpnlen = n;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_OK);
	ck_assert_uint_eq(h.nalpn, 2);
	ck_assert_str_eq(h.alpn[0], "h2");
	ck_assert_uint_eq(strlen(h.alpn[1]), HELLO_ALPN_LEN);
}
END_TEST

START_TEST(test_alpn_bad)
{
	struct spec		s = base;
	struct tls_hello	h;

	s.alpn = "";
	s.alpnlen = 0;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s.alpn = "\x02h2\x00";
	s.alpnlen = 4;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s.alpn = "\x02h2\x09http/1.1";
	s.alpnlen = 12;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s = base;
	s.dupalpn = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
}
END_TEST

START_TEST(test_trailing)
{
	struct spec		s = base;
	struct tls_hello	h;

	s.trail = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
	s.noext = 1;
	ck_assert_int_eq(parse_spec(&s, &h), HELLO_BAD);
}
END_TEST

/* A padded hello of exactly total bytes in one record. */
static void
build_sized(size_t total, struct offs *o)
{
	struct spec	s = base;

	s.pad = 1;
	build(&hs, &s, o);
	s.pad = total - 5 - hs.len + 1;
	build(&hs, &s, o);
	frame(&out, hs.b, hs.len, 0x0301, 16384);
	ck_assert_uint_eq(out.len, total);
}

START_TEST(test_maxbytes)
{
	struct tls_hello	h;
	struct offs		o;
	size_t			i;

	build_sized(HELLO_MAXBYTES, &o);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_OK);
	ck_assert_str_eq(h.sni, "www.example.com");
	for (i = 0; i < out.len; i += 509)
		ck_assert_int_eq(parse(out.b, i, &h), HELLO_NEED_MORE);
	memset(out.b + out.len, 0x16, 1000);
	out.len += 1000;
	ck_assert_int_eq(parse_w(&out, &h), HELLO_OK);

	/* The same, with one more record header: one byte too many. */
	frame(&out, hs.b, hs.len, 0x0301, 8192);
	ck_assert_uint_eq(out.len, HELLO_MAXBYTES + 5);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	ck_assert_int_eq(parse(out.b, HELLO_MAXBYTES, &h), HELLO_BAD);
	ck_assert_int_eq(parse(out.b, HELLO_MAXBYTES - 1, &h),
	    HELLO_NEED_MORE);

	/* One byte more in one record: known from the handshake header. */
	build_sized(HELLO_MAXBYTES + 1, &o);
	ck_assert_int_eq(parse_w(&out, &h), HELLO_BAD);
	ck_assert_int_eq(parse(out.b, 9, &h), HELLO_BAD);
	ck_assert_int_eq(parse(out.b, 8, &h), HELLO_NEED_MORE);
}
END_TEST

Suite *
hello_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("hello");

	tc = tcase_create("captures");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_capture, 0, NCAPTURES);
	tcase_add_loop_test(tc, test_capture_prefixes, 0, NCAPTURES);
	tcase_add_loop_test(tc, test_capture_refragmented, 0,
	    NCAPTURES * NFRAGSIZES);
	tcase_add_loop_test(tc, test_capture_truncated, 0, NCAPTURES);
	tcase_add_loop_test(tc, test_capture_mutations, 0, NCAPTURES);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_synthetic);
	tcase_add_test(tc, test_not_tls);
	tcase_add_test(tc, test_record_layer);
	tcase_add_test(tc, test_lengths);
	tcase_add_test(tc, test_fixed_fields);
	tcase_add_test(tc, test_trailing);
	tcase_add_test(tc, test_maxbytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_no_sni);
	tcase_add_test(tc, test_sni_case);
	tcase_add_test(tc, test_sni_bad);
	tcase_add_test(tc, test_sni_length);
	tcase_add_test(tc, test_sni_list);
	tcase_add_test(tc, test_sni_ext_trailing);
	tcase_add_test(tc, test_alpn);
	tcase_add_test(tc, test_alpn_bad);
	suite_add_tcase(s, tc);

	return (s);
}
