/* screen: rpc_body_check, the screen every XML-RPC body passes before
 * xmlrpc-c parses it (issue 11): nesting depth, DOCTYPE and entity
 * declarations, undefined entities, processing instructions, declared
 * encodings; what our own encoders and ordinary XML-RPC clients write
 * (comments, CDATA, character references) still passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"
#include "../common/rpc.h"
#include "tests.h"

static int check(const char *xml, dkv_err *err)
{
    return rpc_body_check(xml, strlen(xml), SIZE_MAX, err);
}

static void expect_ok(const char *xml)
{
    dkv_err err = {{0}};
    int rc = check(xml, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0)
        fprintf(stderr, "\n  refused (%s): %.200s\n", err.msg, xml);
}

/* Refused, with a message that contains why. */
static void expect_refused(const char *xml, const char *why)
{
    dkv_err err = {{0}};
    int rc = check(xml, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
    if (rc != -1 || !strstr(err.msg, why))
        fprintf(stderr, "\n  rc %d, '%s' (wanted '%s'): %.200s\n", rc, err.msg, why, xml);
}

/* prefix, then n times open, then middle, then n times close. */
static char *nested(const char *prefix, const char *open, size_t n, const char *middle,
                    const char *close, const char *suffix)
{
    size_t len = strlen(prefix) + n * (strlen(open) + strlen(close)) + strlen(middle) +
                 strlen(suffix) + 1;
    char *s = xmalloc(len), *q = s;
    q = stpcpy(q, prefix);
    for (size_t i = 0; i < n; i++)
        q = stpcpy(q, open);
    q = stpcpy(q, middle);
    for (size_t i = 0; i < n; i++)
        q = stpcpy(q, close);
    stpcpy(q, suffix);
    return s;
}

#define CALL_HEAD "<?xml version=\"1.0\"?><methodCall><methodName>m</methodName><params><param>"
#define CALL_TAIL "</param></params></methodCall>"

static void test_legit_bodies(void)
{
    /* What xmlrpc-c and rpcflat write, and what other clients may. */
    expect_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<methodCall><methodName>put"
              "</methodName><params><param><value><base64>QUJD</base64></value></param>"
              "<param><value><i8>-9223372036854775808</i8></value></param></params>"
              "</methodCall>\r\n");
    expect_ok("<methodCall><methodName>ping</methodName><params/></methodCall>");
    /* UTF-8 of every length is text like any other. */
    expect_ok("<a>\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf</a>");
    expect_ok("<?xml version='1.0' encoding='utf-8'?><methodCall/>");
    expect_ok(CALL_HEAD "<!-- a comment with <tags> & such --><value><string>"
                        "<![CDATA[<not a tag> & not a reference]]></string></value>" CALL_TAIL);
    expect_ok(CALL_HEAD "<value><string>&lt;&gt;&amp;&quot;&apos;&#65;&#x4a;</string></value>"
              CALL_TAIL);
    expect_ok(CALL_HEAD "<value a=\"x > y\" b='&amp;'><ex:i8>7</ex:i8></value>" CALL_TAIL);
    expect_ok(CALL_HEAD "<value><nil/></value>" CALL_TAIL);
    /* A dump reply, our deepest message (14 levels). */
    expect_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?><methodResponse><params><param>"
              "<value><struct><member><name>entries</name><value><array><data><value>"
              "<array><data><value><base64>QQ==</base64></value></data></array></value>"
              "</data></array></value></member></struct></value></param></params>"
              "</methodResponse>");
    expect_ok("");
}

static void test_depth(void)
{
    /* Exactly the limit passes, one more does not; methodCall, params and
     * param make 3 levels, each value 1. */
    char *s = nested(CALL_HEAD, "<value>", RPC_MAX_DEPTH - 3, "", "</value>", CALL_TAIL);
    expect_ok(s);
    free(s);
    s = nested(CALL_HEAD, "<value>", RPC_MAX_DEPTH - 3 - 1, "<nil/>", "</value>", CALL_TAIL);
    expect_ok(s);
    free(s);
    s = nested(CALL_HEAD, "<value>", RPC_MAX_DEPTH - 3, "<nil/>", "</value>", CALL_TAIL);
    expect_refused(s, "nested deeper than 32");
    free(s);
    s = nested(CALL_HEAD, "<value>", RPC_MAX_DEPTH - 2, "", "</value>", CALL_TAIL);
    expect_refused(s, "nested deeper");
    free(s);
    /* The attacks of issue 11: 200,000 nested elements (1.4 MB) and
     * 60,000 nested arrays. */
    s = nested(CALL_HEAD "<value>", "<a>", 200000, "", "</a>", "</value>" CALL_TAIL);
    expect_refused(s, "nested deeper");
    free(s);
    s = nested(CALL_HEAD "<value>", "<array><data><value>", 60000, "<i4>1</i4>",
               "</value></data></array>", "</value>" CALL_TAIL);
    expect_refused(s, "nested deeper");
    /* rpcflat, which reads bodies before the screen, reads no nesting at
     * all: it refuses such a body in one pass, without recursion. */
    rpcflat_msg *m = rpcflat_msg_new();
    CU_ASSERT_EQUAL(rpcflat_parse_call(m, s, strlen(s)), -1);
    CU_ASSERT_EQUAL(rpcflat_parse_response(m, s, strlen(s)), -1);
    rpcflat_msg_free(m);
    free(s);
    /* Depth is counted across siblings: closing tags bring it back. */
    s = nested(CALL_HEAD, "<value></value>", 100000, "", "", CALL_TAIL);
    expect_ok(s);
    free(s);
    /* Nesting hidden in comments or CDATA is text, not depth. */
    s = nested(CALL_HEAD "<value><string><!--", "<a>", 1000, "--><![CDATA[", "<b>",
               "]]></string></value>" CALL_TAIL);
    expect_ok(s);
    free(s);
    /* A '>' in an attribute value does not end the tag early. */
    s = nested(CALL_HEAD, "<value a='>'>", 40, "", "</value>", CALL_TAIL);
    expect_refused(s, "nested deeper");
    free(s);
    expect_refused(CALL_HEAD "</param></param></param></param>" CALL_TAIL,
                   "end tag without a start tag");
}

static void test_declarations(void)
{
    /* The 533-byte entity bomb of issue 11, nine levels of entities. */
    expect_refused("<?xml version=\"1.0\"?><!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\">"
                   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><methodCall>"
                   "<methodName>ping</methodName><params><param><value><string>&b;"
                   "</string></value></param></params></methodCall>",
                   "DOCTYPE");
    static const char *decls[] = {
        "<!DOCTYPE methodCall>",
        "<!DOCTYPE methodCall SYSTEM \"file:///etc/passwd\">",
        "<!ENTITY x \"y\">",
        "<!ELEMENT methodCall ANY>",
        "<!ATTLIST methodCall a CDATA #IMPLIED>",
        "<!NOTATION n SYSTEM \"x\">",
        "<!-x->",
        "<![INCLUDE[ ]]>",
        "<!",
    };
    for (size_t i = 0; i < sizeof decls / sizeof decls[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "<?xml version=\"1.0\"?>%s<methodCall/>", decls[i]);
        expect_refused(body, "declaration");
        snprintf(body, sizeof body, "<methodCall>%s</methodCall>", decls[i]);
        expect_refused(body, "declaration");
    }
}

static void test_references_and_pis(void)
{
    expect_refused(CALL_HEAD "<value><string>&x;</string></value>" CALL_TAIL, "undefined entity");
    expect_refused(CALL_HEAD "<value><string>&amp</string></value>" CALL_TAIL, "undefined entity");
    expect_refused(CALL_HEAD "<value><string>a & b</string></value>" CALL_TAIL,
                   "undefined entity");
    expect_refused(CALL_HEAD "<value><string>&#;</string></value>" CALL_TAIL, "undefined entity");
    expect_refused(CALL_HEAD "<value><string>&#123456789;</string></value>" CALL_TAIL,
                   "undefined entity");
    expect_refused(CALL_HEAD "<value a=\"&x;\"/>" CALL_TAIL, "undefined entity");
    expect_refused("<?xml-stylesheet href=\"x\"?><methodCall/>", "processing instruction");
    expect_refused("<?xml version=\"1.0\"?><methodCall><?php x ?></methodCall>",
                   "processing instruction");
    expect_refused(" <?xml version=\"1.0\"?><methodCall/>", "processing instruction");
    expect_refused("<?xml version=\"1.0\"<methodCall/>", "processing instruction");
    expect_refused("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall/>", "UTF-8");
    expect_refused("<?xml version=\"1.0\" encoding=\"UTF-16\"?><methodCall/>", "UTF-8");
    /* "encoding" in the body is just text. */
    expect_ok(CALL_HEAD "<value><string>encoding=latin1</string></value>" CALL_TAIL);
}

static void test_unterminated_and_bytes(void)
{
    expect_refused(CALL_HEAD "<!-- open", "unterminated comment");
    expect_refused(CALL_HEAD "<![CDATA[ open", "unterminated CDATA");
    expect_refused(CALL_HEAD "<value", "unterminated tag");
    expect_refused(CALL_HEAD "<value a='<'>", "'<' inside a tag");
    expect_refused("\xef\xbb\xbf<methodCall/>", "byte-order mark");
    /* Malformed UTF-8: the parser would swallow the bytes after a lead
     * byte, '<' included, and nest deeper than the screen counted (a fuzz
     * finding: "\xc3</>" is an end tag to a byte reader, text to expat). */
    expect_refused("<methodCall><value>\xc3</><a/></value></methodCall>", "not UTF-8");
    expect_refused("<a>\x80</a>", "not UTF-8");
    expect_refused("<a>\xc0\xaf</a>", "not UTF-8");         /* overlong '/' */
    expect_refused("<a>\xed\xa0\x80</a>", "not UTF-8");     /* a surrogate */
    expect_refused("<a>\xf4\x90\x80\x80</a>", "not UTF-8"); /* above U+10FFFF */
    expect_refused("<a>\xe2\x82</a>", "not UTF-8");         /* cut short */
    expect_refused("\xff\xfe<\0m", "byte-order mark");
    dkv_err err;
    CU_ASSERT_EQUAL(rpc_body_check("<a>\0</a>", 8, SIZE_MAX, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NUL"));
    /* The i8 rules (xmlrpc-c 1.33 crashes on the others). */
    expect_refused(CALL_HEAD "<value><i8>x</i8></value>" CALL_TAIL, "64-bit integer");
    expect_refused(CALL_HEAD "<value><i8>9223372036854775808</i8></value>" CALL_TAIL,
                   "64-bit integer");
    expect_refused(CALL_HEAD "<value><i8/></value>" CALL_TAIL, "i8 element");
    expect_refused(CALL_HEAD "<value><i8 a='1'>1</i8></value>" CALL_TAIL, "i8 element");
    /* The parser joins text across comments and CDATA: "1x". */
    expect_refused(CALL_HEAD "<value><i8>1<!-- -->x</i8></value>" CALL_TAIL, "64-bit integer");
    expect_refused(CALL_HEAD "<value><ex:i8>1<![CDATA[x]]></ex:i8></value>" CALL_TAIL,
                   "64-bit integer");
    expect_ok(CALL_HEAD "<value><i8>12</i8 ></value>" CALL_TAIL);
    expect_ok(CALL_HEAD "<value><i8x>x</i8x></value>" CALL_TAIL);
}

static void test_element_count(void)
{
    char *s = nested(CALL_HEAD "<value><array><data>", "<value><i4>1</i4></value>", 1000, "", "",
                     "</data></array></value>" CALL_TAIL);
    dkv_err err;
    /* methodCall methodName params param value array data + 2 per item */
    CU_ASSERT_EQUAL(rpc_body_check(s, strlen(s), 2007, &err), 0);
    CU_ASSERT_EQUAL(rpc_body_check(s, strlen(s), 2006, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "more than 2006 elements"));
    free(s);
}

void add_screen_tests(void)
{
    static const CU_TestInfo tests[] = {
        {"legitimate bodies pass (comments, CDATA, references)", test_legit_bodies},
        {"nesting deeper than RPC_MAX_DEPTH is refused", test_depth},
        {"DOCTYPE and markup declarations are refused", test_declarations},
        {"undefined entities and processing instructions are refused",
         test_references_and_pis},
        {"unterminated markup, odd bytes, bad i8", test_unterminated_and_bytes},
        {"a call's elements are counted", test_element_count},
        CU_TEST_INFO_NULL,
    };
    tests_add_suite("screen", NULL, NULL, tests);
}
