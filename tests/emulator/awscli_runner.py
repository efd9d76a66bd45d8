#!/usr/bin/python3
"""Runs Debian's awscli v2 commands in one long-lived process (used by harness.AwsCli).

/usr/bin/aws spends about a second importing awscli on every invocation.  This runner
imports it once and then executes the same entry point /usr/bin/aws calls
(awscli.clidriver.AWSCLIEntryPoint().main(args)) for each request.  Protocol: one JSON
object per line on stdin, {"args": [...], "env": {...}}; one JSON line on stdout back,
{"rc": N, "stdout": "...", "stderr": "..."}.  Each command gets a fresh CLI driver and
botocore session, built from exactly the environment it was given.
"""
import io
import json
import os
import sys

if os.environ.get("LC_CTYPE", "") == "UTF-8":
    os.environ["LC_CTYPE"] = "en_US.UTF-8"
import awscli.clidriver  # noqa: E402

# "import awscli" put its data directories into AWS_DATA_PATH; every command needs them.
AWSCLI_DATA_PATH = os.environ.get("AWS_DATA_PATH", "")


def run_one(args, env):
    os.environ.clear()
    os.environ.update(env)
    os.environ["AWS_DATA_PATH"] = AWSCLI_DATA_PATH
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        rc = awscli.clidriver.AWSCLIEntryPoint().main(list(args))
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 255
    except BaseException as e:  # report it like the CLI would, and keep serving
        err.write("awscli_runner: %r\n" % (e,))
        rc = 255
    finally:
        sys.stdout, sys.stderr = saved
    return {"rc": rc if rc is not None else 0, "stdout": out.getvalue(),
            "stderr": err.getvalue()}


def main():
    real_out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        res = run_one(req["args"], req["env"])
        real_out.write(json.dumps(res) + "\n")
        real_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
