#include "jsonpos.h"

#include <string.h>

typedef struct frame {
    bool object;
    size_t index; /* arrays: the element being read */
    bool match;   /* this level's key or index is the path's */
} frame;

typedef struct scan {
    const char *s;
    size_t len, pos;
    frame st[JSONPOS_MAX_DEPTH];
    size_t depth;
} scan;

static void skip_ws(scan *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' ||
                               c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
        c->pos++;
}

/* Skips the string starting at pos (its opening quote); false when it is
 * not closed. When want is not NULL, *equal says whether its content is
 * want (simple escapes undone). */
static bool skip_string(scan *c, const char *want, bool *equal)
{
    size_t wi = 0, wl = want ? strlen(want) : 0;
    bool eq = want != NULL;
    c->pos++;
    while (c->pos < c->len && c->s[c->pos] != '"') {
        char ch = c->s[c->pos++];
        if (ch == '\\') {
            if (c->pos >= c->len)
                return false;
            ch = c->s[c->pos++];
            if (ch != '"' && ch != '\\' && ch != '/')
                eq = false;
        }
        if (eq && (wi >= wl || want[wi] != ch))
            eq = false;
        wi++;
    }
    if (c->pos >= c->len)
        return false;
    c->pos++;
    if (equal)
        *equal = eq && wi == wl;
    return true;
}

/* Whether every level of the stack matches the path (so far). */
static bool on_path(const scan *c)
{
    for (size_t i = 0; i < c->depth; i++)
        if (!c->st[i].match)
            return false;
    return true;
}

static bool index_matches(const scan *c, const jsonpos_step *path, size_t n)
{
    size_t d = c->depth - 1;
    return d < n && !path[d].key && path[d].index == c->st[d].index;
}

static void position(const char *s, size_t pos, int *line, int *column)
{
    int l = 1, col = 1;
    for (size_t i = 0; i < pos; i++) {
        if (s[i] == '\n') {
            l++;
            col = 1;
        } else {
            col++;
        }
    }
    *line = l;
    *column = col;
}

/* The scanner's state between tokens. */
enum expect { VALUE, KEY_OR_END, VALUE_OR_END, AFTER_VALUE };

bool jsonpos_find(const char *text, size_t len, const jsonpos_step *path, size_t n,
                  int *line, int *column)
{
    scan c = {.s = text, .len = len};
    enum expect e = VALUE;
    for (;;) {
        skip_ws(&c);
        if (c.pos >= c.len)
            return false;
        char ch = c.s[c.pos];
        switch (e) {
        case VALUE:
            if (c.depth == n && on_path(&c)) {
                position(text, c.pos, line, column);
                return true;
            }
            if (ch == '{' || ch == '[') {
                if (c.depth == JSONPOS_MAX_DEPTH)
                    return false;
                c.st[c.depth++] = (frame){ch == '{', 0, false};
                c.pos++;
                e = ch == '{' ? KEY_OR_END : VALUE_OR_END;
            } else if (ch == '"') {
                if (!skip_string(&c, NULL, NULL))
                    return false;
                e = AFTER_VALUE;
            } else {
                while (c.pos < c.len && !strchr(",}] \t\r\n", c.s[c.pos]))
                    c.pos++;
                e = AFTER_VALUE;
            }
            break;
        case KEY_OR_END: {
            if (ch == '}') {
                c.pos++;
                c.depth--;
                e = AFTER_VALUE;
                break;
            }
            if (ch != '"')
                return false;
            size_t d = c.depth - 1;
            bool eq = false;
            if (!skip_string(&c, d < n ? path[d].key : NULL, &eq))
                return false;
            c.st[d].match = eq;
            skip_ws(&c);
            if (c.pos >= c.len || c.s[c.pos] != ':')
                return false;
            c.pos++;
            e = VALUE;
            break;
        }
        case VALUE_OR_END:
            if (ch == ']') {
                c.pos++;
                c.depth--;
                e = AFTER_VALUE;
            } else {
                c.st[c.depth - 1].match = index_matches(&c, path, n);
                e = VALUE;
            }
            break;
        case AFTER_VALUE:
            if (c.depth == 0)
                return false;
            c.pos++;
            if (ch == ',') {
                frame *f = &c.st[c.depth - 1];
                if (f->object) {
                    e = KEY_OR_END;
                } else {
                    f->index++;
                    f->match = index_matches(&c, path, n);
                    e = VALUE;
                }
            } else if (ch == '}' || ch == ']') {
                c.depth--;
            } else {
                return false;
            }
            break;
        }
    }
}
