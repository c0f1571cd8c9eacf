#include "prompt.h"

#include <errno.h>
#include <histedit.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../common/xalloc.h"

/* How many lines the history keeps (in memory and in its file). */
#define PROMPT_HISTORY_SIZE 1000

struct prompt {
    EditLine *el;
    History *hist;
    char *text;         /* the prompt */
    char *history_file; /* NULL: memory only */
    char *buf;          /* the last line read, for the caller to tokenize */
    size_t cap;
};

static char *prompt_text(EditLine *el)
{
    prompt *p = NULL;
    el_get(el, EL_CLIENTDATA, &p);
    return p ? p->text : "";
}

prompt *prompt_new(const char *text, FILE *in, FILE *out, const char *history_file,
                   dkv_err *err)
{
    prompt *p = xcalloc(1, sizeof *p);
    p->text = xstrdup(text);
    p->history_file = history_file ? xstrdup(history_file) : NULL;
    p->hist = history_init();
    p->el = el_init("daadkvs", in, out, stderr);
    if (!p->hist || !p->el) {
        prompt_free(p);
        dkv_err_set(err, "cannot start the line editor (libedit)");
        return NULL;
    }
    HistEvent ev;
    history(p->hist, &ev, H_SETSIZE, PROMPT_HISTORY_SIZE);
    history(p->hist, &ev, H_SETUNIQUE, 1);
    /* A missing or unreadable file is a first session: nothing to recall. */
    if (p->history_file)
        history(p->hist, &ev, H_LOAD, p->history_file);
    el_set(p->el, EL_CLIENTDATA, p);
    el_set(p->el, EL_PROMPT, prompt_text);
    el_set(p->el, EL_EDITOR, "emacs");
    el_set(p->el, EL_HIST, history, p->hist);
    /* No EL_SIGNAL: libedit's handlers would re-send SIGINT to the whole
     * process group; the master's own handler makes the read return. */
    el_source(p->el, NULL); /* the user's ~/.editrc, if any */
    return p;
}

void prompt_free(prompt *p)
{
    if (!p)
        return;
    if (p->hist && p->history_file) {
        HistEvent ev;
        if (history(p->hist, &ev, H_SAVE, p->history_file) < 0)
            fprintf(stderr, "master: cannot write the prompt's history %s: %s\n",
                    p->history_file, strerror(errno));
    }
    if (p->el)
        el_end(p->el);
    if (p->hist)
        history_end(p->hist);
    free(p->text);
    free(p->history_file);
    free(p->buf);
    free(p);
}

int prompt_read(prompt *p, prompt_status *status, char **line, size_t *len, dkv_err *err)
{
    int n = 0;
    errno = 0;
    const char *got = el_gets(p->el, &n);
    if (!got || n <= 0) {
        if (errno == EINTR) {
            *status = PROMPT_INTERRUPTED;
            return 0;
        }
        if (n < 0 && errno != 0 && errno != EIO)
            return dkv_err_set(err, "cannot read the terminal: %s", strerror(errno));
        *status = PROMPT_EOF; /* Ctrl-D, or a hung-up terminal (EIO) */
        return 0;
    }
    size_t l = (size_t)n;
    if (l > 0 && got[l - 1] == '\n')
        l--;
    if (l + 2 > p->cap) {
        p->cap = l + 2;
        p->buf = xrealloc(p->buf, p->cap);
    }
    memcpy(p->buf, got, l);
    p->buf[l] = '\0';
    *line = p->buf;
    *len = l;
    *status = PROMPT_LINE;
    return 0;
}

void prompt_remember(prompt *p, const char *line)
{
    if (line[strspn(line, " \t\r\v\f")] == '\0')
        return;
    HistEvent ev;
    history(p->hist, &ev, H_ENTER, line);
}
