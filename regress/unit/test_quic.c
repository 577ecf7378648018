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
#include <stdlib.h>
#include <string.h>

#include "hello.h"
#include "quic.h"
#include "quic_pkt.h"
#include "suites.h"

/* RFC 9001 Appendix A and RFC 9369 Appendix A: the client's DCID. */
static const char dcid_hex[] = "8394c8f03e515708";

/* The CRYPTO frame of both A.2 sections, the ClientHello in it. */
static const char crypto_hex[] =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";

static const struct vector {
	uint32_t	 version;
	const char	*key, *iv, *hp;
	const char	*packet;
} vectors[] = {
	{ QUIC_V1,
	    "1f369613dd76d5467730efcbe3b1a22d",
	    "fa044b2f42a3fd3b46fb255c",
	    "9f50449e04a0e810283a1e9933adedd2",
	    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
	    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
	    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
	    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
	    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
	    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
	    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
	    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
	    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
	    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
	    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
	    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
	    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
	    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
	    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
	    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
	    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
	    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
	    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
	    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
	    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
	    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
	    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
	    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
	    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
	    "e221af44860018ab0856972e194cd934" },
	{ QUIC_V2,
	    "8b1a0bc121284290a29e0971b5cd045d",
	    "91f73e2351d8fa91660e909f",
	    "45b95e15235d6f45a6b19cbcb0294ba9",
	    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
	    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
	    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
	    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
	    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
	    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
	    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
	    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
	    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
	    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
	    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
	    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
	    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
	    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
	    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
	    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
	    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
	    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
	    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
	    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
	    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
	    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
	    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
	    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
	    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
	    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
	    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
	    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
	    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
	    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
	    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
	    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
	    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
	    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
	    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
	    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
	    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
	    "a18b2faa745b6fe189cf772a9f84cbfc" },
};
#define NVECTORS	(sizeof(vectors) / sizeof(vectors[0]))

/* Offset of the handshake message in the RFC's CRYPTO frame. */
#define CRYPTO_HDR	4
/* Where the ClientHello's extensions length is, in the message. */
#define CH_EXTLEN	47

static size_t
unhex(const char *s, uint8_t *out, size_t outsz)
{
	size_t		 n, i;
	unsigned int	 b;

	n = strlen(s) / 2;
	ck_assert_uint_le(n, outsz);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return (n);
}

static void
put_varint(uint8_t *p, size_t *pos, uint64_t v)
{
	if (v < 64)
		p[(*pos)++] = (uint8_t)v;
	else if (v < 16384) {
		p[(*pos)++] = (uint8_t)(0x40 | v >> 8);
		p[(*pos)++] = (uint8_t)v;
	} else {
		p[(*pos)++] = (uint8_t)(0x80 | v >> 24);
		p[(*pos)++] = (uint8_t)(v >> 16);
		p[(*pos)++] = (uint8_t)(v >> 8);
		p[(*pos)++] = (uint8_t)v;
	}
}

/* An Initial as quic_pkt_protect makes it; a failure fails the test. */
static size_t
protect(uint32_t version, const uint8_t *dcid, size_t dcidlen,
    uint64_t pn, size_t pnlen, const uint8_t *fr, size_t frlen, size_t size,
    uint8_t *out)
{
	size_t	 n;

	n = quic_pkt_protect(version, dcid, dcidlen, pn, pnlen, fr, frlen,
	    size, out);
	ck_assert_uint_ne(n, 0);
	return (n);
}

/* A CRYPTO frame of len bytes of the stream at off. */
static size_t
crypto_frame(uint8_t *out, const uint8_t *stream, size_t off, size_t len)
{
	size_t	 pos = 0;

	out[pos++] = 0x06;
	put_varint(out, &pos, off);
	put_varint(out, &pos, len);
	memcpy(out + pos, stream + off, len);
	return (pos + len);
}

/*
 * The RFC's ClientHello made pad + 4 bytes longer by a padding
 * extension (RFC 7685), as large as a post-quantum key share makes it.
 */
static size_t
big_hello(uint8_t *out, size_t outsz, size_t pad)
{
	uint8_t	 frame[512];
	size_t	 len, n, ext;

	n = unhex(crypto_hex, frame, sizeof(frame));
	len = n - CRYPTO_HDR;
	ck_assert_uint_le(len + 4 + pad, outsz);
	memcpy(out, frame + CRYPTO_HDR, len);
	out[len++] = 0x00;
	out[len++] = 0x15;
	out[len++] = (uint8_t)(pad >> 8);
	out[len++] = (uint8_t)pad;
	memset(out + len, 0, pad);
	len += pad;
	out[1] = (uint8_t)((len - 4) >> 16);
	out[2] = (uint8_t)((len - 4) >> 8);
	out[3] = (uint8_t)(len - 4);
	ext = len - CH_EXTLEN - 2;
	out[CH_EXTLEN] = (uint8_t)(ext >> 8);
	out[CH_EXTLEN + 1] = (uint8_t)ext;
	return (len);
}

static void
check_example(const struct quic_flow *f)
{
	ck_assert(f->hello.has_sni);
	ck_assert_str_eq(f->hello.sni, "example.com");
	ck_assert_uint_eq(f->hello.nalpn, 1);
	ck_assert_str_eq(f->hello.alpn[0], "alpn");
}

START_TEST(test_keys)
{
	const struct vector	*v = &vectors[_i];
	struct quic_keys	 k;
	uint8_t			 dcid[8], want[16];
	size_t			 n;

	n = unhex(dcid_hex, dcid, sizeof(dcid));
	ck_assert_int_eq(quic_initial_keys(v->version, dcid, n, &k), 0);
	n = unhex(v->key, want, sizeof(want));
	ck_assert_mem_eq(k.key, want, n);
	n = unhex(v->iv, want, sizeof(want));
	ck_assert_mem_eq(k.iv, want, n);
	n = unhex(v->hp, want, sizeof(want));
	ck_assert_mem_eq(k.hp, want, n);
	ck_assert_int_eq(quic_initial_keys(0xff00001d, dcid, 8, &k), -1);
}
END_TEST

START_TEST(test_rfc_packet)
{
	const struct vector	*v = &vectors[_i];
	struct quic_flow	 f;
	uint8_t			 pkt[1200], out[1200], dcid[8], frame[512];
	size_t			 n;

	n = unhex(v->packet, pkt, sizeof(pkt));
	ck_assert_uint_eq(n, sizeof(pkt));
	quic_flow_init(&f);
	ck_assert_int_eq(quic_input(&f, pkt, n), QUIC_HELLO);
	ck_assert_uint_eq(f.version, v->version);
	check_example(&f);
	/* The CRYPTO frame's data, byte for byte. */
	n = unhex(crypto_hex, frame, sizeof(frame));
	ck_assert_uint_eq(f.contig, n - CRYPTO_HDR);
	ck_assert_mem_eq(f.crypto, frame + CRYPTO_HDR, n - CRYPTO_HDR);
	/* Final: what follows is not looked at. */
	ck_assert_int_eq(quic_input(&f, pkt, 7), QUIC_HELLO);
	quic_flow_free(&f);

	/* The test's own protection gives the RFC's bytes. */
	unhex(dcid_hex, dcid, sizeof(dcid));
	ck_assert_uint_eq(protect(v->version, dcid, sizeof(dcid), 2, 4, frame,
	    n, sizeof(out), out), sizeof(out));
	ck_assert_mem_eq(out, pkt, sizeof(out));
}
END_TEST

/* The ClientHello in CRYPTO frames of several packets and datagrams. */
START_TEST(test_split)
{
	uint32_t		 version = vectors[_i].version;
	struct quic_flow	 f;
	uint8_t			 hello[4096], fr[4096], d1[1200], d2[4096];
	uint8_t			 dcid[8];
	size_t			 len, n, d2len;

	unhex(dcid_hex, dcid, sizeof(dcid));
	len = big_hello(hello, sizeof(hello), 1700);

	/* Two packets, the second first; PING and PADDING between. */
	quic_flow_init(&f);
	n = 0;
	fr[n++] = 0x01;
	fr[n++] = 0x00;
	fr[n++] = 0x00;
	n += crypto_frame(fr + n, hello, 1000, len - 1000);
	protect(version, dcid, 8, 1, 2, fr, n, 1200, d1);
	ck_assert_int_eq(quic_input(&f, d1, 1200), QUIC_NEED_MORE);
	n = crypto_frame(fr, hello, 0, 1000);
	fr[n++] = 0x01;
	protect(version, dcid, 8, 0, 4, fr, n, 1200, d1);
	ck_assert_int_eq(quic_input(&f, d1, 1200), QUIC_HELLO);
	ck_assert_uint_eq(f.contig, len);
	ck_assert_mem_eq(f.crypto, hello, len);
	check_example(&f);
	quic_flow_free(&f);

	/*
	 * Three packets: the last alone, overlapping the second with the
	 * same bytes; then the second and the first coalesced, the first
	 * with its two frames out of order.
	 */
	quic_flow_init(&f);
	n = 0;
	fr[n++] = 0x00;
	n += crypto_frame(fr + n, hello, 1700, len - 1700);
	protect(version, dcid, 8, 2, 1, fr, n, 1200, d1);
	ck_assert_int_eq(quic_input(&f, d1, 1200), QUIC_NEED_MORE);
	n = crypto_frame(fr, hello, 1200, 600);
	d2len = protect(version, dcid, 8, 1, 2, fr, n, 0, d2);
	n = crypto_frame(fr, hello, 600, 600);
	fr[n++] = 0x01;
	n += crypto_frame(fr + n, hello, 0, 600);
	d2len += protect(version, dcid, 8, 0, 4, fr, n, 0, d2 + d2len);
	ck_assert_uint_ge(d2len, 1200);
	ck_assert_int_eq(quic_input(&f, d2, d2len), QUIC_HELLO);
	ck_assert_mem_eq(f.crypto, hello, len);
	check_example(&f);
	quic_flow_free(&f);
}
END_TEST

/* Packets the client may coalesce after its Initial are stepped over. */
START_TEST(test_coalesced_other)
{
	struct quic_flow	 f;
	uint8_t			 fr[512], d[1200], dcid[8];
	size_t			 n, pos, plen;

	unhex(dcid_hex, dcid, sizeof(dcid));
	n = unhex(crypto_hex, fr, sizeof(fr));
	pos = protect(QUIC_V1, dcid, 8, 0, 4, fr, n, 0, d);
	/* A 0-RTT packet, opaque without 0-RTT keys. */
	plen = 100;
	d[pos++] = 0xd3;
	d[pos++] = 0;
	d[pos++] = 0;
	d[pos++] = 0;
	d[pos++] = 1;
	d[pos++] = 8;
	memcpy(d + pos, dcid, 8);
	pos += 8;
	d[pos++] = 0;
	d[pos++] = (uint8_t)(0x40 | plen >> 8);
	d[pos++] = (uint8_t)plen;
	memset(d + pos, 0xa5, plen);
	pos += plen;
	/* Then zeros to the end, as some clients pad datagrams. */
	memset(d + pos, 0, sizeof(d) - pos);

	quic_flow_init(&f);
	ck_assert_int_eq(quic_input(&f, d, sizeof(d)), QUIC_HELLO);
	check_example(&f);
	quic_flow_free(&f);
}
END_TEST

START_TEST(test_truncated)
{
	static const size_t	 lens[] = { 1199, 1100, 600, 60, 21, 6, 5 };
	struct quic_flow	 f;
	uint8_t			 pkt[1200];
	size_t			 i;

	unhex(vectors[0].packet, pkt, sizeof(pkt));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		quic_flow_init(&f);
		ck_assert_int_eq(quic_input(&f, pkt, lens[i]), QUIC_INVALID);
		quic_flow_free(&f);
	}
}
END_TEST

START_TEST(test_garbled)
{
	/* Payload, tag, packet number length, DCID, Length field. */
	static const size_t	 at[] = { 30, 1199, 0, 6, 18, 600 };
	struct quic_flow	 f;
	uint8_t			 pkt[1200];
	size_t			 i;

	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		unhex(vectors[_i].packet, pkt, sizeof(pkt));
		pkt[at[i]] ^= 0x01;
		quic_flow_init(&f);
		ck_assert_int_eq(quic_input(&f, pkt, sizeof(pkt)),
		    QUIC_INVALID);
		/* Final: a good packet changes nothing now. */
		unhex(vectors[_i].packet, pkt, sizeof(pkt));
		ck_assert_int_eq(quic_input(&f, pkt, sizeof(pkt)),
		    QUIC_INVALID);
		quic_flow_free(&f);
	}
}
END_TEST

/* Each payload is well protected: only what it says is wrong. */
START_TEST(test_bad_frames)
{
	static const struct {
		const char	*frames;
		size_t		 size;
	} bad[] = {
		{ "0800", 1200 },		/* STREAM */
		{ "1c000000", 1200 },		/* CONNECTION_CLOSE */
		{ "1c00007fff", 1200 },		/* its reason cut */
		{ "06803ffff60a", 1200 },	/* CRYPTO past the bound */
		{ "06004fff01", 1200 },		/* CRYPTO cut short */
		{ "060004020000ff", 1200 },	/* not a ClientHello */
		{ "020000bfffffff", 1200 },	/* ACK ranges past the end */
		{ "01", 1199 },			/* datagram too small */
		{ "01", 900 },
	};
	struct quic_flow	 f;
	uint8_t			 fr[64], d[1200], dcid[8];
	size_t			 i, n, len;

	unhex(dcid_hex, dcid, sizeof(dcid));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = unhex(bad[i].frames, fr, sizeof(fr));
		len = protect(QUIC_V1, dcid, 8, 0, 4, fr, n, bad[i].size, d);
		quic_flow_init(&f);
		ck_assert_msg(quic_input(&f, d, len) == QUIC_INVALID,
		    "frames %s", bad[i].frames);
		quic_flow_free(&f);
	}

	/* A short DCID, which no client starts with. */
	n = unhex("01", fr, sizeof(fr));
	len = protect(QUIC_V1, dcid, 7, 0, 4, fr, n, 1200, d);
	quic_flow_init(&f);
	ck_assert_int_eq(quic_input(&f, d, len), QUIC_INVALID);
	quic_flow_free(&f);
}
END_TEST

/* Data sent again must be the same, and the DCID must not change. */
START_TEST(test_conflict)
{
	struct quic_flow	 f;
	uint8_t			 hello[4096], fr[4096], d[1200], dcid[8];
	size_t			 len, n;

	unhex(dcid_hex, dcid, sizeof(dcid));
	len = big_hello(hello, sizeof(hello), 1700);
	quic_flow_init(&f);
	n = crypto_frame(fr, hello, 0, 1000);
	protect(QUIC_V1, dcid, 8, 0, 4, fr, n, 1200, d);
	ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_NEED_MORE);
	/* The same again is a retransmission. */
	ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_NEED_MORE);
	hello[999] ^= 0xff;
	n = crypto_frame(fr, hello, 999, len - 999);
	protect(QUIC_V1, dcid, 8, 1, 4, fr, n, 1200, d);
	ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_INVALID);
	quic_flow_free(&f);

	hello[999] ^= 0xff;
	quic_flow_init(&f);
	n = crypto_frame(fr, hello, 0, 1000);
	protect(QUIC_V1, dcid, 8, 0, 4, fr, n, 1200, d);
	ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_NEED_MORE);
	dcid[0] ^= 1;
	n = crypto_frame(fr, hello, 1000, len - 1000);
	protect(QUIC_V1, dcid, 8, 1, 4, fr, n, 1200, d);
	ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_INVALID);
	quic_flow_free(&f);
}
END_TEST

START_TEST(test_max_datagrams)
{
	struct quic_flow	 f;
	uint8_t			 fr[1] = { 0x01 }, d[1200], dcid[8];
	size_t			 i;

	unhex(dcid_hex, dcid, sizeof(dcid));
	quic_flow_init(&f);
	for (i = 0; i < QUIC_FLOW_DGRAMS; i++) {
		protect(QUIC_V2, dcid, 8, i, 1, fr, 1, 1200, d);
		ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_NEED_MORE);
	}
	protect(QUIC_V2, dcid, 8, i, 1, fr, 1, 1200, d);
	ck_assert_int_eq(quic_input(&f, d, 1200), QUIC_INVALID);
	quic_flow_free(&f);
}
END_TEST

START_TEST(test_not_initial)
{
	static const char	*heads[] = {
		"40",			/* short header */
		"c000000000",		/* version negotiation */
		"c0ff00001d",		/* a draft version */
		"e000000001",		/* v1 Handshake */
		"d000000001",		/* v1 0-RTT */
		"c06b3343cf",		/* v2 Retry */
		"c0000000",		/* no room for a version */
	};
	struct quic_flow	 f;
	uint8_t			 d[1200], pkt[1200];
	size_t			 i, n;

	quic_flow_init(&f);
	ck_assert_int_eq(quic_input(&f, d, 0), QUIC_NOT_INITIAL);
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		memset(d, 0x5a, sizeof(d));
		n = unhex(heads[i], d, sizeof(d));
		ck_assert_int_eq(quic_input(&f, d, sizeof(d)),
		    QUIC_NOT_INITIAL);
		ck_assert_int_eq(quic_input(&f, d, n), QUIC_NOT_INITIAL);
	}
	/* None of them touched the flow. */
	unhex(vectors[1].packet, pkt, sizeof(pkt));
	ck_assert_int_eq(quic_input(&f, pkt, sizeof(pkt)), QUIC_HELLO);
	check_example(&f);
	quic_flow_free(&f);
}
END_TEST

START_TEST(test_hello_handshake)
{
	struct tls_hello	 h;
	uint8_t			 frame[512];
	const uint8_t		*m = frame + CRYPTO_HDR;
	size_t			 n, i;

	n = unhex(crypto_hex, frame, sizeof(frame)) - CRYPTO_HDR;
	ck_assert_int_eq(hello_parse_handshake(m, n, &h), HELLO_OK);
	ck_assert_str_eq(h.sni, "example.com");
	ck_assert_uint_eq(h.record_version, 0);
	ck_assert_uint_eq(h.client_version, 0x0303);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(hello_parse_handshake(m, i, &h),
		    HELLO_NEED_MORE);
	/* With a record header it is not a bare message. */
	frame[CRYPTO_HDR - 1] = 22;
	ck_assert_int_eq(hello_parse_handshake(m - 1, n + 1, &h), HELLO_BAD);
}
END_TEST

/* The probe draws Version Negotiation; only its own answer counts. */
START_TEST(test_probe)
{
	uint8_t		 cids[2 * QUIC_PROBE_CIDLEN], p[QUIC_PROBE_LEN];
	uint8_t		 vn[6 + 2 * (1 + QUIC_PROBE_CIDLEN) + 4 - 1];
	size_t		 i;

	for (i = 0; i < sizeof(cids); i++)
		cids[i] = i + 1;
	quic_probe_make(p, cids);
	ck_assert_uint_eq(p[0] & 0xc0, 0xc0);
	/* A version reserved to force negotiation: 0x?a?a?a?a. */
	for (i = 1; i <= 4; i++)
		ck_assert_uint_eq(p[i] & 0x0f, 0x0a);
	ck_assert_uint_eq(p[5], QUIC_PROBE_CIDLEN);
	ck_assert_mem_eq(p + 6, cids, QUIC_PROBE_CIDLEN);
	ck_assert_uint_eq(p[6 + QUIC_PROBE_CIDLEN], QUIC_PROBE_CIDLEN);
	ck_assert_mem_eq(p + 7 + QUIC_PROBE_CIDLEN, cids + QUIC_PROBE_CIDLEN,
	    QUIC_PROBE_CIDLEN);

	memset(vn, 0, sizeof(vn));
	vn[0] = 0x80 | 0x35;
	vn[5] = QUIC_PROBE_CIDLEN;
	memcpy(vn + 6, cids + QUIC_PROBE_CIDLEN, QUIC_PROBE_CIDLEN);
	vn[6 + QUIC_PROBE_CIDLEN] = QUIC_PROBE_CIDLEN;
	memcpy(vn + 7 + QUIC_PROBE_CIDLEN, cids, QUIC_PROBE_CIDLEN);
	vn[sizeof(vn) - 1] = 1;		/* version 1 supported */
	ck_assert_int_eq(quic_probe_answered(vn, sizeof(vn), cids), 1);
	ck_assert_int_eq(quic_probe_answered(vn, sizeof(vn) - 1, cids), 0);
	vn[4] = 1;			/* not Version Negotiation */
	ck_assert_int_eq(quic_probe_answered(vn, sizeof(vn), cids), 0);
	vn[4] = 0;
	vn[6] ^= 1;			/* not our IDs */
	ck_assert_int_eq(quic_probe_answered(vn, sizeof(vn), cids), 0);
	vn[6] ^= 1;
	vn[0] &= 0x7f;			/* short header */
	ck_assert_int_eq(quic_probe_answered(vn, sizeof(vn), cids), 0);
}
END_TEST

Suite *
quic_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("quic");

	tc = tcase_create("rfc");
	tcase_add_loop_test(tc, test_keys, 0, NVECTORS);
	tcase_add_loop_test(tc, test_rfc_packet, 0, NVECTORS);
	tcase_add_test(tc, test_hello_handshake);
	suite_add_tcase(s, tc);

	tc = tcase_create("reassembly");
	tcase_add_loop_test(tc, test_split, 0, NVECTORS);
	tcase_add_test(tc, test_coalesced_other);
	tcase_add_test(tc, test_max_datagrams);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, test_truncated);
	tcase_add_loop_test(tc, test_garbled, 0, NVECTORS);
	tcase_add_test(tc, test_bad_frames);
	tcase_add_test(tc, test_conflict);
	tcase_add_test(tc, test_not_initial);
	suite_add_tcase(s, tc);

	tc = tcase_create("probe");
	tcase_add_test(tc, test_probe);
	suite_add_tcase(s, tc);

	return (s);
}
