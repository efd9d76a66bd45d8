"""The documentation agrees with the code (after git's t0450-txt-doc-vs-help):
for every command, `iamkeys CMD --help`, the man page iamkeys-CMD(1) and the
README's synopsis list the same options with the same placeholders; the exit
codes of `iamkeys --help`, iamkeys(1) and the README are the table in main.c;
the README's generated blocks are up to date; every man page renders without
a warning (groff -ww, mandoc -T lint, man -l)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from tests.cli.common import BINARY, ROOT, CliTestCase, run

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gendoc  # noqa: E402

README = os.path.join(ROOT, "README.md")
HELP_OPT = re.compile(r"^  (?:-(\w), |    )--([\w-]+)(?: (\S+))?")
MAN_OPT = re.compile(r"^(?:\\fB\\-(\w)\\fR, )?\\fB\\-\\-([\w-]+)\\fR(?: \\fI(.*?)\\fR)?$")
SYN_OPT = re.compile(r"\[--([\w-]+)(?: ((?:[^\]\[\s]|\[[^\]]*\])+))?\]")


def dump():
    p = subprocess.run([BINARY, "--dump-options"], stdout=subprocess.PIPE, text=True,
                       check=True)
    return json.loads(p.stdout)


class DocsTestCase(CliTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dump = dump()
        cls.tmp = tempfile.mkdtemp(prefix="iamkeys-docs-")
        cls.man = os.path.join(cls.tmp, "man1")
        gendoc.write_man(cls.dump, cls.man, "2026-01-01")
        with open(README) as f:
            cls.readme = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def commands(self):
        return [c["name"] for c in self.dump["commands"]]


class OptionsAgree(DocsTestCase):
    def help_options(self, cmd):
        res = run([cmd, "--help"], env=dict(os.environ))
        self.assertRc(res, 0)
        self.assertIn("\noptions:\n", res.out)
        opts = set()
        for line in res.out.split("\noptions:\n", 1)[1].splitlines():
            m = HELP_OPT.match(line)
            if m and m.group(2) != "help":
                opts.add((m.group(2), m.group(3)))
        return opts

    def man_options(self, cmd):
        with open(os.path.join(self.man, "iamkeys-%s.1" % cmd)) as f:
            lines = f.read().split(".SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0].splitlines()
        opts = set()
        for prev, line in zip(lines, lines[1:]):
            if prev != ".TP":
                continue
            m = MAN_OPT.match(line)
            self.assertTrue(m, "unexpected option line %r in iamkeys-%s.1" % (line, cmd))
            if m.group(2) != "help":
                arg = m.group(3).replace("\\-", "-") if m.group(3) else None
                opts.add((m.group(2), arg))
        return opts

    def readme_common(self):
        block = self.readme.split("<!-- generated: options common -->\n", 1)[1]
        block = block.split("<!-- end generated -->", 1)[0]
        opts = set()
        for m in re.finditer(r"`--([\w-]+)(?: ([^`]+))?`", block):
            opts.add((m.group(1), m.group(2)))
        return opts

    def readme_options(self, cmd):
        """The options of `iamkeys CMD` in the README's generated synopses."""
        found, opts = False, set()
        for m in re.finditer(r"<!-- generated: synopsis ([^>]*) -->\n(.*?)<!-- end generated -->",
                             self.readme, re.S):
            if cmd not in m.group(1).split():
                continue
            found = True
            current = None
            for line in m.group(2).splitlines():
                head = re.match(r"iamkeys (\S+)", line)
                if head:
                    current = head.group(1)
                if current != cmd:
                    continue
                for o in SYN_OPT.finditer(line):
                    opts.add((o.group(1), o.group(2)))
                if "[common options]" in line:
                    opts |= self.readme_common()
        self.assertTrue(found, "the README has no synopsis of '%s'" % cmd)
        return opts

    def test_help_man_and_readme_list_the_same_options(self):
        self.assertGreaterEqual(len(self.commands()), 9)
        for cmd in self.commands():
            with self.subTest(cmd=cmd):
                h = self.help_options(cmd)
                self.assertTrue(h)
                self.assertEqual(h, self.man_options(cmd), "--help vs iamkeys-%s(1)" % cmd)
                self.assertEqual(h, self.readme_options(cmd), "--help vs README (%s)" % cmd)

    def test_the_dump_is_the_help(self):
        """--dump-options describes exactly the options that --help prints."""
        for c in self.dump["commands"]:
            want = set((o["long"], o.get("argh")) for o in c["options"])
            self.assertEqual(want, self.help_options(c["name"]), c["name"])

    def test_a_new_option_changes_the_readme(self):
        """The check can fail: an option added to the table makes the README stale."""
        d = json.loads(json.dumps(self.dump))
        d["commands"][1]["options"].insert(0, {"long": "brand-new", "kind": "bool",
                                               "help": "x", "repeatable": False})
        new = gendoc.rewrite_readme(d, self.readme)
        self.assertNotEqual(new, self.readme)
        self.assertIn("[--brand-new]", new)


class GeneratedBlocks(DocsTestCase):
    def test_readme_is_up_to_date(self):
        self.assertEqual(gendoc.rewrite_readme(self.dump, self.readme), self.readme,
                         "README.md is out of date: run 'make readme'")

    def test_every_block_kind_is_present(self):
        for kind in ("exit-codes", "permissions", "options common", "synopsis audit",
                     "synopsis rotate", "synopsis policy"):
            self.assertIn("<!-- generated: %s" % kind, self.readme)


class ExitCodes(DocsTestCase):
    def test_help_man_and_readme_print_the_table(self):
        codes = [(e["code"], e["meaning"]) for e in self.dump["exit_codes"]]
        self.assertEqual([c for c, _ in codes], [0, 1, 2, 3, 4, 5, 130, 143, 141])
        res = run(["--help"], env=dict(os.environ))
        self.assertRc(res, 0)
        text = res.out.split("\nexit codes:\n", 1)[1]
        joined = re.sub(r"\s+", " ", text)
        for code, meaning in codes:
            self.assertIn("%d %s" % (code, meaning), joined)
        readme = self.readme.split("<!-- generated: exit-codes -->", 1)[1]
        for code, meaning in codes:
            self.assertIn("| %d | %s |" % (code, meaning.replace("|", "\\|")), readme)
        for page in ["iamkeys"] + ["iamkeys-" + c for c in self.commands()]:
            with open(os.path.join(self.man, page + ".1")) as f:
                man = f.read().split(".SH EXIT STATUS\n", 1)[1]
            man = re.sub(r"\s+", " ", man.replace("\\-", "-"))
            for code, meaning in codes:
                self.assertIn("\\fB%d\\fR %s" % (code, meaning), man, page)


class ManPagesRender(DocsTestCase):
    def pages(self):
        return sorted(os.path.join(self.man, p) for p in os.listdir(self.man))

    def test_one_page_per_command_and_the_main_page(self):
        want = ["iamkeys.1"] + ["iamkeys-%s.1" % c for c in self.commands()]
        self.assertEqual(sorted(os.listdir(self.man)), sorted(want))

    @unittest.skipUnless(shutil.which("groff"), "groff is not installed (scripts/deps.sh)")
    def test_groff_warns_about_nothing(self):
        for p in self.pages():
            r = subprocess.run(["groff", "-ww", "-z", "-man", p], capture_output=True,
                               text=True)
            self.assertEqual((r.returncode, r.stderr), (0, ""), p)

    @unittest.skipUnless(shutil.which("mandoc"), "mandoc is not installed (scripts/deps.sh)")
    def test_mandoc_lint_is_clean(self):
        for p in self.pages():
            r = subprocess.run(["mandoc", "-T", "lint", p], capture_output=True, text=True)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""), p)

    @unittest.skipUnless(shutil.which("man"), "man is not installed")
    def test_man_l_renders(self):
        env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
        for p in self.pages():
            r = subprocess.run(["man", "-l", "-P", "cat", p], capture_output=True, text=True,
                               env=env)
            self.assertEqual((r.returncode, r.stderr), (0, ""), p)
            self.assertIn("EXIT STATUS", r.stdout)


if __name__ == "__main__":
    unittest.main()
