/* esc: the one place where text from a history (script lines, keys,
 * values, error messages, command words: any bytes) is made safe for HTML
 * and SVG. Everything the report writes that it did not make itself goes
 * through here. */
#ifndef DKV_REPORT_ESC_H
#define DKV_REPORT_ESC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes p[0..n) as HTML/XML text that is also safe inside a double- or
 * single-quoted attribute: & < > " ' become entities, valid UTF-8 passes,
 * control bytes and bytes that are not UTF-8 show as \xHH (a backslash as
 * \x5c, so the escape is unambiguous). At most max bytes of input are
 * shown (then "..."); max 0: all. */
void esc_html(FILE *f, const uint8_t *p, size_t n, size_t max);
/* The same for a NUL-terminated string. */
void esc_html_str(FILE *f, const char *s);

#endif
