#!/usr/bin/python3
"""Generates the documentation and the shell completions from the code's tables.

`iamkeys --dump-options` prints the command table, every command's option
table, the exit codes, the sinks and the IAM actions (core/permissions.c) as
JSON. From it this script writes:

  man DIR          iamkeys.1 and iamkeys-COMMAND.1 (roff), with the prose of
                   docs/man/*.txt around the generated synopsis, options and
                   exit status
  completions DIR  iamkeys.bash, _iamkeys (zsh), iamkeys.fish
  readme FILE      rewrites the generated blocks of the README
                   (<!-- generated: KIND ARGS --> ... <!-- end generated -->);
                   with --check, only tells whether they are up to date

So a new option appears in --help, the man pages, the README and the
completions without anyone editing them. Usage:

  scripts/gendoc.py --binary build/iamkeys [--date YYYY-MM-DD] man build/man
"""
import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROSE = os.path.join(ROOT, "docs", "man")


def load_dump(binary):
    out = subprocess.run([binary, "--dump-options"], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return json.loads(out)


def common_options(dump):
    """The options every command that needs credentials shares (OPT_COMMON), in order."""
    cmds = [c for c in dump["commands"] if "needs-creds" in c["flags"]]
    if not cmds:
        return []
    key = lambda o: (o["long"], o["help"])
    shared = set(key(o) for o in cmds[0]["options"])
    for c in cmds[1:]:
        shared &= set(key(o) for o in c["options"])
    return [o for o in cmds[0]["options"] if key(o) in shared]


def takes_common(cmd, common):
    """Whether cmd takes every common option (policy takes --version alone: its own)."""
    return bool(common) and all(o in cmd["options"] for o in common)


def own_options(cmd, common):
    names = set(o["long"] for o in common) if takes_common(cmd, common) else set()
    return [o for o in cmd["options"] if o["long"] not in names]


def with_values(o):
    """The option's help, and its values unless the help names them all."""
    help = o["help"]
    if "values" in o and not all(re.search(r"\b%s\b" % re.escape(v), help) for v in o["values"]):
        help += " (one of: %s)" % ", ".join(o["values"])
    return help


def positionals(cmd):
    """The operands of the command's usage line ("[COMMAND]"), which the option table
    does not describe."""
    words = cmd["usage"].split()[2:]
    out = []
    for prev, w in zip([""] + words, words):
        if re.match(r"[\[(|]*-", prev) and not prev.endswith("]"):
            continue  # an option's value
        if re.fullmatch(r"(\[[A-Z][A-Z_]*\]|[A-Z][A-Z_]*)(\.\.\.)?", w):
            out.append(w)
    return out


def opt_word(o):
    """--name ARG, as in a synopsis."""
    return "--%s%s" % (o["long"], " " + o["argh"] if "argh" in o else "")


# ---------------------------------------------------------------- roff


def roff_text(s):
    """Escapes plain text for roff: backslashes, hyphens of options, leading dots."""
    s = s.replace("\\", "\\e")
    s = re.sub(r"(?<![\w])-", r"\\-", s)
    s = s.replace("'", "\\(aq") if s.startswith("'") else s
    return s


def roff_line(s):
    s = roff_text(s)
    if s.startswith(".") or s.startswith("'"):
        s = "\\&" + s
    return s


def roff_opt(o, short=True):
    left = "\\fB\\-\\-%s\\fR" % o["long"]
    if short and o.get("short"):
        left = "\\fB\\-%s\\fR, " % o["short"] + left
    if "argh" in o:
        left += " \\fI%s\\fR" % roff_text(o["argh"])
    return left


def prose_sections(page):
    """docs/man/PAGE.txt: '= SECTION' lines start a section; blank lines end a
    paragraph; lines indented by four spaces are shown as they are."""
    path = os.path.join(PROSE, page + ".txt")
    sections = []
    if not os.path.exists(path):
        return sections
    cur = None
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("= "):
                cur = (line[2:].strip(), [])
                sections.append(cur)
            elif cur is not None:
                cur[1].append(line)
    return sections


def roff_prose(lines):
    out, para, verbatim = [], [], []

    def flush():
        if para:
            out.append(".PP")
            out.extend(roff_line(p) for p in para)
            del para[:]
        if verbatim:
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            out.extend(roff_line(v[4:]) for v in verbatim)
            out.append(".RE")
            out.append(".fi")
            del verbatim[:]

    for line in lines:
        if line.startswith("    "):
            if para:
                flush()
            verbatim.append(line)
        elif not line.strip():
            flush()
        else:
            if verbatim:
                flush()
            para.append(line.strip())
    flush()
    return out


def roff_options(opts):
    out = []
    for o in opts:
        out.append(".TP")
        out.append(roff_opt(o))
        help = with_values(o)
        if o.get("repeatable") and "repeatable" not in help:
            help += " (repeatable)"
        out.append(roff_line(help))
    return out


def roff_synopsis(cmd, common):
    out = [".nf", "\\fBiamkeys %s\\fR" % cmd["name"] +
           "".join(" \\fI%s\\fR" % w for w in positionals(cmd))]
    for o in own_options(cmd, common):
        out.append(".RS 4")
        out.append("[%s]" % roff_opt(o, short=False))
        out.append(".RE")
    if takes_common(cmd, common):
        out.append(".RS 4")
        out.append("[\\fIcommon options\\fR]")
        out.append(".RE")
    out.append(".fi")
    return out


def man_header(title, date, version, name_line):
    return [
        '.\\" generated by scripts/gendoc.py from `iamkeys --dump-options`; do not edit',
        '.TH "%s" "1" "%s" "iamkeys %s" "iamkeys manual"' % (title.upper(), date, version),
        ".SH NAME",
        name_line,
    ]


def exit_status(dump):
    out = [".SH EXIT STATUS"]
    for e in dump["exit_codes"]:
        out.append(".TP")
        out.append("\\fB%d\\fR" % e["code"])
        out.append(roff_line(e["meaning"]))
    return out


def page_end(dump, prose, see_also):
    """The end of a page: its prose sections but DESCRIPTION, EXIT STATUS, and SEE ALSO
    (the roff line see_also)."""
    out = []
    for title, lines in prose:
        if title != "DESCRIPTION":
            out.append(".SH " + title)
            out += roff_prose(lines)
    out += exit_status(dump)
    out.append(".SH SEE ALSO")
    out.append(see_also)
    return out


def page_command(dump, cmd, common, date):
    name = "iamkeys-" + cmd["name"]
    summary = cmd["summary"].rstrip(".")
    summary = summary[0].lower() + summary[1:]
    out = man_header(name, date, dump["version"], "%s \\- %s" % (roff_text(name),
                                                                  roff_text(summary)))
    out.append(".SH SYNOPSIS")
    out += roff_synopsis(cmd, common)
    out.append(".SH DESCRIPTION")
    out.append(roff_line(cmd["summary"]))
    extra = prose_sections(name)
    for title, lines in extra:
        if title == "DESCRIPTION":
            out += roff_prose(lines)
    out.append(".SH OPTIONS")
    out += roff_options(own_options(cmd, common))
    if takes_common(cmd, common):
        out.append(".PP")
        out.append("Common options (see \\fBiamkeys\\fR(1)):")
        out += roff_options([o for o in common if o in cmd["options"]])
    out.append(".TP")
    out.append("\\fB\\-h\\fR, \\fB\\-\\-help\\fR")
    out.append("show this help")
    out += page_end(dump, extra, "\\fBiamkeys\\fR(1)")
    return "\n".join(out) + "\n"


def page_main(dump, common, date):
    out = man_header("iamkeys", date, dump["version"],
                     "iamkeys \\- check and rotate the access keys of AWS IAM users")
    out += [".SH SYNOPSIS", ".nf", "\\fBiamkeys\\fR \\fIcommand\\fR [\\fIoptions\\fR]",
            "\\fBiamkeys\\fR \\fIcommand\\fR \\fB\\-\\-help\\fR",
            "\\fBiamkeys \\-\\-help\\fR | \\fB\\-\\-version\\fR", ".fi"]
    prose = prose_sections("iamkeys")
    for title, lines in prose:
        if title == "DESCRIPTION":
            out.append(".SH DESCRIPTION")
            out += roff_prose(lines)
    out.append(".SH COMMANDS")
    for c in dump["commands"]:
        out.append(".TP")
        out.append("\\fBiamkeys\\-%s\\fR(1)" % c["name"])
        out.append(roff_line(c["summary"]))
    out.append(".SH COMMON OPTIONS")
    out.append(".PP")
    out.append("Every command that calls AWS takes these:")
    out += roff_options(common)
    out.append(".SH SINKS")
    out.append(".PP")
    out.append("Where \\fB\\-\\-to\\fR delivers a new secret ({user} and {account} are "
               "replaced):")
    for s in dump["sinks"]:
        out.append(".TP")
        out.append("\\fB%s\\fR" % roff_text(s["form"]))
        out.append(roff_line(s["help"]))
    out += page_end(dump, prose, ", ".join("\\fBiamkeys\\-%s\\fR(1)" % c["name"]
                                           for c in dump["commands"]))
    return "\n".join(out) + "\n"


def roff_finish(text):
    """Folds text lines at 79 bytes and drops a paragraph macro right after a heading
    (so that mandoc -T lint has nothing to say)."""
    out = []
    fill = True
    for line in text.split("\n"):
        if line == ".PP" and out and out[-1].startswith(".SH "):
            continue
        if line in (".nf", ".fi"):
            fill = line == ".fi"
        if line.startswith(".") or len(line) <= 79 or not fill:
            out.append(line)
            continue
        cur = ""
        for w in line.split(" "):
            if cur and len(cur) + 1 + len(w) > 79:
                out.append(cur)
                cur = w
            else:
                cur = cur + " " + w if cur else w
        out.append(cur)
    return "\n".join(("\\&" + l) if l[:1] == "'" or (l[:1] == "." and not
                     re.match(r"\.(TH|SH|SS|PP|TP|RS|RE|nf|fi|B|I|BR|IR)\b|\.\\\"", l))
                     else l for l in out)


def write_man(dump, outdir, date):
    os.makedirs(outdir, exist_ok=True)
    common = common_options(dump)
    pages = {"iamkeys.1": page_main(dump, common, date)}
    for c in dump["commands"]:
        pages["iamkeys-%s.1" % c["name"]] = page_command(dump, c, common, date)
    for name, text in pages.items():
        write_if_changed(os.path.join(outdir, name), roff_finish(text))


# ---------------------------------------------------------------- completions


def sink_words(dump):
    return [s["scheme"] + ("" if s["scheme"] == "-" else ":") for s in dump["sinks"]]


PROFILES_SH = r'''_iamkeys_profiles()
{
	local f
	for f in "${AWS_CONFIG_FILE:-$HOME/.aws/config}" "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}"; do
		[ -r "$f" ] || continue
		sed -n -e 's/^[[:space:]]*\[[[:space:]]*profile[[:space:]][[:space:]]*\([^][:space:]]*\)[[:space:]]*\].*/\1/p' \
		       -e 's/^[[:space:]]*\[[[:space:]]*\([^][:space:]]*\)[[:space:]]*\].*/\1/p' "$f"
	done | grep -v -e '^profile$' -e '^sso-session$' | sort -u
}
'''


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def arg_completion(dump, o, values, sink, profile, file, other):
    """How a shell completes the argument of option o: values(words) for its fixed words,
    sink(words) for the forms of --to, else profile (a profile name), file (a path) or
    other (anything), as the option's "complete" says."""
    if "values" in o:
        return values(o["values"])
    kind = o.get("complete")
    if kind == "sink":
        return sink(sink_words(dump))
    return {"profile": profile, "file": file}.get(kind, other)


def bash_completion(dump):
    cmds = [c["name"] for c in dump["commands"]]
    out = ["# bash completion for iamkeys", "# generated by scripts/gendoc.py from "
           "`iamkeys --dump-options`; do not edit", "", PROFILES_SH,
           "_iamkeys()", "{",
           "\tlocal cur prev cmd opts",
           "\tcur=\"${COMP_WORDS[COMP_CWORD]}\"",
           "\tprev=\"${COMP_WORDS[COMP_CWORD-1]}\"",
           "\tif [ \"$COMP_CWORD\" -le 1 ]; then",
           "\t\tCOMPREPLY=($(compgen -W %s -- \"$cur\"))" %
           sh_quote(" ".join(cmds + ["--help", "--version"])),
           "\t\treturn",
           "\tfi",
           "\tcmd=\"${COMP_WORDS[1]}\"",
           "\tcase \"$cmd\" in"]
    for c in dump["commands"]:
        words = []
        for o in c["options"]:
            if o.get("short"):
                words.append("-" + o["short"])
            words.append("--" + o["long"])
        words.append("--help")
        out.append("\t%s) opts=%s ;;" % (c["name"], sh_quote(" ".join(words))))
    out += ["\t*) return ;;", "\tesac", "\tcase \"$cmd $prev\" in"]
    for c in dump["commands"]:
        for o in c["options"]:
            if "argh" not in o:
                continue
            pats = ["%s\\ --%s" % (c["name"], o["long"])]
            if o.get("short"):
                pats.append("%s\\ -%s" % (c["name"], o["short"]))
            pat = "|".join(pats)
            act = arg_completion(
                dump, o,
                values=lambda w: ("COMPREPLY=($(compgen -W %s -- \"$cur\"))"
                                  % sh_quote(" ".join(w))),
                sink=lambda w: ("COMPREPLY=($(compgen -W %s -- \"$cur\")); "
                                "compopt -o nospace 2>/dev/null" % sh_quote(" ".join(w))),
                profile="COMPREPLY=($(compgen -W \"$(_iamkeys_profiles)\" -- \"$cur\"))",
                file="COMPREPLY=($(compgen -f -- \"$cur\")); compopt -o filenames 2>/dev/null",
                other="COMPREPLY=()")
            out.append("\t%s) %s; return ;;" % (pat, act))
    out += ["\tesac",
            "\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
            "}",
            "complete -F _iamkeys iamkeys", ""]
    return "\n".join(out)


def zsh_desc(s):
    return s.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace("'", "'\\''")


def zsh_spec(dump, o):
    desc = zsh_desc(o["help"])
    rep = "*" if o.get("repeatable") else ""
    if "argh" in o:
        arg = o["argh"].replace(":", "\\:")
        act = arg_completion(
            dump, o, values=lambda w: "(%s)" % " ".join(w),
            sink=lambda w: "(%s)" % " ".join(x.replace(":", "\\:") for x in w),
            profile="_iamkeys_profiles", file="_files", other=" ")
        tail = ":%s:%s" % (arg, act)
    else:
        tail = ""
    if o.get("short"):
        excl = "" if rep else "(-%s --%s)" % (o["short"], o["long"])
        return "'%s'{%s-%s,%s--%s}'[%s]%s'" % (excl, rep, o["short"], rep, o["long"], desc, tail)
    return "'%s--%s[%s]%s'" % (rep, o["long"], desc, tail)


def zsh_completion(dump):
    out = ["#compdef iamkeys", "# generated by scripts/gendoc.py from `iamkeys --dump-options`; "
           "do not edit", "",
           "_iamkeys_profiles() {",
           "\tlocal -a profiles",
           "\tlocal f",
           "\tfor f in \"${AWS_CONFIG_FILE:-$HOME/.aws/config}\" "
           "\"${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}\"; do",
           "\t\t[[ -r $f ]] || continue",
           "\t\tprofiles+=(${${${(M)${(f)\"$(<$f)\"}:#[[:space:]]#\\[*\\]*}"
           "##[[:space:]]#\\[(profile[[:space:]]##|)}%%\\]*})",
           "\tdone",
           "\tprofiles=(${profiles:#sso-session *})",
           "\tcompadd -a profiles",
           "}", "",
           "_iamkeys() {",
           "\tlocal curcontext=\"$curcontext\" state line",
           "\tlocal -a commands",
           "\tcommands=("]
    for c in dump["commands"]:
        out.append("\t\t'%s:%s'" % (c["name"], zsh_desc(c["summary"]).replace(":", "\\:")))
    out += ["\t)",
            "\t_arguments -C '(- 1 *)'{-h,--help}'[show the help]' "
            "'(- 1 *)--version[print the version]' '1: :->command' '*:: :->args' && return",
            "\tcase $state in",
            "\tcommand) _describe -t commands 'iamkeys command' commands ;;",
            "\targs)",
            "\t\tcase $line[1] in"]
    for c in dump["commands"]:
        out.append("\t\t%s)" % c["name"])
        specs = [zsh_spec(dump, o) for o in c["options"]] + ["'(- *)'{-h,--help}'[show this help]'"]
        out.append("\t\t\t_arguments \\\n\t\t\t\t" + " \\\n\t\t\t\t".join(specs))
        out.append("\t\t\t;;")
    out += ["\t\tesac", "\t\t;;", "\tesac", "}", "", "_iamkeys \"$@\"", ""]
    return "\n".join(out)


def fish_quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_completion(dump):
    cmds = [c["name"] for c in dump["commands"]]
    out = ["# fish completion for iamkeys",
           "# generated by scripts/gendoc.py from `iamkeys --dump-options`; do not edit", "",
           "function __iamkeys_profiles",
           "\tfor f in (set -q AWS_CONFIG_FILE; and echo $AWS_CONFIG_FILE; or echo ~/.aws/config) "
           "(set -q AWS_SHARED_CREDENTIALS_FILE; and echo $AWS_SHARED_CREDENTIALS_FILE; "
           "or echo ~/.aws/credentials)",
           "\t\ttest -r $f; or continue",
           "\t\tstring match -r -g '^\\s*\\[\\s*(?:profile\\s+)?([^\\]\\s]+)\\s*\\]' < $f",
           "\tend | string match -v -e sso-session | sort -u",
           "end", "",
           "complete -c iamkeys -f",
           "complete -c iamkeys -n __fish_use_subcommand -s h -l help -d 'show the help'",
           "complete -c iamkeys -n __fish_use_subcommand -l version -d 'print the version'"]
    for c in dump["commands"]:
        out.append("complete -c iamkeys -n __fish_use_subcommand -a %s -d %s" %
                   (c["name"], fish_quote(c["summary"])))
    for c in dump["commands"]:
        cond = fish_quote("__fish_seen_subcommand_from %s" % c["name"])
        for o in c["options"]:
            parts = ["complete -c iamkeys -n", cond]
            if o.get("short"):
                parts += ["-s", o["short"]]
            parts += ["-l", o["long"]]
            if "argh" in o:
                words = lambda w: ["-x -a", fish_quote(" ".join(w))]  # noqa: E731
                parts += arg_completion(dump, o, values=words, sink=words,
                                        profile=["-x -a", "'(__iamkeys_profiles)'"],
                                        file=["-r -F"], other=["-x"])
            parts += ["-d", fish_quote(o["help"])]
            out.append(" ".join(parts))
    out.append("")
    return "\n".join(out)


def write_completions(dump, outdir):
    os.makedirs(outdir, exist_ok=True)
    write_if_changed(os.path.join(outdir, "iamkeys.bash"), bash_completion(dump))
    write_if_changed(os.path.join(outdir, "_iamkeys"), zsh_completion(dump))
    write_if_changed(os.path.join(outdir, "iamkeys.fish"), fish_completion(dump))


# ---------------------------------------------------------------- README


def md_cell(s):
    return s.replace("|", "\\|")


def wrap_words(first, words, indent, width=78):
    lines, cur = [], first
    for w in words:
        if len(cur) + 1 + len(w) > width and cur.strip():
            lines.append(cur)
            cur = " " * indent + w
        else:
            cur += " " + w
    lines.append(cur)
    return lines


def readme_synopsis(dump, names):
    common = common_options(dump)
    by_name = {c["name"]: c for c in dump["commands"]}
    out = ["```"]
    width = max(len(n) for n in names)
    for n in names:
        c = by_name[n]
        words = positionals(c) + ["[%s]" % opt_word(o) for o in own_options(c, common)]
        if takes_common(c, common):
            words.append("[common options]")
        first = "iamkeys %-*s" % (width, n)
        out += wrap_words(first, words, len(first) + 1)
    out.append("```")
    return out


def readme_options(dump, kind):
    if kind == "common":
        opts = common_options(dump)
    else:
        opts = next(c for c in dump["commands"] if c["name"] == kind)["options"]
    out = ["| option | |", "|---|---|"]
    for o in opts:
        left = "`%s`" % opt_word(o)
        if o.get("short"):
            left = "`-%s`, " % o["short"] + left
        help = with_values(o)
        out.append("| %s | %s |" % (left, md_cell(help)))
    return out


def readme_exit_codes(dump):
    out = ["| code | meaning |", "|---|---|"]
    for e in dump["exit_codes"]:
        out.append("| %d | %s |" % (e["code"], md_cell(e["meaning"])))
    return out


# The README's name of a permissions scope that is not a command or a sink.
SCOPE_NAMES = {
    "lock:dynamodb": "`--lock dynamodb:TABLE`",
    "notify:sns": "`--notify sns:TOPIC_ARN`",
    "notify:any": "`--notify` (any target)",
    "org": "`--org`, `--accounts`",
    "root": "`delete --root`, `audit --root-via assume-root` (`policy --root`)",
    "cloudtrail": "`audit --trace` (`policy --trace`)",
}


def scope_name(scope):
    if scope in SCOPE_NAMES:
        return SCOPE_NAMES[scope]
    if scope.startswith("sink:") and scope.endswith("-arn"):
        return "sink `%s:ARN`" % scope[5:-4]
    if scope.startswith("sink:"):
        return "sink `%s:`" % scope[5:]
    return "`%s`" % scope


def readme_permissions(dump):
    """One row per command, sink and --org: its actions, with when and why."""
    out = ["| scope | actions (resource `arn:aws:iam::*:user/*` for the calls on a user) |",
           "|---|---|"]
    rows = {}
    for p in dump["permissions"]:
        rows.setdefault(p["scope"], []).append(p)
    for scope, ps in rows.items():
        name = scope_name(scope)
        cells = []
        for p in ps:
            extra = [x for x in (p["when"], p.get("note")) if x]
            if p["fallback"]:
                extra.insert(0, "optional")
            cells.append("`%s`%s" % (p["action"], " (%s)" % "; ".join(extra) if extra else ""))
        out.append("| %s | %s |" % (name, md_cell(", ".join(cells))))
    return out


BLOCK = re.compile(r"(<!-- generated: ([^>]*?) -->\n)(.*?)(<!-- end generated -->)", re.S)


def rewrite_readme(dump, text):
    def repl(m):
        kind, *args = m.group(2).split()
        if kind == "synopsis":
            body = readme_synopsis(dump, args)
        elif kind == "options":
            body = readme_options(dump, args[0])
        elif kind == "exit-codes":
            body = readme_exit_codes(dump)
        elif kind == "permissions":
            body = readme_permissions(dump)
        else:
            raise SystemExit("gendoc: unknown generated block '%s'" % kind)
        return m.group(1) + "\n".join(body) + "\n" + m.group(4)
    return BLOCK.sub(repl, text)


def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "iamkeys"))
    ap.add_argument("--dump", help="read the dump from this file instead of running --binary")
    ap.add_argument("--date", default=None, help="the man pages' date (default: today)")
    ap.add_argument("what", choices=["man", "completions", "readme", "dump"])
    ap.add_argument("target", nargs="?")
    ap.add_argument("--check", action="store_true", help="readme: exit 1 if it is out of date")
    a = ap.parse_args()
    if a.dump:
        with open(a.dump) as f:
            dump = json.load(f)
    else:
        dump = load_dump(a.binary)
    if a.what == "dump":
        json.dump(dump, sys.stdout, indent=1)
        return 0
    if a.what == "man":
        import time
        date = a.date or time.strftime("%Y-%m-%d", time.gmtime(
            int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))))
        write_man(dump, a.target, date)
    elif a.what == "completions":
        write_completions(dump, a.target)
    else:
        path = a.target or os.path.join(ROOT, "README.md")
        with open(path) as f:
            old = f.read()
        new = rewrite_readme(dump, old)
        if a.check:
            if new != old:
                print("gendoc: %s is out of date: run 'make readme'" % path, file=sys.stderr)
                return 1
            return 0
        write_if_changed(path, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
