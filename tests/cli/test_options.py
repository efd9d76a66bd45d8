"""Options shared by several commands mean the same everywhere: the exemption options are one
declaration (the same --help lines in audit, deactivate, delete and rotate), --jobs always
counts API workers, and users and rotate say --parallel-accounts for accounts at once."""
import os

from tests.cli.common import CliTestCase, run

EXEMPTIONS = ("--exclude", "--exempt-path", "--exempt-tag", "--exempt-group")


def help_lines(cmd):
    res = run([cmd, "--help"], dict(os.environ, HOME="/nonexistent"))
    assert res.rc == 0, res
    return res.out.splitlines()


def option_line(lines, name):
    for line in lines:
        if line.strip().startswith(name + " ") or (", " + name + " ") in line:
            return line.strip()
    return None


class SharedOptionsTest(CliTestCase):
    def test_exemption_options_are_one_declaration(self):
        audit = help_lines("audit")
        want = [option_line(audit, o) for o in EXEMPTIONS]
        self.assertNotIn(None, want)
        for cmd in ("deactivate", "delete", "rotate"):
            lines = help_lines(cmd)
            self.assertEqual([option_line(lines, o) for o in EXEMPTIONS], want, cmd)

    def test_jobs_counts_api_workers(self):
        for cmd in ("audit", "deactivate", "delete"):
            line = option_line(help_lines(cmd), "--jobs")
            self.assertIsNotNone(line, cmd)
            self.assertIn("API workers", line, cmd)

    def test_accounts_at_once(self):
        for cmd in ("users", "rotate"):
            lines = help_lines(cmd)
            self.assertIsNone(option_line(lines, "--jobs"), cmd)
            self.assertIn("accounts at once", option_line(lines, "--parallel-accounts"), cmd)
            res = run([cmd, "--jobs", "4"], dict(os.environ, HOME="/nonexistent"))
            self.assertRc(res, 2)
            self.assertIn("--jobs", res.err)
