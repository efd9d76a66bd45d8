#include "core/compat.h"
#include "sinks/sink.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "core/awsconfig.h"
#include "core/strbuf.h"
#include "fake_transport.h"

#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <setjmp.h>
#include <cmocka.h>
#include "helpers.h"
#include "testdata.h"
#include <jansson.h>

/*
 * The secret sinks: spec parsing and templates, the JSON document, then
 * each sink for real in a temporary directory (file, profile with a
 * temporary HOME, exec with a shell script, stdout redirected), and the
 * Secrets Manager / SSM sinks against the scripted fake transport.
 */

#define KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
#define CREATED "2024-01-31T12:00:00Z"
#define ACCOUNT "123456789012"
#define JSON                                                                                       \
	"{\"AccessKeyId\":\"" KEY_ID "\",\"SecretAccessKey\":\"" SECRET                            \
	"\",\"UserName\":\"alice\",\"CreateDate\":\"" CREATED "\"}"
/* JSON as a JSON string's content */
#define JSON_ESCAPED                                                                               \
	"{\\\"AccessKeyId\\\":\\\"" KEY_ID "\\\",\\\"SecretAccessKey\\\":\\\"" SECRET              \
	"\\\",\\\"UserName\\\":\\\"alice\\\",\\\"CreateDate\\\":\\\"" CREATED "\\\"}"

static const struct new_secret secret = {
	.access_key_id = KEY_ID,
	.secret_access_key = SECRET,
	.user_name = "alice",
	.create_date = CREATED,
	.account_id = ACCOUNT,
};

static char tmpdir[PATH_MAX];

/* Helpers */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup_tmpdir(void **state)
{
	const char *t = getenv("TMPDIR");
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s/iamkeys-sinks-XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(sb.buf));
	assert_true(sb.len < sizeof(tmpdir));
	memcpy(tmpdir, sb.buf, sb.len + 1);
	strbuf_release(&sb);
	return 0;
}

static int teardown_tmpdir(void **state)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
	return 0;
}

static char *path_in(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addf(&sb, "%s/%s", tmpdir, name);
	return strbuf_detach(&sb, NULL);
}

static char *read_all(const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	if (test_read_file(path, &sb))
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return strbuf_detach(&sb, NULL);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st))
		fail_msg("cannot stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Does text have a line equal to line? */
static int has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	const char *p;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || !p[len]))
			return 1;
	return 0;
}

static void assert_no_secret(const char *s)
{
	if (strstr(s, SECRET))
		fail_msg("the secret leaked into '%s'", s);
}

/* sink_new(spec) must fail with exactly want. */
static void new_fails(const char *spec, const struct sink_context *ctx, const char *want)
{
	struct strbuf err = STRBUF_INIT;
	struct sink *k = sink_new(spec, ctx, &err);

	if (k)
		fail_msg("sink_new('%s') succeeded (target '%s')", spec, k->target);
	assert_string_equal(err.buf, want);
	strbuf_release(&err);
}

static struct sink *new_ok(const char *spec, const struct sink_context *ctx)
{
	struct strbuf err = STRBUF_INIT;
	struct sink *k = sink_new(spec, ctx, &err);

	if (!k)
		fail_msg("sink_new('%s'): %s", spec, err.buf);
	strbuf_release(&err);
	return k;
}

static void new_ok_free(const char *spec, const struct sink_context *ctx)
{
	sink_free(new_ok(spec, ctx));
}

/* sink_preflight must say 1 (refused) with exactly want. */
static void preflight_refuses(struct sink *k, const char *want)
{
	struct strbuf err = STRBUF_INIT;
	char *held = NULL;

	assert_int_equal(sink_preflight(k, &held, &err), 1);
	if (strcmp(err.buf, want))
		fail_msg("preflight of %s: '%s', expected '%s'", k->target, err.buf, want);
	free(held);
	strbuf_release(&err);
}

static void preflight_ok(struct sink *k)
{
	struct strbuf err = STRBUF_INIT;
	char *held = NULL;

	if (sink_preflight(k, &held, &err))
		fail_msg("preflight of %s: %s", k->target, err.buf);
	free(held);
	strbuf_release(&err);
}

static int deliver(struct sink *k, struct strbuf *err)
{
	int r = sink_deliver(k, &secret, err);
	assert_no_secret(err->buf);
	assert_null(strchr(err->buf, '\n'));
	return r;
}

static void deliver_ok(struct sink *k)
{
	struct strbuf err = STRBUF_INIT;
	if (deliver(k, &err))
		fail_msg("deliver to %s: %s", k->target, err.buf);
	strbuf_release(&err);
}

/* JSON and templates */

static void test_json_exact(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct new_secret odd = secret;
	json_t *j;
	json_error_t jerr;

	new_secret_json(&sb, &secret);
	assert_string_equal(sb.buf, JSON);
	strbuf_release_secret(&sb);

	odd.user_name = "a\"b\\c\n\t\x01\x7f/\xc3\xa9";
	odd.create_date = NULL;
	new_secret_json(&sb, &odd);
	assert_string_equal(sb.buf, "{\"AccessKeyId\":\"" KEY_ID "\",\"SecretAccessKey\":\"" SECRET
				    "\",\"UserName\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f/\xc3\xa9\","
				    "\"CreateDate\":null}");
	j = json_loads(sb.buf, 0, &jerr);
	if (!j)
		fail_msg("not JSON: %s", jerr.text);
	assert_string_equal(json_string_value(json_object_get(j, "UserName")), odd.user_name);
	assert_string_equal(json_string_value(json_object_get(j, "SecretAccessKey")), SECRET);
	assert_true(json_is_null(json_object_get(j, "CreateDate")));
	json_decref(j);
	strbuf_release_secret(&sb);
}

static void expand_ok(const char *tmpl, const char *user, const char *account, const char *want)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	if (sink_expand_template(&out, tmpl, user, account, &err))
		fail_msg("expand '%s': %s", tmpl, err.buf);
	assert_string_equal(out.buf, want);
	strbuf_release(&out);
	strbuf_release(&err);
}

static void expand_fails(const char *tmpl, const char *user, const char *account, const char *want)
{
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	assert_int_equal(sink_expand_template(&out, tmpl, user, account, &err), -1);
	assert_string_equal(err.buf, want);
	strbuf_release(&out);
	strbuf_release(&err);
}

static void test_templates(void **state)
{
	expand_ok("/srv/{user}.json", "alice", NULL, "/srv/alice.json");
	expand_ok("{account}/{user}/{user}", "bob+x=y,z@ex.com_-1", ACCOUNT,
		  ACCOUNT "/bob+x=y,z@ex.com_-1/bob+x=y,z@ex.com_-1");
	expand_ok("plain } text", NULL, NULL, "plain } text");
	expand_ok("", "alice", NULL, "");
	expand_ok("a.b", "..", NULL, "a.b"); /* only checked when used */

	expand_fails("/srv/{usr}.json", "alice", NULL,
		     "unknown placeholder '{usr}' (use {user} or {account})");
	expand_fails("{}", "alice", NULL, "unknown placeholder '{}' (use {user} or {account})");
	expand_fails("{User}", "alice", NULL,
		     "unknown placeholder '{User}' (use {user} or {account})");
	expand_fails("/srv/{user", "alice", NULL, "unterminated '{' (use {user} or {account})");
	expand_fails("{account}", "alice", NULL,
		     "{account} is unknown (the account id is not known)");
	expand_fails("{user}", NULL, ACCOUNT, "{user} is unknown here");
	expand_fails("/srv/{user}", "../etc", NULL, "user name '../etc' cannot be used in {user}");
	expand_fails("/srv/{user}", "a/b", NULL, "user name 'a/b' cannot be used in {user}");
	expand_fails("/srv/{user}", ".hidden", NULL,
		     "user name '.hidden' cannot be used in {user}");
	expand_fails("/srv/{user}", "..", NULL, "user name '..' cannot be used in {user}");
	expand_fails("{user}", "a b", NULL, "user name 'a b' cannot be used in {user}");
	expand_fails("{account}", "a", "12/34", "account id '12/34' cannot be used in {account}");
}

static void test_split_command(void **state)
{
	static const struct {
		const char *cmd;
		const char *words[6];
	} cases[] = {
		{ "a b  c", { "a", "b", "c" } },
		{ "  /bin/hook\t--to 'x y' ", { "/bin/hook", "--to", "x y" } },
		{ "a 'it'\"s\" b\\ c", { "a", "its", "b c" } },
		{ "\"a \\\"q\\\" \\\\ \\n $HOME *\"", { "a \"q\" \\ \\n $HOME *" } },
		{ "'' x", { "", "x" } },
		{ "'\\'", { "\\" } },
		{ "a\\'b", { "a'b" } },
	};
	size_t i, j, argc;
	char **argv;
	struct strbuf err = STRBUF_INIT;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (sink_split_command(cases[i].cmd, &argv, &argc, &err))
			fail_msg("split '%s': %s", cases[i].cmd, err.buf);
		for (j = 0; cases[i].words[j]; j++) {
			assert_true(j < argc);
			assert_string_equal(argv[j], cases[i].words[j]);
		}
		assert_int_equal(argc, j);
		assert_null(argv[argc]);
		sink_argv_free(argv);
	}
	assert_int_equal(sink_split_command("a 'b", &argv, &argc, &err), -1);
	assert_string_equal(err.buf, "unterminated ' in command");
	strbuf_reset(&err);
	assert_int_equal(sink_split_command("a \"b\\\"", &argv, &argc, &err), -1);
	assert_string_equal(err.buf, "unterminated \" in command");
	strbuf_reset(&err);
	assert_int_equal(sink_split_command("a\\", &argv, &argc, &err), -1);
	assert_string_equal(err.buf, "trailing backslash in command");
	strbuf_reset(&err);
	assert_int_equal(sink_split_command(" \t ", &argv, &argc, &err), -1);
	assert_string_equal(err.buf, "empty command");
	assert_null(argv);
	strbuf_release(&err);
}

static void test_uuid(void **state)
{
	char a[37], b[37];
	size_t i;

	assert_int_equal(sink_uuid_v4(a), 0);
	assert_int_equal(sink_uuid_v4(b), 0);
	assert_int_equal(strlen(a), 36);
	assert_string_not_equal(a, b);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(a[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", a[i]));
	}
	assert_int_equal(a[14], '4');
	assert_non_null(strchr("89ab", a[19]));
}

static void test_new_errors(void **state)
{
	struct sink_context ctx = { .user = "alice" };

	new_fails("", &ctx,
		  "empty sink (use file:PATH, profile:NAME[@FILE], secretsmanager:NAME, "
		  "ssm:NAME, exec:COMMAND or -)");
	new_fails(NULL, &ctx,
		  "empty sink (use file:PATH, profile:NAME[@FILE], secretsmanager:NAME, "
		  "ssm:NAME, exec:COMMAND or -)");
	new_fails("bogus:x", &ctx,
		  "unknown sink 'bogus' (use file:, profile:, secretsmanager:, ssm:, exec: or -)");
	new_fails("File:/x", &ctx,
		  "unknown sink 'File' (use file:, profile:, secretsmanager:, ssm:, exec: or -)");
	new_fails("/tmp/x.json", &ctx,
		  "unknown sink '/tmp/x.json' (use file:PATH, profile:NAME[@FILE], "
		  "secretsmanager:NAME, ssm:NAME, exec:COMMAND or -)");
	new_fails("file:", &ctx, "file:: empty target");
	new_fails("profile:", &ctx, "profile:: empty target");
	new_fails("secretsmanager:", &ctx, "secretsmanager:: empty target");
	new_fails("ssm:", &ctx, "ssm:: empty target");
	new_fails("exec:", &ctx, "exec:: empty target");
	new_fails("exec:  ", &ctx, "exec:  : empty command");
	new_fails("exec:hook 'x", &ctx, "exec:hook 'x: unterminated ' in command");
	new_fails("file:/srv/{usr}.json", &ctx,
		  "file:/srv/{usr}.json: unknown placeholder '{usr}' (use {user} or {account})");
	new_fails("file:/srv/{account}.json", &ctx,
		  "file:/srv/{account}.json: {account} is unknown (the account id is not known)");
	new_fails("file:/srv/", &ctx, "file:/srv/: not a file name");
	new_fails("exec:hook {nope}", &ctx,
		  "exec:hook {nope}: unknown placeholder '{nope}' (use {user} or {account})");
	new_fails(
		"profile:a b", &ctx,
		"profile:a b: invalid profile name 'a b' (use letters, digits and - / . % @ _ : +)");
	new_fails(
		"profile:[x]", &ctx,
		"profile:[x]: invalid profile name '[x]' (use letters, digits and - / . % @ _ : +)");
	new_fails("profile:@/tmp/creds", &ctx, "profile:@/tmp/creds: no profile name");
	new_fails("secretsmanager:a b", &ctx,
		  "secretsmanager:a b: a secret name holds only letters, digits and / _ + = . @ -, "
		  "not ' '");
	new_fails("secretsmanager:a#b", &ctx,
		  "secretsmanager:a#b: a secret name holds only letters, digits and / _ + = . @ -, "
		  "not '#'");
	new_fails("secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:a b", &ctx,
		  "secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:a b: the ARN contains "
		  "a space or control character");
	/* PutParameter's naming rules */
	new_fails("ssm:awsfoo", &ctx,
		  "ssm:awsfoo: a parameter name may not begin with 'aws' ('aws' and 'ssm' are "
		  "reserved, in any case)");
	new_fails("ssm:/SSM/{user}", &ctx,
		  "ssm:/SSM/alice: a parameter name may not begin with 'SSM' ('aws' and 'ssm' are "
		  "reserved, in any case)");
	new_fails("ssm:/Aws/x", &ctx,
		  "ssm:/Aws/x: a parameter name may not begin with 'Aws' ('aws' and 'ssm' are "
		  "reserved, in any case)");
	new_fails(
		"ssm:/keys/a@b", &ctx,
		"ssm:/keys/a@b: a parameter name holds only letters, digits and _ . - /, not '@'");
	new_fails("ssm:keys/{user}", &ctx,
		  "ssm:keys/alice: a parameter name with '/' must begin with '/' (the full path)");
	new_fails("ssm:/keys//{user}", &ctx,
		  "ssm:/keys//alice: a parameter name has no empty level");
	new_fails("ssm:/keys/", &ctx, "ssm:/keys/: a parameter name has no empty level");
	new_fails("ssm:/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", &ctx,
		  "ssm:/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16: a parameter name has at most 15 "
		  "levels, not 16");
	{
		struct strbuf spec = STRBUF_INIT, want = STRBUF_INIT;
		struct sink *k;
		size_t i;

		/* arn:aws:ssm:us-east-1:<12>:parameter/ is 45 characters: 966 more fit */
		strbuf_addstr(&spec, "ssm:/");
		for (i = 0; i < 966; i++)
			strbuf_addch(&spec, 'x');
		k = new_ok(spec.buf, &ctx);
		sink_free(k);
		strbuf_addch(&spec, 'x');
		strbuf_addf(&want,
			    "%s: the parameter's ARN would be 1012 characters, more than 1011",
			    spec.buf);
		new_fails(spec.buf, &ctx, want.buf);
		strbuf_release(&spec);
		strbuf_release(&want);
	}
	new_ok_free("ssm:/keys/aws/ssm/{user}", &ctx); /* only the first level is reserved */
	new_ok_free("ssm:my-aws.key_1", &ctx);
	new_fails("ssm:/x/{account}", &ctx,
		  "ssm:/x/{account}: {account} is unknown (the account id is not known)");

	ctx.user = "../evil";
	new_fails("file:/srv/{user}.json", &ctx,
		  "file:/srv/{user}.json: user name '../evil' cannot be used in {user}");

	/* a user name that begins with '-' never reaches an exec command as an option */
	ctx.user = "--config=x.y";
	new_fails("exec:/usr/bin/hook {user}", &ctx,
		  "exec:/usr/bin/hook --config=x.y: user name '--config=x.y' would reach the "
		  "command as an option (put {user} after '--', or read IAMKEYS_USER)");
	new_fails("exec:/usr/bin/hook -v {user}.json", &ctx,
		  "exec:/usr/bin/hook -v --config=x.y.json: user name '--config=x.y' would reach "
		  "the command as an option (put {user} after '--', or read IAMKEYS_USER)");
	new_ok_free("exec:/usr/bin/hook -- {user}", &ctx);
	new_ok_free("exec:/usr/bin/hook --user={user}", &ctx);
	new_ok_free("exec:/usr/bin/hook", &ctx);
}

static void test_new_targets(void **state)
{
	struct sink_context ctx = { .user = "alice@example.com", .account = ACCOUNT };
	static const struct {
		const char *spec, *target, *scheme;
	} cases[] = {
		{ "-", "-", "-" },
		{ "file:/srv/{account}/{user}.json", "file:/srv/" ACCOUNT "/alice@example.com.json",
		  "file" },
		{ "file:rel.json", "file:rel.json", "file" },
		{ "profile:{user}", "profile:alice@example.com", "profile" },
		{ "profile:me@work", "profile:me@work", "profile" },
		{ "profile:{user}@/tmp/c", "profile:alice@example.com@/tmp/c", "profile" },
		{ "profile:p@~/creds", "profile:p@~/creds", "profile" },
		{ "profile:p@./creds", "profile:p@./creds", "profile" },
		{ "profile:a@b@/x/c@d", "profile:a@b@/x/c@d", "profile" },
		{ "secretsmanager:iamkeys/{user}", "secretsmanager:iamkeys/alice@example.com",
		  "secretsmanager" },
		{ "ssm:/iamkeys/{account}/x", "ssm:/iamkeys/" ACCOUNT "/x", "ssm" },
		{ "exec:/usr/bin/hook --user '{user}'",
		  "exec:/usr/bin/hook --user 'alice@example.com'", "exec" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sink *k = new_ok(cases[i].spec, &ctx);
		assert_string_equal(k->target, cases[i].target);
		assert_string_equal(k->vt->scheme, cases[i].scheme);
		sink_free(k);
	}
	sink_free(NULL);
}

/* file: */

static void test_file_sink(void **state)
{
	struct sink_context ctx = { .user = "alice", .account = ACCOUNT };
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
	char *path = path_in(ACCOUNT "-alice.json");
	struct sink *k;
	char *content;
	mode_t old_umask;
	json_t *j;

	strbuf_addf(&spec, "file:%s/{account}-{user}.json", tmpdir);
	k = new_ok(spec.buf, &ctx);
	strbuf_addf(&want, "file:%s", path);
	assert_string_equal(k->target, want.buf);

	old_umask = umask(0);
	deliver_ok(k);
	umask(old_umask);
	assert_int_equal(mode_of(path), 0600);
	content = read_all(path);
	assert_string_equal(content, JSON "\n");
	j = json_loads(content, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "AccessKeyId")), KEY_ID);
	assert_string_equal(json_string_value(json_object_get(j, "SecretAccessKey")), SECRET);
	assert_string_equal(json_string_value(json_object_get(j, "UserName")), "alice");
	assert_string_equal(json_string_value(json_object_get(j, "CreateDate")), CREATED);
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	free(content);
	assert_int_equal(count_entries(tmpdir), 1); /* no temporary file left */

	/* again: refused, file untouched */
	write_text(path, "precious\n", 0644);
	assert_int_equal(deliver(k, &err), -1);
	strbuf_reset(&want);
	strbuf_addf(&want, "file:%s: already exists (use --overwrite to replace it)", path);
	assert_string_equal(err.buf, want.buf);
	content = read_all(path);
	assert_string_equal(content, "precious\n");
	free(content);
	assert_int_equal(mode_of(path), 0644);
	assert_int_equal(count_entries(tmpdir), 1);
	sink_free(k);

	/* with overwrite: replaced, 0600 even under a umask that takes more */
	ctx.overwrite = 1;
	k = new_ok(spec.buf, &ctx);
	old_umask = umask(0277);
	deliver_ok(k);
	umask(old_umask);
	content = read_all(path);
	assert_string_equal(content, JSON "\n");
	free(content);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(count_entries(tmpdir), 1);
	sink_free(k);

	strbuf_release(&spec);
	strbuf_release(&err);
	strbuf_release(&want);
	free(path);
}

static void test_file_sink_existing_symlink_refused(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	char *path = path_in("link.json"), *target = path_in("elsewhere");
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT;
	struct sink *k;

	/* a dangling link must not be followed to create its target */
	assert_int_equal(symlink(target, path), 0);
	strbuf_addf(&spec, "file:%s", path);
	k = new_ok(spec.buf, &ctx);
	assert_int_equal(deliver(k, &err), -1);
	assert_non_null(strstr(err.buf, "already exists"));
	assert_int_equal(access(target, F_OK), -1);
	sink_free(k);
	strbuf_release(&spec);
	strbuf_release(&err);
	free(path);
	free(target);
}

/* Makes a UNIX socket at path (left bound: the descriptor is closed). */
static void make_socket(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

/* Delivery never replaces a FIFO, socket, device or link with a file, --overwrite or not. */
static void test_file_sink_non_regular_refused(void **state)
{
	static const struct {
		const char *name, *kind;
		mode_t type;
	} cases[] = {
		{ "fifo.json", "a FIFO", S_IFIFO },
		{ "sock.json", "a socket", S_IFSOCK },
		{ "full.json", "a character device", S_IFCHR },
		{ "link.json", "a symbolic link", S_IFLNK },
		{ "dir.json", "a directory", S_IFDIR },
	};
	struct sink_context ctx = { .user = "alice", .overwrite = 1 };
	char *target = path_in("target.json"), *content;
	size_t i;

	write_text(target, "precious\n", 0600);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
		char *path = path_in(cases[i].name);
		struct stat st;
		struct sink *k;

		switch (cases[i].type) {
		case S_IFIFO:
			assert_int_equal(mkfifo(path, 0600), 0);
			break;
		case S_IFSOCK:
			make_socket(path);
			break;
		case S_IFCHR:
			/* /dev/full's numbers; only root may make it */
			if (mknod(path, S_IFCHR | 0600, makedev(1, 7))) {
				free(path);
				continue;
			}
			break;
		case S_IFLNK:
			assert_int_equal(symlink("target.json", path), 0);
			break;
		default:
			assert_int_equal(mkdir(path, 0700), 0);
		}
		strbuf_addf(&spec, "file:%s", path);
		k = new_ok(spec.buf, &ctx);
		strbuf_addf(&want, "%s: '%s' is %s, not a regular file", spec.buf, path,
			    cases[i].kind);
		preflight_refuses(k, want.buf);
		assert_int_equal(deliver(k, &err), -1);
		assert_string_equal(err.buf, want.buf);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_mode & S_IFMT, cases[i].type);
		sink_free(k);
		strbuf_release(&spec);
		strbuf_release(&err);
		strbuf_release(&want);
		free(path);
	}
	content = read_all(target);
	assert_string_equal(content, "precious\n");
	free(content);
	/* no temporary file left behind */
	{
		DIR *d = opendir(tmpdir);
		struct dirent *e;
		assert_non_null(d);
		while ((e = readdir(d)))
			assert_null(strstr(e->d_name, ".tmp-"));
		closedir(d);
	}
	free(target);
}

static void test_file_sink_missing_directory(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
	struct sink *k;

	strbuf_addf(&spec, "file:%s/nope/{user}.json", tmpdir);
	k = new_ok(spec.buf, &ctx);
	strbuf_addf(&want, "file:%s/nope/alice.json: directory '%s/nope' does not exist", tmpdir,
		    tmpdir);
	preflight_refuses(k, want.buf);
	assert_int_equal(deliver(k, &err), -1);
	assert_string_equal(err.buf, want.buf);
	assert_int_equal(count_entries(tmpdir), 0);
	sink_free(k);
	strbuf_release(&spec);
	strbuf_release(&err);
	strbuf_release(&want);
}

static void test_write_file_relative(void **state)
{
	struct strbuf err = STRBUF_INIT;
	char cwd[PATH_MAX], *content;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(sink_write_file("rel.txt", "abc", 3, 0, "file:rel.txt", &err), 0);
	assert_int_equal(sink_write_file("rel.txt", "def", 3, 0, "file:rel.txt", &err), -1);
	assert_string_equal(err.buf,
			    "file:rel.txt: already exists (use --overwrite to replace it)");
	strbuf_reset(&err);
	assert_int_equal(sink_write_file("rel.txt", "def", 3, 1, "file:rel.txt", &err), 0);
	content = read_all("rel.txt");
	assert_string_equal(content, "def");
	free(content);
	assert_int_equal(sink_write_file("/", "x", 1, 1, "file:/", &err), -1);
	assert_string_equal(err.buf, "file:/: '/' is not a file name");
	assert_int_equal(chdir(cwd), 0);
	strbuf_release(&err);
}

/* profile: */

struct saved_env {
	char *home, *creds_file;
};

static void env_save(struct saved_env *s)
{
	s->home = xstrdup_or_null(getenv("HOME"));
	s->creds_file = xstrdup_or_null(getenv("AWS_SHARED_CREDENTIALS_FILE"));
}

static void env_restore1(const char *name, char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
	free(value);
}

static void env_restore(struct saved_env *s)
{
	env_restore1("HOME", s->home);
	env_restore1("AWS_SHARED_CREDENTIALS_FILE", s->creds_file);
}

#define KEYS_TEXT "aws_access_key_id = " KEY_ID "\naws_secret_access_key = " SECRET "\n"

static void test_profile_sink_new_file(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	struct saved_env saved;
	struct sink *k;
	char *aws_dir = path_in(".aws"), *creds = path_in(".aws/credentials"), *content;

	env_save(&saved);
	setenv("HOME", tmpdir, 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	k = new_ok("profile:{user}", &ctx);
	assert_string_equal(k->target, "profile:alice");
	/* a missing directory is refused, as file: does: nothing is created */
	{
		struct strbuf want = STRBUF_INIT, err = STRBUF_INIT;
		strbuf_addf(&want, "profile:alice: directory '%s' does not exist", aws_dir);
		preflight_refuses(k, want.buf);
		assert_int_equal(deliver(k, &err), -1);
		assert_string_equal(err.buf, want.buf);
		assert_int_equal(count_entries(tmpdir), 0);
		strbuf_release(&want);
		strbuf_release(&err);
	}
	assert_int_equal(mkdir(aws_dir, 0700), 0);
	preflight_ok(k);
	deliver_ok(k);
	sink_free(k);
	env_restore(&saved);

	assert_int_equal(mode_of(aws_dir), 0700);
	assert_int_equal(mode_of(creds), 0600); /* a new file is 0600 */
	content = read_all(creds);
	assert_string_equal(content, "[alice]\n" KEYS_TEXT);
	free(content);
	assert_int_equal(count_entries(aws_dir), 1); /* no backup of nothing, no temp file */
	free(aws_dir);
	free(creds);
}

static void test_profile_sink_existing_file(void **state)
{
	static const char before[] = "# work\n"
				     "[default]\n"
				     "aws_access_key_id = AKIADEFAULT\n"
				     "aws_secret_access_key = defaultsecret ; keep\n"
				     "\n"
				     "[alice]\n"
				     "aws_access_key_id = ASIAOLD\n"
				     "aws_secret_access_key = oldsecret\n"
				     "aws_session_token = oldtoken\n"
				     "region = eu-west-1\n";
	static const char after[] = "# work\n"
				    "[default]\n"
				    "aws_access_key_id = AKIADEFAULT\n"
				    "aws_secret_access_key = defaultsecret ; keep\n"
				    "\n"
				    "[alice]\n"
				    "aws_access_key_id = " KEY_ID "\n"
				    "aws_secret_access_key = " SECRET "\n"
				    "region = eu-west-1\n";
	struct sink_context ctx = { .user = "alice" };
	struct saved_env saved;
	struct sink *k;
	char *aws_dir = path_in(".aws"), *creds = path_in(".aws/credentials");
	char *bak = path_in(".aws/credentials.iamkeys.bak"), *content;

	assert_int_equal(mkdir(aws_dir, 0755), 0);
	write_text(creds, before, 0644);
	env_save(&saved);
	setenv("HOME", tmpdir, 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	k = new_ok("profile:alice", &ctx);
	deliver_ok(k);
	sink_free(k);
	env_restore(&saved);

	content = read_all(creds);
	assert_string_equal(content, after);
	free(content);
	assert_int_equal(mode_of(creds), 0644); /* an existing file keeps its mode */
	content = read_all(bak);
	assert_string_equal(content, before);
	free(content);
	assert_int_equal(mode_of(bak), 0600);
	assert_int_equal(mode_of(aws_dir), 0755); /* an existing directory is left alone */
	assert_int_equal(count_entries(aws_dir), 2);
	free(aws_dir);
	free(creds);
	free(bak);
}

static void test_profile_sink_env_file_and_explicit_file(void **state)
{
	struct sink_context ctx = { .user = "bob" };
	struct saved_env saved;
	struct strbuf spec = STRBUF_INIT;
	struct sink *k;
	char *env_file = path_in("env-creds"), *explicit = path_in("explicit-creds");
	char *content;

	env_save(&saved);
	setenv("AWS_SHARED_CREDENTIALS_FILE", env_file, 1);
	setenv("HOME", "/nonexistent", 1);
	k = new_ok("profile:{user}", &ctx);
	deliver_ok(k);
	sink_free(k);

	strbuf_addf(&spec, "profile:{user}-2@%s", explicit);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);

	/* the '@' before the path splits, not one in the name */
	strbuf_reset(&spec);
	strbuf_addf(&spec, "profile:me@work@%s", explicit);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);

	/* "~/" is $HOME */
	setenv("HOME", tmpdir, 1);
	k = new_ok("profile:tilde@~/tilde-creds", &ctx);
	deliver_ok(k);
	sink_free(k);
	env_restore(&saved);

	content = read_all(env_file);
	assert_string_equal(content, "[bob]\n" KEYS_TEXT);
	free(content);
	content = read_all(explicit);
	assert_string_equal(content, "[bob-2]\n" KEYS_TEXT "\n[me@work]\n" KEYS_TEXT);
	free(content);
	free(env_file);
	env_file = path_in("tilde-creds");
	content = read_all(env_file);
	assert_string_equal(content, "[tilde]\n" KEYS_TEXT);
	free(content);
	free(env_file);
	free(explicit);
	strbuf_release(&spec);
}

static void test_profile_sink_follows_symlink(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	struct strbuf spec = STRBUF_INIT;
	char *real = path_in("real-creds"), *link = path_in("link-creds"), *content;
	struct sink *k;

	write_text(real, "[other]\nx = 1\n", 0600);
	assert_int_equal(symlink("real-creds", link), 0);
	strbuf_addf(&spec, "profile:alice@%s", link);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);
	{
		struct stat st;
		assert_int_equal(lstat(link, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
	}
	content = read_all(real);
	assert_string_equal(content, "[other]\nx = 1\n\n[alice]\n" KEYS_TEXT);
	free(content);
	free(real);
	free(link);
	strbuf_release(&spec);
}

/* An existing file keeps its mode, owner, group and hard links (a linked one is rewritten in place). */
static void test_profile_sink_keeps_mode_owner_links(void **state)
{
	struct sink_context ctx = { 0 };
	struct strbuf spec = STRBUF_INIT;
	char *creds = path_in("creds"), *other = path_in("creds-link"), *content;
	struct stat before, after;
	int root = geteuid() == 0;
	struct sink *k;

	write_text(creds, "[other]\nx = 1\n", 0640);
	if (root)
		assert_int_equal(chown(creds, 1234, 5678), 0);
	assert_int_equal(link(creds, other), 0);
	assert_int_equal(stat(creds, &before), 0);

	strbuf_addf(&spec, "profile:alice@%s", creds);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);
	assert_int_equal(stat(creds, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino); /* the same file, both names */
	assert_int_equal(after.st_nlink, 2);
	assert_int_equal(after.st_mode & 07777, 0640);
	assert_int_equal(after.st_uid, before.st_uid);
	assert_int_equal(after.st_gid, before.st_gid);
	content = read_all(other);
	assert_string_equal(content, "[other]\nx = 1\n\n[alice]\n" KEYS_TEXT);
	free(content);

	/* one link: replaced by rename, mode and owner given to the new file */
	assert_int_equal(unlink(other), 0);
	strbuf_reset(&spec);
	strbuf_addf(&spec, "profile:bob@%s", creds);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);
	assert_int_equal(stat(creds, &after), 0);
	assert_int_not_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mode & 07777, 0640);
	assert_int_equal(after.st_uid, before.st_uid);
	assert_int_equal(after.st_gid, before.st_gid);
	if (root) {
		assert_int_equal(after.st_uid, 1234);
		assert_int_equal(after.st_gid, 5678);
	}
	content = read_all(creds);
	assert_string_equal(content, "[other]\nx = 1\n\n[alice]\n" KEYS_TEXT "\n[bob]\n" KEYS_TEXT);
	free(content);
	free(creds);
	free(other);
	strbuf_release(&spec);
}

/* A link into another directory is followed only when asked. */
static void test_profile_sink_symlink_outside_refused(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	struct strbuf spec = STRBUF_INIT, want = STRBUF_INIT, err = STRBUF_INIT;
	char *a = path_in("a"), *b = path_in("b"), *link = path_in("a/creds");
	char *real = path_in("b/real-creds"), *content;
	struct stat st;
	struct sink *k;

	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	write_text(real, "[other]\nx = 1\n", 0600);
	assert_int_equal(symlink("../b/real-creds", link), 0);
	strbuf_addf(&spec, "profile:alice@%s", link);
	k = new_ok(spec.buf, &ctx);
	strbuf_addf(&want,
		    "%s: '%s' is a symbolic link to '%s', outside its directory (use "
		    "--follow-symlinks to edit that file)",
		    spec.buf, link, real);
	preflight_refuses(k, want.buf);
	assert_int_equal(deliver(k, &err), -1);
	assert_string_equal(err.buf, want.buf);
	sink_free(k);
	content = read_all(real);
	assert_string_equal(content, "[other]\nx = 1\n");
	free(content);

	ctx.follow_symlinks = 1;
	k = new_ok(spec.buf, &ctx);
	preflight_ok(k);
	deliver_ok(k);
	sink_free(k);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	content = read_all(real);
	assert_string_equal(content, "[other]\nx = 1\n\n[alice]\n" KEYS_TEXT);
	free(content);
	free(a);
	free(b);
	free(link);
	free(real);
	strbuf_release(&spec);
	strbuf_release(&want);
	strbuf_release(&err);
}

/* A FIFO (or device) as the credentials file: refused at once, never opened for good. */
static void test_profile_sink_non_regular_refused(void **state)
{
	struct sink_context ctx = { 0 };
	struct strbuf spec = STRBUF_INIT, want = STRBUF_INIT, err = STRBUF_INIT;
	char *fifo = path_in("fifo-creds");
	struct stat st;
	struct sink *k;

	assert_int_equal(mkfifo(fifo, 0600), 0);
	strbuf_addf(&spec, "profile:alice@%s", fifo);
	k = new_ok(spec.buf, &ctx);
	strbuf_addf(&want, "%s: '%s' is a FIFO, not a regular file", spec.buf, fifo);
	preflight_refuses(k, want.buf);
	assert_int_equal(deliver(k, &err), -1);
	assert_string_equal(err.buf, want.buf);
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	sink_free(k);
	free(fifo);
	strbuf_release(&spec);
	strbuf_release(&want);
	strbuf_release(&err);
}

/* Another program that writes the file without our lock (as the AWS CLI does). */
struct other_writer {
	int times;     /* how many of our commits it gets in before */
	int calls;     /* how many commits we attempted */
	int same_size; /* rewrite in place with the same size and mtime */
};

static void other_writer_edit(void *ctx, const char *path)
{
	struct other_writer *w = ctx;
	struct stat st;

	w->calls++;
	if (w->calls > w->times)
		return;
	assert_int_equal(stat(path, &st), 0);
	if (w->same_size) {
		/* "x = 1" → "x = 2", then the old mtime back: only the content tells */
		FILE *f = fopen(path, "r+b");
		struct timespec times[2] = { st.st_atim, st.st_mtim };
		char *text = read_all(path), *p = strstr(text, "x = 1");
		assert_non_null(f);
		assert_non_null(p);
		p[4] = '2';
		assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
		fclose(f);
		assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
		free(text);
	} else {
		FILE *f = fopen(path, "ab");
		assert_non_null(f);
		fprintf(f, "\n[other%d]\nregion = us-east-%d\n", w->calls, w->calls);
		fclose(f);
	}
}

static void concurrent_case(int times, int same_size, int hard_link, int want_calls, int ok)
{
	struct other_writer w = { times, 0, same_size };
	struct sink_context ctx = { .before_commit = other_writer_edit, .before_commit_ctx = &w };
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
	char *creds = path_in("creds"), *other = path_in("creds-link"), *content;
	struct sink *k;
	int i;

	write_text(creds, "[mine]\nx = 1\n", 0600);
	if (hard_link)
		assert_int_equal(link(creds, other), 0);
	strbuf_addf(&spec, "profile:alice@%s", creds);
	k = new_ok(spec.buf, &ctx);
	if (ok) {
		deliver_ok(k);
	} else {
		assert_int_equal(deliver(k, &err), -1);
		strbuf_addf(&want,
			    "%s: '%s' was changed by another program while being edited (3 times): "
			    "left as that program wrote it",
			    spec.buf, creds);
		assert_string_equal(err.buf, want.buf);
	}
	sink_free(k);
	assert_int_equal(w.calls, want_calls);
	content = read_all(creds);
	if (ok)
		assert_null(NULL);
	else
		assert_no_secret(content);
	assert_int_equal(aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, content, strlen(content),
					    NULL, NULL),
			 0);
	/* neither write is lost: the other program's and, when done, ours */
	if (same_size)
		assert_string_equal(aws_profile_get(aws_profile_find(&set, "mine"), "x"), "2");
	for (i = 1; !same_size && i <= (times < 3 ? times : 3); i++) {
		char name[32];
		snprintf(name, sizeof(name), "other%d", i);
		assert_non_null(aws_profile_find(&set, name));
	}
	if (ok)
		assert_string_equal(aws_profile_get(aws_profile_find(&set, "alice"),
						    "aws_access_key_id"),
				    KEY_ID);
	else
		assert_null(aws_profile_find(&set, "alice"));
	if (hard_link) {
		char *linked = read_all(other);
		assert_string_equal(linked, content);
		free(linked);
		unlink(other);
	}
	aws_profile_set_release(&set);
	free(content);
	unlink(creds);
	free(creds);
	free(other);
	strbuf_release(&spec);
	strbuf_release(&err);
	strbuf_release(&want);
}

static void test_profile_sink_concurrent_writer(void **state)
{
	concurrent_case(1, 0, 0, 2, 1); /* changed once: read again, edited again */
	concurrent_case(2, 0, 0, 3, 1);
	concurrent_case(1, 1, 0, 2, 1);	  /* same size and mtime: the content tells */
	concurrent_case(1, 0, 1, 2, 1);	  /* a hard-linked file, rewritten in place */
	concurrent_case(100, 0, 0, 3, 0); /* never settles: fails, the other's write kept */
	concurrent_case(100, 0, 1, 3, 0);
}

static const char *const own_env_names[] = { "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
					     "HOME" };

/* The profile this command's credentials come from is refused (unless own_profile_ok). */
/* The sink profile:PROFILE@PATH passes the preflight, or (own: the credentials file the
 * command runs with) is refused as the profile of own that this command runs with. */
static void own_profile_preflight(const struct sink_context *ctx, const char *profile,
				  const char *path, const char *own)
{
	struct strbuf spec = STRBUF_INIT, want = STRBUF_INIT;
	struct sink *k;

	strbuf_addf(&spec, "profile:%s@%s", profile, path);
	k = new_ok(spec.buf, ctx);
	if (own) {
		strbuf_addf(&want,
			    "%s: profile '%s' of '%s' holds the credentials this command runs with "
			    "(use rotate --self for those)",
			    spec.buf, profile, own);
		preflight_refuses(k, want.buf);
	} else {
		preflight_ok(k);
	}
	sink_free(k);
	strbuf_release(&spec);
	strbuf_release(&want);
}

static void test_profile_sink_own_profile_refused(void **state)
{
	char *creds = path_in("creds"), *link = path_in("creds-link"), *config = path_in("none");
	struct strbuf vars[3] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT;
	const char *env_list[4];
	struct aws_credentials got = { 0 };
	struct cred_env env;
	struct aws_client c;
	struct sink_context ctx = { 0 };
	char *file = NULL, **profiles = NULL;
	struct sink *k;
	size_t i;

	write_text(creds, "[default]\n" KEYS_TEXT "\n[other]\n" KEYS_TEXT, 0600);
	assert_int_equal(symlink("creds", link), 0);
	strbuf_addf(&vars[0], "%s=%s", own_env_names[0], creds);
	strbuf_addf(&vars[1], "%s=%s", own_env_names[1], config);
	strbuf_addf(&vars[2], "%s=%s", own_env_names[2], tmpdir);
	for (i = 0; i < 3; i++)
		env_list[i] = vars[i].buf;
	env_list[3] = NULL;
	memset(&env, 0, sizeof(env));
	env.getenv_fn = fake_getenv;
	env.ctx = (void *)env_list;

	/* the chain answers with the profile: its origin is [default] of creds */
	memset(&c, 0, sizeof(c));
	c.creds = cred_provider_default_chain_new(&env);
	assert_int_equal(cred_provider_profile_origin(c.creds, &file, &profiles), 1);
	assert_int_equal(cred_provider_get(c.creds, &got, &err), 0);
	aws_credentials_release(&got);
	assert_int_equal(cred_provider_profile_origin(c.creds, &file, &profiles), 0);
	assert_string_equal(file, creds);
	assert_string_equal(profiles[0], "default");
	assert_null(profiles[1]);
	free(profiles[0]);
	free(profiles);
	free(file);

	ctx.client = &c;
	own_profile_preflight(&ctx, "default", creds, creds);
	/* the same file by another name */
	own_profile_preflight(&ctx, "default", link, creds);
	/* another profile of the file is fine; so is the own one for rotate --self */
	own_profile_preflight(&ctx, "other", creds, NULL);
	ctx.own_profile_ok = 1;
	own_profile_preflight(&ctx, "default", creds, NULL);
	cred_provider_destroy(c.creds);

	/* credentials from the environment: no profile is the command's own */
	{
		const char *env_keys[] = { "AWS_ACCESS_KEY_ID=AKIAENV",
					   "AWS_SECRET_ACCESS_KEY=x",
					   env_list[0],
					   env_list[1],
					   env_list[2],
					   NULL };
		env.ctx = (void *)env_keys;
		c.creds = cred_provider_default_chain_new(&env);
		assert_int_equal(cred_provider_get(c.creds, &got, &err), 0);
		aws_credentials_release(&got);
		assert_int_equal(cred_provider_profile_origin(c.creds, &file, &profiles), 1);
		assert_null(file);
		ctx.own_profile_ok = 0;
		strbuf_addf(&spec, "profile:default@%s", creds);
		k = new_ok(spec.buf, &ctx);
		preflight_ok(k);
		sink_free(k);
		cred_provider_destroy(c.creds);
	}
	for (i = 0; i < 3; i++)
		strbuf_release(&vars[i]);
	strbuf_release(&spec);
	strbuf_release(&err);
	free(creds);
	free(link);
	free(config);
}

/* Sinks that write the same thing are grouped; exec and - never are. */
static void test_group_shared(void **state)
{
	/* spec = before, then tmpdir when dir, then after */
	static const struct {
		const char *before;
		int dir;
		const char *after, *user;
		size_t group;
	} cases[] = {
		{ "file:", 1, "/shared.json", "alice", 0 },
		{ "file:", 1, "/shared.json", "bob", 0 },
		{ "file:", 1, "/{user}.json", "carol", 2 },
		{ "file:", 1, "/./shared.json", "dave", 0 }, /* the same path spelt otherwise */
		{ "profile:p@", 1, "/creds", "alice", 4 },
		{ "profile:p@", 1, "/creds", "bob", 4 },
		{ "profile:q@", 1, "/creds", "bob", 6 },
		{ "exec:/bin/true ", 1, "", "alice", 7 },
		{ "exec:/bin/true ", 1, "", "bob", 8 },
		{ "-", 0, "", "alice", 9 },
		{ "-", 0, "", "bob", 10 },
		{ "secretsmanager:shared", 0, "", "alice", 11 },
		{ "secretsmanager:shared", 0, "", "bob", 11 },
		{ "ssm:/keys/{user}", 0, "", "alice", 13 },
		{ "ssm:/keys/{user}", 0, "", "bob", 14 },
	};
	struct sink *sinks[ARRAY_SIZE(cases) + 1];
	size_t group[ARRAY_SIZE(cases) + 1], i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sink_context ctx = { .user = cases[i].user };
		struct strbuf spec = STRBUF_INIT;
		strbuf_addf(&spec, "%s%s%s", cases[i].before, cases[i].dir ? tmpdir : "",
			    cases[i].after);
		sinks[i] = new_ok(spec.buf, &ctx);
		strbuf_release(&spec);
	}
	sinks[ARRAY_SIZE(cases)] = NULL;
	sink_group_shared(sinks, ARRAY_SIZE(cases) + 1, group);
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (group[i] != cases[i].group)
			fail_msg("%s for %s: group %zu, expected %zu", sinks[i]->target,
				 cases[i].user, group[i], cases[i].group);
	assert_int_equal(group[ARRAY_SIZE(cases)], ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		sink_free(sinks[i]);
}

#define NTHREADS 8

struct thread_job {
	struct sink *k;
	int ret;
};

static void *deliver_thread(void *arg)
{
	struct thread_job *job = arg;
	struct strbuf err = STRBUF_INIT;
	job->ret = sink_deliver(job->k, &secret, &err);
	strbuf_release(&err);
	return NULL;
}

/* Concurrent edits of one file take turns (the directory lock): none is lost. */
static void test_profile_sink_concurrent(void **state)
{
	struct thread_job jobs[NTHREADS];
	pthread_t threads[NTHREADS];
	struct aws_profile_set set = AWS_PROFILE_SET_INIT;
	struct sink_context ctx = { 0 };
	char *creds = path_in("shared-creds"), *content;
	int i;

	for (i = 0; i < NTHREADS; i++) {
		struct strbuf spec = STRBUF_INIT;
		strbuf_addf(&spec, "profile:user%d@%s", i, creds);
		jobs[i].k = new_ok(spec.buf, &ctx);
		strbuf_release(&spec);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, deliver_thread, &jobs[i]), 0);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(jobs[i].ret, 0);
		sink_free(jobs[i].k);
	}
	content = read_all(creds);
	assert_int_equal(aws_profiles_parse(&set, AWS_FILE_CREDENTIALS, content, strlen(content),
					    NULL, NULL),
			 0);
	assert_int_equal(set.nprofiles, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "user%d", i);
		assert_string_equal(aws_profile_get(aws_profile_find(&set, name),
						    "aws_access_key_id"),
				    KEY_ID);
	}
	aws_profile_set_release(&set);
	free(content);
	free(creds);
}

static void test_profile_sink_errors(void **state)
{
	static const char bad[] = "[alice]\nno equals sign\n";
	struct sink_context ctx = { .user = "alice" };
	struct strbuf spec = STRBUF_INIT, err = STRBUF_INIT, want = STRBUF_INIT;
	char *creds = path_in("bad-creds"), *content;
	struct saved_env saved;
	struct sink *k;

	write_text(creds, bad, 0644);
	strbuf_addf(&spec, "profile:alice@%s", creds);
	k = new_ok(spec.buf, &ctx);
	assert_int_equal(deliver(k, &err), -1);
	strbuf_addf(&want, "profile:alice@%s: cannot edit %s: line 2: expected '=' in property",
		    creds, creds);
	assert_string_equal(err.buf, want.buf);
	content = read_all(creds);
	assert_string_equal(content, bad);
	free(content);
	assert_int_equal(mode_of(creds), 0644);
	sink_free(k);

	/* a missing directory that is not the last component */
	strbuf_reset(&spec);
	strbuf_reset(&err);
	strbuf_reset(&want);
	strbuf_addf(&spec, "profile:alice@%s/a/b/creds", tmpdir);
	k = new_ok(spec.buf, &ctx);
	assert_int_equal(deliver(k, &err), -1);
	strbuf_addf(&want, "%s: directory '%s/a/b' does not exist", spec.buf, tmpdir);
	assert_string_equal(err.buf, want.buf);
	sink_free(k);

	env_save(&saved);
	unsetenv("HOME");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	new_fails("profile:alice", &ctx,
		  "profile:alice: cannot find the home directory (HOME is not set)");
	new_fails("profile:alice@~/x", &ctx,
		  "profile:alice@~/x: cannot expand '~' (HOME is not set)");
	env_restore(&saved);

	free(creds);
	strbuf_release(&spec);
	strbuf_release(&err);
	strbuf_release(&want);
}

/* exec: */

static const char hook_script[] = "cat > \"$1/stdin.json\"\n"
				  "env > \"$1/env.txt\"\n"
				  "echo 'hook output'\n"
				  "echo 'hook error' >&2\n"
				  "exit \"${2:-0}\"\n";

/* Redirects fd to a new file path_in(name); returns the saved descriptor. */
static int redirect(int fd, const char *name)
{
	char *path = path_in(name);
	int saved = dup(fd), f;

	fflush(NULL);
	f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(f >= 0 && saved >= 0);
	assert_int_equal(dup2(f, fd), fd);
	close(f);
	free(path);
	return saved;
}

static void restore_fd(int fd, int saved)
{
	fflush(NULL);
	assert_int_equal(dup2(saved, fd), fd);
	close(saved);
}

static void test_exec_sink(void **state)
{
	static const char *const extra[] = { "IAMKEYS_ACTION=rotate", "IAMKEYS_USER=spoofed",
					     NULL };
	struct sink_context ctx = { .user = "alice", .account = ACCOUNT, .exec_env = extra };
	struct strbuf spec = STRBUF_INIT, want = STRBUF_INIT;
	char *script = path_in("hook.sh"), *content, *line;
	char *stdin_file = path_in("stdin.json"), *env_file = path_in("env.txt");
	char *out_file = path_in("out.txt"), *errout_file = path_in("err.txt");
	struct sink *k;
	int saved_out, saved_err;

	write_text(script, hook_script, 0600);
	setenv("AWS_SECRET_ACCESS_KEY", "should-not-pass", 1);
	setenv("AWS_PROFILE", "should-not-pass", 1);
	setenv("aws_lowercase", "should-not-pass", 1);
	setenv("MY_TOKEN", "should-not-pass", 1);
	setenv("db_password", "should-not-pass", 1);
	setenv("GH_SECRET_X", "should-not-pass", 1);
	setenv("LEAKY", "prefix-" SECRET, 1);
	setenv("IAMKEYS_TEST_KEPT", "should-not-pass", 1);
	setenv("MY_DB_URL", "postgres://u:should-not-pass@db/x", 1);
	setenv("LANG", "C.UTF-8", 1);
	setenv("LC_TIME", "C", 1);
	setenv("TZ", "UTC", 1);

	strbuf_addf(&spec, "exec:/bin/sh '%s' \"%s\"", script, tmpdir);
	k = new_ok(spec.buf, &ctx);
	saved_out = redirect(1, "out.txt");
	saved_err = redirect(2, "err.txt");
	deliver_ok(k);
	restore_fd(2, saved_err);
	restore_fd(1, saved_out);
	sink_free(k);

	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	unsetenv("aws_lowercase");
	unsetenv("MY_TOKEN");
	unsetenv("db_password");
	unsetenv("GH_SECRET_X");
	unsetenv("LEAKY");
	unsetenv("IAMKEYS_TEST_KEPT");
	unsetenv("MY_DB_URL");
	unsetenv("LC_TIME");
	unsetenv("TZ");

	content = read_all(stdin_file);
	assert_string_equal(content, JSON "\n");
	free(content);

	/* the hook printed nothing to our stdout; both its streams went to our stderr */
	content = read_all(out_file);
	assert_string_equal(content, "");
	free(content);
	content = read_all(errout_file);
	assert_string_equal(content, "hook output\nhook error\n");
	free(content);

	content = read_all(env_file);
	assert_no_secret(content);
	assert_non_null(strstr(content, "\nIAMKEYS_USER=alice\n"));
	assert_null(strstr(content, "spoofed"));
	assert_non_null(strstr(content, "\nIAMKEYS_ACCESS_KEY_ID=" KEY_ID "\n"));
	assert_non_null(strstr(content, "\nIAMKEYS_ACCOUNT=" ACCOUNT "\n"));
	assert_non_null(strstr(content, "\nIAMKEYS_CREATE_DATE=" CREATED "\n"));
	assert_non_null(strstr(content, "\nIAMKEYS_ACTION=rotate\n"));
	assert_null(strstr(content, "should-not-pass"));
	/* an allow-list: these of ours, the IAMKEYS_ ones iamkeys sets, and what sh adds */
	{
		static const char *const allowed[] = { "PATH=",
						       "HOME=",
						       "LANG=",
						       "LC_",
						       "TZ=",
						       "TMPDIR=",
						       "USER=",
						       "LOGNAME=",
						       "IAMKEYS_USER=",
						       "IAMKEYS_ACCESS_KEY_ID=",
						       "IAMKEYS_ACCOUNT=",
						       "IAMKEYS_CREATE_DATE=",
						       "IAMKEYS_ACTION=",
						       "PWD=",
						       "OLDPWD=",
						       "SHLVL=",
						       "_=" };
		for (line = content; line && *line;
		     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
			size_t i, ok = 0;
			for (i = 0; i < ARRAY_SIZE(allowed); i++)
				ok |= !strncmp(line, allowed[i], strlen(allowed[i]));
			if (!ok)
				fail_msg("variable passed: %.40s", line);
		}
	}
	assert_true(has_line(content, "LANG=C.UTF-8"));
	assert_true(has_line(content, "LC_TIME=C"));
	assert_true(has_line(content, "TZ=UTC"));
	free(content);

	strbuf_release(&spec);
	strbuf_release(&want);
	free(script);
	free(stdin_file);
	free(env_file);
	free(out_file);
	free(errout_file);
}

static void exec_fails(const char *spec, int timeout_ms, const char *want)
{
	struct sink_context ctx = { .user = "alice", .exec_timeout_ms = timeout_ms };
	struct strbuf err = STRBUF_INIT;
	struct sink *k = new_ok(spec, &ctx);
	int saved_err = redirect(2, "err.txt");

	assert_int_equal(deliver(k, &err), -1);
	restore_fd(2, saved_err);
	if (strcmp(err.buf, want))
		fail_msg("error '%s', expected '%s'", err.buf, want);
	sink_free(k);
	strbuf_release(&err);
}

static void test_exec_sink_failures(void **state)
{
	struct strbuf spec = STRBUF_INIT, want = STRBUF_INIT;
	char *script = path_in("hook.sh");
	time_t start;

	write_text(script, hook_script, 0600);
	strbuf_addf(&spec, "exec:/bin/sh %s %s 3", script, tmpdir);
	strbuf_addf(&want, "%s: exited with status 3", spec.buf);
	exec_fails(spec.buf, 0, want.buf);

	exec_fails("exec:iamkeys-no-such-command --flag", 0,
		   "exec:iamkeys-no-such-command --flag: cannot run 'iamkeys-no-such-command': "
		   "No such file or directory");
	exec_fails("exec:/bin/sh -c 'kill -TERM $$'", 0,
		   "exec:/bin/sh -c 'kill -TERM $$': killed by signal 15");

	start = time(NULL);
	exec_fails("exec:/bin/sh -c 'exec sleep 30'", 300,
		   "exec:/bin/sh -c 'exec sleep 30': timed out after 1 s (killed)");
	assert_true(time(NULL) - start < 10);

	free(script);
	strbuf_release(&spec);
	strbuf_release(&want);
}

/* The command inherits standard input, output and error, and nothing else. */
static void test_exec_sink_closes_descriptors(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	struct strbuf spec = STRBUF_INIT;
	char *out = path_in("fds.txt"), *content;
	int leak = open("/dev/null", O_RDONLY), leak2 = dup(1); /* no O_CLOEXEC */
	struct sink *k;

	assert_true(leak > 2 && leak2 > 2);
	/* ls's own directory descriptor is 3 */
	strbuf_addf(&spec, "exec:/bin/sh -c 'cat > /dev/null; exec ls /proc/self/fd > \"$0\"' %s",
		    out);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);
	close(leak);
	close(leak2);
	content = read_all(out);
	assert_string_equal(content, "0\n1\n2\n3\n");
	free(content);
	free(out);
	strbuf_release(&spec);
}

static void test_exec_sink_arguments(void **state)
{
	struct sink_context ctx = { .user = "alice" };
	struct strbuf spec = STRBUF_INIT;
	char *out = path_in("args out.json"), *content;
	struct sink *k;

	/* quoted words, {user} inside a word, no shell for the outer command */
	strbuf_addf(&spec,
		    "exec:/bin/sh -c 'cat > \"$0\"; printf %%s \"$1\" >> \"$0\"' "
		    "\"%s/args out.json\" {user}-x",
		    tmpdir);
	k = new_ok(spec.buf, &ctx);
	deliver_ok(k);
	sink_free(k);
	content = read_all(out);
	assert_string_equal(content, JSON "\nalice-x");
	free(content);
	free(out);
	strbuf_release(&spec);
}

/* - */

static void test_stdout_sink(void **state)
{
	struct sink_context ctx = { 0 };
	char *out = path_in("stdout.txt"), *content;
	struct sink *k = new_ok("-", &ctx);
	int saved;

	saved = redirect(1, "stdout.txt");
	printf("before\n"); /* buffered output comes first */
	deliver_ok(k);
	restore_fd(1, saved);
	sink_free(k);
	content = read_all(out);
	assert_string_equal(content, "before\n" JSON "\n");
	free(content);
	free(out);
}

/* secretsmanager: and ssm: */

static time_t fixed_now(void)
{
	return 1440938160; /* 2015-08-30T12:36:00Z */
}

static struct fake_sleeps sleeps;
static double half = 0.5;
static const char *const client_env[] = { "AWS_REGION=eu-west-1", NULL };

static struct aws_client *fake_client(const struct fake_step *steps, size_t n)
{
	return fake_client_new(steps, n, client_env, fixed_now, NULL, &sleeps, &half);
}

/* The i-th request's body as JSON; checks the token is a UUID v4 and returns it. */
static json_t *request_json(struct aws_client *c, size_t i)
{
	const struct fake_request *r = fake_transport_request(c->http, i);
	json_error_t jerr;
	json_t *j;

	assert_non_null(r);
	j = json_loadb(r->body, r->body_len, 0, &jerr);
	if (!j)
		fail_msg("request %zu body is not JSON: %s", i, jerr.text);
	return j;
}

static void assert_uuid_v4(const char *s)
{
	assert_non_null(s);
	assert_int_equal(strlen(s), 36);
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
}

#define SM_URL "https://secretsmanager.eu-west-1.amazonaws.com/"
#define SSM_URL "https://ssm.eu-west-1.amazonaws.com/"

static void test_secretsmanager_create(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.CreateSecret",
			       "Content-Type: application/x-amz-json-1.1" },
		  .body_contains = { "{\"Name\":\"iamkeys/alice\",\"SecretString\":\"" JSON_ESCAPED
				     "\",\"ClientRequestToken\":\"" },
		  .reply_body = "{\"ARN\":\"arn:aws:secretsmanager:eu-west-1:123456789012:"
				"secret:iamkeys/alice-AbCdEf\",\"Name\":\"iamkeys/alice\","
				"\"VersionId\":\"v1\"}" },
	};
	struct aws_client *c = fake_client(steps, ARRAY_SIZE(steps));
	struct sink_context ctx = { .user = "alice", .client = c };
	struct sink *k = new_ok("secretsmanager:iamkeys/{user}", &ctx);
	json_t *j;

	deliver_ok(k);
	sink_free(k);
	j = request_json(c, 0);
	assert_int_equal(json_object_size(j), 3);
	assert_string_equal(json_string_value(json_object_get(j, "Name")), "iamkeys/alice");
	assert_string_equal(json_string_value(json_object_get(j, "SecretString")), JSON);
	assert_uuid_v4(json_string_value(json_object_get(j, "ClientRequestToken")));
	json_decref(j);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
}

static void test_secretsmanager_exists_put(void **state)
{
	static const struct fake_step steps[] = {
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.CreateSecret" },
		  .status = 400,
		  .reply_headers = { "x-amzn-RequestId: r-1" },
		  .reply_body = "{\"__type\":\"ResourceExistsException\",\"message\":\"The "
				"operation failed because the secret iamkeys/alice already "
				"exists.\"}" },
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.PutSecretValue" },
		  .body_contains = { "{\"SecretId\":\"iamkeys/alice\",\"SecretString\":\"" JSON_ESCAPED
				     "\",\"ClientRequestToken\":\"" },
		  .reply_body = "{\"ARN\":\"arn:x\",\"Name\":\"iamkeys/alice\",\"VersionId\":"
				"\"v2\",\"VersionStages\":[\"AWSCURRENT\"]}" },
	};
	struct aws_client *c = fake_client(steps, ARRAY_SIZE(steps));
	struct sink_context ctx = { .user = "alice", .client = c };
	struct sink *k = new_ok("secretsmanager:iamkeys/{user}", &ctx);
	json_t *create, *put;

	deliver_ok(k);
	sink_free(k);
	create = request_json(c, 0);
	put = request_json(c, 1);
	assert_int_equal(json_object_size(put), 3);
	assert_string_equal(json_string_value(json_object_get(put, "SecretId")), "iamkeys/alice");
	assert_string_equal(json_string_value(json_object_get(put, "SecretString")), JSON);
	assert_uuid_v4(json_string_value(json_object_get(put, "ClientRequestToken")));
	assert_string_not_equal(json_string_value(json_object_get(put, "ClientRequestToken")),
				json_string_value(json_object_get(create, "ClientRequestToken")));
	json_decref(create);
	json_decref(put);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
}

static void test_secretsmanager_arn_put_only(void **state)
{
	static const struct fake_step steps[] = {
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.PutSecretValue" },
		  .body_contains = { "{\"SecretId\":\"arn:aws:secretsmanager:eu-west-1:"
				     "123456789012:secret:x-AbCdEf\",\"SecretString\":\"" },
		  .reply_body = "{}" },
	};
	struct aws_client *c = fake_client(steps, ARRAY_SIZE(steps));
	struct sink_context ctx = { .client = c };
	struct sink *k = new_ok(
		"secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf",
		&ctx);

	deliver_ok(k);
	sink_free(k);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
}

/* An ARN must name a secret that exists: the preflight refuses a missing one. */
static void test_secretsmanager_arn_missing(void **state)
{
#define ARN "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gone-AbCdEf"
	static const struct fake_step steps[] = {
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.GetSecretValue" },
		  .body_contains = { "{\"SecretId\":\"" ARN "\"}" },
		  .status = 400,
		  .reply_body = "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets "
				"Manager can't find the specified secret.\"}" },
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.DescribeSecret" },
		  .body_contains = { "{\"SecretId\":\"" ARN "\"}" },
		  .status = 400,
		  .reply_body = "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets "
				"Manager can't find the specified secret.\"}" },
		/* a secret without a current version exists: fine */
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.GetSecretValue" },
		  .status = 400,
		  .reply_body = "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets "
				"Manager can't find the specified secret value for staging label: "
				"AWSCURRENT\"}" },
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.DescribeSecret" },
		  .reply_body = "{\"ARN\":\"" ARN "\",\"Name\":\"gone\"}" },
		/* a name: CreateSecret will make it */
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.GetSecretValue" },
		  .body_contains = { "{\"SecretId\":\"iamkeys/alice\"}" },
		  .status = 400,
		  .reply_body = "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets "
				"Manager can't find the specified secret.\"}" },
	};
	struct aws_client *c = fake_client(steps, ARRAY_SIZE(steps));
	struct sink_context ctx = { .user = "alice", .client = c };
	struct sink *k = new_ok("secretsmanager:" ARN, &ctx);

	preflight_refuses(k, "secretsmanager:" ARN ": no such secret (an ARN must name an "
			     "existing secret; give a name to create one)");
	preflight_ok(k);
	sink_free(k);
	k = new_ok("secretsmanager:iamkeys/{user}", &ctx);
	preflight_ok(k);
	sink_free(k);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
#undef ARN
}

static void test_secretsmanager_error(void **state)
{
	static const struct fake_step steps[] = {
		{ .url = SM_URL,
		  .headers = { "X-Amz-Target: secretsmanager.CreateSecret" },
		  .status = 400,
		  .reply_headers = { "x-amzn-RequestId: r-9" },
		  .reply_body = "{\"__type\":\"AccessDeniedException\",\"Message\":\"not "
				"allowed\"}" },
	};
	struct aws_client *c = fake_client(steps, ARRAY_SIZE(steps));
	struct sink_context ctx = { .user = "alice", .client = c };
	struct sink *k = new_ok("secretsmanager:iamkeys/{user}", &ctx);
	struct strbuf err = STRBUF_INIT;

	assert_int_equal(deliver(k, &err), -1);
	assert_string_equal(err.buf, "secretsmanager:iamkeys/alice: CreateSecret: "
				     "AccessDeniedException: not allowed (request id r-9)");
	sink_free(k);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
	strbuf_release(&err);

	/* no client */
	ctx.client = NULL;
	k = new_ok("secretsmanager:x", &ctx);
	assert_int_equal(deliver(k, &err), -1);
	assert_string_equal(err.buf, "secretsmanager:x: no AWS client to deliver with");
	sink_free(k);
	strbuf_release(&err);
}

static void test_ssm_put_parameter(void **state)
{
	static const struct fake_step steps[] = {
		{ .method = "POST",
		  .url = SSM_URL,
		  .headers = { "X-Amz-Target: AmazonSSM.PutParameter",
			       "Content-Type: application/x-amz-json-1.1" },
		  .body = "{\"Name\":\"/iamkeys/" ACCOUNT "/alice\",\"Value\":\"" JSON_ESCAPED
			  "\",\"Type\":\"SecureString\",\"Overwrite\":true}",
		  .reply_body = "{\"Version\":3,\"Tier\":\"Standard\"}" },
		{ .url = SSM_URL,
		  .headers = { "X-Amz-Target: AmazonSSM.PutParameter" },
		  .status = 400,
		  .reply_body = "{\"__type\":\"ParameterLimitExceeded\",\"message\":\"too "
				"many\"}" },
	};
	struct aws_client *c = fake_client(steps, ARRAY_SIZE(steps));
	struct sink_context ctx = { .user = "alice", .account = ACCOUNT, .client = c };
	struct sink *k = new_ok("ssm:/iamkeys/{account}/{user}", &ctx);
	struct strbuf err = STRBUF_INIT;
	json_t *j;

	deliver_ok(k);
	j = request_json(c, 0);
	assert_string_equal(json_string_value(json_object_get(j, "Value")), JSON);
	assert_true(json_is_true(json_object_get(j, "Overwrite")));
	json_decref(j);

	assert_int_equal(deliver(k, &err), -1);
	assert_string_equal(err.buf, "ssm:/iamkeys/" ACCOUNT "/alice: PutParameter: "
				     "ParameterLimitExceeded: too many");
	sink_free(k);
	fake_transport_assert_done(c->http);
	aws_client_free(c);
	strbuf_release(&err);
}

static void test_deliver_nothing(void **state)
{
	struct sink_context ctx = { 0 };
	struct new_secret empty = { 0 };
	struct strbuf err = STRBUF_INIT;
	struct sink *k = new_ok("-", &ctx);

	assert_int_equal(sink_deliver(k, &empty, &err), -1);
	assert_string_equal(err.buf, "-: nothing to deliver (no access key)");
	sink_free(k);
	strbuf_release(&err);
}

#define TMP_TEST(f) cmocka_unit_test_setup_teardown(f, setup_tmpdir, teardown_tmpdir)

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_json_exact),
	cmocka_unit_test(test_templates),
	cmocka_unit_test(test_split_command),
	cmocka_unit_test(test_uuid),
	cmocka_unit_test(test_new_errors),
	cmocka_unit_test(test_new_targets),
	TMP_TEST(test_file_sink),
	TMP_TEST(test_file_sink_existing_symlink_refused),
	TMP_TEST(test_file_sink_non_regular_refused),
	TMP_TEST(test_file_sink_missing_directory),
	TMP_TEST(test_write_file_relative),
	TMP_TEST(test_profile_sink_new_file),
	TMP_TEST(test_profile_sink_existing_file),
	TMP_TEST(test_profile_sink_env_file_and_explicit_file),
	TMP_TEST(test_profile_sink_follows_symlink),
	TMP_TEST(test_profile_sink_concurrent),
	TMP_TEST(test_profile_sink_keeps_mode_owner_links),
	TMP_TEST(test_profile_sink_symlink_outside_refused),
	TMP_TEST(test_profile_sink_non_regular_refused),
	TMP_TEST(test_profile_sink_concurrent_writer),
	TMP_TEST(test_profile_sink_own_profile_refused),
	TMP_TEST(test_group_shared),
	TMP_TEST(test_profile_sink_errors),
	TMP_TEST(test_exec_sink),
	TMP_TEST(test_exec_sink_failures),
	TMP_TEST(test_exec_sink_closes_descriptors),
	TMP_TEST(test_exec_sink_arguments),
	TMP_TEST(test_stdout_sink),
	cmocka_unit_test(test_secretsmanager_create),
	cmocka_unit_test(test_secretsmanager_exists_put),
	cmocka_unit_test(test_secretsmanager_arn_put_only),
	cmocka_unit_test(test_secretsmanager_arn_missing),
	cmocka_unit_test(test_secretsmanager_error),
	cmocka_unit_test(test_ssm_put_parameter),
	cmocka_unit_test(test_deliver_nothing),
};

UNIT_TEST_MAIN(tests)
