/* hex: bytes to hexadecimal text and back. */
#include "hex.h"

#include "xalloc.h"

/* The value of one digit, or -1 when c is none. */
static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    char lower = (char)(c | 0x20); /* 'A'..'F' to 'a'..'f'; nothing else lands there */
    if (lower >= 'a' && lower <= 'f')
        return lower - 'a' + 10;
    return -1;
}

char *hex_encode(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *text = xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        text[2 * i] = digits[p[i] >> 4];
        text[2 * i + 1] = digits[p[i] & 15];
    }
    text[2 * n] = '\0';
    return text;
}

int hex_decode(const char *text, size_t len, uint8_t *out, dkv_err *err)
{
    if (len % 2 != 0)
        return dkv_err_set(err, "hex text has an odd number of digits");
    for (size_t i = 0; i < len / 2; i++) {
        int hi = digit_value(text[2 * i]), lo = digit_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return dkv_err_set(err, "'%c%c' is not a hex byte", text[2 * i] ? text[2 * i] : '?',
                               text[2 * i + 1] ? text[2 * i + 1] : '?');
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
