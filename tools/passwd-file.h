/* `vimap passwd USER`: sets a user's password in the cp user directory
 * file, as a yescrypt hash, replacing the file atomically. */
#ifndef VIMAP_PASSWD_FILE_H
#define VIMAP_PASSWD_FILE_H

/* Runs the command (argv[0] is "passwd").  The file is `users_file` when
   given, else the configuration's plugins.cp.directory, else the default.
   Returns the process exit status. */
int passwd_file_command(const char *config_path, const char *server_name,
			const char *users_file, int argc, char **argv);

/* Sets `user`'s entry in the file at `path` to `hash` (adding it when
   missing): written to a temporary file, fsynced, renamed over.  0, or -1
   with a reason. */
int passwd_file_set(const char *path, const char *user, const char *hash,
		    const char **error_r);

#endif
