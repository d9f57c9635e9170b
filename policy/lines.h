/*
 * Inside policy/ only: a policy file as text, read with the parser's own
 * lexical rules ('#' to the end of the line is a comment, words are
 * separated by spaces or tabs, "[...]" is a section header), for the tools
 * that must keep every byte they do not change (edit.c) or read what the
 * parser throws away, the comments (diff.c). Nothing here parses a value.
 *
 *   lines.c	the line reader, headers, words; the growing text; the pins
 *		of [images] replaced, word for word
 */
#ifndef CW_POLICY_LINES_H
#define CW_POLICY_LINES_H

#include <stddef.h>

/* one line of the file, as the parser sees it */
struct line {
	size_t		start, end;	/* buf[start, end): the line without '\n' */
	size_t		next;		/* where the next line starts */
	size_t		number;		/* from 1 */
	const char	*text;		/* the line without comment and edge blanks */
	size_t		len;
};

/* a text built up piece by piece; nomem sticks once an allocation fails */
struct text {
	char	*buf;
	size_t	len, size;
	int	nomem;
};

/* the line at 'at' into *l (start with *l zeroed); 0 at the end of the file */
int	lines_next(const char *buf, size_t len, size_t at, struct line *l);
/* the first word of s[0, n) */
size_t	lines_word_len(const char *s, size_t n);
/* whether the words of s[0, n) are the words of 'want' (blanks between free) */
int	lines_words_equal(const char *s, size_t n, const char *want);
/* a section header line: its inside in *s, *n */
int	lines_is_header(const struct line *l, const char **s, size_t *n);
/* a setting: neither blank, comment only, nor a header */
int	lines_is_setting(const struct line *l);
/* a setting whose first word is 'key' */
int	lines_is_key(const struct line *l, const char *key);

/* the message into err[0, errlen), as the edits and the diff say errors */
void	lines_fail(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

void	text_put(struct text *t, const char *s, size_t n);
void	text_putf(struct text *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * The pins of [images], word for word: for each line NAME ID, to(arg, NAME,
 * ID) says the id that replaces ID, or NULL to keep it (a line with no ID
 * is always kept). Every other byte
 * stays, the line's own padding and comment included. Appends the new text
 * to *out and returns how many lines changed; each change is said in
 * *report (when not NULL) as "FNAME:LINE: NAME OLD -> NEW\n". Nothing is
 * parsed: the caller checks the result.
 */
typedef const char *lines_pin_fn(void *arg, const char *name, size_t namelen,
    const char *id, size_t idlen);
size_t	lines_repin(const char *buf, size_t len, const char *fname,
	    lines_pin_fn *to, void *arg, struct text *out, struct text *report);

#endif
