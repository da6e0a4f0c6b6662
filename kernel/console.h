/* The console: administrator commands typed on vimapd's standard input, as
 * the seed's console thread took them.  Each line is one command with its
 * arguments separated by blanks ("ENROLL smith 200"); the answer goes to
 * standard output.  A standard input at end of file (/dev/null under a
 * service manager) simply ends the console. */
#ifndef VIMAP_CONSOLE_H
#define VIMAP_CONSOLE_H

/* Starts the console thread.  0, or -1 with a reason. */
int console_start(const char **error_r);
/* Stops it (safe when never started). */
void console_stop(void);

#endif
