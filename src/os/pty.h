/* pty.h — pseudo-terminals for roles that ask for one (tty: true): the pair roster opens before
 * a spawn, the size it gives them (roster's own terminal's, else 80x24) and its changes. */
#ifndef ROSTER_PTY_H
#define ROSTER_PTY_H

/* A terminal's size in characters. */
struct pty_size {
    unsigned short rows, cols;
};

/* The size of roster's own terminal (its stdout, else its stdin), or 80x24 when neither is
 * one. */
struct pty_size pty_term_size(void);
/* Opens a pseudo-terminal of the given size: *master non-blocking, both close-on-exec, neither
 * roster's controlling terminal. The slave's echo is off (roster's own terminal has echoed what
 * the user typed once already); the child may turn it on. 0 or -errno; the caller owns and
 * closes both descriptors. */
int pty_open(int *master, int *slave, struct pty_size size);
/* Tells the terminal behind master its new size (the kernel sends SIGWINCH to its foreground
 * group). 0 or -errno. */
int pty_resize(int master, struct pty_size size);

#endif
