#ifndef IAMKEYS_SINK_H
#define IAMKEYS_SINK_H
/*
 * Where a new secret goes (--to), one vtable each:
 *   file:PATH              JSON file, O_EXCL, 0600, fsync, atomic rename
 *   profile:NAME[@FILE]    a profile of the shared credentials file, edited in place
 *   secretsmanager:NAME    CreateSecret or PutSecretValue
 *   ssm:NAME               PutParameter SecureString Overwrite
 *   exec:COMMAND           COMMAND run without a shell, JSON on its stdin
 *   -                      standard output (only when asked for explicitly)
 * {user} and {account} in the spec are expanded from the context.
 *
 * profile:NAME@FILE: the '@' splits only when FILE starts with '/', '~' or
 * '.' (so "profile:me@work" is the profile "me@work", and {user} may expand
 * to an e-mail address); FILE "~/..." is under $HOME. The split is made
 * before expansion. exec: the command is split into words first, then
 * each word is expanded, so {user} never adds or splits a word.
 */
#include "core/strbuf.h"

struct aws_client;

/* What is delivered; the JSON form is
 * {"AccessKeyId", "SecretAccessKey", "UserName", "CreateDate"}. */
struct new_secret {
	const char *access_key_id;
	const char *secret_access_key;
	const char *user_name;
	const char *create_date; /* ISO 8601 */
	const char *account_id;	 /* may be NULL */
};

struct sink_context {
	const char *user;    /* for {user} */
	const char *account; /* for {account}; NULL = unknown ({account} is then an error) */
	/*
	 * For secretsmanager/ssm (their own endpoints), and for the profile
	 * sink's preflight, which refuses the profile this client's
	 * credentials come from (cred_provider_profile_origin). May be NULL.
	 */
	struct aws_client *client;
	int overwrite;	     /* file: replace an existing file */
	int follow_symlinks; /* profile: edit the target of a link that leaves its directory */
	int own_profile_ok;  /* profile: the client's own profile may be written (--self) */
	const char *const *exec_env; /* extra NAME=VALUE strings for exec (non-secret metadata) */
	int exec_timeout_ms;	     /* exec: killed after this long; 0 = 60000 */
	/*
	 * Tests only: the profile sink calls this right before the edited file
	 * replaces the original (after its last check for a concurrent change).
	 */
	void (*before_commit)(void *ctx, const char *path);
	void *before_commit_ctx;
};

struct sink;
struct sink_vtable {
	const char *scheme;
	/* Delivers s. 0, or -1 with a one-line message in err (delivery failed). */
	int (*deliver)(struct sink *k, const struct new_secret *s, struct strbuf *err);
	/* Optional: frees what the kind adds (sink_free frees the base's fields and k itself). */
	void (*release)(struct sink *k);
	/*
	 * Optional (NULL: nothing to check). Called before the key exists, so
	 * that a delivery bound to fail stops before CreateAccessKey (a key
	 * created and then deleted again). 0: deliverable as far as can be
	 * told; 1: delivery would be refused (why in err: the file exists and
	 * --overwrite was not given, the command cannot be found); -1: could
	 * not check (why in err; delivery may still work). In every case
	 * *held_key_id may be set to the AccessKeyId the target holds now
	 * (caller frees; NULL when the target is empty or cannot be read).
	 */
	int (*preflight)(struct sink *k, char **held_key_id, struct strbuf *err);
};
struct sink {
	const struct sink_vtable *vt;
	char *target; /* the expanded spec, for messages: "file:/srv/alice.json" */
	/*
	 * What is written, for telling whether two sinks write the same thing:
	 * "file:" and the absolute path (directory resolved), "profile:" and
	 * the resolved file, a newline and the profile name, "secretsmanager:"
	 * or "ssm:" and the name. NULL for exec: and - (each delivery is its
	 * own). Freed by sink_free.
	 */
	char *identity;
	/* What the spec names once expanded: the file's path, the profile's, secret's or
	 * parameter's name. NULL for exec: and -. Freed by sink_free. */
	char *arg;
};

/*
 * Parses and expands spec. NULL with a one-line message in err for an
 * unknown scheme, an empty target, a bad template ("{usr}"), {account}
 * without an account, or a profile name that is not valid.
 */
struct sink *sink_new(const char *spec, const struct sink_context *ctx, struct strbuf *err);
int sink_deliver(struct sink *k, const struct new_secret *s, struct strbuf *err);
/* The vtable's preflight, or 0 when the sink has none (*held_key_id NULL). */
int sink_preflight(struct sink *k, char **held_key_id, struct strbuf *err);
void sink_free(struct sink *k);
/*
 * Which of sinks[0..n) write the same target: group[i] is the smallest j
 * whose sink has the same identity as sinks[i], or i (a NULL sink, or one
 * without identity, is alone).
 */
void sink_group_shared(struct sink *const *sinks, size_t n, size_t *group);

/* Expands {user} and {account} in tmpl into out. 0 / -1 with err. */
int sink_expand_template(struct strbuf *out, const char *tmpl, const char *user,
			 const char *account, struct strbuf *err);

/* The JSON document delivered by file/secretsmanager/exec/stdout sinks. Caller wipes it. */
void new_secret_json(struct strbuf *out, const struct new_secret *s);
/*
 * The AccessKeyId of a document like new_secret_json's, also when it is
 * itself a JSON string inside another document (a GetSecretValue
 * response): the first "AccessKeyId" member whose value is 16 to 128
 * upper-case letters and digits. A scanner, not a parser, so the secret
 * next to it is never copied. NULL when there is none (caller frees).
 */
char *new_secret_json_key_id(const char *text, size_t len);

/*
 * For the sink implementations (src/sinks/sink_*.c) and their tests.
 */

/* Appends s as a quoted JSON string ("\"", "\\", control characters escaped;
 * NULL is null). Grows out once, before writing. */
void sink_json_string(struct strbuf *out, const char *s);
/* A random (RAND_bytes) UUID version 4, lowercase: 36 characters and a NUL. */
int sink_uuid_v4(char out[37]);
/*
 * Splits an exec: command into *argv (NULL-terminated, *argc words; free
 * with sink_argv_free): words separated by whitespace, '...' taken
 * literally, "..." with \" and \\ escapes, a backslash outside quotes
 * escaping any character. No shell: no globbing, variables or
 * redirections. 0, or -1 with err (empty command, unterminated quote).
 */
int sink_split_command(const char *cmd, char ***argv, size_t *argc, struct strbuf *err);
void sink_argv_free(char **argv);
/*
 * Writes data to path atomically: a temporary file in the same directory
 * (O_CREAT|O_EXCL, mode 0600 whatever the umask), fsync, then link() (so
 * an existing path is refused: "<what>: already exists (use --overwrite
 * to replace it)") or, with overwrite, rename() over a regular file (any
 * other kind of file there, a link, device or FIFO, is refused); then the
 * directory is fsync'ed. The directory must exist. 0, or -1 with
 * "<what>: ..." in err.
 */
int sink_write_file(const char *path, const char *data, size_t len, int overwrite, const char *what,
		    struct strbuf *err);

/* What sink_write_file_with does beyond sink_write_file. */
struct sink_write_options {
	int overwrite;
	mode_t mode;   /* of the new file; 0 = 0600 */
	int set_owner; /* chown the new file to uid:gid (before it is renamed into place) */
	uid_t uid;
	gid_t gid;
	/*
	 * Called right before the rename (after fsync), with the directory's
	 * descriptor and the file's name in it: nonzero stops the write (the
	 * temporary file is removed) and is returned. NULL: no check.
	 */
	int (*before_rename)(void *ctx, int dfd, const char *base);
	void *ctx;
};
/*
 * sink_write_file with o: 0, -1 with err, or what o->before_rename
 * returned. EPERM from chown is -1 with errno EPERM (the caller may then
 * keep the owner another way).
 */
int sink_write_file_with(const char *path, const char *data, size_t len,
			 const struct sink_write_options *o, const char *what, struct strbuf *err);
/*
 * All len bytes of data to fd (from offset 0 with pwrite when at_start, else
 * where fd stands), EINTR retried. 0, or -1 with errno.
 */
int sink_write_all(int fd, const char *data, size_t len, int at_start);
/* "a regular file", "a directory", "a symbolic link", "a FIFO", "a character device", ... */
const char *sink_file_kind(mode_t mode);
/* The directory part of path: "/a/b" → "/a", "b" → ".", "/b" → "/". Caller frees. */
char *sink_dir_of(const char *path);
/*
 * Before a file is written in dir: dir exists, is a directory and can take a
 * new file. 0, or -1 with "<what>: directory '<dir>' does not exist" or
 * "<what>: cannot create a file in '<dir>': <why>" in err.
 */
int sink_check_dir(const char *what, const char *dir, struct strbuf *err);
/* dir opened O_RDONLY | O_DIRECTORY | O_CLOEXEC: the descriptor, or -1 with why in err. */
int sink_open_dir(const char *what, const char *dir, struct strbuf *err);
/* "file:" or "profile:" identities: the absolute path of path, its directory resolved. */
char *sink_canonical_path(const char *path);

/*
 * A new sink of size bytes (its kind's struct, struct sink first): vt, target
 * (owned from then on) and a copy of arg (may be NULL) set, the rest zero.
 */
void *sink_alloc(size_t size, const struct sink_vtable *vt, char *target, const char *arg);
/* "<scheme>:" and the absolute path of path (sink_canonical_path), then, when
 * name is not NULL, a newline and name: the identity of file: and profile: sinks. */
char *sink_path_identity(const char *scheme, const char *path, const char *name);

/*
 * Constructors, called by sink_new with the expanded target; target is
 * the message prefix ("file:/srv/alice.json"), owned by the sink from
 * then on (freed on failure too). NULL with "<target>: ..." in err.
 */
struct sink *sink_file_new(const char *path, const struct sink_context *ctx, char *target,
			   struct strbuf *err);
/* file NULL = $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; "~/" is $HOME. */
struct sink *sink_profile_new(const char *name, const char *file, const struct sink_context *ctx,
			      char *target, struct strbuf *err);
struct sink *sink_secretsmanager_new(const char *name, const struct sink_context *ctx, char *target,
				     struct strbuf *err);
struct sink *sink_ssm_new(const char *name, const struct sink_context *ctx, char *target,
			  struct strbuf *err);
/* Takes argv (from sink_split_command), freed on failure too. */
struct sink *sink_exec_new(char **argv, const struct sink_context *ctx, char *target,
			   struct strbuf *err);
/*
 * Runs the command of an exec: sink k (sink_new("exec:...")) as delivery
 * does, with the same environment allow-list, descriptors and timeout, but
 * input on its standard input and env (NAME=VALUE, NULL-terminated) as
 * iamkeys' variables: for notifications, which carry no secret. 0, or -1
 * with "<target>: ..." in err (also when k is not an exec: sink).
 */
int sink_exec_run(struct sink *k, char *const *env, const char *input, size_t len,
		  struct strbuf *err);
struct sink *sink_stdout_new(char *target, struct strbuf *err);
/* The "-" sink writes to fd instead of STDOUT_FILENO (process-wide). */
void sink_stdout_use_fd(int fd);

#endif
