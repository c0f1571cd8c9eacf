#include "prompt.h"

#include <errno.h>
#include <histedit.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/xalloc.h"

/* How many lines the history keeps (in memory and in its file). */
#define PROMPT_HISTORY_SIZE 1000

struct prompt {
    EditLine *el;
    History *hist;
    int fd; /* the terminal */
    char *text;         /* the prompt */
    char *history_file; /* NULL: memory only */
    char *buf;          /* the last line read, for the caller to tokenize */
    size_t cap;
    FILE *out;          /* the terminal, for lines libedit did not show */
    char *ahead;        /* read ahead of the editor, not yet returned */
    size_t ahead_len;
    bool ahead_unseen;  /* it came while libedit read, which did not show it */
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
    p->fd = fileno(in);
    p->out = out;
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
    free(p->ahead);
    free(p);
}

/* Keeps got[0..n) (a newline at its end dropped) as the line read. */
static void keep_line(prompt *p, const char *got, size_t n, char **line, size_t *len)
{
    if (n > 0 && got[n - 1] == '\n')
        n--;
    if (n + 2 > p->cap) {
        p->cap = n + 2;
        p->buf = xrealloc(p->buf, p->cap);
    }
    memcpy(p->buf, got, n);
    p->buf[n] = '\0';
    *line = p->buf;
    *len = n;
}

/* Reads what waits on the terminal into p->ahead: its length, 0 at the
 * end of input, -1 on an error. */
static ssize_t take_pending(prompt *p)
{
    char got[4096]; /* the most a terminal's line holds */
    ssize_t n = read(p->fd, got, sizeof got);
    if (n <= 0)
        return n;
    p->ahead = xrealloc(p->ahead, (size_t)n);
    memcpy(p->ahead, got, (size_t)n);
    p->ahead_len = (size_t)n;
    return n;
}

/* What was typed while a command ran waits in the terminal's buffer. In
 * the terminal's ordinary line mode (a command running) a line comes as
 * typed, ended by '\n', and the terminal echoed it. Lines that came while
 * libedit had its own mode (several lines pasted at the prompt: libedit
 * takes the first) end in '\r' and were not shown: each is shown with the
 * prompt before it runs. The kernel hands such bytes over in one piece,
 * so they are kept here and returned one line at a time. A Ctrl-D on an
 * empty line in line mode reads as the end (read returns 0), which ends
 * the session as at the prompt. A last, unfinished piece goes to the
 * editor, to be finished. 1 when *status is set, 0 when nothing complete
 * waits. */
static int read_typed_ahead(prompt *p, prompt_status *status, char **line, size_t *len)
{
    if (p->ahead_len == 0) {
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
            return 0;
        ssize_t n = take_pending(p);
        if (n < 0)
            return 0; /* libedit will see the error */
        if (n == 0) {
            *status = PROMPT_EOF;
            return 1;
        }
        p->ahead_unseen = false; /* typed while a command ran: echoed */
    }
    size_t end = 0;
    while (end < p->ahead_len && p->ahead[end] != '\n' && p->ahead[end] != '\r')
        end++;
    if (end == p->ahead_len) {
        /* Unfinished: the editor shows it and lets it be finished (a NUL
         * would cut it there; the parser refuses such a line anyway). */
        char *rest = xmalloc(p->ahead_len + 1);
        memcpy(rest, p->ahead, p->ahead_len);
        rest[p->ahead_len] = '\0';
        el_push(p->el, rest);
        free(rest);
        p->ahead_len = 0;
        return 0;
    }
    bool unseen = p->ahead_unseen;
    keep_line(p, p->ahead, end, line, len);
    size_t used = end + 1;
    if (p->ahead[end] == '\r' && used < p->ahead_len && p->ahead[used] == '\n')
        used++;
    memmove(p->ahead, p->ahead + used, p->ahead_len - used);
    p->ahead_len -= used;
    if (unseen && p->out) {
        fprintf(p->out, "%s%.*s\n", p->text, (int)*len, *line);
        fflush(p->out);
    }
    *status = PROMPT_LINE;
    return 1;
}

int prompt_read(prompt *p, prompt_status *status, char **line, size_t *len, dkv_err *err)
{
    if (read_typed_ahead(p, status, line, len))
        return 0;
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
    keep_line(p, got, (size_t)n, line, len);
    /* Lines pasted after this one came while libedit read: the kernel
     * holds them for reading now that the terminal is back in line mode.
     * Taken now, they are known as not shown. */
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    if (p->ahead_len == 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) &&
        take_pending(p) > 0)
        p->ahead_unseen = true;
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
