"""Shell completions generated from the option tables (scripts/gendoc.py): bash is
driven through COMP_WORDS/COMP_CWORD, fish through `complete -C`, zsh is
syntax-checked; every option of every command's --help is completed."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from tests.cli.common import BINARY, ROOT, CliTestCase

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gendoc  # noqa: E402

AWS_CONFIG = """[default]
region = us-east-1
[profile prod]
role_arn = arn:aws:iam::111111111111:role/x
[ profile  stage ]
[sso-session corp]
sso_start_url = https://example.awsapps.com/start
"""
AWS_CREDENTIALS = "[legacy]\naws_access_key_id = AKIAEXAMPLE\n"


class CompletionTestCase(CliTestCase):
    @classmethod
    def setUpClass(cls):
        p = subprocess.run([BINARY, "--dump-options"], stdout=subprocess.PIPE, text=True,
                           check=True)
        cls.dump = json.loads(p.stdout)
        cls.tmp = tempfile.mkdtemp(prefix="iamkeys-comp-")
        cls.dir = os.path.join(cls.tmp, "completions")
        gendoc.write_completions(cls.dump, cls.dir)
        cls.home = os.path.join(cls.tmp, "home")
        os.makedirs(os.path.join(cls.home, ".aws"))
        with open(os.path.join(cls.home, ".aws", "config"), "w") as f:
            f.write(AWS_CONFIG)
        with open(os.path.join(cls.home, ".aws", "credentials"), "w") as f:
            f.write(AWS_CREDENTIALS)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=self.home, LC_ALL="C")
        return env


class Bash(CompletionTestCase):
    def complete(self, *words):
        """COMPREPLY after `iamkeys WORDS<TAB>` (the last word is the one completed)."""
        script = ('source %s\nCOMP_WORDS=(iamkeys %s)\nCOMP_CWORD=%d\n_iamkeys\n'
                  'printf "%%s\\n" "${COMPREPLY[@]}"\n' %
                  (os.path.join(self.dir, "iamkeys.bash"),
                   " ".join(gendoc.sh_quote(w) for w in words), len(words)))
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script],
                           capture_output=True, text=True, env=self.env())
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        return [w for w in r.stdout.splitlines() if w]

    def test_complete_p_after_sourcing(self):
        r = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            "source %s && complete -p iamkeys" %
                            os.path.join(self.dir, "iamkeys.bash")],
                           capture_output=True, text=True)
        self.assertEqual(r.stdout, "complete -F _iamkeys iamkeys\n", r.stderr)

    def test_commands(self):
        self.assertEqual(self.complete("rot"), ["rotate"])
        self.assertEqual(self.complete("ro"), ["rotate", "rollback"])
        self.assertEqual(sorted(self.complete("")),
                         sorted([c["name"] for c in self.dump["commands"]] +
                                ["--help", "--version"]))

    def test_options(self):
        self.assertEqual(self.complete("audit", "--out"), ["--output"])
        self.assertEqual(self.complete("rotate", "--plan"), ["--plan-out", "--plan"])

    def test_output_values(self):
        self.assertEqual(self.complete("audit", "--output", ""), ["table", "json", "csv"])
        self.assertEqual(self.complete("users", "-o", "j"), ["json"])

    def test_other_values(self):
        self.assertEqual(self.complete("audit", "--source", ""), ["report", "api"])
        self.assertEqual(self.complete("audit", "--fail-on", "t"), ["two-active"])
        self.assertEqual(self.complete("update", "--status", ""), ["Active", "Inactive"])
        self.assertEqual(self.complete("audit", "--max-age", ""), [])

    def test_sink_schemes(self):
        self.assertEqual(self.complete("rotate", "--to", ""),
                         ["file:", "profile:", "secretsmanager:", "ssm:", "exec:", "-"])
        self.assertEqual(self.complete("create", "--to", "se"), ["secretsmanager:"])

    def test_profiles_from_the_shared_files(self):
        self.assertEqual(sorted(self.complete("audit", "--profile", "")),
                         ["default", "legacy", "prod", "stage"])
        self.assertEqual(self.complete("users", "--profile", "pr"), ["prod"])

    def test_every_option_of_every_command(self):
        """A new option in a table is completed without anyone editing a file."""
        for c in self.dump["commands"]:
            with self.subTest(cmd=c["name"]):
                got = set(self.complete(c["name"], "--"))
                want = set("--" + o["long"] for o in c["options"]) | {"--help"}
                self.assertEqual(got, want)


@unittest.skipUnless(shutil.which("fish"), "fish is not installed (scripts/deps.sh)")
class Fish(CompletionTestCase):
    def complete(self, line):
        r = subprocess.run(["fish", "--no-config", "-c", "source %s; complete -C %s" %
                            (os.path.join(self.dir, "iamkeys.fish"), gendoc.sh_quote(line))],
                           capture_output=True, text=True, env=self.env())
        self.assertEqual(r.stderr, "")
        return [l.split("\t")[0] for l in r.stdout.splitlines()]

    def test_syntax(self):
        r = subprocess.run(["fish", "--no-config", "-n", os.path.join(self.dir, "iamkeys.fish")],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def test_commands_options_values_profiles(self):
        self.assertEqual(self.complete("iamkeys rot"), ["rotate"])
        self.assertEqual(self.complete("iamkeys audit --out"), ["--output"])
        self.assertEqual(sorted(self.complete("iamkeys audit --output ")),
                         ["csv", "json", "table"])
        self.assertEqual(sorted(self.complete("iamkeys audit --profile ")),
                         ["default", "legacy", "prod", "stage"])


@unittest.skipUnless(shutil.which("zsh"), "zsh is not installed (scripts/deps.sh)")
class Zsh(CompletionTestCase):
    def test_syntax(self):
        path = os.path.join(self.dir, "_iamkeys")
        r = subprocess.run(["zsh", "-n", path], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        with open(path) as f:
            text = f.read()
        self.assertTrue(text.startswith("#compdef iamkeys\n"))
        for c in self.dump["commands"]:
            for o in c["options"]:
                self.assertTrue("'--%s[" % o["long"] in text or "'*--%s[" % o["long"] in text
                                or ",--%s}'[" % o["long"] in text, o["long"])


if __name__ == "__main__":
    unittest.main()
